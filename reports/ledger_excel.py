"""Ledger books and statements to Excel the way accountants expect them (GL-4, GL-5).

Account hierarchy as indentation and outline groups (rows of a sub-account are grouped under their
parent: Excel's +/- buttons), bold subtotals and totals, #,##0.00 number formats, frozen headers,
print titles, landscape A4 fitted to the page width, header and footer with the company and period.
Large books stream: xlsxwriter constant_memory writes each row to disk as it comes from the cursor.

`build(args, path, progress)` writes any book from the same arguments as its screen; `run_job` is the
background export (ExportJob progress, the project's export-job mechanism).
"""
from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable

import xlsxwriter
from flask_babel import gettext

MONEY = "#,##0.00"
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass
class Col:
    header: str
    kind: str = "text"  # text | money | date
    width: int = 14


class BookWriter:
    """One worksheet: title rows, a header row, then data rows with outline level, bold and indent."""

    def __init__(self, path: str, title: str, subtitle: str, columns: list[Col], company: str = "",
                 header_rows: list[list[str]] | None = None):
        self.workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
        self.sheet = self.workbook.add_worksheet(title[:31])
        self.columns = columns
        self._formats: dict = {}
        wb, sheet = self.workbook, self.sheet
        title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
        sub_fmt = wb.add_format({"align": "center", "font_color": "#444444"})
        head_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center",
                                  "valign": "vcenter", "text_wrap": True})
        for i, col in enumerate(columns):
            sheet.set_column(i, i, col.width)
        last = len(columns) - 1
        sheet.merge_range(0, 0, 0, last, title, title_fmt)
        sheet.merge_range(1, 0, 1, last, subtitle, sub_fmt)
        header_rows = header_rows or [[c.header for c in columns]]
        for r, headers in enumerate(header_rows, start=2):
            for i, text in enumerate(headers):
                sheet.write_string(r, i, text or "", head_fmt)
        self.row = 2 + len(header_rows)
        sheet.freeze_panes(self.row, 0)
        sheet.repeat_rows(2, self.row - 1)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)
        sheet.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
        safe = lambda s: str(s).replace("&", "&&")  # noqa: E731
        sheet.set_header(f"&L{safe(company)}&C{safe(title)}&R{safe(subtitle)}")
        sheet.set_footer(f"&L{safe(company)}&C&P / &N&R{safe(gettext('Printed'))} &D")
        sheet.outline_settings(True, False, True, False)  # outline symbols above the detail rows

    def fmt(self, kind: str, bold=False, indent=0):
        key = (kind, bool(bold), indent)
        if key not in self._formats:
            props = {}
            if bold:
                props["bold"] = True
            if kind == "money":
                props["num_format"] = MONEY
            elif kind == "date":
                props["num_format"] = "yyyy-mm-dd"
            if indent:
                props["indent"] = indent
            self._formats[key] = self.workbook.add_format(props)
        return self._formats[key]

    def write(self, values, level: int = 0, bold: bool = False, indent_col: int | None = None, indent: int = 0):
        sheet, r = self.sheet, self.row
        if level or bold:
            sheet.set_row(r, None, None, {"level": min(level, 7)} if level else None)
        for i, value in enumerate(values):
            if value is None:
                continue
            kind = self.columns[i].kind if i < len(self.columns) else "text"
            f = self.fmt(kind, bold, indent if i == indent_col else 0)
            if isinstance(value, Decimal):
                sheet.write_number(r, i, float(value), self.fmt("money", bold))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, i, value, f)
            elif isinstance(value, (date, datetime)):
                sheet.write_datetime(r, i, datetime(value.year, value.month, value.day), self.fmt("date", bold))
            else:
                sheet.write_string(r, i, str(value), f)
        self.forget_flushed(r)
        self.row += 1

    def forget_flushed(self, row: int) -> None:
        """Call once row `row` has its cells. constant_memory writes each row to disk when the next one
        starts, but xlsxwriter keeps every grouped row's RowInfo until close (≈300 MB for a million
        outline rows); the row before `row` is on disk already, so its entry can go."""
        self.sheet.row_info.pop(row - 1, None)

    def close(self):
        self.workbook.close()


def _meta(args, period_text):
    from app.services.ledger_books import company_name

    company = company_name()
    return company, f"{company}  {period_text}".strip()


def _period_text(args) -> str:
    start, end = args.get("start") or "", args.get("end") or ""
    return start if not end or end == start else f"{start} ~ {end}"


