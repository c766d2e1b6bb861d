"""Screens and API of compensation, recovery, foreclosed assets, release and extension (保后管理, POST-5..9).

Thin: every rule is in app/services/{compensation,recovery,foreclosed_assets,release,extension}.py, so screens,
a hand-made POST and the REST API meet the same checks. Menu 保后管理 (category "PostGuarantee"):
* 代偿管理 /compensation: list, apply (from a guarantee in force), the page with the approval panel and payment;
* 追偿管理 /recovery: list, apply (from a paid compensation), receipts, legal-action log, close, recovery rate;
* 抵债资产 /foreclosedasset: list, register, valuations, disposal;
* 解保与展期 /settlement: guarantees in force and released; the page: settlement statement, release, extension
  (approval panel), early repayment;
* 提前还款退费规则 /feerefundrule: the product's fee refund rule.
REST: /api/v1/post_settlement/... (the same operations, JSON).
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
from app.errors import GuaranteeError, NotFound
from app.extensions import db
from app.services import compensation as comp_svc
from app.services import extension as ext_svc
from app.services import foreclosed_assets as asset_svc
from app.services import recovery as rec_svc
from app.services import release as rel_svc
from app.services.guarantees import STAGE_LABELS, STATUS_LABELS, money_text
from models.business import Guarantee
from models.post_settlement import Compensation, FeeRefundRule, ForeclosedAsset, RecoveryCase
from views.api_support import ApiHardeningMixin
from views.base import BaseModelView, SafeInterface, run_operation as _run
from views.labels import choice_label

MENU = dict(category="PostGuarantee", category_label=_l("Post-guarantee"), category_icon="fa-shield")
GUARANTEE_OPTIONS = 500


def _money(value):
    return money_text(value) if value is not None else ""


def _user_name(user_id):
    from app.services.approval import _user_name as name

    return name(user_id) if user_id else ""


def _can(verb, resource) -> bool:
    from app.extensions import appbuilder

    return appbuilder.sm.has_access(P.can(verb), resource)


def _form() -> dict:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _in_force_choices(selected=None):
    """Guarantees in force in the user's data scope (newest first), for the application forms."""
    from app.services.data_scope import apply_scope

    base = select(Guarantee.id, Guarantee.code, Guarantee.balance).where(Guarantee.stage == "in_force",
                                                                         Guarantee.status == "active")
    rows = db.session.execute(apply_scope(base.order_by(Guarantee.id.desc()).limit(GUARANTEE_OPTIONS),
                                          Guarantee)).all()
    if selected and str(selected).isdigit() and int(selected) not in {r.id for r in rows}:
        rows += db.session.execute(apply_scope(base.where(Guarantee.id == int(selected)), Guarantee)).all()
    return [(r.id, f"{r.code} · {gettext('Outstanding balance')} {money_text(r.balance)}") for r in rows]


# --- 代偿 ------------------------------------------------------------------------------------------------------

COMPENSATION_LABELS = {
    "code": _l("Compensation no."), "guarantee": _l("Guarantee"), "customer": _l("Customer"), "bank": _l("Lending bank"),
    "demand_date": _l("Demand date"), "principal": _l("Principal demanded"), "interest": _l("Interest demanded"),
    "penalty": _l("Penalty demanded"), "amount": _l("Amount demanded"), "status": _l("Status"),
    "paid_on": _l("Payment date"), "paid_amount": _l("Amount paid"), "recovered_amount": _l("Recovered"),
    "applied_on": _l("Applied on"), "reason": _l("Reason"), "demand_reference": _l("Bank notice no."),
}


def _paid_compensations():
    """Paid compensations in the user's scope, newest first: what a recovery or a foreclosed asset is against."""
    from app.services.data_scope import apply_scope

    return db.session.execute(apply_scope(select(Compensation).where(Compensation.status == "paid")
                                          .order_by(Compensation.id.desc()).limit(GUARANTEE_OPTIONS),
                                          Compensation)).scalars().all()


