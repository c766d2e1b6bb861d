"""台账 exports (app/services/business_ledgers.py): Excel the way reports/ledger_excel.py writes books (title and
filter rows, frozen header, #,##0.00 amounts, bold totals row, landscape A4 fitted to the width, print titles) and
PDF with reports/ledger_pdf.BookPDF (Noto CJK, header on every page, shaded totals row). Rows stream from the
cursor into the file; the PDF is for printing and stops at MAX_PDF_ROWS (the Excel file has every row)."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext

from app.services import business_ledgers as bl

MAX_PDF_ROWS = 20000


def _titles(name, f):
    from app.services.ledger_books import company_name

    return str(bl.LEDGERS[name]), bl.filter_text(f) or gettext("All"), company_name()


def write_excel(name: str, f: dict, path: str) -> int:
    from reports.ledger_excel import BookWriter, Col

    title, subtitle, company = _titles(name, f)
    cols = bl.columns(name)
    writer = BookWriter(path, title, subtitle,
                        [Col(str(c.label), "money" if c.kind == "money" else "date" if c.kind == "date" else "text",
                             c.width) for c in cols], company=company)
    rate_fmt = writer.workbook.add_format({"num_format": "0.00%"})
    rate_cols = [i for i, c in enumerate(cols) if c.kind == "rate"]
    n = 0
    for n, row in enumerate(bl.rows(name, f), 1):
        values = list(row)
        for i in rate_cols:  # written as a percentage below
            values[i] = None
        r = writer.row
        writer.write(values)
        for i in rate_cols:
            if row[i] is not None:
                writer.sheet.write_number(r, i, float(row[i]), rate_fmt)
    writer.write(bl.totals_row(name, bl.totals(name, f)), bold=True)
    writer.close()
    return n


def write_pdf(name: str, f: dict, path: str) -> int:
    from reports.ledger_pdf import BookPDF

    title, subtitle, company = _titles(name, f)
    cols = bl.columns(name)
    aligns = ["R" if c.kind in ("money", "rate") else "C" if c.kind == "date" else "L" for c in cols]
    pdf = BookPDF(title, subtitle, company, [str(c.label) for c in cols], [c.width for c in cols], aligns)
    pdf.add_page()
    n = 0
    for n, row in enumerate(bl.rows(name, f), 1):
        if n > MAX_PDF_ROWS:
            pdf.row([gettext("… more rows in the Excel export")] + [""] * (len(cols) - 1))
            break
        values = [f"{Decimal(v) * 100:.2f}%" if c.kind == "rate" and v is not None else v for v, c in zip(row, cols)]
        pdf.row(values)
    pdf.row(bl.totals_row(name, bl.totals(name, f)), bold=True)
    pdf.output(path)
    return n
