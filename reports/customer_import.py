"""Excel workbooks of the customer import: the template to fill in, and the error workbook.

Template: sheet 1 holds the Chinese headers (required ones marked *), drop-downs on the dictionary
columns fed from the allowed-values sheet, ID numbers and phones formatted as text; a notes sheet
explains every column. Error workbook: the uploaded rows as they were, every wrong cell filled red with
a comment saying why, and a last column listing the row's messages.
"""
import io

import xlsxwriter
from flask_babel import gettext
from xlsxwriter.utility import xl_col_to_name

from app.services import customer_import as CI

TEMPLATE_ROWS = 10_000  # rows the drop-downs and text formats cover
ERROR_FILL = "#FFC7CE"
ERROR_FONT = "#9C0006"


def _allowed_values():
    """column field → [allowed names] for the dictionary and choice columns."""
    from app.services.reference import dict_choices

    out = {}
    for column in CI.COLUMNS:
        if column.kind == "dict":
            out[column.field] = [name for _, name in dict_choices(column.source)]
        elif column.kind == "choice":
            out[column.field] = [str(label) for label in column.source.values()]
    return out


def header_text(column) -> str:
    return f"{column.label}*" if column.required else str(column.label)


def build_template() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    required = book.add_format({"bold": True, "bg_color": "#DDEBF7", "font_color": "#C00000", "border": 1})
    optional = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    as_text = book.add_format({"num_format": "@"})
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    data_sheet = book.add_worksheet(gettext("Customers")[:31])
    notes_sheet = book.add_worksheet(gettext("Notes")[:31])
    values_sheet = book.add_worksheet(gettext("Allowed values")[:31])
    allowed = _allowed_values()
    values_name = values_sheet.get_name()

    value_col = 0
    for index, column in enumerate(CI.COLUMNS):
        text = header_text(column)
        data_sheet.write_string(0, index, text, required if column.required else optional)
        width = max(12, sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 4)
        if column.field in ("id_number", "phone"):
            data_sheet.set_column(index, index, max(width, 22), as_text)
        elif column.kind == "date":
            data_sheet.set_column(index, index, width, as_date)
        elif column.field in ("name", "address"):
            data_sheet.set_column(index, index, 30)
        else:
            data_sheet.set_column(index, index, width)
        if column.field in allowed:
            names = allowed[column.field]
            values_sheet.write_string(0, value_col, str(column.label), bold)
            for row, name in enumerate(names, start=1):
                values_sheet.write_string(row, value_col, name)
            letter = xl_col_to_name(value_col)
            values_sheet.set_column(value_col, value_col, 24)
            source = f"='{values_name}'!${letter}$2:${letter}${len(names) + 1}"
            data_sheet.data_validation(1, index, TEMPLATE_ROWS, index, {
                "validate": "list", "source": source, "ignore_blank": True,
                "error_type": "warning", "error_title": str(column.label),
                "error_message": gettext("Choose a value from the list (see the allowed values sheet)."),
            })
            value_col += 1
        elif column.kind == "date":
            from datetime import datetime

            data_sheet.data_validation(1, index, TEMPLATE_ROWS, index, {
                "validate": "date", "criteria": ">", "minimum": datetime(1900, 1, 1), "ignore_blank": True,
                "error_type": "warning", "error_message": gettext("Enter a date like 1985-06-30."),
            })
    data_sheet.freeze_panes(1, 0)

    notes_sheet.set_column(0, 0, 22)
    notes_sheet.set_column(1, 1, 10)
    notes_sheet.set_column(2, 2, 80)
    notes_sheet.write_string(0, 0, gettext("Column"), bold)
    notes_sheet.write_string(0, 1, gettext("Required"), bold)
    notes_sheet.write_string(0, 2, gettext("How to fill it in"), bold)
    for row, column in enumerate(CI.COLUMNS, start=1):
        notes_sheet.write_string(row, 0, str(column.label))
        notes_sheet.write_string(row, 1, gettext("Yes") if column.required else "")
        hint = str(column.note) if column.note else ""
        if column.field in allowed:
            shown = allowed[column.field]
            listed = "、".join(shown[:30]) + ("…" if len(shown) > 30 else "")
            hint = (hint + "；" if hint else "") + gettext("Allowed values: %(values)s", values=listed)
        notes_sheet.write_string(row, 2, hint, wrap)
    last = len(CI.COLUMNS) + 2
    for offset, line in enumerate([
        gettext("Fill in one customer per row on the first sheet, from row 2; do not change the headers."),
        gettext("The whole file is imported, or nothing: when a row is wrong you get the file back with the "
                "wrong cells marked red and the reasons in comments and in the last column."),
        gettext("Dictionary columns accept the name or the code of an entry."),
    ]):
        notes_sheet.write_string(last + offset, 0, line)
    book.close()
    return out.getvalue()


def build_error_workbook(headers, raw_rows, errors) -> bytes:
    """The uploaded rows with each wrong cell red and commented, and a messages column at the end."""
    by_cell: dict[tuple[int, int], list[str]] = {}
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_cell.setdefault((error.row, error.column), []).append(error.message)
        text = f"{error.label}：{error.message}" if error.label else error.message
        by_row.setdefault(error.row, []).append(text)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet(gettext("Customers")[:31])
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    message_head = book.add_format({"bold": True, "bg_color": ERROR_FILL, "font_color": ERROR_FONT, "border": 1})
    bad = book.add_format({"bg_color": ERROR_FILL, "font_color": ERROR_FONT})
    bad_date = book.add_format({"bg_color": ERROR_FILL, "font_color": ERROR_FONT, "num_format": "yyyy-mm-dd"})
    plain_date = book.add_format({"num_format": "yyyy-mm-dd"})
    message_fmt = book.add_format({"font_color": ERROR_FONT, "text_wrap": True})
    width = len(headers)
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, head)
        sheet.set_column(col, col, 16)
    sheet.write_string(0, width, gettext("Errors"), message_head)
    sheet.set_column(width, width, 60)
    out_row = 1
    for number, values in raw_rows:
        for col, value in enumerate(values):
            messages = by_cell.get((number, col))
            fmt = None
            if hasattr(value, "year"):
                fmt = bad_date if messages else plain_date
            elif messages:
                fmt = bad
            _write(sheet, out_row, col, value, fmt)
            if messages:
                sheet.write_comment(out_row, col, "\n".join(messages), {"author": gettext("Customer import"),
                                                                        "x_scale": 2, "y_scale": 1.5})
        row_messages = by_row.get(number)
        if row_messages:
            sheet.write_string(out_row, width, "；".join(row_messages), message_fmt)
        out_row += 1
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def _write(sheet, row, col, value, fmt):
    from datetime import date, datetime

    if value is None:
        if fmt is not None:
            sheet.write_blank(row, col, None, fmt)
        return
    if isinstance(value, datetime):
        sheet.write_datetime(row, col, value, fmt)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)
