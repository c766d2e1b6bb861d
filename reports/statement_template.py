"""The Excel template of a customer's financial statements (balance sheet and income statement).

Two sheets laid out as an accountant expects (item, line, amount; subtotals bold), the period fields on
top of the first sheet with drop-downs, and a hidden column D holding each row's key (an item code or
a header field): the import reads the keys, so re-worded or re-coloured labels do not matter.
Subtotals are plain cells, not formulas (a formula has no value until Excel recalculates the file):
fill them in, or leave them blank to have them computed.
"""
import io
from datetime import datetime

import xlsxwriter
from flask_babel import gettext

from app.services import statements as S

HEADER_FIELDS = ("period_end", "period_type", "audited", "auditor", "currency_unit")
KEY_COLUMN = 3  # column D, hidden
FIRST_ITEM_ROW = 9  # 0-based row of the first item on each sheet


def sheet_titles():
    return {S.BALANCE: gettext("Balance sheet"), S.INCOME: gettext("Income statement")}


def yes_no():
    return gettext("Yes"), gettext("No")


def build_template(customer, statement=None) -> bytes:
    """The template for `customer`, pre-filled with `statement` when given."""
    values = {row.item_code: row.amount for row in statement.items} if statement is not None else {}
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    label = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center"})
    text = book.add_format({"border": 1})
    date_input = book.add_format({"border": 1, "num_format": "yyyy-mm-dd", "bg_color": "#FFF2CC"})
    input_text = book.add_format({"border": 1, "bg_color": "#FFF2CC"})
    centre = book.add_format({"border": 1, "align": "center"})
    note = book.add_format({"italic": True, "font_color": "#666666"})
    styles = {}

    def item_format(indent, bold, amount):
        key = (indent, bold, amount)
        if key not in styles:
            spec = {"border": 1, "bold": bold}
            if amount:
                spec.update(num_format="#,##0.00", bg_color="#FFF2CC" if not bold else "#FCE4D6")
            else:
                spec["indent"] = indent
            styles[key] = book.add_format(spec)
        return styles[key]

    period_labels = [label for _, label in S.period_types()]
    for report, items in ((S.BALANCE, S.ASSET_ITEMS + S.CLAIM_ITEMS), (S.INCOME, S.INCOME_ITEMS)):
        sheet = book.add_worksheet(sheet_titles()[report][:31])
        sheet.set_column(0, 0, 34)
        sheet.set_column(1, 1, 8)
        sheet.set_column(2, 2, 22)
        sheet.set_column(KEY_COLUMN, KEY_COLUMN, 24, None, {"hidden": True})
        sheet.merge_range(0, 0, 0, 2, sheet_titles()[report], title)
        sheet.write(1, 0, gettext("Customer: %(name)s (%(code)s)", name=customer.name, code=customer.code))
        if report == S.BALANCE:
            rows = [
                (gettext("Period end date"), statement.period_end if statement else None, date_input),
                (gettext("Period type"), S.PERIOD_TYPES[statement.period_type] if statement else period_labels[0],
                 input_text),
                (gettext("Audited"), yes_no()[0] if statement is not None and statement.audited else yes_no()[1],
                 input_text),
                (gettext("Auditor"), (statement.auditor or "") if statement else "", input_text),
                (gettext("Currency unit"), "元", text),
            ]
            for offset, (key, (caption, value, fmt)) in enumerate(zip(HEADER_FIELDS, rows)):
                row = 2 + offset
                sheet.write(row, 0, caption, label)
                if value is None:
                    sheet.write_blank(row, 1, None, fmt)
                elif key == "period_end":
                    sheet.write_datetime(row, 1, _as_datetime(value), fmt)
                else:
                    sheet.write(row, 1, str(value), fmt)
                sheet.write(row, KEY_COLUMN, key)
            sheet.data_validation(3, 1, 3, 1, {"validate": "list", "source": period_labels})
            sheet.data_validation(4, 1, 4, 1, {"validate": "list", "source": list(yes_no())})
            sheet.data_validation(2, 1, 2, 1, {"validate": "date", "criteria": ">", "minimum": datetime(1990, 1, 1),
                                               "error_message": gettext("Enter a date like 2025-12-31.")})
            sheet.write(7, 0, gettext("Yellow cells are input; leave a subtotal blank to have it computed."), note)
        else:
            sheet.write(7, 0, gettext("The period is taken from the balance sheet sheet."), note)
        amount_caption = gettext("Closing balance") if report == S.BALANCE else gettext("Amount for the period")
        header_row = FIRST_ITEM_ROW - 1
        for col, caption in enumerate((gettext("Item"), gettext("Line"), amount_caption)):
            sheet.write(header_row, col, caption, head)
        sheet.write(header_row, KEY_COLUMN, "code")
        for offset, item in enumerate(items):
            row = FIRST_ITEM_ROW + offset
            sheet.write(row, 0, item.label, item_format(item.indent, item.is_total, False))
            sheet.write_number(row, 1, item.line, centre)
            amount = values.get(item.code)
            if amount is None:
                sheet.write_blank(row, 2, None, item_format(0, item.is_total, True))
            else:
                sheet.write_number(row, 2, float(amount), item_format(0, item.is_total, True))
            sheet.write(row, KEY_COLUMN, item.code)
        sheet.freeze_panes(FIRST_ITEM_ROW, 0)
    book.close()
    return out.getvalue()


def _as_datetime(day):
    return datetime(day.year, day.month, day.day)