class CompensationView(BaseModelView):
    route_base = "/compensation"
    datamodel = SafeInterface(Compensation)
    class_permission_name = P.COMPENSATION
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "pay": P.RUN}
    list_title = _l("Compensation management")
    show_title = _l("Compensation")
    list_columns = ["code", "guarantee", "customer", "bank", "demand_date", "amount", "status", "paid_on",
                    "paid_amount", "recovered_amount"]
    export_columns = list_columns + ["principal", "interest", "penalty", "reason"]
    show_columns = export_columns
    search_columns = ["code", "status", "demand_date", "paid_on", "amount"]
    order_columns = ["code", "demand_date", "amount", "paid_on", "paid_amount"]
    base_order = ("id", "desc")
    label_columns = COMPENSATION_LABELS
    formatters_columns = {"status": choice_label(comp_svc.STATUS_LABELS), "amount": _money, "principal": _money,
                          "interest": _money, "penalty": _money, "paid_amount": _money, "recovered_amount": _money}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if self.datamodel.get(pk, self._base_filters) is None:  # unknown, or outside the user's scope
            abort(404)
        return redirect(url_for(".page", pk=pk))

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = _form() if request.method == "POST" else {"guarantee_id": request.args.get("guarantee_id", ""),
                                                          "demand_date": comp_svc.today().isoformat()}
        if request.method == "POST":
            try:
                item = comp_svc.apply(form, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                flash(ex.message, "danger")
            else:
                flash(gettext("The compensation %(code)s is applied for and sent to approval.", code=item.code),
                      "success")
                return redirect(url_for(".page", pk=item.id))
        fields = [
            ("guarantee_id", _l("Guarantee"), "select", _in_force_choices(form.get("guarantee_id")), True),
            ("demand_date", _l("Demand date"), "date", None, True),
            ("demand_reference", _l("Bank notice no."), "text", None, False),
            ("principal", _l("Principal demanded"), "money", None, True),
            ("interest", _l("Interest demanded"), "money", None, False),
            ("penalty", _l("Penalty demanded"), "money", None, False),
            ("reason", _l("Reason"), "textarea", None, True),
        ]
        return self.render_template("post_settlement/form.html", title=gettext("Apply for compensation"),
                                    form=form, fields=fields, form_id="compensation-form",
                                    submit=gettext("Apply and send to approval"), back=url_for(".list"))

    @expose("/page/<int:pk>")
    @has_access
    def page(self, pk):
        try:
            item = comp_svc.get(pk)
        except NotFound:
            abort(404)
        cases = db.session.execute(select(RecoveryCase).where(RecoveryCase.compensation_id == item.id)
                                   .order_by(RecoveryCase.id)).scalars().all()
        return self.render_template(
            "post_settlement/compensation.html", title=gettext("Compensation %(code)s", code=item.code), item=item,
            svc=comp_svc, rec_svc=rec_svc, cases=cases, money=_money, applicant=_user_name(item.applied_by_id),
            outstanding=comp_svc.outstanding(item), customer_outstanding=comp_svc.outstanding_by_customer(item.customer_id),
            history=comp_svc.history(item.guarantee_id), approval_kind=comp_svc.APPROVAL_KIND, approval_obj=item,
            can_pay=_can(P.RUN, P.COMPENSATION), can_recover=_can(P.ADD, P.RECOVERY),
            can_asset=_can(P.ADD, P.FORECLOSED_ASSET), today=comp_svc.today())

    @expose("/pay/<int:pk>", methods=["POST"])
    @has_access
    def pay(self, pk):
        form = _form()
        return _run(lambda: comp_svc.pay(pk, g.user.id, paid_on=form.get("paid_on"), amount=form.get("amount"),
                                         reference=form.get("reference"), bank_account=form.get("bank_account")),
                    _l("The compensation is paid; finance reviews the payment into a voucher."),
                    url_for("CompensationView.page", pk=pk))


# --- 追偿 ------------------------------------------------------------------------------------------------------

RECOVERY_LABELS = {
    "code": _l("Recovery no."), "compensation": _l("Compensation"), "guarantee": _l("Guarantee"),
    "customer": _l("Customer"), "target_amount": _l("Target amount"), "status": _l("Status"),
    "applied_on": _l("Applied on"), "closed_on": _l("Closed on"), "plan": _l("Recovery plan"),
}


class RecoveryView(BaseModelView):
    route_base = "/recovery"
    datamodel = SafeInterface(RecoveryCase)
    class_permission_name = P.RECOVERY
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "receipt": P.RUN,
                              "legal": P.ADD, "close": P.ADD}
    list_title = _l("Recovery management")
    show_title = _l("Recovery")
    list_columns = ["code", "compensation", "guarantee", "customer", "target_amount", "status", "applied_on",
                    "closed_on"]
    export_columns = list_columns + ["plan"]
    show_columns = export_columns
    search_columns = ["code", "status", "applied_on", "closed_on", "target_amount"]
    order_columns = ["code", "target_amount", "applied_on", "closed_on"]
    base_order = ("id", "desc")
    label_columns = RECOVERY_LABELS
    formatters_columns = {"status": choice_label(rec_svc.STATUS_LABELS), "target_amount": _money}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if self.datamodel.get(pk, self._base_filters) is None:  # unknown, or outside the user's scope
            abort(404)
        return redirect(url_for(".page", pk=pk))

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = _form() if request.method == "POST" else {"compensation_id": request.args.get("compensation_id", "")}
        if request.method == "POST":
            try:
                item = rec_svc.apply(form, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                flash(ex.message, "danger")
            else:
                flash(gettext("The recovery case %(code)s is sent to approval.", code=item.code), "success")
                return redirect(url_for(".page", pk=item.id))
        paid = _paid_compensations()
        choices = [(c.id, f"{c.code} · {c.guarantee.code if c.guarantee else ''} · "
                          f"{gettext('Outstanding')} {money_text(comp_svc.outstanding(c))}") for c in paid]
        fields = [
            ("compensation_id", _l("Compensation"), "select", choices, True),
            ("target_amount", _l("Target amount (default: all outstanding)"), "money", None, False),
            ("plan", _l("Recovery plan"), "textarea", None, True),
        ]
        return self.render_template("post_settlement/form.html", title=gettext("Apply for recovery"), form=form,
                                    fields=fields, form_id="recovery-form",
                                    submit=gettext("Apply and send to approval"), back=url_for(".list"))

    @expose("/page/<int:pk>")
    @has_access
    def page(self, pk):
        try:
            case = rec_svc.get(pk)
        except NotFound:
            abort(404)
        rate = rec_svc.recovery_rate(case)
        return self.render_template(
            "post_settlement/recovery.html", title=gettext("Recovery %(code)s", code=case.code), case=case,
            svc=rec_svc, money=_money, recovered=rec_svc.recovered(case), allocation=rec_svc.allocation(case),
            rate=(f"{rate * 100:.2f}%" if rate is not None else ""), outstanding=comp_svc.outstanding(case.compensation),
            approval_kind=rec_svc.APPROVAL_KIND, approval_obj=case, today=comp_svc.today(),
            can_receipt=_can(P.RUN, P.RECOVERY), can_add=_can(P.ADD, P.RECOVERY), user_name=_user_name)

    @expose("/receipt/<int:pk>", methods=["POST"])
    @has_access
    def receipt(self, pk):
        form = _form()
        return _run(lambda: rec_svc.record_receipt(pk, form, g.user.id),
                    _l("The amount recovered is recorded; finance reviews it into a voucher."),
                    url_for("RecoveryView.page", pk=pk))

    @expose("/legal/<int:pk>", methods=["POST"])
    @has_access
    def legal(self, pk):
        form = _form()
        return _run(lambda: rec_svc.log_legal_action(pk, form, g.user.id), _l("The legal action is recorded."),
                    url_for("RecoveryView.page", pk=pk))

    @expose("/close/<int:pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        return _run(lambda: rec_svc.close(pk, g.user.id, request.form.get("note")), _l("The recovery case is closed."),
                    url_for("RecoveryView.page", pk=pk))


# --- 抵债资产 ----------------------------------------------------------------------------------------------------

ASSET_LABELS = {
    "code": _l("Asset no."), "name": _l("Asset name"), "kind": _l("Asset kind"), "source": _l("Source"),
    "customer": _l("Customer"), "guarantee": _l("Guarantee"), "acquired_on": _l("Date acquired"),
    "book_value": _l("Book value"), "current_value": _l("Current value"), "status": _l("Status"),
    "location": _l("Location"), "disposed_on": _l("Disposal date"), "disposal_amount": _l("Disposal proceeds"),
    "gain_loss": _l("Gain or loss"), "buyer": _l("Buyer"),
}


class ForeclosedAssetView(BaseModelView):
    route_base = "/foreclosedasset"
    datamodel = SafeInterface(ForeclosedAsset)
    class_permission_name = P.FORECLOSED_ASSET
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "revalue": P.EDIT,
                              "dispose": P.RUN}
    list_title = _l("Foreclosed assets")
    show_title = _l("Foreclosed asset")
    list_columns = ["code", "name", "kind", "source", "customer", "acquired_on", "book_value", "current_value",
                    "status", "disposal_amount", "gain_loss"]
    export_columns = list_columns + ["location", "disposed_on", "buyer"]
    show_columns = export_columns
    search_columns = ["code", "name", "kind", "source", "status", "acquired_on", "book_value"]
    order_columns = ["code", "name", "acquired_on", "book_value", "current_value"]
    base_order = ("id", "desc")
    label_columns = ASSET_LABELS
    formatters_columns = {"kind": choice_label(asset_svc.ASSET_KINDS), "source": choice_label(asset_svc.SOURCES),
                          "status": choice_label(asset_svc.STATUS_LABELS), "book_value": _money,
                          "current_value": _money, "disposal_amount": _money, "gain_loss": _money}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if self.datamodel.get(pk, self._base_filters) is None:  # unknown, or outside the user's scope
            abort(404)
        return redirect(url_for(".page", pk=pk))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return redirect(url_for(".page", pk=pk))  # changes go through revalue / dispose only

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = _form() if request.method == "POST" else {
            "compensation_id": request.args.get("compensation_id", ""), "acquired_on": comp_svc.today().isoformat()}
        if request.method == "POST":
            try:
                item = asset_svc.register(form, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                flash(ex.message, "danger")
            else:
                flash(gettext("The foreclosed asset %(code)s is registered.", code=item.code), "success")
                return redirect(url_for(".page", pk=item.id))
        paid = _paid_compensations()
        fields = [
            ("name", _l("Asset name"), "text", None, True),
            ("kind", _l("Asset kind"), "select", [(k, str(v)) for k, v in asset_svc.ASSET_KINDS.items()], True),
            ("source", _l("Source"), "select", [(k, str(v)) for k, v in asset_svc.SOURCES.items()], True),
            ("compensation_id", _l("Against the compensation"), "select",
             [(c.id, f"{c.code} · {c.customer.name if c.customer else ''}") for c in paid], False),
            ("guarantee_id", _l("Guarantee (when not against a compensation)"), "select",
             _in_force_choices(form.get("guarantee_id")), False),
            ("collateral_id", _l("Collateral no. in the register"), "text", None, False),
            ("acquired_on", _l("Date acquired"), "date", None, True),
            ("book_value", _l("Book value"), "money", None, True),
            ("agency", _l("Appraisal agency"), "text", None, False),
            ("location", _l("Location"), "text", None, False),
            ("note", _l("Note"), "textarea", None, False),
        ]
        return self.render_template("post_settlement/form.html", title=gettext("Register a foreclosed asset"),
                                    form=form, fields=fields, form_id="asset-form", submit=gettext("Register"),
                                    back=url_for(".list"))

    @expose("/page/<int:pk>")
    @has_access
    def page(self, pk):
        try:
            asset = asset_svc.get(pk)
        except NotFound:
            abort(404)
        return self.render_template(
            "post_settlement/asset.html", title=gettext("Foreclosed asset %(code)s", code=asset.code), asset=asset,
            svc=asset_svc, money=_money, today=comp_svc.today(), can_edit=_can(P.EDIT, P.FORECLOSED_ASSET),
            can_run=_can(P.RUN, P.FORECLOSED_ASSET))

    @expose("/revalue/<int:pk>", methods=["POST"])
    @has_access
    def revalue(self, pk):
        form = _form()
        return _run(lambda: asset_svc.revalue(pk, form, g.user.id), _l("The valuation is recorded."),
                    url_for("ForeclosedAssetView.page", pk=pk))

    @expose("/dispose/<int:pk>", methods=["POST"])
    @has_access
    def dispose(self, pk):
        form = _form()
        return _run(lambda: asset_svc.dispose(pk, form, g.user.id),
                    _l("The disposal is recorded; finance reviews it into a voucher."),
                    url_for("ForeclosedAssetView.page", pk=pk))


# --- 解保、展期、提前还款 -----------------------------------------------------------------------------------------

def _settlement_stages():
    """Base filter: guarantees in force or released (the ones settlement works on)."""
    return ["in_force", "released"]


SETTLEMENT_LABELS = {
    "code": _l("Guarantee no."), "customer": _l("Customer"), "bank": _l("Lending bank"), "product": _l("Product"),
    "loan_amount": _l("Loan amount"), "balance": _l("Outstanding balance"), "loan_date": _l("Loan date"),
    "due_date": _l("Due date"), "stage": _l("Stage"), "status": _l("Status"),
}


class SettlementView(BaseModelView):
    route_base = "/settlement"
    datamodel = SafeInterface(Guarantee)
    class_permission_name = P.SETTLEMENT
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "release": P.RUN,
                              "extend": P.ADD, "early": P.EDIT}
    list_title = _l("Release and extension")
    list_columns = ["code", "customer", "bank", "loan_amount", "balance", "loan_date", "due_date", "stage"]
    export_columns = list_columns
    show_columns = list_columns
    search_columns = ["code", "bank", "stage", "due_date", "loan_date", "balance"]
    order_columns = ["code", "loan_amount", "balance", "loan_date", "due_date"]
    base_filters = [["stage", FilterInFunction, _settlement_stages]]
    base_order = ("due_date", "asc")
    label_columns = SETTLEMENT_LABELS
    formatters_columns = {"stage": choice_label(STAGE_LABELS), "status": choice_label(STATUS_LABELS),
                          "loan_amount": _money, "balance": _money}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if self.datamodel.get(pk, self._base_filters) is None:  # unknown, or outside the user's scope
            abort(404)
        return redirect(url_for(".page", pk=pk))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return redirect(url_for(".page", pk=pk))  # the guarantee changes through release / extension only

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return redirect(url_for(".list"))

    @expose("/page/<int:pk>")
    @has_access
    def page(self, pk):
        from app.services import guarantees

        try:
            item = guarantees.get(pk)
        except NotFound:
            abort(404)
        if item.stage not in ("in_force", "released"):
            abort(404)
        extensions = ext_svc.extensions_of(item.id)
        latest = extensions[-1] if extensions else None
        from app.services import repayment_plans

        return self.render_template(
            "post_settlement/settlement.html", title=gettext("Settlement of %(code)s", code=item.code), item=item,
            statement=rel_svc.settlement_statement(item), release=rel_svc.release_of(item.id),
            margin_held=rel_svc.margin_held(item.id), extensions=extensions, latest=latest,
            early=ext_svc.early_repayments_of(item.id), compensations=comp_svc.history(item.id),
            ext_svc=ext_svc, money=_money, today=comp_svc.today(), plan_methods=repayment_plans.METHODS,
            approval_kind=ext_svc.APPROVAL_KIND, approval_obj=latest, stage_labels=STAGE_LABELS,
            can_release=_can(P.RUN, P.SETTLEMENT), can_extend=_can(P.ADD, P.SETTLEMENT),
            can_early=_can(P.EDIT, P.SETTLEMENT), can_compensate=_can(P.ADD, P.COMPENSATION))

    @expose("/release/<int:pk>", methods=["POST"])
    @has_access
    def release(self, pk):
        form = _form()
        return _run(lambda: rel_svc.release(pk, form, g.user.id), _l("The guarantee is released."),
                    url_for("SettlementView.page", pk=pk))

    @expose("/extend/<int:pk>", methods=["POST"])
    @has_access
    def extend(self, pk):
        form = _form()
        return _run(lambda: ext_svc.apply(pk, form, g.user.id), _l("The extension is sent to approval."),
                    url_for("SettlementView.page", pk=pk))

    @expose("/early/<int:pk>", methods=["POST"])
    @has_access
    def early(self, pk):
        form = _form()
        return _run(lambda: ext_svc.early_repayment(pk, form, g.user.id), _l("The early repayment is recorded."),
                    url_for("SettlementView.page", pk=pk))


