"""Guarantee business screens and API (BIZ-3..7, BIZ-9..12, BIZ-14). Thin: every rule is in
app/services/guarantees.py, so the page, a hand-made POST and the REST API meet the same checks.

Permissions: GUARANTEE (read / add / edit / export: the account manager's work), GUARANTEE_RISK (run: the
risk officer's work) and GUARANTEE_FINANCE (run: fee collection and loan confirmation). Each stage
operation belongs to one of the three, on the screen (three small POST-only views) and in the API (three
action APIs).
"""
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import permissions as P
from app.errors import GuaranteeError, NotFound
from app.extensions import db
from app.services import guarantees as svc
from models.business import STAGES, Guarantee
from views.api_support import ApiHardeningMixin
from views.base import BaseApi, BaseModelView, SafeInterface
from views.labels import YES_NO, choice_label

LABELS = {
    "code": _l("Guarantee no."), "customer": _l("Customer"), "product": _l("Product"), "bank": _l("Lending bank"),
    "amount": _l("Guarantee amount"), "term_months": _l("Term (months)"), "fee_rate": _l("Fee rate"),
    "purpose": _l("Purpose"), "repayment_method": _l("Repayment method"), "green_channel": _l("Green channel"),
    "stage": _l("Stage"), "status": _l("Status"), "approval_status": _l("Approval status"),
    "contract_status": _l("Contract status"), "apply_date": _l("Application date"), "loan_number": _l("Loan number"),
    "loan_amount": _l("Loan amount"), "loan_date": _l("Loan date"), "due_date": _l("Due date"),
    "balance": _l("Outstanding balance"), "backfilled": _l("Backfilled"), "manager": _l("Account manager"),
    "department": _l("Department"), "created_at": _l("Created at"), "note": _l("Note"),
}


def _money(value):
    return svc.money_text(value) if value is not None else ""


def _user_name(user):
    return f"{user.first_name or ''}{user.last_name or ''}" if user is not None else ""


FORMATTERS = {
    "stage": choice_label(svc.STAGE_LABELS), "status": choice_label(svc.STATUS_LABELS),
    "approval_status": choice_label(svc.APPROVAL_STATUS_LABELS),
    "contract_status": choice_label(svc.CONTRACT_STATUS_LABELS),
    "repayment_method": choice_label(svc.REPAYMENT_METHODS), "green_channel": choice_label(YES_NO),
    "backfilled": choice_label(YES_NO), "amount": _money, "loan_amount": _money, "balance": _money,
    "fee_rate": svc.percent_text, "manager": _user_name,
}

MEASURE_ROWS, FEE_ROWS = 4, 4  # blank rows on the application form (blank rows are ignored)


def _form_rows(form, prefix, count, keys):
    rows = []
    for i in range(count):
        row = {k: (form.get(f"{prefix}-{i}-{k}") or "").strip() for k in keys}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v != ""})
    return rows


def application_from_form(form) -> dict:
    data = {k: form.get(k) for k in ("customer_id", "product_id", "bank_id", "amount", "term_months", "fee_rate",
                                     "purpose", "repayment_method", "note")}
    data["green_channel"] = form.get("green_channel") in ("y", "on", "1", "true")
    data["measures"] = _form_rows(form, "measure", MEASURE_ROWS, ("kind", "description", "value", "guarantor_id"))
    data["fee_items"] = _form_rows(form, "fee", FEE_ROWS, ("fee_type", "basis", "rate", "amount", "frequency", "note"))
    return data


def application_to_form(item) -> dict:
    form = {"customer_id": item.customer_id, "product_id": item.product_id, "bank_id": item.bank_id,
            "amount": str(item.amount), "term_months": str(item.term_months), "fee_rate": str(item.fee_rate),
            "purpose": item.purpose or "", "repayment_method": item.repayment_method or "",
            "note": item.note or "", "green_channel": "y" if item.green_channel else ""}
    for i, m in enumerate(item.measures[:MEASURE_ROWS]):
        form.update({f"measure-{i}-kind": m.kind, f"measure-{i}-description": m.description or "",
                     f"measure-{i}-value": str(m.value) if m.value is not None else "",
                     f"measure-{i}-guarantor_id": str(m.guarantor_id or "")})
    for i, f in enumerate(item.fee_items[:FEE_ROWS]):
        form.update({f"fee-{i}-fee_type": f.fee_type, f"fee-{i}-basis": f.basis,
                     f"fee-{i}-rate": str(f.rate) if f.rate is not None else "",
                     f"fee-{i}-amount": str(f.amount) if f.amount is not None else "",
                     f"fee-{i}-frequency": f.frequency, f"fee-{i}-note": f.note or ""})
    return form


