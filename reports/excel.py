"""Excel tables with xlsxwriter: formatted header, widths, number/date formats, frozen header row.

constant_memory keeps the footprint flat however many rows are written (rows go straight to disk).
"""
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable, Sequence

import xlsxwriter


def _display_width(text: str) -> int:
    # CJK characters are about two Latin characters wide in Excel's default font.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))


def write_table(
    path: str,
    sheet_title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
) -> int:
    """Write headers and rows to `path`; returns the number of data rows written."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(sheet_title[:31] or "Sheet1")
    header_fmt = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "vcenter",
                                      "text_wrap": True})
    money_fmt = workbook.add_format({"num_format": "#,##0.00"})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    widths = [max(8, _display_width(h) + 2) for h in headers]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, str(header), header_fmt)
    sheet.freeze_panes(1, 0)
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(count, col, value)
                width = 5
            elif isinstance(value, Decimal):
                sheet.write_number(count, col, float(value), money_fmt)
                width = len(f"{value:,.2f}") + 1
            elif isinstance(value, (int, float)):
                sheet.write_number(count, col, value)
                width = len(str(value)) + 1
            elif isinstance(value, datetime):
                sheet.write_datetime(count, col, value, datetime_fmt)
                width = 19
            elif isinstance(value, date):
                sheet.write_datetime(count, col, datetime(value.year, value.month, value.day), date_fmt)
                width = 11
            else:
                text = str(value)
                sheet.write_string(count, col, text)
                width = _display_width(text) + 1
            if width > widths[col]:
                widths[col] = min(width, 60)
        if progress and count % progress_every == 0:
            progress(count)
    # Widths are set last; in constant_memory mode column formats still apply to the whole sheet.
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    if headers:
        sheet.autofilter(0, 0, max(count, 1), len(headers) - 1)
    workbook.close()
    if progress:
        progress(count)
    return count
