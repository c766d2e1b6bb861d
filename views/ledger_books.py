"""Screens of the books and statements (账簿查询, 报表查询), month-end processing (期末处理) and the
statement-line mapping (报表项目设置). Thin: they read the filters, call app/services/ledger_books.py /
ledger_close.py and render; every rule is in the services."""
from datetime import date
from decimal import Decimal

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup, escape

from app import permissions as P
from app.errors import GuaranteeError
from models.ledger import CloseRun, Period, ReportLine
from views.base import BaseModelView, SafeInterface

VOUCHER_SHOW_URL = "/voucherview/show/{id}"  # the voucher screen's show page (views/ledger.py)

BOOKS = [  # endpoint, title
    ("trial_balance", _l("Trial balance")),
    ("general_ledger", _l("General ledger")),
    ("detail_ledger", _l("Subsidiary ledger")),
    ("journal", _l("Journal")),
    ("account_summary", _l("Account summary")),
    ("balance_sheet", _l("Balance sheet")),
    ("income_statement", _l("Income statement")),
]
SCREEN_ROWS = 2000  # rows shown on a book screen; the export has them all


def _money(value) -> str:
    if value is None:
        return ""
    value = Decimal(value)
    return "" if value == 0 else f"{value:,.2f}"


def _cell(text="", num=False, link=None):
    if text is None:
        text = ""
    return {"text": text if isinstance(text, Markup) else str(text), "num": num, "link": link}


def _default_period() -> str:
    from app.services.business_date import today

    d = today()
    return f"{d.year}-{d.month:02d}"


