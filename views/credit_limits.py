"""Credit limit screens and API (RAT-3). Thin: every rule is in app/services/credit_limits.py, so the
screens, a hand-made POST and the REST API meet the same checks.

* 评级授信 → 授信额度: the list (quick filters: status, customer, expiring soon), the propose form, the limit's page
  with its usage and the approval panel (the approval is decided in the approval engine);
* the tab 授信额度 of the customer pages (the same view as a FAB related view: limit, used, available);
* REST: /api/v1/credit_limit (read, data scope) and /api/v1/credit_limit_work (propose, submit, revoke, usage).
Permissions: CREDIT_LIMIT read / add (propose, submit) / export / run (revoke).
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import permissions as P
from app.errors import GuaranteeError
from app.extensions import db
from app.services import credit_limits as svc
from app.services.products import money
from models.credit_limits import CreditLimit
from views.api_support import ApiHardeningMixin
from views.base import BaseApi, BaseModelView, SafeInterface, run_operation
from views.labels import choice_label

MENU = dict(category="Rating", category_label=_l("Rating and credit"), category_icon="fa-star-half-o")
CUSTOMER_OPTIONS = 500  # the newest customers in the user's scope on the propose form

LABELS = {
    "code": _l("Credit limit no."), "customer": _l("Customer"), "kind": _l("Limit kind"), "product_id": _l("Product"),
    "amount": _l("Limit amount"), "used_amount": _l("Used"), "available_amount": _l("Available"),
    "valid_from": _l("Valid from"), "valid_to": _l("Valid to"), "status": _l("Status"),
    "effective_status": _l("Status"), "grade": _l("Grade"), "rating_id": _l("Rating"),
    "rule_amount": _l("Amount by the grade's rule"), "basis": _l("Basis of the amount"),
    "decided_on": _l("Decided on"), "ended_on": _l("Ended on"), "end_reason": _l("End reason"), "note": _l("Note"),
    "created_at": _l("Created at"),
}


def _money(value):
    return money(value) if value is not None else ""


def _customers_with_limits():
    """Customers that have a credit limit (the choices of the customer filter)."""
    return list(db.session.execute(select(CreditLimit.customer_id).distinct()).scalars())


class CreditLimitView(BaseModelView):
    """授信额度: the list (also the tab of the customer pages), the propose form and the limit's page."""

    route_base = "/creditlimit"
    datamodel = SafeInterface(CreditLimit)
    class_permission_name = P.CREDIT_LIMIT
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "act": P.ADD,
                              "revoke": P.RUN}
    list_template = "credit_limits/list.html"
    list_title = _l("Credit limits")
    show_title = _l("Credit limit")
    list_columns = ["code", "customer", "kind", "amount", "used_amount", "available_amount", "valid_from",
                    "valid_to", "effective_status", "grade"]
    order_columns = ["code", "kind", "amount", "valid_from", "valid_to", "grade"]
    export_columns = ["code", "customer", "kind", "amount", "used_amount", "available_amount", "valid_from",
                      "valid_to", "effective_status", "grade", "rule_amount", "basis", "decided_on", "ended_on",
                      "end_reason"]
    show_columns = export_columns
    search_columns = ["code", "customer", "status", "kind", "grade", "valid_from", "valid_to", "amount"]
    # The customer filter offers only customers that have a limit (never the whole customer file).
    search_form_query_rel_fields = {"customer": [["id", FilterInFunction, _customers_with_limits]]}
    base_order = ("id", "desc")
    page_size = 20
    label_columns = LABELS
    formatters_columns = {
        "kind": choice_label(svc.KIND_LABELS), "status": choice_label(svc.STATUS_LABELS),
        "effective_status": choice_label(svc.STATUS_LABELS), "amount": _money, "used_amount": _money,
        "available_amount": _money, "rule_amount": _money,
    }

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["quick_filters"] = _quick_filters()
            kwargs["expiring_url"] = _expiring_url()
        return super().render_template(template, **kwargs)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        return redirect(url_for(".page", pk=self._item(pk).id))

    def _item(self, pk):
        try:
            return svc.get(pk)
        except GuaranteeError:
            abort(404)

    # --- propose ----------------------------------------------------------------------------------------
    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        errors = {}
        form = request.form.to_dict() if request.method == "POST" else {
            k: v for k, v in request.args.items() if k in ("customer_id", "kind", "product_id")}
        if request.method == "GET" and not form.get("customer_id") and request.args.get("_flt_0_customer"):
            form["customer_id"] = request.args["_flt_0_customer"]  # the "+" of the customer page's tab
        if request.method == "POST":
            try:
                item = svc.propose(form, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message
                flash(ex.message, "danger")
            else:
                flash(gettext("The credit limit %(code)s is proposed and sent to approval.", code=item.code),
                      "success")
                return redirect(url_for(".page", pk=item.id))
        proposal, customer = None, None
        customer_id = form.get("customer_id")
        if customer_id and str(customer_id).isdigit() and len(str(customer_id)) < 10:
            customer = _visible_customer(int(customer_id))
            if customer is not None:
                proposal = svc.rating_proposal(customer.id)
        return self.render_template(
            "credit_limits/form.html", title=gettext("Propose a credit limit"), form=form, errors=errors,
            customers=_customer_choices(form), products=_product_choices(), kinds=svc.KIND_LABELS,
            proposal=proposal, customer=customer,
            usage=svc.usage(customer.id) if customer is not None else None, money=_money)

    # --- the limit's page -------------------------------------------------------------------------------
    @expose("/page/<pk>")
    @has_access
    def page(self, pk):
        item = self._item(pk)
        sm = self.appbuilder.sm
        can = {"add": sm.has_access(P.can(P.ADD), P.CREDIT_LIMIT), "run": sm.has_access(P.can(P.RUN), P.CREDIT_LIMIT)}
        product = svc._product(item.product_id) if item.product_id else None
        return self.render_template(
            "credit_limits/page.html", title=gettext("Credit limit %(code)s", code=item.code), item=item, can=can,
            svc=svc, product=product, status=svc.effective_status(item), is_current=svc.is_current(item),
            usage=svc.usage(item.customer_id, item.product_id if item.kind == "product" else None),
            history=svc.history(item.customer_id), money=_money, approval_kind=svc.APPROVAL_KIND,
            approval_obj=item, proposer=_user_name(item.proposed_by_id))

    @expose("/act/<int:pk>/submit", methods=["POST"])
    @has_access
    def act(self, pk):
        """Send a proposed (withdrawn) limit to approval again."""
        return _run(pk, lambda: svc.submit(pk, g.user.id, request.form.get("comment") or ""),
                    _l("The credit limit is sent to approval."))

    @expose("/revoke/<int:pk>", methods=["POST"])
    @has_access
    def revoke(self, pk):
        return _run(pk, lambda: svc.revoke(pk, g.user.id, request.form.get("reason")),
                    _l("The credit limit is revoked."))


def _run(pk, operation, message):
    return run_operation(operation, message, url_for("CreditLimitView.page", pk=pk))


def _user_name(user_id):
    from app.services.approval import _user_name as name

    return name(user_id)


def _visible_customer(customer_id):
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    return db.session.execute(apply_scope(select(Customer).where(Customer.id == customer_id), Customer)).scalar()


def _customer_choices(form):
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    base = select(Customer.id, Customer.name, Customer.code)
    rows = db.session.execute(apply_scope(base.order_by(Customer.id.desc()).limit(CUSTOMER_OPTIONS), Customer)).all()
    named = str(form.get("customer_id") or "")
    if named.isdigit() and len(named) < 10 and int(named) not in {r.id for r in rows}:
        rows += db.session.execute(apply_scope(base.where(Customer.id == int(named)), Customer)).all()
    return [(r.id, f"{r.name} ({r.code})") for r in rows]


def _product_choices():
    try:
        from models.products import Product
    except ImportError:
        return []
    return [(p.id, str(p)) for p in db.session.execute(
        select(Product).where(Product.active.is_(True)).order_by(Product.code)).scalars()]


# FAB filter indexes (flask_appbuilder SQLAFilterConverter): string "equal" 3, relation "equal" 0, date
# "greater" 1 and "smaller" 2.
def _quick_filters() -> list[dict]:
    from models.customers import Customer

    ids = _customers_with_limits()
    customers = []
    if ids:
        from app.services.data_scope import apply_scope

        customers = [(c.id, f"{c.name} ({c.code})") for c in db.session.execute(apply_scope(
            select(Customer.id, Customer.name, Customer.code).where(Customer.id.in_(ids))
            .order_by(Customer.name).limit(CUSTOMER_OPTIONS), Customer)).all()]
    filters = [
        ("_flt_3_status", _l("Status"), [(k, str(v)) for k, v in svc.STATUS_LABELS.items()]),
        ("_flt_0_customer", _l("Customer"), customers),
        ("_flt_3_kind", _l("Limit kind"), [(k, str(v)) for k, v in svc.KIND_LABELS.items()]),
    ]
    return [{"name": name, "label": str(label), "options": options, "value": request.args.get(name, "")}
            for name, label, options in filters]


def _expiring_url() -> str:
    """Granted limits ending from today to EXPIRING_DAYS ahead (FAB filters: greater / smaller are strict)."""
    from datetime import timedelta

    today = svc._today()
    return url_for("CreditLimitView.list", _flt_3_status="granted",
                   _flt_1_valid_to=(today - timedelta(days=1)).isoformat(),
                   _flt_2_valid_to=(svc.expiring_before(today) + timedelta(days=1)).isoformat())


# --- REST API ------------------------------------------------------------------------------------------

class CreditLimitApi(BaseApi):
    """The limits in the user's data scope (read only: limits are proposed through credit_limit_work)."""

    resource_name = "credit_limit"
    datamodel = SafeInterface(CreditLimit)
    class_permission_name = P.CREDIT_LIMIT
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "code", "customer_id", "kind", "product_id", "amount", "valid_from",
                                   "valid_to", "status", "grade", "rating_id", "rule_amount", "basis",
                                   "proposed_by_id", "decided_on", "superseded_by_id", "ended_on", "end_reason"]
    search_columns = ["code", "customer_id", "status", "kind", "grade", "valid_from", "valid_to", "amount"]
    base_order = ("id", "desc")