def _lvl(level: int) -> int:
    """Outline level of an account row: first-level accounts at the top (0), sub-accounts grouped below."""
    return max(0, (level or 1) - 1)


# --- the books -------------------------------------------------------------------------------------------

def write_trial_balance(path, rows, args, progress=None) -> int:
    company, subtitle = _meta(args, _period_text(args))
    cols = [Col(gettext("Account code"), width=14), Col(gettext("Account name"), width=28)] + [
        Col(h, "money", 16) for h in (gettext("Opening debit"), gettext("Opening credit"), gettext("Period debit"),
                                      gettext("Period credit"), gettext("Closing debit"), gettext("Closing credit"))]
    w = BookWriter(path, gettext("Trial balance"), subtitle, cols, company)
    n = 0
    for n, r in enumerate(rows, 1):
        values = [r.code, r.name if r.kind != "aux" else f"{r.name} / {r.aux}", r.opening_debit, r.opening_credit,
                  r.debit, r.credit, r.closing_debit, r.closing_credit]
        if r.kind == "total":
            w.write(values, 0, True)
        elif r.kind == "aux":
            w.write(values, _lvl(r.level) + 1, False, 1, r.level + 1)
        else:
            w.write(values, _lvl(r.level), r.has_children or r.level == 1, 1, r.level - 1)
    w.close()
    return n


def write_account_summary(path, rows, args, progress=None) -> int:
    company, subtitle = _meta(args, f"{args.get('date_from', '')} ~ {args.get('date_to', '')}")
    cols = [Col(gettext("Account code"), width=14), Col(gettext("Account name"), width=28),
            Col(gettext("Debit"), "money", 18), Col(gettext("Credit"), "money", 18)]
    w = BookWriter(path, gettext("Account summary"), subtitle, cols, company)
    n = 0
    for n, r in enumerate(rows, 1):
        bold = r.kind == "total" or r.has_children or r.level == 1
        w.write([r.code, r.name, r.debit, r.credit], 0 if r.kind == "total" else _lvl(r.level), bold, 1,
                max(0, r.level - 1))
    w.close()
    return n


def _dc(net):
    return gettext("Dr") if net > 0 else gettext("Cr") if net < 0 else gettext("Zero")


def write_general_ledger(path, rows, args, progress=None) -> int:
    company, subtitle = _meta(args, _period_text(args))
    cols = [Col(gettext("Account code"), width=14), Col(gettext("Account name"), width=26),
            Col(gettext("Period"), width=10), Col(gettext("Summary"), width=16), Col(gettext("Debit"), "money", 18),
            Col(gettext("Credit"), "money", 18), Col(gettext("Dr/Cr"), width=7), Col(gettext("Balance"), "money", 18)]
    w = BookWriter(path, gettext("General ledger"), subtitle, cols, company)
    n = 0
    for n, r in enumerate(rows, 1):
        bold = r.kind != "month"
        w.write([r.code, r.name, r.period, r.summary, r.debit if r.kind != "opening" else None,
                 r.credit if r.kind != "opening" else None, _dc(r.balance), abs(r.balance)],
                _lvl(r.level), bold, 1, max(0, r.level - 1))
    w.close()
    return n


def write_detail_ledger(path, rows: Iterable, args, progress=None, progress_every=5000) -> int:
    """明细账, streamed: opening, lines (outline level 1 under their account), monthly / yearly totals bold."""
    company, subtitle = _meta(args, _period_text(args))
    cols = [Col(gettext("Account code"), width=12), Col(gettext("Account name"), width=22),
            Col(gettext("Date"), "date", 11), Col(gettext("Voucher no."), width=9), Col(gettext("Summary"), width=30),
            Col(gettext("Debit"), "money", 16), Col(gettext("Credit"), "money", 16), Col(gettext("Dr/Cr"), width=6),
            Col(gettext("Balance"), "money", 17)]
    w = BookWriter(path, gettext("Subsidiary ledger"), subtitle, cols, company)
    sheet, money, day = w.sheet, w.fmt("money"), w.fmt("date")
    dr, cr, zero = gettext("Dr"), gettext("Cr"), gettext("Zero")
    level1 = {"level": 1}
    serials = {}  # date → Excel serial number (written as a number with a date format: cheaper than datetimes)
    n = 0
    for n, r in enumerate(rows, 1):
        if r.kind == "line":  # the bulk of the book: written cell by cell without the generic dispatch
            i, b, d = w.row, r.balance, r.voucher_date
            sheet.set_row(i, None, None, level1)
            sheet.write_string(i, 0, r.code)
            sheet.write_string(i, 1, r.name)
            serial = serials.get(d)
            if serial is None:
                serial = serials[d] = float((d - EXCEL_EPOCH).days)
            sheet.write_number(i, 2, serial, day)
            sheet.write_string(i, 3, r.voucher)
            sheet.write_string(i, 4, r.summary)
            sheet.write_number(i, 5, float(r.debit), money)
            sheet.write_number(i, 6, float(r.credit), money)
            sheet.write_string(i, 7, dr if b > 0 else cr if b < 0 else zero)
            sheet.write_number(i, 8, float(abs(b)), money)
            w.forget_flushed(i)
            w.row = i + 1
        elif r.kind == "opening":
            w.write([r.code, r.name, None, None, r.summary, None, None, _dc(r.balance), abs(r.balance)], 0, True)
        else:
            w.write([r.code, r.name, r.voucher_date, None, r.summary, r.debit, r.credit, _dc(r.balance),
                     abs(r.balance)], 0, True)
        if progress is not None and n % progress_every == 0:
            progress(n)
    w.close()
    return n


