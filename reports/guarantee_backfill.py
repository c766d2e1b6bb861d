"""Excel workbooks of the guarantee backfill (历史补录): the template to fill in, and the error workbook.

Template: sheet 1 holds the Chinese headers (required ones marked *), empty, so an untouched example
can never be imported by mistake; drop-downs on the product and bank columns are fed from the allowed
values sheet, ID numbers and loan numbers are formatted as text. The example sheet shows one filled row
(with a real product and bank when some exist), the notes sheet explains every column. Error workbook:
the uploaded rows as they were, every wrong cell red with a comment, the row's reasons in a last column.
"""
import io
from datetime import datetime

import xlsxwriter
from flask_babel import gettext
from sqlalchemy import select
from xlsxwriter.utility import xl_col_to_name

from app.services import guarantee_backfill as GB

TEMPLATE_ROWS = 5_000
ERROR_FILL = "#FFC7CE"
ERROR_FONT = "#9C0006"
TEXT_FIELDS = ("id_number", "loan_number", "code")


def header_text(column) -> str:
    return f"{column.label}*" if column.required else str(column.label)


def _allowed_values() -> dict[str, list[str]]:
    from app.extensions import db
    from models.products import CooperatingBank, Product

    from app.services.guarantees import REPAYMENT_METHODS

    return {
        "repayment_method": [str(label) for label in REPAYMENT_METHODS.values()],
        "product": [n for n, in db.session.execute(select(Product.name).where(Product.active.is_(True))
                                                     .order_by(Product.code))],
        "bank": [n for n, in db.session.execute(select(CooperatingBank.name).where(CooperatingBank.active.is_(True))
                                                  .order_by(CooperatingBank.code))],
    }


def example_row(allowed) -> dict:
    """An example a clerk can copy: the first product and bank of the system, figures inside the usual ranges."""
    from app.services import business_date

    loan_date = business_date.today().replace(day=1)
    return {
        "code": "", "id_number": "91330100MA2B3C4D5N", "customer_name": "杭州示例科技有限公司",
        "product": (allowed["product"] or ["贷款担保"])[0], "bank": (allowed["bank"] or ["中国工商银行"])[0],
        "amount": 1_000_000, "term_months": 12, "fee_rate": "1.5%", "loan_number": "JK2025-0001",
        "loan_amount": 1_000_000, "loan_date": datetime(loan_date.year, loan_date.month, 1), "due_date": None,
        "balance": 800_000, "purpose": "流动资金周转",
        "repayment_method": (allowed["repayment_method"] or ["按月付息，到期还本"])[0], "manager_id": "",
    }


