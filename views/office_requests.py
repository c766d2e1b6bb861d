"""Staff requests (办公 → 我的申请, 出纳付款; WB-4, OA-1). Thin: every rule is in app/services/office_requests.py.

* /officerequest/mine: the requester's history (leave, borrowing, reimbursement) and the own borrowing balance;
  /officerequest/new/<kind>: file a request (it goes to the approval engine at once);
  /officerequest/page/<id>: the request with its approval panel — approvers open it from 待办事项 and act there;
* REST: /api/v1/office_request/ (mine, <id>, file <kind>, <id>/submit, <id>/cancel) and /api/v1/office_payment/
  (queue and balances, <id>/pay, <id>/repay) with the same service checks;
* /officepayment/: the cashier's queue of approved borrowings and reimbursements, the staff borrowing balances,
  and the pay / repay actions (their money becomes business events for finance's review).
Permissions: OFFICE_REQUEST read / add; OFFICE_PAYMENT read / run (pay, repay).
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import permissions as P
from app.errors import GuaranteeError
from app.extensions import db
from app.services import office_requests as svc
from views.api_support import ApiHardeningMixin
from views.base import run_operation as _run

MENU = dict(category="Office", category_label=_l("Office"), category_icon="fa-briefcase")


def _page_arg() -> int:
    try:
        return max(int(request.args.get("page", 0)), 0)
    except ValueError:
        return 0


def _is_admin() -> bool:
    return any(role.name == P.ADMIN for role in getattr(g.user, "roles", []) or [])


def _finance(sm) -> bool:
    return sm.has_access(P.can(P.READ), P.OFFICE_PAYMENT)


def _context():
    from app.services import ledger_events

    return dict(svc=svc, money=svc.money_text, user_name=svc.user_name, event_kinds=ledger_events.EVENT_KINDS,
                event_statuses=ledger_events.EVENT_STATUSES)


class OfficeRequestView(BaseView):
    """我的申请: own requests, the request forms and the request's page (with its approval)."""

    route_base = "/officerequest"
    default_view = "mine"
    class_permission_name = P.OFFICE_REQUEST
    base_permissions = [P.can(P.READ), P.can(P.ADD)]
    method_permission_name = {"mine": P.READ, "page": P.READ, "new": P.ADD, "submit": P.ADD, "cancel": P.ADD}
    page_size = 20

    @expose("/mine")
    @has_access
    def mine(self):
        kind = request.args.get("kind") or None
        page = _page_arg()
        rows, total = svc.my_requests(g.user.id, kind if kind in svc.KIND_LABELS else None, page, self.page_size)
        return self.render_template(
            "office_requests/mine.html", title=gettext("My requests"), rows=rows, total=total, page=page,
            page_size=self.page_size, kind=kind, balance=svc.borrowing_balance(g.user.id),
            open_borrowings=svc.open_borrowings(g.user.id), **_context())

    @expose("/new/<kind>", methods=["GET", "POST"])
    @has_access
    def new(self, kind):
        if kind not in svc.KIND_LABELS:
            abort(404)
        errors, form = {}, request.form.to_dict() if request.method == "POST" else {}
        if request.method == "POST":
            try:
                item = svc.file_request(kind, form, g.user.id, form.get("comment") or "")
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message
                flash(ex.message, "danger")
            else:
                flash(gettext("The request %(code)s is filed and sent to approval.", code=item.code), "success")
                return redirect(url_for(".page", pk=item.id))
        borrowings = svc.open_borrowings(g.user.id)
        if request.method == "GET" and kind == "reimbursement" and borrowings:
            form["offset_borrowing_id"] = str(borrowings[0].id)  # settle the oldest open borrowing first
        return self.render_template(
            "office_requests/form.html", title=gettext("New request: %(kind)s", kind=str(svc.KIND_LABELS[kind])),
            kind=kind, form=form, errors=errors, borrowings=borrowings, **_context())

    def _visible(self, pk):
        try:
            item = svc.get(pk)
        except GuaranteeError:
            abort(404)
        if not svc.may_see(item, g.user.id, finance=_finance(self.appbuilder.sm), admin=_is_admin()):
            abort(404)
        return item

    @expose("/page/<pk>")
    @has_access
    def page(self, pk):
        item = self._visible(pk)
        sm = self.appbuilder.sm
        can = {"pay": sm.has_access(P.can(P.RUN), P.OFFICE_PAYMENT) and item.requester_id != g.user.id,
               "own": item.requester_id == g.user.id and sm.has_access(P.can(P.ADD), P.OFFICE_REQUEST),
               "events": sm.has_access(P.can(P.READ), P.BUSINESS_EVENT)}
        return self.render_template(
            "office_requests/page.html", title=f"{svc.KIND_LABELS[item.kind]} {item.code}", item=item, can=can,
            status=svc.effective_status(item), events=svc.events_of(item),
            settlements=svc.settlements_of(item) if item.kind == "borrowing" else [],
            approval_kind=svc.APPROVAL_KINDS[item.kind], approval_obj=item, today=svc._today(), **_context())

    @expose("/submit/<int:pk>", methods=["POST"])
    @has_access
    def submit(self, pk):
        return _run(lambda: svc.submit(pk, g.user.id, request.form.get("comment") or ""),
                    _l("The request is sent to approval."), url_for(".page", pk=pk))

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    def cancel(self, pk):
        return _run(lambda: svc.cancel(pk, g.user.id, request.form.get("reason") or ""),
                    _l("The request is cancelled."), url_for(".page", pk=pk))


