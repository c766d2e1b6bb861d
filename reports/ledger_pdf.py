"""Ledger books and statements to PDF (fpdf2 with the Noto Sans CJK font Debian ships).

fpdf2 reads one face of a TrueType collection: collection_font_number=2 is Simplified Chinese in
NotoSansCJK-*.ttc (0 JP, 1 KR, 2 SC, 3 TC, 4 HK). Landscape A4, a header with company, title and
period on every page, page numbers in the footer, shaded totals, amounts with thousands separators.
"""
from __future__ import annotations

import itertools
import os
from decimal import Decimal

from flask_babel import gettext
from fpdf import FPDF

FONT_DIR = "/usr/share/fonts/opentype/noto"
REGULAR = os.path.join(FONT_DIR, "NotoSansCJK-Regular.ttc")
BOLD = os.path.join(FONT_DIR, "NotoSansCJK-Bold.ttc")
SC = 2


def amount(value) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.2f}"


class BookPDF(FPDF):
    def __init__(self, title: str, subtitle: str, company: str, headers: list[str], widths: list[float],
                 aligns: list[str]):
        super().__init__(orientation="L", unit="mm", format="A4")
        # One face only: loading and subsetting a CJK face costs seconds, so totals are shaded, not bold.
        self.add_font("cjk", "", REGULAR, collection_font_number=SC)
        self.book_title, self.subtitle, self.company = title, subtitle, company
        self.headers, self.aligns = headers, aligns
        usable = self.w - self.l_margin - self.r_margin
        scale = usable / sum(widths)
        self.widths = [w * scale for w in widths]
        self.set_auto_page_break(True, margin=14)
        self.alias_nb_pages()

    def header(self):
        self.set_font("cjk", "", 14)
        self.cell(0, 8, self.book_title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font("cjk", "", 9)
        self.cell(0, 5, f"{self.company}    {self.subtitle}", align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        self.set_font("cjk", "", 8)
        self.set_fill_color(221, 235, 247)
        for text, width in zip(self.headers, self.widths):
            self.cell(width, 6, text, border=1, align="C", fill=True)
        self.ln()

    def footer(self):
        self.set_y(-10)
        self.set_font("cjk", "", 8)
        self.cell(0, 5, f"{self.company}    {self.page_no()} / {{nb}}", align="C")

    def row(self, values, bold=False, indent=0):
        self.set_font("cjk", "", 8)
        self.set_fill_color(235, 235, 235)
        for i, (value, width, align) in enumerate(zip(values, self.widths, self.aligns)):
            if isinstance(value, Decimal):
                text = amount(value)
            elif value is None:
                text = ""
            else:
                text = str(value)
            if i == 1 and indent:
                text = "  " * indent + text
            # keep the cell to its width (long summaries are cut rather than wrapped)
            while text and self.get_string_width(text) > width - 1:
                text = text[:-1]
            self.cell(width, 5.5, text, border=1, align=align, fill=bold)
        self.ln()


def _dc(net):
    return gettext("Dr") if net > 0 else gettext("Cr") if net < 0 else gettext("Zero")


def build(args: dict, path: str, max_rows: int = 20000) -> int:
    """The book the arguments name as a PDF at `path`; returns the rows written (a PDF is for printing:
    at most `max_rows` rows, the Excel export has them all)."""
    from reports.ledger_excel import _meta, _period_text, book_rows, book_title

    writer, rows = book_rows(args)
    book = args.get("book")
    title = book_title(args)
    if book == "trial_balance":
        headers = [gettext("Account code"), gettext("Account name"), gettext("Opening debit"), gettext("Opening credit"),
                   gettext("Period debit"), gettext("Period credit"), gettext("Closing debit"), gettext("Closing credit")]
        widths, aligns = [18, 40] + [22] * 6, ["L", "L"] + ["R"] * 6
        make = lambda r: ([r.code, r.name if r.kind != "aux" else f"{r.name} / {r.aux}", r.opening_debit,  # noqa: E731
                           r.opening_credit, r.debit, r.credit, r.closing_debit, r.closing_credit],
                          r.kind == "total" or r.has_children or r.level == 1, max(0, r.level - 1))
        period = _period_text(args)
    elif book == "account_summary":
        headers = [gettext("Account code"), gettext("Account name"), gettext("Debit"), gettext("Credit")]
        widths, aligns = [20, 50, 30, 30], ["L", "L", "R", "R"]
        make = lambda r: ([r.code, r.name, r.debit, r.credit], r.kind == "total" or r.level == 1,  # noqa: E731
                          max(0, r.level - 1))
        period = f"{args.get('date_from', '')} ~ {args.get('date_to', '')}"
    elif book == "general_ledger":
        headers = [gettext("Account code"), gettext("Account name"), gettext("Period"), gettext("Summary"),
                   gettext("Debit"), gettext("Credit"), gettext("Dr/Cr"), gettext("Balance")]
        widths, aligns = [18, 36, 14, 20, 24, 24, 8, 24], ["L", "L", "C", "L", "R", "R", "C", "R"]
        make = lambda r: ([r.code, r.name, r.period, r.summary, r.debit if r.kind != "opening" else None,  # noqa: E731
                           r.credit if r.kind != "opening" else None, _dc(r.balance), abs(r.balance)],
                          r.kind != "month", max(0, r.level - 1))
        period = _period_text(args)
    elif book == "detail_ledger":
        headers = [gettext("Account code"), gettext("Account name"), gettext("Date"), gettext("Voucher no."),
                   gettext("Summary"), gettext("Debit"), gettext("Credit"), gettext("Dr/Cr"), gettext("Balance")]
        widths, aligns = [16, 28, 18, 14, 44, 22, 22, 8, 24], ["L", "L", "C", "C", "L", "R", "R", "C", "R"]
        make = lambda r: ([r.code, r.name, r.voucher_date, r.voucher, r.summary,  # noqa: E731
                           r.debit if r.kind != "opening" else None, r.credit if r.kind != "opening" else None,
                           _dc(r.balance), abs(r.balance)], r.kind != "line", 0)
        period = _period_text(args)
    elif book == "journal":
        headers = [gettext("Date"), gettext("Voucher no."), gettext("Summary"), gettext("Account code"),
                   gettext("Account name"), gettext("Debit"), gettext("Credit")]
        widths, aligns = [18, 14, 50, 18, 34, 24, 24], ["C", "C", "L", "L", "L", "R", "R"]
        make = lambda r: ([r["voucher_date"], r["voucher"], r["summary"], r["code"], r["name"], r["debit"],  # noqa
                           r["credit"]], False, 0)
        period = _period_text(args)
    elif book == "balance_sheet":
        headers = [gettext("Assets"), gettext("Line"), gettext("Closing balance"), gettext("Year-opening balance"),
                   gettext("Liabilities and owners' equity"), gettext("Line"), gettext("Closing balance"),
                   gettext("Year-opening balance")]
        widths, aligns = [40, 10, 26, 26, 46, 10, 26, 26], ["L", "C", "R", "R", "L", "C", "R", "R"]
        pairs = itertools.zip_longest(rows["left"], rows["right"])
        period = rows["period"]
        rows = [[*(x for x in ((a.name, a.line_no, a.values[0], a.values[1]) if a else ("", "", None, None))),
                 *(x for x in ((b.name, b.line_no, b.values[0], b.values[1]) if b else ("", "", None, None))),
                 bool((a and a.bold) or (b and b.bold))] for a, b in pairs]
        make = lambda r: (r[:8], r[8], 0)  # noqa: E731
    elif book == "income_statement":
        headers = [gettext("Item"), gettext("Line"), gettext("Current period"), gettext("Year to date")]
        widths, aligns = [80, 14, 36, 36], ["L", "C", "R", "R"]
        period = rows["period"]
        rows = rows["lines"]
        make = lambda ln: ([ln.name, ln.line_no, ln.values[0], ln.values[1]], ln.bold, 0)  # noqa: E731
    else:  # book_rows refused it already
        return 0
    company, _ = _meta(args, period)
    pdf = BookPDF(title, period, company, headers, widths, aligns)
    pdf.add_page()
    n = 0
    for n, r in enumerate(rows, 1):
        if n > max_rows:
            pdf.row([gettext("… more rows in the Excel export")] + [""] * (len(headers) - 1))
            break
        values, bold, indent = make(r)
        pdf.row(values, bold, indent)
    pdf.output(path)
    return n