def _choices(form):
    """Select options of the application form. Customers are searched as the user types (the customer picker,
    within the user's data scope); the form only carries the ones it names, so a redisplayed form keeps them."""
    from app.services.data_scope import apply_scope
    from models.customers import Customer
    from models.products import CooperatingBank, Product

    named = {int(v) for k, v in form.items() if (k == "customer_id" or k.endswith("guarantor_id"))
             and str(v).isdigit() and len(str(v)) < 10}
    customers = []
    if named:
        customers = db.session.execute(apply_scope(
            select(Customer.id, Customer.name, Customer.code).where(Customer.id.in_(named)), Customer)).all()
    products = db.session.execute(select(Product).where(Product.active.is_(True)).order_by(Product.code)).scalars()
    banks = db.session.execute(select(CooperatingBank).where(CooperatingBank.active.is_(True))
                               .order_by(CooperatingBank.code)).scalars()
    return {
        "customers": [(c.id, f"{c.name} ({c.code})") for c in customers],
        "products": [(p.id, str(p)) for p in products],
        "banks": [(b.id, b.name) for b in banks],
        "counter_kinds": list(svc._counter_kinds().items()),
        "fee_types": [(k, str(v)) for k, v in svc.FEE_TYPES.items()],
        "bases": [(k, str(v)) for k, v in svc.FEE_BASES.items()],
        "frequencies": [(k, str(v)) for k, v in svc.FREQUENCIES.items()],
        "repayment_methods": [(k, str(v)) for k, v in svc.REPAYMENT_METHODS.items()],
    }