class OfficePaymentView(BaseView):
    """出纳付款: approved borrowings and reimbursements waiting for the money, staff borrowing balances."""

    route_base = "/officepayment"
    default_view = "index"
    class_permission_name = P.OFFICE_PAYMENT
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"index": P.READ, "pay": P.RUN, "repay": P.RUN}
    page_size = 50

    @expose("/")
    @has_access
    def index(self):
        page = _page_arg()
        rows, total = svc.awaiting_payment(page, self.page_size)
        return self.render_template(
            "office_requests/payments.html", title=gettext("Payments of staff requests"), rows=rows, total=total,
            page=page, page_size=self.page_size, balances=svc.borrowing_balances(),
            can_pay=self.appbuilder.sm.has_access(P.can(P.RUN), P.OFFICE_PAYMENT), me=g.user.id, **_context())

    @expose("/pay/<int:pk>", methods=["POST"])
    @has_access
    def pay(self, pk):
        return _run(lambda: svc.pay(pk, g.user.id, request.form.get("paid_on") or None,
                                    request.form.get("bank_account")),
                    _l("The payment is recorded; finance reviews it into a voucher."),
                    url_for("OfficeRequestView.page", pk=pk))

    @expose("/repay/<int:pk>", methods=["POST"])
    @has_access
    def repay(self, pk):
        form = request.form
        return _run(lambda: svc.repay(pk, g.user.id, form.get("amount"), form.get("received_on") or None,
                                      form.get("bank_account"), form.get("note")),
                    _l("The repayment is recorded; finance reviews it into a voucher."),
                    url_for("OfficeRequestView.page", pk=pk))


# --- REST API --------------------------------------------------------------------------------------------------

def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


def _answer(api, run, status=200):
    try:
        result = run()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        return api.response(ex.status, message=ex.message)
    return api.response(status, result=svc.to_json(result) if hasattr(result, "kind") else result)


class OfficeRequestApi(ApiHardeningMixin, FabBaseApi):
    """GET /mine, GET /<pk>, POST /<kind> (file), POST /<pk>/submit, POST /<pk>/cancel."""

    resource_name = "office_request"
    class_permission_name = P.OFFICE_REQUEST
    allow_browser_login = True
    method_permission_name = {"mine": P.READ, "detail": P.READ, "file": P.ADD, "submit": P.ADD, "cancel": P.ADD}

    @api_expose("/mine", methods=["GET"])
    @protect()
    @safe
    def mine(self):
        rows, total = svc.my_requests(g.user.id, request.args.get("kind"), 0, 100)
        return self.response(200, result=[svc.to_json(r) for r in rows], count=total)

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def detail(self, pk):
        try:
            item = svc.get(pk)
        except GuaranteeError as ex:
            return self.response(ex.status, message=ex.message)
        if not svc.may_see(item, g.user.id, finance=_finance(self.appbuilder.sm), admin=_is_admin()):
            return self.response(404, message=gettext("The request does not exist."))
        return self.response(200, result=svc.to_json(item))

    @api_expose("/<kind>", methods=["POST"])
    @protect()
    @safe
    def file(self, kind):
        body = _json_body()
        return _answer(self, lambda: svc.file_request(kind, body, g.user.id, str(body.get("comment") or "")), 201)

    @api_expose("/<int:pk>/submit", methods=["POST"])
    @protect()
    @safe
    def submit(self, pk):
        return _answer(self, lambda: svc.submit(pk, g.user.id, str(_json_body().get("comment") or "")))

    @api_expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    def cancel(self, pk):
        return _answer(self, lambda: svc.cancel(pk, g.user.id, str(_json_body().get("reason") or "")))