class FeeRefundRuleView(BaseModelView):
    """提前还款退费规则: one rule per product."""

    route_base = "/feerefundrule"
    datamodel = SafeInterface(FeeRefundRule)
    class_permission_name = P.FEE_REFUND_RULE
    list_title = _l("Fee refund rules")
    add_title, edit_title, show_title = _l("Add a fee refund rule"), _l("Edit the fee refund rule"), _l("Fee refund rule")
    list_columns = ["product", "method", "ratio", "min_days", "note"]
    add_columns = edit_columns = ["product", "method", "ratio", "min_days", "note"]
    show_columns = list_columns
    search_columns = ["product", "method"]
    base_order = ("id", "asc")
    label_columns = {"product": _l("Product"), "method": _l("Refund method"), "ratio": _l("Refund ratio"),
                     "min_days": _l("Minimum days left"), "note": _l("Note")}
    description_columns = {"ratio": _l("Share of the unused guarantee fee given back, 0.8 = 80 percent"),
                           "min_days": _l("No refund when fewer days of the term are left")}
    formatters_columns = {"method": choice_label(ext_svc.REFUND_METHODS)}
    validators = (ext_svc.validate_rule,)

    def _init_forms(self):
        from wtforms import SelectField

        from flask_appbuilder.fieldwidgets import Select2Widget

        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "method": SelectField(_l("Refund method"), choices=[(k, v) for k, v in ext_svc.REFUND_METHODS.items()],
                                  widget=Select2Widget())}
        super()._init_forms()