def write_journal(path, rows: Iterable, args, progress=None, progress_every=5000) -> int:
    company, subtitle = _meta(args, _period_text(args))
    cols = [Col(gettext("Date"), "date", 11), Col(gettext("Voucher no."), width=9), Col(gettext("Line"), width=5),
            Col(gettext("Summary"), width=30), Col(gettext("Account code"), width=12),
            Col(gettext("Account name"), width=22), Col(gettext("Debit"), "money", 16),
            Col(gettext("Credit"), "money", 16)]
    w = BookWriter(path, gettext("Journal"), subtitle, cols, company)
    n = 0
    total_d = total_c = Decimal("0")
    for n, r in enumerate(rows, 1):
        w.write([r["voucher_date"], r["voucher"], r["line_no"], r["summary"], r["code"], r["name"], r["debit"],
                 r["credit"]])
        total_d += r["debit"]
        total_c += r["credit"]
        if progress is not None and n % progress_every == 0:
            progress(n)
    w.write([None, None, None, gettext("Total"), None, None, total_d, total_c], 0, True)
    w.close()
    return n


def write_balance_sheet(path, sheet_data, args, progress=None) -> int:
    company, subtitle = _meta(args, sheet_data["period"])
    cols = [Col(gettext("Assets"), width=24), Col(gettext("Line"), width=6), Col(gettext("Closing balance"), "money", 17),
            Col(gettext("Year-opening balance"), "money", 17), Col(gettext("Liabilities and owners' equity"), width=28),
            Col(gettext("Line"), width=6), Col(gettext("Closing balance"), "money", 17),
            Col(gettext("Year-opening balance"), "money", 17)]
    w = BookWriter(path, gettext("Balance sheet"), subtitle, cols, company)
    n = 0
    for n, (a, b) in enumerate(itertools.zip_longest(sheet_data["left"], sheet_data["right"]), 1):
        r = w.row
        for offset, ln in ((0, a), (4, b)):
            if ln is None:
                continue
            fmt_text = w.fmt("text", ln.bold, 0 if ln.bold else 1)
            w.sheet.write_string(r, offset, ln.name, fmt_text)
            w.sheet.write_number(r, offset + 1, ln.line_no, w.fmt("text", ln.bold))
            w.sheet.write_number(r, offset + 2, float(ln.values[0]), w.fmt("money", ln.bold))
            w.sheet.write_number(r, offset + 3, float(ln.values[1]), w.fmt("money", ln.bold))
        w.row += 1
    w.close()
    return n


def write_income_statement(path, data, args, progress=None) -> int:
    company, subtitle = _meta(args, data["period"])
    cols = [Col(gettext("Item"), width=34), Col(gettext("Line"), width=6),
            Col(gettext("Current period"), "money", 18), Col(gettext("Year to date"), "money", 18)]
    w = BookWriter(path, gettext("Income statement"), subtitle, cols, company)
    n = 0
    for n, ln in enumerate(data["lines"], 1):
        w.write([ln.name, ln.line_no, ln.values[0], ln.values[1]], 0, ln.bold, 0, 0 if ln.bold else 1)
    w.close()
    return n


# --- one entry for every book ----------------------------------------------------------------------------

def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value):
    from app.errors import ValidationError

    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(gettext("Give a date like 2026-01-31."), "date_from") from None


BOOK_TITLES = {
    "trial_balance": "Trial balance", "account_summary": "Account summary", "general_ledger": "General ledger",
    "detail_ledger": "Subsidiary ledger", "journal": "Journal", "balance_sheet": "Balance sheet",
    "income_statement": "Income statement",
}