class LedgerBooksView(BaseView):
    route_base = "/ledgerbooks"
    default_view = "trial_balance"
    class_permission_name = P.LEDGER_BOOKS
    base_permissions = [P.can(P.READ), P.can(P.EXPORT)]
    method_permission_name = {**{name: P.READ for name, _ in BOOKS}, "export": P.EXPORT}

    # --- filters ---------------------------------------------------------------------------------------
    def _args(self, book):
        a = request.args
        args = {"book": book, "start": a.get("start") or _default_period(), "end": a.get("end") or "",
                "level": a.get("level", "" if book != "general_ledger" else "1"), "aux": a.get("aux") or "",
                "account": (a.get("account") or "").strip(), "aux_value": a.get("aux_value") or "",
                "include_zero": a.get("include_zero") or ""}
        if book == "account_summary":
            today = date.fromisoformat(args["start"] + "-01") if len(args["start"]) == 7 else date.today()
            args["date_from"] = a.get("date_from") or today.replace(day=1).isoformat()
            args["date_to"] = a.get("date_to") or today.isoformat()
        if book == "trial_balance" and "level" not in a:
            args["level"] = ""
        return args

    def _render(self, book, args, table, message=None):
        from app.services import ledger_books as B

        return self.render_template(
            "ledger_book.html", book=book, books=BOOKS, args=args, table=table, message=message,
            title=dict(BOOKS)[book], periods=[str(p) for p in B.all_periods()], aux_choices=B.AUX_DIMENSIONS,
            company=B.company_name(), books_view=self.__class__.__name__)

    def _book(self, book, build):
        args = self._args(book)
        try:
            table = build(args)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            table = {"headers": [], "rows": []}
        return self._render(book, args, table)

    # --- the books -------------------------------------------------------------------------------------
    @expose("/trial_balance/")
    @has_access
    def trial_balance(self):
        def build(args):
            from app.services import ledger_books as B

            level = int(args["level"]) if args["level"].isdigit() else None
            rows = B.trial_balance(args["start"], args["end"] or None, level, args["aux"] or None,
                                   args["account"] or None, bool(args["include_zero"]))
            out = []
            for r in rows:
                link = None
                if r.kind == "account":
                    link = url_for("LedgerBooksView.detail_ledger", start=args["start"], end=args["end"] or "",
                                   account=r.code, by_account="1" if r.has_children else "")
                name = r.name if r.kind != "aux" else f"{r.aux}"
                out.append({"bold": r.kind == "total" or r.has_children or r.level == 1,
                            "indent": (r.level - 1) if r.kind != "aux" else r.level, "kind": r.kind,
                            "cells": [_cell(r.code if r.kind != "aux" else ""), _cell(name, link=link),
                                      *[_cell(_money(v), True) for v in (
                                          r.opening_debit, r.opening_credit, r.debit, r.credit, r.closing_debit,
                                          r.closing_credit)]]})
            return {"headers": [gettext("Account code"), gettext("Account name"), gettext("Opening debit"),
                                gettext("Opening credit"), gettext("Period debit"), gettext("Period credit"),
                                gettext("Closing debit"), gettext("Closing credit")], "rows": out}

        return self._book("trial_balance", build)

    @expose("/account_summary/")
    @has_access
    def account_summary(self):
        def build(args):
            from app.services import ledger_books as B

            rows = B.account_summary(date.fromisoformat(args["date_from"]), date.fromisoformat(args["date_to"]),
                                     int(args["level"]) if args["level"].isdigit() else None)
            return {"headers": [gettext("Account code"), gettext("Account name"), gettext("Debit"), gettext("Credit")],
                    "rows": [{"bold": r.kind == "total" or r.level == 1, "indent": max(0, r.level - 1),
                              "cells": [_cell(r.code), _cell(r.name), _cell(_money(r.debit), True),
                                        _cell(_money(r.credit), True)]} for r in rows]}

        try:
            return self._book("account_summary", build)
        except ValueError:
            flash(gettext("Give a date like 2026-01-31."), "danger")
            return self._render("account_summary", self._args("account_summary"), {"headers": [], "rows": []})

    @expose("/general_ledger/")
    @has_access
    def general_ledger(self):
        def build(args):
            from app.services import ledger_books as B

            level = int(args["level"]) if args["level"].isdigit() else None
            rows = B.general_ledger(args["start"], args["end"] or None, level, args["account"] or None)
            return {"headers": [gettext("Account code"), gettext("Account name"), gettext("Period"),
                                gettext("Summary"), gettext("Debit"), gettext("Credit"), gettext("Dr/Cr"),
                                gettext("Balance")],
                    "rows": [{"bold": r.kind != "month", "indent": max(0, r.level - 1),
                              "cells": [_cell(r.code), _cell(r.name, link=url_for(
                                  "LedgerBooksView.detail_ledger", start=r.period, account=r.code,
                                  by_account="1")), _cell(r.period), _cell(r.summary),
                                  _cell(_money(r.debit), True), _cell(_money(r.credit), True),
                                  _cell(B.direction_label(r.balance)), _cell(_money(abs(r.balance)), True)]}
                             for r in rows]}

        return self._book("general_ledger", build)

    @expose("/detail_ledger/")
    @has_access
    def detail_ledger(self):
        def build(args):
            from app.services import ledger_books as B

            if not args["account"]:
                return {"headers": [], "rows": [], "note": gettext("Choose an account.")}
            rows = B.detail_ledger(args["start"], args["end"] or None, args["account"], args["aux"] or None,
                                   args["aux_value"] or None, by_leaf=not request.args.get("by_account"))
            out = []
            for n, r in enumerate(rows):
                if n >= SCREEN_ROWS:
                    out.append({"bold": True, "indent": 0, "cells": [_cell(gettext(
                        "Only the first %(n)s rows are shown; the export has them all.", n=SCREEN_ROWS))]})
                    break
                link = VOUCHER_SHOW_URL.format(id=r.voucher_id) if r.voucher_id else None
                out.append({"bold": r.kind != "line", "indent": 0,
                            "cells": [_cell(r.code), _cell(r.name), _cell(r.voucher_date or ""),
                                      _cell(r.voucher, link=link), _cell(r.summary),
                                      _cell(_money(r.debit) if r.kind != "opening" else "", True),
                                      _cell(_money(r.credit) if r.kind != "opening" else "", True),
                                      _cell(B.direction_label(r.balance)), _cell(_money(abs(r.balance)), True)]})
            return {"headers": [gettext("Account code"), gettext("Account name"), gettext("Date"),
                                gettext("Voucher no."), gettext("Summary"), gettext("Debit"), gettext("Credit"),
                                gettext("Dr/Cr"), gettext("Balance")], "rows": out}

        return self._book("detail_ledger", build)

    @expose("/journal/")
    @has_access
    def journal(self):
        def build(args):
            from app.services import ledger_books as B

            out = []
            for n, r in enumerate(B.journal(args["start"], args["end"] or None)):
                if n >= SCREEN_ROWS:
                    out.append({"bold": True, "indent": 0, "cells": [_cell(gettext(
                        "Only the first %(n)s rows are shown; the export has them all.", n=SCREEN_ROWS))]})
                    break
                out.append({"bold": False, "indent": 0, "cells": [
                    _cell(r["voucher_date"]), _cell(r["voucher"], link=VOUCHER_SHOW_URL.format(id=r["voucher_id"])),
                    _cell(r["summary"]), _cell(r["code"]), _cell(r["name"]), _cell(_money(r["debit"]), True),
                    _cell(_money(r["credit"]), True)]})
            return {"headers": [gettext("Date"), gettext("Voucher no."), gettext("Summary"), gettext("Account code"),
                                gettext("Account name"), gettext("Debit"), gettext("Credit")], "rows": out}

        return self._book("journal", build)

    @expose("/balance_sheet/")
    @has_access
    def balance_sheet(self):
        def build(args):
            import itertools

            from app.services import ledger_books as B

            data = B.balance_sheet(args["start"])
            out = []
            for a, b in itertools.zip_longest(data["left"], data["right"]):
                cells = []
                for ln in (a, b):
                    if ln is None:
                        cells += [_cell(), _cell(), _cell(), _cell()]
                    else:
                        name = Markup("<b>%s</b>") % ln.name if ln.bold else Markup("&nbsp;&nbsp;") + escape(ln.name)
                        cells += [_cell(name), _cell(ln.line_no), _cell(_money(ln.values[0]), True),
                                  _cell(_money(ln.values[1]), True)]
                out.append({"bold": False, "indent": 0, "cells": cells})
            return {"headers": [gettext("Assets"), gettext("Line"), gettext("Closing balance"),
                                gettext("Year-opening balance"), gettext("Liabilities and owners' equity"),
                                gettext("Line"), gettext("Closing balance"), gettext("Year-opening balance")],
                    "rows": out}

        return self._book("balance_sheet", build)

    @expose("/income_statement/")
    @has_access
    def income_statement(self):
        def build(args):
            from app.services import ledger_books as B

            data = B.income_statement(args["start"])
            return {"headers": [gettext("Item"), gettext("Line"), gettext("Current period"), gettext("Year to date")],
                    "rows": [{"bold": ln.bold, "indent": 0 if ln.bold else 1,
                              "cells": [_cell(ln.name), _cell(ln.line_no), _cell(_money(ln.values[0]), True),
                                        _cell(_money(ln.values[1]), True)]} for ln in data["lines"]]}

        return self._book("income_statement", build)

    # --- export ----------------------------------------------------------------------------------------
    @expose("/export/<book>/")
    @has_access
    def export(self, book):
        import os
        import tempfile

        from reports import ledger_excel, ledger_pdf

        if book not in dict(BOOKS):
            abort(404)
        args = self._args(book)
        args["by_account"] = request.args.get("by_account") or ""
        fmt = request.args.get("format", "xlsx")
        name = f"{ledger_excel.book_title(args)}-{args['start']}"
        try:
            if fmt == "pdf":
                fd, path = tempfile.mkstemp(suffix=".pdf")
                os.close(fd)
                ledger_pdf.build(args, path)
                return self._send(path, name + ".pdf")
            path, job_id = ledger_excel.start_export(args, g.user)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            return redirect(url_for(f"LedgerBooksView.{book}", **request.args))
        if path:
            return self._send(path, name + ".xlsx")
        flash(gettext("The export runs in the background; it is listed under My exports."), "info")
        return redirect(url_for("ExportJobView.progress", pk=job_id))

    @staticmethod
    def _send(path, download_name):
        import os

        from flask import after_this_request

        @after_this_request
        def cleanup(response):
            try:
                os.remove(path)
            except OSError:
                pass
            return response

        return send_file(path, as_attachment=True, download_name=download_name)


