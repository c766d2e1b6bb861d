"""台账 (issue 8): the business ledgers under 统计分析 — filter on screen, print (print stylesheet), download as
Excel or PDF. Rules and queries in app/services/business_ledgers.py; files in reports/business_ledger_export.py.
Registering this module also hooks the post-guarantee figures and to-dos in (app/services/post_figures.py)."""
import io
import os
import tempfile
from datetime import date

from flask import abort, flash, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import permissions as P
from app.errors import GuaranteeError
from app.services import business_ledgers as bl
from views.statistics import STATS_MENU

MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def _filters():
    """The filters of the query string, or (defaults, message) when one is not valid."""
    try:
        return bl.parse_filters(request.args), None
    except GuaranteeError as ex:
        return bl.parse_filters({}), ex.message


class BusinessLedgerView(BaseView):
    route_base = "/businessledger"
    default_view = "ledger"
    class_permission_name = P.BUSINESS_LEDGER
    base_permissions = [P.can(P.READ), P.can(P.EXPORT)]
    method_permission_name = {"ledger": P.READ, "download": P.EXPORT}

    @expose("/")
    @expose("/<name>")
    @has_access
    def ledger(self, name="guarantee"):
        if name not in bl.LEDGERS:
            abort(404)
        f, error = _filters()
        if error:
            flash(error, "warning")
        total = bl.totals(name, f)
        args = {k: v for k, v in request.args.items() if v}
        return self.render_template(
            "statistics/ledger.html", title=str(bl.LEDGERS[name]), name=name, ledgers=bl.LEDGERS,
            columns=bl.columns(name), rows=list(bl.rows(name, f, limit=bl.SCREEN_ROWS)), total=total,
            totals_row=bl.totals_row(name, total), f=f, choices=bl.choices(), screen_rows=bl.SCREEN_ROWS,
            may_export=self.appbuilder.sm.has_access(P.can(P.EXPORT), P.BUSINESS_LEDGER),
            xlsx_url=url_for(".download", name=name, fmt="xlsx", **args),
            pdf_url=url_for(".download", name=name, fmt="pdf", **args))

    @expose("/<name>/download.<fmt>")
    @has_access
    def download(self, name, fmt):
        from reports import business_ledger_export as export

        if name not in bl.LEDGERS or fmt not in MIMETYPES:
            abort(404)
        f, error = _filters()
        if error:
            flash(error, "warning")
        handle, path = tempfile.mkstemp(suffix="." + fmt)
        os.close(handle)
        try:
            (export.write_excel if fmt == "xlsx" else export.write_pdf)(name, f, path)
            with open(path, "rb") as stream:
                data = stream.read()
        finally:
            os.unlink(path)
        download_name = f"{bl.LEDGERS[name]}_{date.today():%Y%m%d}.{fmt}"
        return send_file(io.BytesIO(data), mimetype=MIMETYPES[fmt], as_attachment=True, download_name=download_name)


class MonthlyReportView(BaseView):
    """融资担保机构主要数据月报表 (and its 季报 / 年报): the period on screen and as Excel in the regulator's layout."""

    route_base = "/monthlyreport"
    default_view = "report"
    class_permission_name = P.REGULATORY
    base_permissions = [P.can(P.READ)]
    method_permission_name = {"report": P.READ, "download": P.READ}

    def _period(self):
        """The period from ?period= (yyyy-mm, yyyy-Qn, yyyy) or the older ?month=; else the business month."""
        from app.services import business_date, monthly_report

        text = request.args.get("period") or request.args.get("month")
        if text:
            try:
                return monthly_report.parse_period(text)
            except GuaranteeError as ex:
                flash(ex.message, "warning")
        today = business_date.today()
        return monthly_report.Period("month", today.year, today.month)

    @expose("/")
    @has_access
    def report(self):
        from app.services import monthly_report
        from reports.monthly_report_excel import titles

        period = self._period()
        report = monthly_report.build_period(period)
        lines, company_lines = monthly_report.line_labels(period.kind)
        return self.render_template("statistics/monthly_report.html", title=_REPORT_TITLES[period.kind],
                                    report_title=titles(report)[1], report=report, columns=monthly_report.COLUMNS,
                                    lines=lines, company_lines=company_lines, period=period,
                                    month=period.code if period.kind == "month" else "",
                                    quarter=period.code if period.kind == "quarter" else "",
                                    year=period.year)

    @expose("/download")
    @has_access
    def download(self):
        from app.services import monthly_report
        from app.services.ledger_books import company_name
        from reports import monthly_report_excel

        period = self._period()
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        try:
            monthly_report_excel.write(monthly_report.build_period(period), path, company_name())
            with open(path, "rb") as stream:
                data = stream.read()
        finally:
            os.unlink(path)
        name = f"{_REPORT_TITLES[period.kind]}_{period.code.replace('-', '')}.xlsx"
        return send_file(io.BytesIO(data), mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=name)


_REPORT_TITLES = {"month": _l("Monthly statistical report"), "quarter": _l("Quarterly statistical report"),
                  "year": _l("Annual statistical report")}


def register(appbuilder):
    from app.services import post_figures

    post_figures.register()
    appbuilder.add_view(BusinessLedgerView, "BusinessLedgers", label=_l("Business ledgers"), icon="fa-book",
                        **STATS_MENU)
    appbuilder.add_view(MonthlyReportView, "MonthlyReport", label=_l("Monthly statistical report"),
                        icon="fa-file-excel-o", **STATS_MENU)
