"""Corporate customers' financial statements (CUS-2): a tab on the corporate customer page, the entry
grid (balance sheet and income statement side by side, as an accountant reads them), the Excel template
and its upload. Every rule is in app/services/statements.py; this module only authorises and delegates.

Permissions are the customer's (P.CUSTOMER): who reads customers reads their statements; entering,
correcting or uploading a statement is editing the customer (can_edit).
"""
from datetime import date

from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import permissions as P
from app.errors import GuaranteeError, NotFound
from app.services import statements as S
from models.customer_finance import FinancialStatement
from views.base import SCREEN_METHODS, BaseModelView, SafeInterface
from views.labels import choice_label


def _db():
    from app.extensions import db

    return db


def _figure(code):
    def read(statement):
        for row in statement.items:
            if row.item_code == code:
                return S.money(row.amount)
        return ""

    return read


FinancialStatement.total_assets_text = property(_figure("total_assets"))
FinancialStatement.total_liabilities_text = property(_figure("total_liabilities"))
FinancialStatement.revenue_text = property(_figure("revenue"))
FinancialStatement.net_profit_text = property(_figure("net_profit"))


class FinancialStatementView(BaseModelView):
    """The statements of one corporate customer (the customer page's tab) and their entry screens."""

    datamodel = SafeInterface(FinancialStatement)
    class_permission_name = P.CUSTOMER
    base_permissions = [P.can(P.READ), P.can(P.EDIT), P.can(P.DELETE)]
    # No export route: statements export from the customer's tab as the Excel template, not as a list.
    include_route_methods = {"list", "show", "add", "edit", "delete", "entry", "template", "upload"}
    method_permission_name = {**SCREEN_METHODS, "add": P.EDIT, "entry": P.EDIT, "upload": P.EDIT,
                              "template": P.READ}
    list_title = _l("Financial statements")
    show_title = _l("Financial statement")
    list_columns = ["period_end", "period_type", "audited", "auditor", "total_assets_text",
                    "total_liabilities_text", "revenue_text", "net_profit_text"]
    order_columns = ["period_end", "period_type", "audited", "auditor"]
    search_columns = ["period_end", "period_type", "audited"]
    base_order = ("period_end", "desc")
    page_size = 10
    label_columns = {
        "customer": _l("Customer"), "period_end": _l("Period end date"), "period_type": _l("Period type"),
        "audited": _l("Audited"), "auditor": _l("Auditor"), "currency_unit": _l("Currency unit"),
        "note": _l("Note"), "total_assets_text": _l("Total assets"),
        "total_liabilities_text": _l("Total liabilities"), "revenue_text": _l("Operating revenue"),
        "net_profit_text": _l("Net profit"),
    }
    formatters_columns = {"period_type": choice_label(S.PERIOD_TYPES),
                          "audited": lambda v: gettext("Yes") if v else gettext("No")}

    # --- helpers -------------------------------------------------------------------------------
    def _customer(self, customer_id):
        try:
            return S.corporate_customer(customer_id)
        except NotFound:
            abort(404)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            abort(400)

    def _statement(self, pk):
        statement = self.datamodel.get(pk, self._base_filters)  # data scope applies through the customer
        if statement is None:
            abort(404)
        return statement

    @staticmethod
    def customer_url(customer):
        from flask import current_app

        for endpoint in ("CorporateCustomerView.show", "CustomerView.show"):
            if endpoint in current_app.view_functions:
                return url_for(endpoint, pk=customer.id)
        return url_for("FinancialStatementView.list")

    def _render_entry(self, customer, statement=None, form=None, errors=None):
        values = {}
        if form is not None:
            values = {code: form.get(f"v_{code}", "") for code in S.ITEM_BY_CODE}
        elif statement is not None:
            values = {row.item_code: S.money(row.amount) for row in statement.items}
        header = form or {}
        if statement is not None and form is None:
            header = {"period_end": statement.period_end.isoformat(), "period_type": statement.period_type,
                      "audited": "1" if statement.audited else "", "auditor": statement.auditor or "",
                      "note": statement.note or ""}
        return self.render_template(
            "statement_form.html", title=gettext("Financial statement"), customer=customer, statement=statement,
            values=values, header=header, errors=errors or {}, period_types=S.period_types(),
            asset_items=S.ASSET_ITEMS, claim_items=S.CLAIM_ITEMS, income_items=S.INCOME_ITEMS,
            readonly=False, back_url=self.customer_url(customer),
            template_url=url_for("FinancialStatementView.template", customer_id=customer.id,
                                 statement=statement.id if statement else None),
            upload_url=url_for("FinancialStatementView.upload", customer_id=customer.id),
        )

    # --- the tab's add/edit/show buttons open the grid -------------------------------------------
    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        customer_id = next((value for key, value in request.args.items()
                            if key.startswith("_flt_") and key.endswith("_customer")), None)
        if not customer_id or not str(customer_id).isdigit():
            flash(gettext("Open a corporate customer to enter its statements."), "info")
            return redirect(url_for("CustomerView.list"))
        return redirect(url_for("FinancialStatementView.entry", customer_id=int(customer_id)))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        statement = self._statement(pk)
        return redirect(url_for("FinancialStatementView.entry", customer_id=statement.customer_id,
                                statement=statement.id))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        statement = self._statement(pk)
        customer = statement.customer
        values = {row.item_code: S.money(row.amount) for row in statement.items}
        return self.render_template(
            "statement_form.html", title=gettext("Financial statement"), customer=customer, statement=statement,
            values=values, header={}, errors={}, period_types=S.period_types(), asset_items=S.ASSET_ITEMS,
            claim_items=S.CLAIM_ITEMS, income_items=S.INCOME_ITEMS, readonly=True,
            back_url=self.customer_url(customer),
            period_type_label=str(S.PERIOD_TYPES.get(statement.period_type, statement.period_type)),
            template_url=url_for("FinancialStatementView.template", customer_id=customer.id, statement=statement.id),
            edit_url=url_for("FinancialStatementView.entry", customer_id=customer.id, statement=statement.id),
        )

    # --- entry grid --------------------------------------------------------------------------------
    @expose("/entry/<int:customer_id>", methods=["GET", "POST"])
    @has_access
    def entry(self, customer_id):
        customer = self._customer(customer_id)
        statement_id = request.args.get("statement", type=int)
        statement = None
        if statement_id is not None:
            statement = self._statement(statement_id)
            if statement.customer_id != customer.id:
                abort(404)
        if request.method != "POST":
            return self._render_entry(customer, statement)
        form = request.form
        errors = {}
        try:
            data = self._read_form(form, errors)
            if errors:
                raise S.StatementError(list(errors.items()))
            saved = S.save_statement(customer.id, data, statement_id=statement.id if statement else None)
            _db().session.commit()
        except S.StatementError as ex:
            _db().session.rollback()
            for code, message in ex.problems:
                errors.setdefault(code, message)
                flash(message, "danger")
            return self._render_entry(customer, statement, form=form, errors=errors)
        except GuaranteeError as ex:
            _db().session.rollback()
            errors[ex.field or ""] = ex.message
            flash(ex.message, "danger")
            return self._render_entry(customer, statement, form=form, errors=errors)
        flash(gettext("The financial statement was saved."), "success")
        return redirect(url_for("FinancialStatementView.show", pk=saved.id))

    @staticmethod
    def _read_form(form, errors) -> S.StatementInput:
        period_end = None
        raw = (form.get("period_end") or "").strip()
        try:
            period_end = date.fromisoformat(raw)
        except ValueError:
            errors["period_end"] = gettext("Enter the period end date (like 2025-12-31).")
        values = {}
        for item in S.ITEMS:
            raw_amount = form.get(f"v_{item.code}", "")
            try:
                values[item.code] = S.parse_amount(raw_amount)
            except ValueError:
                errors[item.code] = gettext("%(where)s %(item)s: \"%(value)s\" is not an amount.",
                                            where=gettext("line %(line)s", line=item.line), item=item.label,
                                            value=raw_amount)
        return S.StatementInput(period_end=period_end, period_type=form.get("period_type", ""),
                                audited=bool(form.get("audited")), auditor=form.get("auditor"),
                                note=form.get("note"), values=values)

    # --- Excel template and upload -----------------------------------------------------------------
    @expose("/template/<int:customer_id>")
    @has_access
    def template(self, customer_id):
        import io

        from reports.statement_template import build_template

        customer = self._customer(customer_id)
        statement = None
        statement_id = request.args.get("statement", type=int)
        if statement_id is not None:
            statement = self._statement(statement_id)
            if statement.customer_id != customer.id:
                abort(404)
        data = build_template(customer, statement)
        name = gettext("financial-statements") + f"-{customer.code}.xlsx"
        return send_file(io.BytesIO(data), as_attachment=True, download_name=name,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @expose("/upload/<int:customer_id>", methods=["POST"])
    @has_access
    def upload(self, customer_id):
        from app.services.xlsx_upload import read_upload

        customer = self._customer(customer_id)
        try:
            data = read_upload(request.files.get("file"))
            saved = S.import_workbook(customer.id, data)
            _db().session.commit()
        except S.StatementError as ex:
            _db().session.rollback()
            for _, message in ex.problems:
                flash(message, "danger")
            return redirect(url_for("FinancialStatementView.entry", customer_id=customer.id))
        except GuaranteeError as ex:
            _db().session.rollback()
            flash(ex.message, "danger")
            return redirect(url_for("FinancialStatementView.entry", customer_id=customer.id))
        flash(gettext("The statement for %(day)s was imported.", day=saved.period_end.isoformat()), "success")
        return redirect(url_for("FinancialStatementView.show", pk=saved.id))


# The corporate customer page shows these as tabs (views/__init__.py customer_tabs("corporate")).
CORPORATE_TABS = [FinancialStatementView]