def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


def _answer(self, run, status=200):
    try:
        item = run()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        return self.response(ex.status, message=ex.message)
    return self.response(status, result=svc.to_json(item))


class CreditLimitWorkApi(ApiHardeningMixin, FabBaseApi):
    """POST / (propose), POST /<pk>/submit, POST /<pk>/revoke, GET /<pk>, GET /usage/<customer_id>."""

    resource_name = "credit_limit_work"
    class_permission_name = P.CREDIT_LIMIT
    allow_browser_login = True
    method_permission_name = {"propose": P.ADD, "submit": P.ADD, "revoke": P.RUN, "detail": P.READ,
                              "customer_usage": P.READ}

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    def propose(self):
        return _answer(self, lambda: svc.propose(_json_body(), g.user.id), 201)

    @api_expose("/<int:pk>/submit", methods=["POST"])
    @protect()
    @safe
    def submit(self, pk):
        return _answer(self, lambda: svc.submit(pk, g.user.id, str(_json_body().get("comment") or "")))

    @api_expose("/<int:pk>/revoke", methods=["POST"])
    @protect()
    @safe
    def revoke(self, pk):
        return _answer(self, lambda: svc.revoke(pk, g.user.id, _json_body().get("reason")))

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def detail(self, pk):
        try:
            item = svc.get(pk)
        except GuaranteeError as ex:
            return self.response(ex.status, message=ex.message)
        return self.response(200, result=svc.to_json(item))

    @api_expose("/usage/<int:customer_id>", methods=["GET"])
    @protect()
    @safe
    def customer_usage(self, customer_id):
        if _visible_customer(customer_id) is None:
            return self.response(404, message=gettext("The customer does not exist."))
        return self.response(200, result=svc.usage_json(svc.usage(customer_id)))


# The tab 授信额度 on every customer page (views.customer_tabs).
CUSTOMER_TABS = [CreditLimitView]


def register(appbuilder):
    """Menu 评级授信 (category "Rating", shared with the rating screens) and the APIs."""
    svc.register_approval_kind()
    appbuilder.add_view(CreditLimitView, "CreditLimits", label=_l("Credit limits"), icon="fa-credit-card", **MENU)
    appbuilder.add_api(CreditLimitApi)
    appbuilder.add_api(CreditLimitWorkApi)