class OfficePaymentApi(ApiHardeningMixin, FabBaseApi):
    """GET / (waiting for payment, borrowing balances), POST /<pk>/pay, POST /<pk>/repay (the cashier)."""

    resource_name = "office_payment"
    class_permission_name = P.OFFICE_PAYMENT
    allow_browser_login = True
    method_permission_name = {"queue": P.READ, "pay": P.RUN, "repay": P.RUN}

    @api_expose("/", methods=["GET"])
    @protect()
    @safe
    def queue(self):
        rows, total = svc.awaiting_payment(0, 200)
        balances = [{**b, "balance": str(b["balance"]), "since": b["since"].isoformat() if b["since"] else None}
                    for b in svc.borrowing_balances()]
        return self.response(200, result=[svc.to_json(r) for r in rows], count=total, balances=balances)

    @api_expose("/<int:pk>/pay", methods=["POST"])
    @protect()
    @safe
    def pay(self, pk):
        body = _json_body()
        return _answer(self, lambda: svc.pay(pk, g.user.id, body.get("paid_on"), body.get("bank_account")))

    @api_expose("/<int:pk>/repay", methods=["POST"])
    @protect()
    @safe
    def repay(self, pk):
        body = _json_body()

        def run():
            repayment = svc.repay(pk, g.user.id, body.get("amount"), body.get("received_on"), body.get("bank_account"),
                                  body.get("note"))
            return {"id": repayment.id, "amount": str(repayment.amount), "event_id": repayment.event_id,
                    "outstanding": str(repayment.borrowing.outstanding)}

        return _answer(self, run)


def _work_queues():
    """待办事项: the cashier sees how many approved requests wait for the money."""
    from app.extensions import appbuilder

    if not appbuilder.sm.has_access(P.can(P.RUN), P.OFFICE_PAYMENT):
        return []
    _, total = svc.awaiting_payment(0, 1)
    return [(gettext("Staff requests to pay"), total, url_for("OfficePaymentView.index"))]


def register(appbuilder):
    """Menu 办公 (category "Office"): my requests (with the three request forms), the cashier's payments."""
    svc.register_approval_kinds()
    appbuilder.add_view(OfficeRequestView, "MyRequests", label=_l("My requests"), icon="fa-file-text-o", **MENU)
    appbuilder.add_view(OfficePaymentView, "RequestPayments", label=_l("Payments of staff requests"),
                        icon="fa-credit-card", **MENU)
    # 财务设置 (GL-6): the approval flows of borrowing and reimbursement, kept in the approval engine's screens
    # (the administrator's); the menu entry lists just the office flows.
    appbuilder.add_link("FinanceApprovalFlows", href="/approvalflowview/list/?_flt_2_kind=office.",
                        label=_l("Finance approval settings"), icon="fa-sitemap", category="Finance")
    appbuilder.add_api(OfficeRequestApi)
    appbuilder.add_api(OfficePaymentApi)
    from app.services import workbench

    workbench.register_todo(  # the cashier's counter on the workbench
        "request_payments", _l("Requests to pay"), lambda user: svc.awaiting_payment(0, 1)[1],
        lambda: url_for("OfficePaymentView.index"), lambda sm: sm.has_access(P.can(P.RUN), P.OFFICE_PAYMENT))
    from views import approval as approval_views

    approval_views.WORK_QUEUES.append(_work_queues)
