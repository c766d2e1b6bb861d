"""General-ledger screens and APIs (GL-1, GL-2, GL-3, GL-7): chart of accounts, vouchers (entry grid,
show with review/sign/post/reverse/print), business-event review queue, voucher templates, chain check.

Views only authorise and delegate to app/services/ledger.py and ledger_events.py, then commit. Each
action lives on a view of its own permission resource (review, post, cashier sign), so a grant means
the same on the screen, the API and a hand-made POST.
"""
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import DataRequired

from app import permissions as P
from app.errors import GuaranteeError, NotFound
from app.extensions import db
from app.services import ledger, ledger_events
from models.ledger import (Account, BusinessEvent, Period, Voucher, VoucherLine, VoucherTemplate,
                           VoucherTemplateLine)
from views.base import BaseApi, BaseModelView, SafeInterface
from views.labels import choice_label

CATEGORIES = {"asset": _l("Assets"), "liability": _l("Liabilities"), "common": _l("Common"),
              "equity": _l("Owners' equity"), "cost": _l("Costs"), "profit_loss": _l("Profit and loss")}
DIRECTIONS = {"debit": _l("Debit"), "credit": _l("Credit")}
VOUCHER_TYPES = {"ji": _l("General voucher"), "shou": _l("Receipt voucher"), "fu": _l("Payment voucher"),
                 "zhuan": _l("Transfer voucher")}
VOUCHER_STATUSES = {"draft": _l("Not reviewed"), "reviewed": _l("Reviewed"), "posted": _l("Posted")}
SOURCES = {"manual": _l("Manual"), "event": _l("Business event"), "reversal": _l("Reversal"),
           "accrual": _l("Accrual"), "carry_forward": _l("Carry forward"), "year_end": _l("Year end"),
           "demo": _l("Manual")}


def _commit_or_flash(action, success_message):
    """Run a service action; commit and flash success, or roll back and flash the reason. Returns the result."""
    try:
        result = action()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        flash(ex.message, "danger")
        return None
    flash(success_message, "success")
    return result or True


def _user_name(user):
    return f"{user.first_name or ''}{user.last_name or ''}" if user is not None else ""


# --- chart of accounts ------------------------------------------------------------------------------------

def _indented_name(name, level=1):
    return Markup("&nbsp;" * 4 * ((level or 1) - 1)) + escape(name)