def book_rows(args: dict):
    """(writer, rows) of the book the arguments name; rows may be a generator (streamed)."""
    from app.services import ledger_books as B

    book = args.get("book")
    start, end = args.get("start"), args.get("end") or args.get("start")
    aux = args.get("aux") or None
    if book == "trial_balance":
        return write_trial_balance, B.trial_balance(start, end, _int(args.get("level")), aux,
                                                    args.get("account") or None)
    if book == "account_summary":
        return write_account_summary, B.account_summary(_date(args.get("date_from")), _date(args.get("date_to")),
                                                        _int(args.get("level")))
    if book == "general_ledger":
        return write_general_ledger, B.general_ledger(start, end, _int(args.get("level")), args.get("account") or None)
    if book == "detail_ledger":
        return write_detail_ledger, B.detail_ledger(start, end, args.get("account") or None, aux,
                                                    args.get("aux_value") or None)
    if book == "journal":
        return write_journal, B.journal(start, end)
    if book == "balance_sheet":
        return write_balance_sheet, B.balance_sheet(start)
    if book == "income_statement":
        return write_income_statement, B.income_statement(start)
    from app.errors import ValidationError

    raise ValidationError(gettext("Unknown book."), "book")


def build(args: dict, path: str, progress: Callable[[int], None] | None = None) -> int:
    writer, rows = book_rows(args)
    return writer(path, rows, args, progress)


def book_title(args) -> str:
    return gettext(BOOK_TITLES.get(args.get("book"), "Books"))


def estimate_rows(args: dict) -> int:
    """Rows a book will have (posted lines in its periods): decides background or direct export."""
    from sqlalchemy import func, select

    from app.services import ledger_books as B
    from models.ledger import VoucherLine as L

    if args.get("book") not in ("detail_ledger", "journal"):
        return 0
    start = B.ym(args.get("start"))
    end = B.ym(args.get("end") or args.get("start"))
    ids = B.period_ids(start=start, end=end)
    if not ids:
        return 0
    return B._session().execute(select(func.count()).select_from(L).where(L.posted.is_(True),
                                                                           L.period_id.in_(ids))).scalar()


def start_export(args: dict, user):
    """Write now (returns the path) or hand a large book to a background job (returns the job id)."""
    from flask import current_app

    from app.errors import GuaranteeError
    from app.extensions import db
    from models.system import ExportJob

    total = estimate_rows(args)
    directory = current_app.config["EXPORT_DIR"]
    os.makedirs(directory, exist_ok=True)
    if total <= current_app.config["EXPORT_ASYNC_THRESHOLD"]:
        path = os.path.join(directory, f"{uuid.uuid4().hex}.xlsx")
        build(args, path)
        return path, None
    job = ExportJob(user_id=user.id, view_name="ledger:" + str(args.get("book")), title=book_title(args),
                    total=total, status="pending")
    db.session.add(job)
    db.session.commit()
    from app.tasks import export_ledger_book

    try:
        export_ledger_book.delay(job.id, args)
    except Exception:
        current_app.logger.exception("ledger export job %s could not be queued", job.id)
        db.session.rollback()
        job = db.session.get(ExportJob, job.id)
        job.status, job.finished_at = "failed", datetime.now()
        job.error = gettext("The background export could not be started. Please try again later.")
        db.session.commit()
        raise GuaranteeError(job.error) from None
    return None, job.id


def run_job(job_id: int, args: dict) -> None:
    from flask import current_app

    from app.extensions import db
    from models.system import ExportJob

    session = db.session
    job = session.get(ExportJob, job_id)
    job.status = "running"
    session.commit()

    def progress(done):
        with db.engine.begin() as conn:
            conn.execute(ExportJob.__table__.update().where(ExportJob.__table__.c.id == job_id).values(done=done))

    filename = f"{uuid.uuid4().hex}.xlsx"
    try:
        done = build(args, os.path.join(current_app.config["EXPORT_DIR"], filename), progress)
        job = session.get(ExportJob, job_id)
        job.status, job.filename, job.finished_at, job.done = "done", filename, datetime.now(), max(done, job.total)
    except Exception:
        session.rollback()
        job = session.get(ExportJob, job_id)
        job.status, job.finished_at = "failed", datetime.now()
        job.error = gettext("The export failed; the error has been logged.")
        current_app.logger.exception("ledger export job %s failed", job_id)
    session.commit()