# --- month-end processing ----------------------------------------------------------------------------------

RUN_STATES = {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}


class PeriodCloseView(BaseView):
    """期末处理: the periods with their state, close with a progress bar, reopen (反结账)."""

    route_base = "/periodclose"
    default_view = "index"
    class_permission_name = P.PERIOD_CLOSE
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"index": P.READ, "progress": P.READ, "status": P.READ, "close": P.RUN}

    @expose("/")
    @has_access
    def index(self):
        from sqlalchemy import select

        from app.extensions import db
        from app.services import ledger_close, settings

        periods = list(db.session.execute(select(Period).order_by(Period.year.desc(), Period.month.desc())
                                          .limit(36)).scalars())
        runs = list(db.session.execute(select(CloseRun).order_by(CloseRun.id.desc()).limit(20)).scalars())
        rates = {"unearned": settings.get("gl_unearned_reserve_rate"),
                 "compensation": settings.get("gl_compensation_reserve_rate")}
        latest_closed = next((p for p in periods if p.status == "closed"), None)
        return self.render_template("ledger_close.html", periods=periods, runs=runs, rates=rates,
                                    run_states=RUN_STATES, latest_closed=latest_closed,
                                    may_reopen=ledger_close.may_reopen(g.user), title=gettext("Month-end processing"),
                                    close_view=self.__class__.__name__)

    @expose("/close/<int:pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        from app.services import ledger_close

        try:
            run_id = ledger_close.start_close(pk, g.user)
        except GuaranteeError as ex:
            from app.extensions import db

            db.session.rollback()
            flash(ex.message, "danger")
            return redirect(url_for("PeriodCloseView.index"))
        return redirect(url_for("PeriodCloseView.progress", pk=run_id))

    @expose("/progress/<int:pk>")
    @has_access
    def progress(self, pk):
        from app.extensions import db

        run = db.session.get(CloseRun, pk)
        if run is None:
            abort(404)
        return self.render_template("ledger_close_progress.html", run=run, title=gettext("Month-end processing"))

    @expose("/status/<int:pk>")
    @has_access
    def status(self, pk):
        from app.extensions import db

        run = db.session.get(CloseRun, pk)
        if run is None:
            abort(404)
        return jsonify(status=run.status, progress=run.progress, message=run.message or "",
                       label=str(RUN_STATES.get(run.status, run.status)))


class PeriodReopenView(BaseView):
    """反结账 (its own permission: the finance reviewer or the general manager)."""

    route_base = "/periodreopen"
    class_permission_name = P.PERIOD_REOPEN
    base_permissions = [P.can(P.RUN)]
    method_permission_name = {"reopen": P.RUN}

    @expose("/reopen/<int:pk>", methods=["POST"])
    @has_access
    def reopen(self, pk):
        from app.services import ledger_close

        try:
            ledger_close.reopen_period(pk, g.user, request.form.get("reason", ""))
            flash(gettext("The period has been reopened."), "success")
        except GuaranteeError as ex:
            flash(ex.message, "danger")
        return redirect(url_for("PeriodCloseView.index"))


# --- statement lines ---------------------------------------------------------------------------------------

def _validate_report_line(item):
    from app.services.ledger_books import validate_report_line

    validate_report_line(item)


class ReportLineView(BaseModelView):
    datamodel = SafeInterface(ReportLine)
    class_permission_name = P.REPORT_LINE
    base_permissions = [P.can(v) for v in P.ALL_VERBS]
    list_title = _l("Statement lines")
    list_columns = ["report", "line_no", "name", "section", "formula", "bold"]
    add_columns = edit_columns = show_columns = ["report", "line_no", "name", "section", "formula", "bold"]
    search_columns = ["report", "name", "formula"]
    base_order = ("line_no", "asc")
    page_size = 50
    label_columns = {"report": _l("Statement"), "line_no": _l("Line"), "name": _l("Item"), "section": _l("Section"),
                     "formula": _l("Formula"), "bold": _l("Bold (total line)")}
    description_columns = {"formula": _l('Accounts with signs, e.g. "+1001,+1002,-1231" (sub-accounts included), '
                                         'or a sum of lines of the same statement, e.g. "=L1+L2-L3".')}
    formatters_columns = {"report": lambda v: str(__import__("app.services.ledger_books", fromlist=["REPORTS"])
                                                  .REPORTS.get(v, v)),
                          "section": lambda v: str(__import__("app.services.ledger_books", fromlist=["SECTIONS"])
                                                   .SECTIONS.get(v, v or ""))}
    validators = (_validate_report_line,)

    def _init_forms(self):
        from wtforms import SelectField

        from app.services.ledger_books import REPORTS, SECTIONS

        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "report": SelectField(_l("Statement"), choices=list(REPORTS.items())),
            "section": SelectField(_l("Section"), choices=list(SECTIONS.items())),
        }
        super()._init_forms()


def register(appbuilder):
    """Menus under Finance (财务管理), after the voucher screens of views/ledger.py."""
    fin = dict(category="Finance", category_label=_l("Finance"), category_icon="fa-calculator")
    add = appbuilder.add_view
    add(PeriodCloseView, "PeriodClose", label=_l("Month-end processing"), icon="fa-calendar-check-o",
        href="/periodclose/", **fin)
    add(LedgerBooksView, "LedgerBooks", label=_l("Books"), icon="fa-book", href="/ledgerbooks/trial_balance/", **fin)
    add(LedgerBooksView, "FinancialStatements", label=_l("Financial statements"), icon="fa-table",
        href="/ledgerbooks/balance_sheet/", **fin)
    add(ReportLineView, "ReportLines", label=_l("Statement lines"), icon="fa-list", **fin)
    appbuilder.add_view_no_menu(PeriodReopenView)