class AccountView(BaseModelView):
    datamodel = SafeInterface(Account)
    class_permission_name = P.ACCOUNT
    list_title = _l("Chart of accounts")
    show_title, add_title, edit_title = _l("Account"), _l("Add account"), _l("Edit account")
    list_columns = ["code", "indented_name", "category", "direction", "is_cash", "aux_customer", "aux_department",
                    "aux_project", "aux_bank", "enabled"]
    order_columns = ["code", "category", "direction"]
    export_columns = ["code", "name", "level", "category", "direction", "is_cash", "aux_customer", "aux_department",
                      "aux_project", "aux_bank", "enabled"]
    search_columns = ["code", "name", "category", "direction", "is_cash", "enabled"]
    add_columns = edit_columns = ["code", "name", "parent", "category", "direction", "is_cash", "aux_customer",
                                  "aux_department", "aux_project", "aux_bank", "enabled"]
    show_columns = ["code", "name", "parent", "level", "category", "direction", "is_cash", "aux_customer",
                    "aux_department", "aux_project", "aux_bank", "enabled"]
    base_order = ("code", "asc")
    page_size = 100
    label_columns = {"code": _l("Account code"), "name": _l("Account name"), "indented_name": _l("Account name"),
                     "parent": _l("Parent account"), "level": _l("Account level"), "category": _l("Account category"),
                     "direction": _l("Balance direction"), "is_cash": _l("Cash or bank"),
                     "aux_customer": _l("Customer (aux.)"), "aux_department": _l("Department (aux.)"),
                     "aux_project": _l("Project (aux.)"), "aux_bank": _l("Bank account (aux.)"),
                     "enabled": _l("Enabled")}
    formatters_columns = {"category": choice_label(CATEGORIES), "direction": choice_label(DIRECTIONS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "category": SelectField(_l("Account category"), choices=[(k, v) for k, v in CATEGORIES.items()],
                                validators=[DataRequired()], widget=Select2Widget()),
        "direction": SelectField(_l("Balance direction"), choices=[(k, v) for k, v in DIRECTIONS.items()],
                                 validators=[DataRequired()], widget=Select2Widget()),
    }
    validators = (ledger.validate_account,)
    delete_validators = (ledger.refuse_account_in_use,)


Account.indented_name = property(lambda self: _indented_name(self.name, self.level))


class AccountApi(BaseApi):
    resource_name = "ledger_account"
    datamodel = SafeInterface(Account)
    class_permission_name = P.ACCOUNT
    list_columns = show_columns = ["id", "code", "name", "parent_id", "level", "category", "direction", "is_cash",
                                   "aux_customer", "aux_department", "aux_project", "aux_bank", "enabled"]
    add_columns = edit_columns = ["code", "name", "parent", "category", "direction", "is_cash", "aux_customer",
                                  "aux_department", "aux_project", "aux_bank", "enabled"]
    search_columns = ["code", "name", "category", "enabled"]
    base_order = ("code", "asc")
    validators = (ledger.validate_account,)
    delete_validators = (ledger.refuse_account_in_use,)


# --- vouchers -----------------------------------------------------------------------------------------------

class FilterVoucherAccount(BaseFilter):
    """Vouchers with a line on the account or one of its sub-accounts (code prefix)."""

    name = _l("Account")

    def apply(self, query, value):
        code = str(value or "").strip()
        lines = select(VoucherLine.voucher_id).join(Account, Account.id == VoucherLine.account_id).where(
            Account.code.startswith(code, autoescape=True))
        return query.where(Voucher.id.in_(lines))


def _line_inputs(form) -> list[dict]:
    """The entry grid's rows (parallel arrays) as line dicts."""
    keys = ("summary", "account_id", "debit", "credit", "customer_id", "department_id", "project_code", "bank_account")
    columns = {k: form.getlist("line_summary" if k == "summary" else k) for k in keys}
    count = max((len(v) for v in columns.values()), default=0)
    return [{k: (columns[k][i] if i < len(columns[k]) else "") for k in keys} for i in range(min(count, 500))]


def _header_inputs(form) -> dict:
    return {"voucher_date": form.get("voucher_date"), "voucher_type": form.get("voucher_type") or "ji",
            "summary": form.get("summary"), "attachment_count": form.get("attachment_count") or 0}


def _entry_context(voucher=None, values=None, lines=None):
    from models.customers import Customer
    from models.system import Department

    session = db.session
    accounts = []
    for account in ledger.leaf_accounts():
        aux = "".join(flag for flag, on in (("C", account.aux_customer), ("D", account.aux_department),
                                            ("P", account.aux_project), ("B", account.aux_bank or account.is_cash))
                      if on)
        accounts.append({"id": account.id, "label": ledger.account_full_name(account), "aux": aux,
                         "cash": account.is_cash})
    if lines is None:
        lines = [{"summary": line.summary, "account_id": line.account_id,
                  "debit": line.debit if line.debit else "", "credit": line.credit if line.credit else "",
                  "customer_id": line.customer_id, "department_id": line.department_id,
                  "project_code": line.project_code or "", "bank_account": line.bank_account or ""}
                 for line in voucher.lines] if voucher is not None else []
    # Only the customers already on the lines are rendered; others are searched as the user types
    # (Select2 against the customer picker), so the form stays small with any number of customers.
    chosen = {int(ln["customer_id"]) for ln in lines if str(ln.get("customer_id") or "").isdigit()}
    customers = session.execute(select(Customer.id, Customer.code, Customer.name)
                                .where(Customer.id.in_(chosen))).all() if chosen else []
    departments = session.execute(select(Department.id, Department.name).order_by(Department.sort_order)).all()
    if values is None:
        from app.services import business_date

        values = {"voucher_date": business_date.today().isoformat(), "voucher_type": "ji", "summary": "",
                  "attachment_count": 0}
        if voucher is not None:
            values = {"voucher_date": voucher.voucher_date.isoformat(), "voucher_type": voucher.voucher_type,
                      "summary": voucher.summary or "", "attachment_count": voucher.attachment_count}
    while len(lines) < 4:
        lines.append({})
    return {"accounts": accounts, "customers": customers, "departments": departments, "values": values,
            "lines": lines, "voucher": voucher, "voucher_types": VOUCHER_TYPES}


class VoucherListWidget(ListWidget):
    template = "ledger_voucher_list_widget.html"


class VoucherView(BaseModelView):
    datamodel = SafeInterface(Voucher)
    list_widget = VoucherListWidget
    class_permission_name = P.VOUCHER
    method_permission_name = {**BaseModelView.method_permission_name, "reverse": P.ADD, "print_pdf": P.READ}
    list_template = "ledger_voucher_list.html"
    list_title = _l("Vouchers")
    show_title, add_title, edit_title = _l("Voucher"), _l("Make voucher"), _l("Edit voucher")
    list_columns = ["period", "voucher_date", "number_label", "summary", "total_debit", "status", "maker",
                    "source"]
    order_columns = ["voucher_date", "total_debit", "status", "source"]
    export_columns = ["period", "voucher_date", "number_label", "summary", "attachment_count", "total_debit",
                      "total_credit", "status", "maker", "reviewer", "cashier", "poster", "source", "post_seq"]
    search_columns = ["period", "voucher_type", "status", "voucher_date", "summary", "source", "number"]
    show_columns = list_columns
    base_order = ("id", "desc")
    page_size = 50
    label_columns = {"period": _l("Period"), "voucher_date": _l("Voucher date"), "number_label": _l("Voucher no."),
                     "number": _l("Number"), "voucher_type": _l("Voucher type"), "summary": _l("Summary"),
                     "attachment_count": _l("Attachments"), "total_debit": _l("Debit total"),
                     "total_credit": _l("Credit total"), "status": _l("Status"), "maker": _l("Maker"),
                     "reviewer": _l("Reviewer"), "cashier": _l("Cashier"), "poster": _l("Posted by"),
                     "source": _l("Source"), "post_seq": _l("Post no.")}
    formatters_columns = {"status": choice_label(VOUCHER_STATUSES), "voucher_type": choice_label(VOUCHER_TYPES),
                          "source": choice_label(SOURCES), "total_debit": lambda v: f"{v:,.2f}",
                          "total_credit": lambda v: f"{v:,.2f}", "maker": _user_name, "reviewer": _user_name,
                          "cashier": _user_name, "poster": _user_name}

    def _get_list_widget(self, filters, **kwargs):
        account = (request.args.get("account") or "").strip()
        if account and request.endpoint == f"{self.endpoint}.list":
            if len(account) > 20 or not account.isdigit():
                flash(gettext("The account filter takes an account code."), "warning")
            else:
                filters = filters.copy()
                filters.add_filter("summary", FilterVoucherAccount, account)
        return super()._get_list_widget(filters, **kwargs)

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(periods=db.session.execute(select(Period).order_by(Period.year.desc(),
                                                                              Period.month.desc())).scalars().all(),
                          account_filter=request.args.get("account", ""))
        return super().render_template(template, **kwargs)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        if request.method == "POST":
            header = _header_inputs(request.form)
            lines = _line_inputs(request.form)
            try:
                voucher = ledger.create_voucher(header["voucher_date"], lines, voucher_type=header["voucher_type"],
                                                summary=header["summary"], attachment_count=header["attachment_count"],
                                                maker_id=g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                flash(ex.message, "danger")
                return self.render_template("ledger_voucher_form.html", title=self.add_title,
                                            **_entry_context(values=header, lines=lines))
            flash(gettext("Voucher %(number)s saved.", number=voucher.display_number), "success")
            if request.form.get("and_new"):
                return redirect(url_for(".add"))
            return redirect(url_for(".show", pk=voucher.id))
        return self.render_template("ledger_voucher_form.html", title=self.add_title, **_entry_context())

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        voucher = self.datamodel.get(pk)
        if voucher is None:
            abort(404)
        if voucher.status != "draft":
            flash(gettext("Only a draft voucher can be changed."), "warning")
            return redirect(url_for(".show", pk=voucher.id))
        if request.method == "POST":
            header = _header_inputs(request.form)
            lines = _line_inputs(request.form)
            try:
                ledger.update_voucher(voucher.id, header["voucher_date"], lines, voucher_type=header["voucher_type"],
                                      summary=header["summary"], attachment_count=header["attachment_count"],
                                      user_id=g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                flash(ex.message, "danger")
                voucher = self.datamodel.get(pk)
                return self.render_template("ledger_voucher_form.html", title=self.edit_title,
                                            **_entry_context(voucher, values=header, lines=lines))
            flash(gettext("Voucher %(number)s saved.", number=voucher.display_number), "success")
            return redirect(url_for(".show", pk=voucher.id))
        return self.render_template("ledger_voucher_form.html", title=self.edit_title, **_entry_context(voucher))

    def _delete(self, pk):
        voucher = self.datamodel.get(pk)
        if voucher is None:
            abort(404)
        label = voucher.display_number
        _commit_or_flash(lambda: ledger.delete_voucher(voucher.id, g.user.id),
                         gettext("Voucher %(number)s deleted.", number=label))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        voucher = self.datamodel.get(pk)
        if voucher is None:
            abort(404)
        sm = self.appbuilder.sm
        can = {
            "edit": sm.has_access(P.can(P.EDIT), P.VOUCHER), "delete": sm.has_access(P.can(P.DELETE), P.VOUCHER),
            "reverse": sm.has_access(P.can(P.ADD), P.VOUCHER),
            "review": sm.has_access(P.can(P.RUN), P.VOUCHER_REVIEW),
            "post": sm.has_access(P.can(P.RUN), P.VOUCHER_POST), "sign": sm.has_access(P.can(P.RUN), P.CASHIER_SIGN),
        }
        return self.render_template(
            "ledger_voucher_show.html", title=self.show_title, voucher=voucher, can=can,
            reversal=ledger.reversal_of(voucher), touches_cash=ledger.touches_cash(voucher),
            sign_required=ledger.cashier_sign_required(voucher), type_labels=VOUCHER_TYPES,
            status_labels=VOUCHER_STATUSES, full_name=ledger.account_full_name, user_name=_user_name,
            source_labels=SOURCES)

    @expose("/reverse/<int:pk>", methods=["POST"])
    @has_access
    def reverse(self, pk):
        result = _commit_or_flash(lambda: ledger.reverse_voucher(pk, g.user.id),
                                  gettext("The reversal voucher was made; review and post it like any other."))
        return redirect(url_for(".show", pk=result.id if isinstance(result, Voucher) else pk))

    @expose("/print/", methods=["GET"])
    @has_access
    def print_pdf(self):
        from reports.voucher_pdf import vouchers_pdf

        ids = []
        for raw in request.args.getlist("id"):
            for part in str(raw).split(","):
                if part.strip().isdigit() and len(part.strip()) < 10:
                    ids.append(int(part))
        if not ids or len(ids) > 500:
            abort(404)
        vouchers = db.session.execute(select(Voucher).where(Voucher.id.in_(ids)).order_by(Voucher.period_id,
                                                                                          Voucher.voucher_type,
                                                                                          Voucher.number)).scalars().all()
        if not vouchers:
            abort(404)
        data = vouchers_pdf(vouchers)
        name = "vouchers.pdf" if len(vouchers) > 1 else f"voucher-{vouchers[0].id}.pdf"
        return Response(data, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})


Voucher.number_label = property(lambda self: self.display_number)


class _VoucherActionView(BaseView):
    """POST-only voucher actions of one permission resource; they answer by redirecting to the voucher."""

    default_view = "noop"
    base_permissions = [P.can(P.RUN)]
    actions: dict = {}

    def _act(self, pk, name):
        service, message = self.actions[name]
        _commit_or_flash(lambda: service(pk, g.user.id), str(message))
        return redirect(url_for("VoucherView.show", pk=pk))


class VoucherReviewView(_VoucherActionView):
    route_base = "/voucherreview"
    class_permission_name = P.VOUCHER_REVIEW
    method_permission_name = {"review": P.RUN, "unreview": P.RUN}
    actions = {"review": (ledger.review_voucher, _l("The voucher is reviewed.")),
               "unreview": (ledger.unreview_voucher, _l("The review is cancelled."))}

    @expose("/review/<int:pk>", methods=["POST"])
    @has_access
    def review(self, pk):
        return self._act(pk, "review")

    @expose("/unreview/<int:pk>", methods=["POST"])
    @has_access
    def unreview(self, pk):
        return self._act(pk, "unreview")


class VoucherPostView(_VoucherActionView):
    route_base = "/voucherpost"
    class_permission_name = P.VOUCHER_POST
    method_permission_name = {"post": P.RUN}
    actions = {"post": (ledger.post_voucher, _l("The voucher is posted."))}

    @expose("/post/<int:pk>", methods=["POST"])
    @has_access
    def post(self, pk):
        return self._act(pk, "post")


class CashierSignView(_VoucherActionView):
    route_base = "/cashiersign"
    class_permission_name = P.CASHIER_SIGN
    method_permission_name = {"sign": P.RUN, "unsign": P.RUN}
    actions = {"sign": (ledger.sign_voucher, _l("The cashier has signed the voucher.")),
               "unsign": (ledger.unsign_voucher, _l("The cashier's signature is withdrawn."))}

    @expose("/sign/<int:pk>", methods=["POST"])
    @has_access
    def sign(self, pk):
        return self._act(pk, "sign")

    @expose("/unsign/<int:pk>", methods=["POST"])
    @has_access
    def unsign(self, pk):
        return self._act(pk, "unsign")


# --- business events (复核管理) -----------------------------------------------------------------------------

class BusinessEventView(BaseModelView):
    datamodel = SafeInterface(BusinessEvent)
    class_permission_name = P.BUSINESS_EVENT
    base_permissions = [P.can(P.READ), P.can(P.RUN), P.can(P.EXPORT)]
    method_permission_name = {**BaseModelView.method_permission_name, "approve": P.RUN, "reject": P.RUN}
    list_title = _l("Business event review")
    show_title = _l("Business event")
    list_columns = ["event_date", "kind", "amount", "customer", "project_code", "summary", "status", "voucher_link"]
    order_columns = ["event_date", "kind", "amount", "status"]
    export_columns = ["event_date", "kind", "amount", "customer", "project_code", "bank_account", "summary",
                      "source_type", "source_id", "status", "reject_reason", "reviewed_at"]
    search_columns = ["status", "kind", "event_date", "customer", "project_code", "source_type", "source_id"]
    show_columns = ["event_date", "kind", "amount", "customer", "department", "project_code", "bank_account",
                    "summary", "details", "source_type", "source_id", "status", "voucher_link", "reviewed_by",
                    "reviewed_at", "reject_reason"]
    base_order = ("id", "desc")
    show_template = "ledger_event_show.html"
    label_columns = {"event_date": _l("Event date"), "kind": _l("Event"), "amount": _l("Amount"),
                     "customer": _l("Customer"), "department": _l("Department"), "project_code": _l("Project no."),
                     "bank_account": _l("Bank account"), "summary": _l("Summary"), "details": _l("Details"),
                     "source_type": _l("Source"), "source_id": _l("Source no."), "status": _l("Status"),
                     "voucher_link": _l("Voucher"), "reviewed_by": _l("Reviewed by"),
                     "reviewed_at": _l("Reviewed at"), "reject_reason": _l("Reason for rejection")}
    formatters_columns = {"kind": choice_label(ledger_events.EVENT_KINDS),
                          "status": choice_label(ledger_events.EVENT_STATUSES), "amount": lambda v: f"{v:,.2f}",
                          "reviewed_by": _user_name}

    def pre_add(self, item):
        raise GuaranteeError(gettext("This record cannot be changed."))

    pre_update = pre_delete = pre_add

    @expose("/approve/<int:pk>", methods=["POST"])
    @has_access
    def approve(self, pk):
        result = _commit_or_flash(lambda: ledger_events.approve_event(pk, g.user.id),
                                  gettext("The event is reviewed; its voucher was made."))
        if isinstance(result, Voucher):
            return redirect(url_for("VoucherView.show", pk=result.id))
        return redirect(url_for(".show", pk=pk))

    @expose("/reject/<int:pk>", methods=["POST"])
    @has_access
    def reject(self, pk):
        _commit_or_flash(lambda: ledger_events.reject_event(pk, request.form.get("reason"), g.user.id),
                         gettext("The event is rejected."))
        return redirect(url_for(".show", pk=pk))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["can_review"] = self.appbuilder.sm.has_access(P.can(P.RUN), P.BUSINESS_EVENT)
            kwargs["event"] = self.datamodel.get(kwargs.get("pk"))
        return super().render_template(template, **kwargs)


BusinessEvent.voucher_link = property(
    lambda self: Markup(f'<a href="/voucherview/show/{self.voucher_id}">{escape(self.voucher.display_number)}</a>')
    if self.voucher is not None else "")


# --- voucher templates (master-detail) ----------------------------------------------------------------------

class VoucherTemplateLineView(BaseModelView):
    datamodel = SafeInterface(VoucherTemplateLine)
    class_permission_name = P.VOUCHER_TEMPLATE
    list_title = _l("Template lines")
    show_title, add_title, edit_title = _l("Template line"), _l("Add template line"), _l("Edit template line")
    list_columns = ["line_no", "side", "account", "amount_field", "summary"]
    add_columns = edit_columns = show_columns = ["template", "line_no", "side", "account", "amount_field", "summary"]
    search_columns = ["template", "side", "account"]
    base_order = ("line_no", "asc")
    label_columns = {"template": _l("Voucher template"), "line_no": _l("Line"), "side": _l("Debit / credit"),
                     "account": _l("Account"), "amount_field": _l("Amount field"), "summary": _l("Summary")}
    formatters_columns = {"side": choice_label(DIRECTIONS)}
    description_columns = {"amount_field": _l('"amount" for the event amount, or the name of an event detail'),
                           "summary": _l("May use {customer}, {project}, {summary} and {source}")}
    add_form_extra_fields = edit_form_extra_fields = {
        "side": SelectField(_l("Debit / credit"), choices=[(k, v) for k, v in DIRECTIONS.items()],
                            validators=[DataRequired()], widget=Select2Widget()),
    }
    validators = (ledger_events.validate_template_line,)


class VoucherTemplateView(BaseModelView):
    datamodel = SafeInterface(VoucherTemplate)
    class_permission_name = P.VOUCHER_TEMPLATE
    list_title = _l("Voucher templates")
    show_title, add_title, edit_title = _l("Voucher template"), _l("Add voucher template"), _l("Edit voucher template")
    list_columns = ["event_kind", "name", "voucher_type", "summary", "enabled"]
    add_columns = edit_columns = show_columns = ["event_kind", "name", "voucher_type", "summary", "enabled"]
    search_columns = ["event_kind", "name", "enabled"]
    base_order = ("id", "asc")
    related_views = [VoucherTemplateLineView]
    label_columns = {"event_kind": _l("Event"), "name": _l("Template name"), "voucher_type": _l("Voucher type"),
                     "summary": _l("Summary"), "enabled": _l("Enabled")}
    formatters_columns = {"event_kind": choice_label(ledger_events.EVENT_KINDS),
                          "voucher_type": choice_label(VOUCHER_TYPES)}
    description_columns = {"summary": _l("May use {customer}, {project}, {summary} and {source}")}
    add_form_extra_fields = edit_form_extra_fields = {
        "event_kind": SelectField(_l("Event"), choices=[(k, v) for k, v in ledger_events.EVENT_KINDS.items()],
                                  validators=[DataRequired()], widget=Select2Widget()),
        "voucher_type": SelectField(_l("Voucher type"), choices=[(k, v) for k, v in VOUCHER_TYPES.items()],
                                    validators=[DataRequired()], widget=Select2Widget()),
    }
    validators = (ledger_events.validate_template,)


# --- chain verification (GL-7) ---------------------------------------------------------------------------

class LedgerVerifyView(BaseView):
    route_base = "/ledgerverify"
    default_view = "verify"
    class_permission_name = P.LEDGER_VERIFY
    base_permissions = [P.can(P.READ)]
    method_permission_name = {"verify": P.READ}

    @expose("/")
    @has_access
    def verify(self):
        report = ledger.verify_chain()
        return self.render_template("ledger_verify.html", title=gettext("Voucher chain check"), report=report)


# --- REST APIs --------------------------------------------------------------------------------------------

def _voucher_json(voucher) -> dict:
    return {
        "id": voucher.id, "number": voucher.display_number, "voucher_type": voucher.voucher_type,
        "period": str(voucher.period), "voucher_date": voucher.voucher_date.isoformat(), "summary": voucher.summary,
        "attachment_count": voucher.attachment_count, "status": voucher.status,
        "total_debit": str(voucher.total_debit), "total_credit": str(voucher.total_credit),
        "maker_id": voucher.maker_id, "reviewer_id": voucher.reviewer_id, "cashier_id": voucher.cashier_id,
        "poster_id": voucher.poster_id, "reversal_of_id": voucher.reversal_of_id, "post_seq": voucher.post_seq,
        "hash": voucher.hash, "source": voucher.source,
        "lines": [{"line_no": ln.line_no, "summary": ln.summary, "account_id": ln.account_id,
                   "account_code": ln.account.code, "debit": str(ln.debit), "credit": str(ln.credit),
                   "customer_id": ln.customer_id, "department_id": ln.department_id,
                   "project_code": ln.project_code, "bank_account": ln.bank_account} for ln in voucher.lines],
    }


class VoucherApi(BaseApi):
    """Vouchers: read (list, item with lines); POST makes a draft, PUT changes a draft, DELETE deletes a
    draft — all through the ledger service, so posted vouchers refuse every change."""

    resource_name = "voucher"
    datamodel = SafeInterface(Voucher)
    class_permission_name = P.VOUCHER
    list_columns = ["id", "period_id", "voucher_type", "number", "voucher_date", "summary", "attachment_count",
                    "status", "total_debit", "total_credit", "maker_id", "reviewer_id", "cashier_id", "poster_id",
                    "reversal_of_id", "post_seq", "source"]
    show_columns = list_columns + ["hash", "prev_hash"]
    add_columns = edit_columns = ["voucher_date", "voucher_type", "summary", "attachment_count"]
    search_columns = ["period_id", "voucher_type", "status", "voucher_date", "source"]
    base_order = ("id", "desc")

    def _body(self):
        data = self._json_object()
        lines = data.get("lines")
        if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
            raise GuaranteeError(gettext("A voucher needs its lines as a list of objects."))
        return data, lines

    def _post(self):
        data, lines = self._body()
        voucher = ledger.create_voucher(data.get("voucher_date"), lines, voucher_type=data.get("voucher_type") or "ji",
                                        summary=data.get("summary"), attachment_count=data.get("attachment_count", 0),
                                        maker_id=g.user.id)
        db.session.commit()
        return self.response(201, id=voucher.id, result=_voucher_json(voucher))

    def _put(self, pk):
        voucher = self.datamodel.get(pk)
        if voucher is None:
            return self.response_404()
        data, lines = self._body()
        voucher = ledger.update_voucher(voucher.id, data.get("voucher_date"), lines,
                                        voucher_type=data.get("voucher_type") or "ji", summary=data.get("summary"),
                                        attachment_count=data.get("attachment_count", 0), user_id=g.user.id)
        db.session.commit()
        return self.response(200, result=_voucher_json(voucher))

    def delete_headless(self, pk):
        return self._guarded(self._delete_voucher, pk)

    def _delete_voucher(self, pk):
        voucher = self.datamodel.get(pk)
        if voucher is None:
            return self.response_404()
        ledger.delete_voucher(voucher.id, g.user.id)
        db.session.commit()
        return self.response(200, message="OK")


def _action_api(name, resource, actions):
    """A small REST API of actions under one permission resource:
    `actions` = {action: (HTTP method, verb, function(pk, api) -> response body dict)}; routes /api/v1/<name>/<pk>/<action>.
    The entity APIs (views.base.BaseApi) stay plain CRUD with the screen's verbs; the workflow lives here."""
    from views.api_support import ApiHardeningMixin

    body = {"resource_name": name, "class_permission_name": resource, "allow_browser_login": True,
            "method_permission_name": {action: verb for action, (_, verb, _) in actions.items()}}

    def make(action, method, run):
        def endpoint(self, pk):
            try:
                result = run(pk, self)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                return self.response(ex.status, message=ex.message)
            return self.response(200, **result)

        endpoint.__name__ = endpoint.__qualname__ = action  # FAB finds the permission by the function's name
        return api_expose(f"/<int:pk>/{action}", methods=[method])(protect()(safe(endpoint)))

    for action, (method, _, run) in actions.items():
        body[action] = make(action, method, run)
    return type(f"{name.title().replace('_', '')}Api", (ApiHardeningMixin, FabBaseApi), body)


def _on_voucher(service):
    return lambda pk, api: {"result": _voucher_json(service(pk, g.user.id))}


def _voucher_lines(pk, api):
    voucher = db.session.get(Voucher, pk) if ledger._valid_id(pk) else None
    if voucher is None:
        raise NotFound(gettext("The voucher does not exist."))
    return {"result": _voucher_json(voucher)}


def _reject(pk, api):
    data = request.get_json(silent=True) if request.is_json else None
    reason = data.get("reason") if isinstance(data, dict) else None
    return {"status": ledger_events.reject_event(pk, reason, g.user.id).status}


VoucherActionApi = _action_api("voucher_action", P.VOUCHER, {
    "lines": ("GET", P.READ, _voucher_lines), "reverse": ("POST", P.ADD, _on_voucher(ledger.reverse_voucher))})
VoucherReviewApi = _action_api("voucher_review", P.VOUCHER_REVIEW, {
    "review": ("POST", P.RUN, _on_voucher(ledger.review_voucher)),
    "unreview": ("POST", P.RUN, _on_voucher(ledger.unreview_voucher))})
VoucherPostApi = _action_api("voucher_post", P.VOUCHER_POST, {"post": ("POST", P.RUN, _on_voucher(ledger.post_voucher))})
CashierSignApi = _action_api("cashier_sign", P.CASHIER_SIGN, {
    "sign": ("POST", P.RUN, _on_voucher(ledger.sign_voucher)),
    "unsign": ("POST", P.RUN, _on_voucher(ledger.unsign_voucher))})
BusinessEventReviewApi = _action_api("business_event_review", P.BUSINESS_EVENT, {
    "approve": ("POST", P.RUN, lambda pk, api: {"result": _voucher_json(ledger_events.approve_event(pk, g.user.id))}),
    "reject": ("POST", P.RUN, _reject)})


class BusinessEventApi(BaseApi):
    resource_name = "business_event"
    datamodel = SafeInterface(BusinessEvent)
    class_permission_name = P.BUSINESS_EVENT
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "kind", "event_date", "amount", "customer_id", "department_id",
                                   "project_code", "bank_account", "summary", "source_type", "source_id", "details",
                                   "status", "voucher_id", "reviewed_by_id", "reviewed_at", "reject_reason"]
    search_columns = ["kind", "status", "event_date", "source_type", "source_id"]
    base_order = ("id", "desc")


def register(appbuilder):
    """Menus (财务管理) and APIs of the general ledger."""
    fin = dict(category="Finance", category_label=_l("Finance"), category_icon="fa-calculator")
    add = appbuilder.add_view
    add(VoucherView, "Vouchers", label=_l("Vouchers"), icon="fa-file-text-o", **fin)
    add(BusinessEventView, "BusinessEvents", label=_l("Business event review"), icon="fa-check-square-o", **fin)
    add(AccountView, "ChartOfAccounts", label=_l("Chart of accounts"), icon="fa-list", **fin)
    add(VoucherTemplateView, "VoucherTemplates", label=_l("Voucher templates"), icon="fa-clone", **fin)
    add(LedgerVerifyView, "LedgerVerify", label=_l("Voucher chain check"), icon="fa-shield", **fin)
    appbuilder.add_view_no_menu(VoucherTemplateLineView)
    for view in (VoucherReviewView, VoucherPostView, CashierSignView):
        appbuilder.add_view_no_menu(view)
    for api in (AccountApi, VoucherApi, VoucherActionApi, VoucherReviewApi, VoucherPostApi, CashierSignApi,
                BusinessEventApi, BusinessEventReviewApi):
        appbuilder.add_api(api)