def build_template() -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    required = book.add_format({"bold": True, "bg_color": "#DDEBF7", "font_color": "#C00000", "border": 1})
    optional = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    as_text = book.add_format({"num_format": "@"})
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    as_money = book.add_format({"num_format": "#,##0.00"})
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    example_fmt = book.add_format({"font_color": "#595959", "italic": True})
    example_date = book.add_format({"font_color": "#595959", "italic": True, "num_format": "yyyy-mm-dd"})

    data_sheet = book.add_worksheet(gettext("Guarantees")[:31])
    example_sheet = book.add_worksheet(gettext("Example")[:31])
    notes_sheet = book.add_worksheet(gettext("Notes")[:31])
    values_sheet = book.add_worksheet(gettext("Allowed values")[:31])
    allowed = _allowed_values()
    values_name = values_sheet.get_name()
    example = example_row(allowed)

    value_col = 0
    for index, column in enumerate(GB.COLUMNS):
        text = header_text(column)
        head = required if column.required else optional
        data_sheet.write_string(0, index, text, head)
        example_sheet.write_string(0, index, text, head)
        width = max(12, sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 4)
        if column.field in TEXT_FIELDS:
            fmt, width = as_text, max(width, 22)
        elif column.kind == "date":
            fmt = as_date
        elif column.kind == "decimal":
            fmt, width = as_money, max(width, 16)
        else:
            fmt = None
            if column.field in ("customer_name", "product", "bank", "purpose", "repayment_method"):
                width = max(width, 24)
        data_sheet.set_column(index, index, width, fmt)
        example_sheet.set_column(index, index, width)
        value = example.get(column.field)
        if isinstance(value, datetime):
            example_sheet.write_datetime(1, index, value, example_date)
        elif isinstance(value, (int, float)):
            example_sheet.write_number(1, index, value, example_fmt)
        elif value:
            example_sheet.write_string(1, index, str(value), example_fmt)
        if column.field in allowed and allowed[column.field]:
            names = allowed[column.field]
            values_sheet.write_string(0, value_col, str(column.label), bold)
            for row, name in enumerate(names, start=1):
                values_sheet.write_string(row, value_col, name)
            letter = xl_col_to_name(value_col)
            values_sheet.set_column(value_col, value_col, 28)
            data_sheet.data_validation(1, index, TEMPLATE_ROWS, index, {
                "validate": "list", "source": f"='{values_name}'!${letter}$2:${letter}${len(names) + 1}",
                "ignore_blank": True, "error_type": "warning", "error_title": str(column.label),
                "error_message": gettext("Choose a value from the list (see the allowed values sheet)."),
            })
            value_col += 1
        elif column.kind == "date":
            data_sheet.data_validation(1, index, TEMPLATE_ROWS, index, {
                "validate": "date", "criteria": ">", "minimum": datetime(1900, 1, 1), "ignore_blank": True,
                "error_type": "warning", "error_message": gettext("Enter a date like 2025-06-30."),
            })
    data_sheet.freeze_panes(1, 0)
    example_sheet.write_string(3, 0, gettext("This sheet is only an example and is never imported: fill in the "
                                             "first sheet."), bold)

    notes_sheet.set_column(0, 0, 22)
    notes_sheet.set_column(1, 1, 10)
    notes_sheet.set_column(2, 2, 90)
    notes_sheet.write_string(0, 0, gettext("Column"), bold)
    notes_sheet.write_string(0, 1, gettext("Required"), bold)
    notes_sheet.write_string(0, 2, gettext("How to fill it in"), bold)
    for row, column in enumerate(GB.COLUMNS, start=1):
        notes_sheet.write_string(row, 0, str(column.label))
        notes_sheet.write_string(row, 1, gettext("Yes") if column.required else "")
        hint = str(column.note) if column.note else ""
        if allowed.get(column.field):
            shown = allowed[column.field]
            listed = "、".join(shown[:30]) + ("…" if len(shown) > 30 else "")
            hint = (hint + "；" if hint else "") + gettext("Allowed values: %(values)s", values=listed)
        notes_sheet.write_string(row, 2, hint, wrap)
    last = len(GB.COLUMNS) + 2
    for offset, line in enumerate([
        gettext("Fill in one guarantee in force per row on the first sheet, from row 2; do not change the headers."),
        gettext("The customers must already be in the system (import them first with the customer import)."),
        gettext("The whole file is imported, or nothing: when a row is wrong you get the file back with the "
                "wrong cells marked red and the reasons in comments and in the last column."),
        gettext("Imported guarantees are in force at once, marked as backfilled; no approval, fee or voucher "
                "is made for them."),
    ]):
        notes_sheet.write_string(last + offset, 0, line)
    book.close()
    return out.getvalue()


def build_error_workbook(headers, raw_rows, errors) -> bytes:
    """The uploaded rows with each wrong cell red and commented, and a reasons column at the end."""
    by_cell: dict[tuple[int, int], list[str]] = {}
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_cell.setdefault((error.row, error.column), []).append(error.message)
        by_row.setdefault(error.row, []).append(f"{error.label}：{error.message}" if error.label else error.message)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    sheet = book.add_worksheet(gettext("Guarantees")[:31])
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
    for out_row, (number, values) in enumerate(raw_rows, start=1):
        for col, value in enumerate(values):
            messages = by_cell.get((number, col))
            fmt = (bad_date if messages else plain_date) if hasattr(value, "year") else (bad if messages else None)
            _write(sheet, out_row, col, value, fmt)
            if messages:
                sheet.write_comment(out_row, col, "\n".join(messages), {"author": gettext("Guarantee backfill"),
                                                                        "x_scale": 2, "y_scale": 1.5})
        if number in by_row:
            sheet.write_string(out_row, width, "；".join(by_row[number]), message_fmt)
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def _write(sheet, row, col, value, fmt):
    from datetime import date

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
