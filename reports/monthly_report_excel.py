"""融资担保机构主要数据月报表 (or its 季报 / 年报) as Excel (app/services/monthly_report.py): title, company, period and unit rows; the
table of guarantee classes (frozen header, #,##0.00 amounts, whole numbers for counts, bold item column); the
company lines below with the three reserves; landscape A4 fitted to the width for printing."""
from __future__ import annotations

import xlsxwriter
from flask_babel import gettext

from app.services import monthly_report as mr

COUNT_LINES = {"new_count", "count", "customers"}


def titles(report: mr.Report) -> tuple[str, str, str]:
    """(sheet name, report title, period row) of the report's period kind."""
    period = report.period or mr.Period("month", report.year, report.month)
    if period.kind == "quarter":
        return (gettext("Quarterly report"), gettext("Main data of a financing guarantee company: quarterly report"),
                gettext("Quarter: %(y)s Q%(q)s", y=period.year, q=period.number))
    if period.kind == "year":
        return (gettext("Annual report"), gettext("Main data of a financing guarantee company: annual report"),
                gettext("Year: %(y)s", y=period.year))
    return (gettext("Monthly report"), gettext("Main data of a financing guarantee company: monthly report"),
            gettext("Month: %(y)s-%(m)02d", y=period.year, m=period.number))


def write(report: mr.Report, path: str, company: str = "") -> None:
    sheet_name, title_text, period_text = titles(report)
    lines, company_lines = mr.line_labels(report.kind)
    wb = xlsxwriter.Workbook(path)
    sheet = wb.add_worksheet(sheet_name[:31])
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center", "valign": "vcenter",
                          "text_wrap": True})
    item = wb.add_format({"border": 1, "bold": True})
    num = wb.add_format({"border": 1, "align": "center"})
    money = wb.add_format({"border": 1, "num_format": "#,##0.00"})
    count = wb.add_format({"border": 1, "num_format": "#,##0"})
    columns = list(mr.COLUMNS)
    last = len(columns) + 1
    sheet.merge_range(0, 0, 0, last, title_text, title)
    sheet.write_string(1, 0, gettext("Reporting company: %(name)s", name=company))
    sheet.write_string(1, 3, period_text)
    sheet.write_string(1, last - 1, gettext("Unit: yuan"))
    sheet.write_string(3, 0, gettext("Item"), head)
    sheet.write_string(3, 1, gettext("Line"), head)
    for i, key in enumerate(columns, start=2):
        sheet.write_string(3, i, str(mr.COLUMNS[key]), head)
    row = 4
    for n, (key, label) in enumerate(lines, start=1):
        sheet.write_string(row, 0, str(label), item)
        sheet.write_number(row, 1, n, num)
        for i, column in enumerate(columns, start=2):
            sheet.write_number(row, i, float(report.lines[key][column]), count if key in COUNT_LINES else money)
        row += 1
    row += 1
    sheet.write_string(row, 0, gettext("Item"), head)
    sheet.write_string(row, 1, gettext("Line"), head)
    sheet.write_string(row, 2, gettext("Amount"), head)
    row += 1
    for n, (key, label) in enumerate(company_lines, start=len(lines) + 1):
        sheet.write_string(row, 0, str(label), item)
        sheet.write_number(row, 1, n, num)
        value = report.company[key]
        if value is None:
            sheet.write_string(row, 2, "—", num)
        else:
            sheet.write_number(row, 2, float(value), money)
        row += 1
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 6)
    sheet.set_column(2, last, 18)
    sheet.freeze_panes(4, 2)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    wb.close()