class GuaranteeView(BaseModelView):
    """业务查询 (BIZ-14): every guarantee in the user's data scope, filtered by stage, approval and contract
    status, bank, product, account manager and dates; exportable. The application form and the guarantee
    page (stages, approvals, documents) are custom pages of this view."""

    route_base = "/guarantee"
    datamodel = SafeInterface(Guarantee)
    class_permission_name = P.GUARANTEE
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT), P.can(P.EXPORT)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "document": P.READ,
                              "act": P.EDIT}
    list_template = "guarantees/list.html"
    list_title = _l("Guarantee business")
    show_title = _l("Guarantee")
    list_columns = ["code", "customer", "product", "bank", "amount", "stage", "approval_status",
                    "contract_status", "status", "balance", "manager", "apply_date"]
    order_columns = ["code", "amount", "term_months", "stage", "approval_status", "contract_status", "status",
                     "balance", "apply_date"]
    export_columns = ["code", "customer", "product", "bank", "amount", "term_months", "fee_rate", "purpose",
                      "repayment_method", "green_channel", "stage", "approval_status", "contract_status", "status",
                      "apply_date", "loan_number", "loan_amount", "loan_date", "due_date", "balance", "backfilled",
                      "manager"]
    # (no customer relation filter: FAB would load every customer into its select; the code and the quick
    # filters cover the query, and the customer's page lists its guarantees)
    search_columns = ["code", "product", "bank", "stage", "approval_status", "contract_status", "status",
                      "manager", "apply_date", "loan_date", "due_date", "amount", "green_channel", "backfilled"]
    show_columns = export_columns
    base_order = ("id", "desc")
    label_columns = LABELS
    formatters_columns = FORMATTERS

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["quick_filters"] = _quick_filters()
        return super().render_template(template, **kwargs)

    # --- the application form (replaces FAB's generated add/edit: measures and fee plan are rows) ---------
    def _application_page(self, item=None):
        errors, form = {}, application_to_form(item) if item is not None else {}
        if request.method == "POST":
            form = request.form.to_dict()
            data = application_from_form(request.form)
            try:
                if item is None:
                    saved = svc.create_application(data, g.user.id)
                else:
                    saved = svc.update_application(item.id, data, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message  # shown once, in the form (no flash: it repeated it)
            else:
                flash(gettext("The application %(code)s is saved.", code=saved.code), "success")
                return redirect(url_for(".page", pk=saved.id))
        title = gettext("New guarantee application") if item is None else gettext("Edit application %(code)s",
                                                                                  code=item.code)
        return self.render_template("guarantees/form.html", form=form, errors=errors, item=item, title=title,
                                    measure_rows=range(MEASURE_ROWS), fee_rows=range(FEE_ROWS), **_choices(form))

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return self._application_page()

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        item = self._item(pk)
        if item.stage != "draft" or item.status != "active":
            flash(gettext("Only a draft application can be changed."), "warning")
            return redirect(url_for(".page", pk=item.id))
        return self._application_page(item)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        return redirect(url_for(".page", pk=self._item(pk).id))

    def _item(self, pk):
        try:
            return svc.get(pk)
        except GuaranteeError:
            abort(404)

    # --- the guarantee page ----------------------------------------------------------------------------
    @expose("/page/<pk>")
    @has_access
    def page(self, pk):
        item = self._item(pk)
        sm = self.appbuilder.sm
        can = {"edit": sm.has_access(P.can(P.EDIT), P.GUARANTEE),
               "risk": sm.has_access(P.can(P.RUN), P.GUARANTEE_RISK),
               "finance": sm.has_access(P.can(P.RUN), P.GUARANTEE_FINANCE),
               "customer": sm.has_access(P.can(P.READ), P.CUSTOMER),  # link to the customer's 360 page
               "todo": sm.has_access(P.can(P.READ), P.APPROVAL_TASK)}  # link back to 待办事项
        try:
            # only while the application is open (not for one in force, released, rejected or withdrawn)
            open_item = item.status == "active" and item.stage not in ("in_force", "released")
            results = svc.compliance_results(item, "committee" if svc.stage_index(item.stage) >= svc.stage_index(
                "committee") else "submission") if open_item else []
        except GuaranteeError:
            results = []
        approval_kind = None if item.backfilled else svc.KIND_OF_STAGE.get(item.stage)  # backfilled: no approvals
        if approval_kind is None and not item.backfilled:
            # after the approvals the last decided one stays visible
            passed = [k for k, s in svc.APPROVAL_KINDS.items() if svc.stage_index(s) < svc.stage_index(item.stage)]
            approval_kind = passed[-1] if passed else None
        documents = [(code, str(label)) for code, label in svc.DOCUMENT_LABELS.items()
                     if code in svc.DOCUMENT_STAGES and code != "counter_contract" and svc.document_available(item, code)]
        return self.render_template(
            "guarantees/page.html", item=item, can=can, svc=svc, stages=STAGES[:-1], compliance_results=results,
            approval_kind=approval_kind, approval_obj=item, documents=documents,
            reports={"investigation_report": svc.document(item, "investigation_report"),
                     "risk_report": svc.document(item, "risk_report")},
            unpaid={r.id for r in svc.fees_due_unpaid(item)} if item.schedule else set(),
            title=gettext("Guarantee %(code)s", code=item.code), user_name=_user_name,
            has_approval_panel=_approval_panel_available())

    @expose("/document/<pk>/<doc_type>")
    @has_access
    def document(self, pk, doc_type):
        fmt = "pdf" if request.args.get("fmt") == "pdf" else "docx"
        try:
            data, name = svc.render_document(pk, doc_type, fmt, request.args.get("contract") or None)
        except NotFound:
            abort(404)
        except GuaranteeError as ex:
            flash(ex.message, "danger")
            return redirect(url_for(".page", pk=pk))
        from urllib.parse import quote

        mime = "application/pdf" if fmt == "pdf" else \
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return Response(data, mimetype=mime, headers={
            "Content-Disposition": f"attachment; filename=document.{fmt}; filename*=UTF-8''{quote(name)}"})

    @expose("/act/<int:pk>/<operation>", methods=["POST"])
    @has_access
    def act(self, pk, operation):
        return _run_operation(pk, operation, "edit")


# FAB filter indexes (flask_appbuilder SQLAFilterConverter): string "equal" 3, relation "equal" 0, date
# "greater" 1 and "smaller" 2.
def _quick_filters() -> list[dict]:
    from models.products import CooperatingBank, Product

    def user_options():
        from app.services.data_scope import apply_scope

        rows = db.session.execute(apply_scope(select(Guarantee.manager_id).distinct(), Guarantee)).scalars().all()
        users = [db.session.get(appbuilder_user_model(), uid) for uid in rows if uid is not None]
        return [(u.id, _user_name(u) or u.username) for u in users if u is not None]

    filters = [
        ("_flt_3_stage", _l("Stage"), [(k, str(v)) for k, v in svc.STAGE_LABELS.items()]),
        ("_flt_3_approval_status", _l("Approval status"), [(k, str(v)) for k, v in svc.APPROVAL_STATUS_LABELS.items()]),
        ("_flt_3_contract_status", _l("Contract status"), [(k, str(v)) for k, v in svc.CONTRACT_STATUS_LABELS.items()]),
        ("_flt_3_status", _l("Status"), [(k, str(v)) for k, v in svc.STATUS_LABELS.items()]),
        ("_flt_0_bank", _l("Lending bank"), [(b.id, b.name) for b in db.session.execute(
            select(CooperatingBank).order_by(CooperatingBank.code)).scalars()]),
        ("_flt_0_product", _l("Product"), [(p.id, p.name) for p in db.session.execute(
            select(Product).order_by(Product.code)).scalars()]),
        ("_flt_0_manager", _l("Account manager"), user_options()),
        ("_flt_1_apply_date", _l("Applied after"), None), ("_flt_2_apply_date", _l("Applied before"), None),
        ("_flt_1_loan_date", _l("Loan after"), None), ("_flt_2_loan_date", _l("Loan before"), None),
    ]
    return [{"name": name, "label": str(label), "options": options, "value": request.args.get(name, "")}
            for name, label, options in filters]


def appbuilder_user_model():
    from app.extensions import appbuilder

    return appbuilder.sm.user_model


def _approval_panel_available() -> bool:
    from flask import current_app

    try:
        current_app.jinja_env.get_template("approval/_panel.html")
    except Exception:  # noqa: BLE001  the engine's partial is optional for the page
        return False
    return True


# --- stage operations: (service call, permission group, success message) ----------------------------------

def _content(data, fields):
    return {k: data.get(k) for k in fields}


OPERATIONS = {
    "submit_application": (lambda pk, d, u: svc.submit_application(pk, u, d.get("comment")), "edit",
                           _l("The application is submitted.")),
    "withdraw_application": (lambda pk, d, u: svc.withdraw_application(pk, u, d.get("reason")), "edit",
                             _l("The application is withdrawn.")),
    "save_investigation_report": (
        lambda pk, d, u: svc.save_investigation_report(
            pk, _content(d, [*svc.INVESTIGATION_FIELDS, "recommendation"]), u), "edit",
        _l("The due-diligence report is saved.")),
    "submit_for_acceptance": (lambda pk, d, u: svc.submit_for_acceptance(pk, u, d.get("comment")), "edit",
                              _l("Sent to the acceptance approval.")),
    "issue_intention_letter": (lambda pk, d, u: svc.issue_intention_letter(pk, u, d.get("comment")), "edit",
                               _l("The intention letter is issued; the review approval has started.")),
    "issue_confirmation_letter": (lambda pk, d, u: svc.issue_confirmation_letter(pk, u, d.get("comment")), "edit",
                                  _l("The confirmation letter is issued.")),
    "register_fees": (lambda pk, d, u: svc.register_fees(pk, u, d.get("start_date") or None, d.get("comment")),
                      "edit", _l("The fees are registered and the contracts drafted.")),
    "sign_contract": (lambda pk, d, u: svc.sign_contract(_contract_of(pk, d), u, d.get("signed_on") or None,
                                                         d.get("start_date") or None, d.get("end_date") or None),
                      "edit", _l("The contract is signed.")),
    "register_measure": (lambda pk, d, u: svc.register_measure(_measure_of(pk, d), u, d.get("registered_on") or None),
                         "edit", _l("The registration is recorded.")),
    "complete_contracts": (lambda pk, d, u: svc.complete_contracts(pk, u, d.get("comment")), "edit",
                           _l("The contracts are complete.")),
    "issue_loan_notice": (lambda pk, d, u: svc.issue_loan_notice(pk, u, d.get("comment")), "edit",
                          _l("The loan notice is issued.")),
    "save_risk_report": (lambda pk, d, u: svc.save_risk_report(pk, _content(d, svc.RISK_FIELDS), u), "risk",
                         _l("The risk assessment report is saved.")),
    "submit_risk_approval": (lambda pk, d, u: svc.submit_risk_approval(pk, u, d.get("comment")), "risk",
                             _l("Sent to the risk approval.")),
    "submit_to_committee": (lambda pk, d, u: svc.submit_to_committee(pk, u, d.get("comment")), "risk",
                            _l("Sent to the review committee.")),
    "review_contract": (lambda pk, d, u: svc.review_contract(_contract_of(pk, d), u, d.get("comment")), "risk",
                        _l("The contract is reviewed.")),
    "collect_fee": (lambda pk, d, u: svc.collect_fee(pk, u, d.get("schedule_id"), d.get("amount"),
                                                     d.get("received_on") or None, d.get("method") or "transfer",
                                                     d.get("reference")), "finance",
                    _l("The fee is recorded and sent to finance for the voucher.")),
    "finish_fee_collection": (lambda pk, d, u: svc.finish_fee_collection(pk, u, d.get("comment")), "finance",
                              _l("Fee collection is complete.")),
    "confirm_loan": (lambda pk, d, u: svc.confirm_loan(pk, u, d.get("loan_number"), d.get("loan_amount"),
                                                       d.get("loan_date") or None, d.get("comment")), "finance",
                     _l("The loan is confirmed; the guarantee is in force.")),
}


def _contract_of(pk, data):
    """A contract id named in the request must belong to the guarantee in the URL."""
    from models.business import GuaranteeContract

    cid = svc._id(data.get("contract_id"), "contract_id", gettext("Contract"))
    contract = db.session.get(GuaranteeContract, cid)
    if contract is None or contract.guarantee_id != pk:
        raise NotFound(gettext("The contract does not exist."))
    return cid


def _measure_of(pk, data):
    from models.business import CounterMeasure

    mid = svc._id(data.get("measure_id"), "measure_id", gettext("Counter-guarantee measure"))
    measure = db.session.get(CounterMeasure, mid)
    if measure is None or measure.guarantee_id != pk:
        raise NotFound(gettext("The counter-guarantee measure does not exist."))
    return mid


def _run_operation(pk, operation, group):
    entry = OPERATIONS.get(operation)
    if entry is None or entry[1] != group:
        abort(404)
    run, _, message = entry
    try:
        run(pk, request.form, g.user.id)
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except GuaranteeError as ex:
        db.session.rollback()
        flash(ex.message, "danger")
    else:
        flash(str(message), "success")
    return redirect(url_for("GuaranteeView.page", pk=pk))


class GuaranteeRiskView(BaseView):
    """The risk officer's stage work (POST only; answers by redirecting to the guarantee page)."""

    route_base = "/guaranteerisk"
    default_view = "act"
    class_permission_name = P.GUARANTEE_RISK
    base_permissions = [P.can(P.RUN)]
    method_permission_name = {"act": P.RUN}

    @expose("/act/<int:pk>/<operation>", methods=["POST"])
    @has_access
    def act(self, pk, operation):
        return _run_operation(pk, operation, "risk")


class GuaranteeFinanceView(BaseView):
    """Fee collection and loan confirmation (cashier, accountant)."""

    route_base = "/guaranteefinance"
    default_view = "act"
    class_permission_name = P.GUARANTEE_FINANCE
    base_permissions = [P.can(P.RUN)]
    method_permission_name = {"act": P.RUN}

    @expose("/act/<int:pk>/<operation>", methods=["POST"])
    @has_access
    def act(self, pk, operation):
        return _run_operation(pk, operation, "finance")


# --- REST API ------------------------------------------------------------------------------------------

def guarantee_json(item) -> dict:
    return {
        "id": item.id, "code": item.code, "customer_id": item.customer_id, "product_id": item.product_id,
        "bank_id": item.bank_id, "amount": str(item.amount), "term_months": item.term_months,
        "fee_rate": str(item.fee_rate), "purpose": item.purpose, "repayment_method": item.repayment_method,
        "green_channel": item.green_channel, "stage": item.stage, "status": item.status,
        "approval_status": item.approval_status, "contract_status": item.contract_status,
        "apply_date": item.apply_date.isoformat() if item.apply_date else None,
        "loan_number": item.loan_number, "loan_amount": str(item.loan_amount) if item.loan_amount is not None else None,
        "loan_date": item.loan_date.isoformat() if item.loan_date else None,
        "due_date": item.due_date.isoformat() if item.due_date else None, "balance": str(item.balance),
        "manager_id": item.manager_id,
        "measures": [{"id": m.id, "kind": m.kind, "description": m.description,
                      "value": str(m.value) if m.value is not None else None, "guarantor_id": m.guarantor_id,
                      "registered": m.registered} for m in item.measures],
        "fee_items": [{"id": f.id, "fee_type": f.fee_type, "basis": f.basis,
                       "rate": str(f.rate) if f.rate is not None else None,
                       "amount": str(f.amount) if f.amount is not None else None, "frequency": f.frequency}
                      for f in item.fee_items],
        "schedule": [{"id": r.id, "due_date": r.due_date.isoformat(), "fee_type": r.fee_type, "amount": str(r.amount),
                      "received": str(r.received)} for r in item.schedule],
        "contracts": [{"id": c.id, "kind": c.kind, "number": c.number, "status": c.status,
                       "measure_id": c.measure_id} for c in item.contracts],
        "documents": [{"doc_type": d.doc_type, "number": d.number} for d in item.documents],
    }


def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


def _operation_api(name, resource, group, extra=None):
    """Action API of one permission resource: POST /api/v1/<name>/<pk>/<operation> for the group's operations."""
    operations = [op for op, (_, grp, _) in OPERATIONS.items() if grp == group]
    body = {"resource_name": name, "class_permission_name": resource, "allow_browser_login": True,
            "method_permission_name": {op: (P.EDIT if group == "edit" else P.RUN) for op in operations}}

    def make(operation):
        def endpoint(self, pk):
            run = OPERATIONS[operation][0]
            try:
                run(pk, _json_body(), g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                return self.response(ex.status, message=ex.message)
            return self.response(200, result=guarantee_json(svc.get(pk)))

        endpoint.__name__ = endpoint.__qualname__ = operation  # FAB finds the permission by the function's name
        return api_expose(f"/<int:pk>/{operation}", methods=["POST"])(protect()(safe(endpoint)))

    for operation in operations:
        body[operation] = make(operation)
    body.update(extra or {})
    return type(f"{name.title().replace('_', '')}Api", (ApiHardeningMixin, FabBaseApi), body)


def _apply(self):
    try:
        item = svc.create_application(_json_body(), g.user.id)
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        return self.response(ex.status, message=ex.message)
    return self.response(201, id=item.id, result=guarantee_json(item))


def _update(self, pk):
    try:
        item = svc.update_application(pk, _json_body(), g.user.id)
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        return self.response(ex.status, message=ex.message)
    return self.response(200, result=guarantee_json(item))


def _detail(self, pk):
    try:
        item = svc.get(pk)
    except GuaranteeError as ex:
        return self.response(ex.status, message=ex.message)
    return self.response(200, result=guarantee_json(item))


_apply.__name__ = "apply"
_update.__name__ = "update"
_detail.__name__ = "detail"

# The account manager's API: create and change an application, read one with its children, and the stage work.
GuaranteeWorkApi = _operation_api("guarantee_work", P.GUARANTEE, "edit", extra={
    "apply": api_expose("/", methods=["POST"])(protect()(safe(_apply))),
    "update": api_expose("/<int:pk>", methods=["PUT"])(protect()(safe(_update))),
    "detail": api_expose("/<int:pk>", methods=["GET"])(protect()(safe(_detail))),
})
GuaranteeWorkApi.method_permission_name = {**GuaranteeWorkApi.method_permission_name, "apply": P.ADD,
                                           "update": P.EDIT, "detail": P.READ}
GuaranteeRiskApi = _operation_api("guarantee_risk", P.GUARANTEE_RISK, "risk")
GuaranteeFinanceApi = _operation_api("guarantee_finance", P.GUARANTEE_FINANCE, "finance")


class GuaranteeApi(BaseApi):
    """The business query over the API (read only: applications are made through guarantee_work)."""

    resource_name = "guarantee"
    datamodel = SafeInterface(Guarantee)
    class_permission_name = P.GUARANTEE
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "code", "customer_id", "product_id", "bank_id", "amount", "term_months",
                                   "fee_rate", "purpose", "repayment_method", "green_channel", "stage", "status",
                                   "approval_status", "contract_status", "apply_date", "loan_number", "loan_amount",
                                   "loan_date", "due_date", "balance", "backfilled", "manager_id"]
    search_columns = ["code", "customer_id", "product_id", "bank_id", "stage", "status", "approval_status",
                      "contract_status", "manager_id", "apply_date", "loan_date", "due_date", "amount"]
    base_order = ("id", "desc")


def register(appbuilder):
    """Menu 业务管理 (Business) and the APIs; the approval engine learns the guarantee approvals here."""
    svc.register_approval_kinds()
    from views.products import BUSINESS_MENU

    appbuilder.add_view(GuaranteeView, "Guarantees", label=_l("Guarantee business"), icon="fa-shield",
                        **BUSINESS_MENU)
    for view in (GuaranteeRiskView, GuaranteeFinanceView):
        appbuilder.add_view_no_menu(view)
    for api in (GuaranteeApi, GuaranteeWorkApi, GuaranteeRiskApi, GuaranteeFinanceApi):
        appbuilder.add_api(api)
    _register_customer_section()
    from views import approval as approval_views

    approval_views.WORK_QUEUES.append(_work_queues)


# The stages each kind of user moves on (the approval stages come to 待办事项 by the engine itself).
QUEUE_STAGES = (
    ("edit", P.GUARANTEE, ("draft", "investigation", "intention", "confirmation", "fee_registration", "contract",
                            "loan_notice")),
    ("risk", P.GUARANTEE_RISK, ("risk", "contract")),  # the risk report; the review of counter-guarantee contracts
    ("finance", P.GUARANTEE_FINANCE, ("fee_collection", "loan_confirmation")),
)


def _work_queues():
    """[(stage label, count, list url)] of the active guarantees in the user's data scope waiting at a stage the
    user acts on; shown on 待办事项 so the account manager, risk officer and finance find their work."""
    from sqlalchemy import func

    from app.services.data_scope import apply_scope

    from app.extensions import appbuilder

    sm = appbuilder.sm
    stages = []
    for verb, resource, names in QUEUE_STAGES:
        if sm.has_access(P.can(P.EDIT if verb == "edit" else P.RUN), resource):
            stages += [s for s in names if s not in stages]
    if not stages or not sm.has_access(P.can(P.READ), P.GUARANTEE):
        return []
    counts = dict(db.session.execute(apply_scope(
        # an item whose approval is under way waits for its approvers (on their 待办事项), not for the stage
        select(Guarantee.stage, func.count(Guarantee.id)).where(Guarantee.status == "active",
                                                                Guarantee.approval_status != "pending",
                                                                Guarantee.stage.in_(stages))
        .group_by(Guarantee.stage), Guarantee)).all())
    return [(svc.stage_label(s), counts.get(s, 0),
             url_for("GuaranteeView.list", _flt_3_stage=s, _flt_3_status="active")) for s in stages]


CUSTOMER_SECTION_ROWS = 50


def _register_customer_section():
    """The customer's guarantees on the customer 360 page, each linked to its guarantee page (the way back
    from a customer to the business; the guarantee page links to the customer)."""
    from markupsafe import Markup, escape

    from app.services.customer_360 import Section, section
    from app.services.data_scope import apply_scope

    @section("guarantees", _l("Guarantee business"), order=35, resource=P.GUARANTEE)
    def guarantees(customer) -> Section:
        rows = db.session.execute(apply_scope(
            select(Guarantee).where(Guarantee.customer_id == customer.id).order_by(Guarantee.id.desc())
            .limit(CUSTOMER_SECTION_ROWS), Guarantee)).scalars().all()
        if not rows:
            return Section(note=gettext("No guarantee business."))
        return Section(
            columns=[gettext("Guarantee no."), gettext("Product"), gettext("Lending bank"), gettext("Guarantee amount"),
                     gettext("Stage"), gettext("Status"), gettext("Outstanding balance"), gettext("Application date")],
            rows=[[Markup('<a href="%s">%s</a>') % (url_for("GuaranteeView.page", pk=r.id), escape(r.code)),
                   r.product.name if r.product else "", r.bank.name if r.bank else "", svc.money_text(r.amount),
                   svc.stage_label(r.stage), str(svc.STATUS_LABELS.get(r.status, r.status)),
                   svc.money_text(r.balance), r.apply_date or ""] for r in rows])