# --- REST API --------------------------------------------------------------------------------------------------

def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


class PostSettlementApi(ApiHardeningMixin, FabBaseApi):
    """POST compensation/ (apply), compensation/<id>/pay, recovery/ (apply), recovery/<id>/receipt,
    release/<guarantee id>, extension/<guarantee id>, early_repayment/<guarantee id>; GET compensation/<id>,
    recovery/<id>. Each checks the permission of its screen."""

    resource_name = "post_settlement"
    class_permission_name = P.COMPENSATION
    allow_browser_login = True
    method_permission_name = {"compensation_apply": P.ADD, "compensation_pay": P.RUN, "compensation_get": P.READ}

    def _answer(self, run, to_json, status=200):
        try:
            item = run()
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            return self.response(ex.status, message=ex.message)
        return self.response(status, result=to_json(item))

    @api_expose("/compensation/", methods=["POST"])
    @protect()
    @safe
    def compensation_apply(self):
        return self._answer(lambda: comp_svc.apply(_json_body(), g.user.id), comp_svc.to_json, 201)

    @api_expose("/compensation/<int:pk>/pay", methods=["POST"])
    @protect()
    @safe
    def compensation_pay(self, pk):
        body = _json_body()
        return self._answer(lambda: comp_svc.pay(pk, g.user.id, paid_on=body.get("paid_on"), amount=body.get("amount"),
                                                 reference=body.get("reference"),
                                                 bank_account=body.get("bank_account")), comp_svc.to_json)

    @api_expose("/compensation/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def compensation_get(self, pk):
        return self._answer(lambda: comp_svc.get(pk), comp_svc.to_json)


class RecoveryApi(ApiHardeningMixin, FabBaseApi):
    resource_name = "recovery_work"
    class_permission_name = P.RECOVERY
    allow_browser_login = True
    method_permission_name = {"apply": P.ADD, "receipt": P.RUN, "detail": P.READ}

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    def apply(self):
        return PostSettlementApi._answer(self, lambda: rec_svc.apply(_json_body(), g.user.id), rec_svc.to_json, 201)

    @api_expose("/<int:pk>/receipt", methods=["POST"])
    @protect()
    @safe
    def receipt(self, pk):
        return PostSettlementApi._answer(self, lambda: rec_svc.record_receipt(pk, _json_body(), g.user.id).case,
                                         rec_svc.to_json)

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def detail(self, pk):
        return PostSettlementApi._answer(self, lambda: rec_svc.get(pk), rec_svc.to_json)


def _guarantee_json(item):
    return {"id": item.id, "code": item.code, "stage": item.stage, "status": item.status,
            "balance": str(item.balance), "due_date": item.due_date.isoformat() if item.due_date else None}


class SettlementApi(ApiHardeningMixin, FabBaseApi):
    resource_name = "settlement_work"
    class_permission_name = P.SETTLEMENT
    allow_browser_login = True
    method_permission_name = {"release": P.RUN, "extension": P.ADD, "early_repayment": P.EDIT, "statement": P.READ}

    @api_expose("/<int:pk>/release", methods=["POST"])
    @protect()
    @safe
    def release(self, pk):
        return PostSettlementApi._answer(self, lambda: rel_svc.release(pk, _json_body(), g.user.id).guarantee,
                                         _guarantee_json)

    @api_expose("/<int:pk>/extension", methods=["POST"])
    @protect()
    @safe
    def extension(self, pk):
        return PostSettlementApi._answer(self, lambda: ext_svc.apply(pk, _json_body(), g.user.id),
                                         lambda e: {"id": e.id, "code": e.code, "status": e.status,
                                                    "new_due_date": e.new_due_date.isoformat(),
                                                    "fee_amount": str(e.fee_amount)}, 201)

    @api_expose("/<int:pk>/early_repayment", methods=["POST"])
    @protect()
    @safe
    def early_repayment(self, pk):
        return PostSettlementApi._answer(self, lambda: ext_svc.early_repayment(pk, _json_body(), g.user.id),
                                         lambda r: {"id": r.id, "balance_after": str(r.balance_after),
                                                    "fee_refund": str(r.fee_refund), "plan_rows": r.plan_rows}, 201)

    @api_expose("/<int:pk>/statement", methods=["GET"])
    @protect()
    @safe
    def statement(self, pk):
        from app.services import guarantees

        return PostSettlementApi._answer(self, lambda: guarantees.get(pk), rel_svc.settlement_statement)


def register(appbuilder):
    """Menu 保后管理 (category "PostGuarantee", shared with the post-guarantee screens) and the APIs."""
    comp_svc.register_approval_kinds()
    add = appbuilder.add_view
    add(CompensationView, "Compensations", label=_l("Compensation management"), icon="fa-money", **MENU)
    add(RecoveryView, "Recoveries", label=_l("Recovery management"), icon="fa-undo", **MENU)
    add(ForeclosedAssetView, "ForeclosedAssets", label=_l("Foreclosed assets"), icon="fa-building", **MENU)
    add(SettlementView, "GuaranteeSettlement", label=_l("Release and extension"), icon="fa-flag-checkered", **MENU)
    add(FeeRefundRuleView, "FeeRefundRules", label=_l("Fee refund rules"), icon="fa-percent", **MENU)
    for api in (PostSettlementApi, RecoveryApi, SettlementApi):
        appbuilder.add_api(api)
