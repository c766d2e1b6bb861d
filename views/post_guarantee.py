"""Post-guarantee management screens (保后管理, POST-1..4). Thin: every rule is in the services
(repayment_plans, inspections, classification, warnings), so a screen, a hand-made POST and the API meet the
same checks.

* 保后台账 (/postguarantee/): the guarantees in force in the user's data scope; a guarantee's post-guarantee page
  with its repayment plan (generate, import from Excel, repayments), inspections (report), the five-category
  classification (propose; decided in the approval engine) and its warnings;
* 保后检查 (/postinspection/list/): every scheduled and reported inspection, late ones first;
* 保后预警 (/postwarning/list/): warnings, acknowledged and resolved with a note on the warning's page;
* 保后规则 (/postrules/): warning rules (level, on/off, parameters), inspection intervals, working-day rules.
* REST: /api/v1/post_warning (read) and /api/v1/post_warning_work/<id>/acknowledge|resolve.
Permissions: POST_GUARANTEE read/add/export, POST_WARNING read/run/export, POST_RULE read/edit.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Response, abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi as FabBaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app import permissions as P
from app.errors import GuaranteeError, NotFound, ValidationError
from app.extensions import db
from app.services import classification, inspections, repayment_plans, warnings
from app.services.products import money
from models.post_guarantee import Inspection, PostWarning
from views.api_support import ApiHardeningMixin
from views.base import BaseApi, BaseModelView, SafeInterface, run_operation
from views.labels import choice_label

MENU = dict(category="PostGuarantee", category_label=_l("Post-guarantee"), category_icon="fa-shield")
PAGE_SIZE = 20


def _money(value):
    return money(value) if value is not None else ""


def _date(value, field):
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationError(gettext("Enter a date as YYYY-MM-DD."), field=field)


def _guarantee_in_scope(guarantee_id):
    """The guarantee when it exists and the user's data scope covers it, else None (the two not told apart)."""
    from app.services.data_scope import apply_scope
    from models.business import Guarantee

    if not 0 < guarantee_id < 2**31:
        return None
    return db.session.execute(apply_scope(select(Guarantee).where(Guarantee.id == guarantee_id), Guarantee)
                              ).scalar_one_or_none()


def _visible_guarantee(guarantee_id):
    item = _guarantee_in_scope(guarantee_id)
    if item is None:
        abort(404)
    return item


def _run_then(target, operation, message):
    return run_operation(operation, message, target)


# --- the guarantees in force and a guarantee's post-guarantee page --------------------------------------------

class PostGuaranteeView(BaseView):
    """保后台账: the guarantees in force and the post-guarantee page of one."""

    route_base = "/postguarantee"
    default_view = "list"
    class_permission_name = P.POST_GUARANTEE
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EXPORT)]
    method_permission_name = {"list": P.READ, "page": P.READ, "template": P.READ, "generate": P.ADD,
                              "import_plan": P.ADD, "repay": P.ADD, "import_repayments": P.ADD, "report": P.ADD, "classify": P.ADD}

    @expose("/")
    @expose("/list/")
    @has_access
    def list(self):
        from app.services.data_scope import apply_scope
        from models.business import Guarantee
        from models.post_guarantee import RiskState

        search = (request.args.get("q") or "").strip()[:50]
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        open_warnings = (select(PostWarning.guarantee_id, func.count().label("n")).where(PostWarning.open_flag == 1)
                         .group_by(PostWarning.guarantee_id).subquery())
        query = (select(Guarantee, RiskState.risk_class, open_warnings.c.n)
                 .outerjoin(RiskState, RiskState.guarantee_id == Guarantee.id)
                 .outerjoin(open_warnings, open_warnings.c.guarantee_id == Guarantee.id)
                 .where(Guarantee.stage == "in_force", Guarantee.status == "active"))
        if search:
            query = query.where(Guarantee.code.contains(search, autoescape=True))
        query = apply_scope(query, Guarantee)
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
        rows = db.session.execute(query.order_by(Guarantee.due_date, Guarantee.id)
                                  .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        return self.render_template("post_guarantee/list.html", title=gettext("Post-guarantee ledger"), rows=rows,
                                    search=search, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
                                    total=total, money=_money, class_label=classification.class_label)

    @expose("/page/<int:pk>")
    @has_access
    def page(self, pk):
        item = _visible_guarantee(pk)
        sm = self.appbuilder.sm
        can_add = sm.has_access(P.can(P.ADD), P.POST_GUARANTEE)
        can_run = sm.has_access(P.can(P.RUN), P.POST_WARNING)
        today = _today()
        rows = repayment_plans.plan_rows(pk)
        history = classification.history(pk)
        pending = next((h for h in history if h.status == "pending"), None)
        suggested, reasons = classification.suggest(pk, today)
        guarantee_warnings = list(db.session.execute(select(PostWarning).where(PostWarning.guarantee_id == pk)
                                                      .order_by(PostWarning.id.desc()).limit(50)).scalars())
        return self.render_template(
            "post_guarantee/page.html", title=gettext("Post-guarantee: %(code)s", code=item.code), item=item,
            rows=rows, repayments=repayment_plans.repayments(pk), inspections=inspections.inspections(pk),
            history=history, warnings=guarantee_warnings, today=today, can_add=can_add, can_run=can_run,
            outstanding=repayment_plans.outstanding_principal(pk), overdue=repayment_plans.overdue_days(pk, today),
            row_overdue=lambda r: repayment_plans.row_overdue_days(r, today), money=_money,
            methods=repayment_plans.METHODS, method_label=repayment_plans.method_label,
            current_class=classification.current_class(pk), suggested=suggested, reasons=reasons,
            classes=classification.CLASS_LABELS, class_label=classification.class_label,
            cstatus_label=classification.status_label, sections=inspections.SECTIONS,
            signals=inspections.RISK_SIGNALS, ikind=inspections.KIND_LABELS, istatus=inspections.STATUS_LABELS,
            rule_label=warnings.rule_label, level_label=warnings.level_label, wstatus_label=warnings.status_label,
            approval_kind=classification.APPROVAL_KIND, approval_obj=pending)

    @expose("/template/")
    @has_access
    def template(self):
        return Response(repayment_plans.import_template(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": "attachment; filename=repayment_plan.xlsx"})

    @expose("/generate/<int:pk>", methods=["POST"])
    @has_access
    def generate(self, pk):
        _visible_guarantee(pk)
        form = request.form

        def run():
            repayment_plans.generate_plan(pk, form.get("method") or "", start=_date(form.get("start"), "start"),
                                          months=_int(form.get("months"), "months"),
                                          principal=_decimal(form.get("principal"), "principal"),
                                          annual_rate=_percent(form.get("annual_rate")), user_id=g.user.id)
        return _run_then(url_for(".page", pk=pk), run, _l("The repayment plan is generated."))

    @expose("/import/<int:pk>", methods=["POST"])
    @has_access
    def import_plan(self, pk):
        _visible_guarantee(pk)
        from app.services import xlsx_upload

        def run():
            repayment_plans.import_plan(pk, xlsx_upload.read_upload(request.files.get("file")), g.user.id)
        return _run_then(url_for(".page", pk=pk), run, _l("The repayment plan is imported."))

    @expose("/repay/<int:pk>", methods=["POST"])
    @has_access
    def repay(self, pk):
        _visible_guarantee(pk)
        form = request.form

        def run():
            repayment_plans.record_repayment(pk, paid_on=_date(form.get("paid_on"), "paid_on"),
                                             principal=_decimal(form.get("principal") or "0", "principal"),
                                             interest=_decimal(form.get("interest") or "0", "interest"),
                                             reference=form.get("reference"), note=form.get("note"),
                                             user_id=g.user.id)
        return _run_then(url_for(".page", pk=pk), run, _l("The repayment is recorded."))

    @expose("/import_repayments/<int:pk>", methods=["POST"])
    @has_access
    def import_repayments(self, pk):
        _visible_guarantee(pk)
        from app.services import xlsx_upload

        def run():
            repayment_plans.import_repayments(pk, xlsx_upload.read_upload(request.files.get("file")), g.user.id)
        return _run_then(url_for(".page", pk=pk), run, _l("The repayments are imported."))

    @expose("/report/<int:pk>", methods=["POST"])
    @has_access
    def report(self, pk):
        inspection = db.session.get(Inspection, pk) if 0 < pk < 2**31 else None
        if inspection is None:
            abort(404)
        _visible_guarantee(inspection.guarantee_id)
        form = request.form

        def run():
            inspections.report(pk, g.user.id, visit_date=_date(form.get("visit_date"), "visit_date"),
                               risk_signal=form.get("risk_signal") or "none",
                               **{name: form.get(name) for name, _label in inspections.SECTIONS})
        return _run_then(url_for(".page", pk=inspection.guarantee_id), run, _l("The inspection report is saved."))

    @expose("/classify/<int:pk>", methods=["POST"])
    @has_access
    def classify(self, pk):
        _visible_guarantee(pk)

        def run():
            classification.propose(pk, g.user.id, request.form.get("proposed_class") or None,
                                   request.form.get("reason") or "")
        return _run_then(url_for(".page", pk=pk), run,
                         _l("The classification is proposed and sent to approval."))


def _today():
    from app.services import business_date

    return business_date.today()


def _int(value, field):
    try:
        return int((value or "").strip())
    except ValueError:
        raise ValidationError(gettext("Enter a whole number."), field=field)


def _decimal(value, field):
    try:
        return Decimal((value or "").strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(gettext("Enter an amount."), field=field)


def _percent(value):
    """The form asks for a percentage (4.8); the service takes the fraction (0.048)."""
    return _decimal(value, "annual_rate") / 100


# --- inspections ----------------------------------------------------------------------------------------

class InspectionView(BaseModelView):
    """保后检查: the inspections of the guarantees in the user's scope (reports are written on the guarantee's page)."""

    route_base = "/postinspection"
    datamodel = SafeInterface(Inspection)
    class_permission_name = P.POST_GUARANTEE
    base_permissions = [P.can(P.READ), P.can(P.EXPORT)]
    include_route_methods = {"list", "show", "export"}  # read only: reports are written on the guarantee's page
    list_title = _l("Post-guarantee inspections")
    show_title = _l("Inspection")
    list_columns = ["guarantee", "kind", "due_date", "status", "visit_date", "risk_signal", "inspector"]
    show_columns = list_columns + [name for name, _label in inspections.SECTIONS]
    search_columns = ["status", "kind", "due_date", "visit_date", "risk_signal"]
    order_columns = ["due_date", "status", "visit_date"]
    base_order = ("due_date", "asc")
    page_size = 20
    label_columns = {"guarantee": _l("Guarantee"), "kind": _l("Kind"), "due_date": _l("Due date"),
                     "status": _l("Status"), "visit_date": _l("Site visit"), "risk_signal": _l("Risk signal"),
                     "inspector": _l("Inspector"), **{name: label for name, label in inspections.SECTIONS}}
    formatters_columns = {"kind": choice_label(inspections.KIND_LABELS),
                          "status": choice_label(inspections.STATUS_LABELS),
                          "risk_signal": choice_label(inspections.RISK_SIGNALS)}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return redirect(url_for("PostGuaranteeView.page", pk=item.guarantee_id))


# --- warnings ------------------------------------------------------------------------------------------

class PostWarningView(BaseModelView):
    """保后预警: the list (quick filters by status, level, rule) and a warning's page with acknowledge / resolve."""

    route_base = "/postwarning"
    datamodel = SafeInterface(PostWarning)
    class_permission_name = P.POST_WARNING
    base_permissions = [P.can(P.READ), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "handle": P.RUN}
    list_title = _l("Post-guarantee warnings")
    list_columns = ["raised_on", "rule_code", "level", "status", "guarantee", "customer", "message", "owner"]
    export_columns = list_columns + ["ack_note", "resolve_note"]
    # No relation filters: a select of every guarantee or customer would not fit the page.
    search_columns = ["rule_code", "level", "status", "raised_on", "message"]
    order_columns = ["raised_on", "rule_code", "level", "status"]
    base_order = ("id", "desc")
    page_size = 20
    label_columns = {"raised_on": _l("Raised on"), "rule_code": _l("Warning rule"), "level": _l("Level"),
                     "status": _l("Status"), "guarantee": _l("Guarantee"), "customer": _l("Customer"),
                     "message": _l("Warning message"), "owner": _l("Owner"), "ack_note": _l("Acknowledgement note"),
                     "resolve_note": _l("Resolution note")}
    formatters_columns = {"rule_code": warnings.rule_label, "level": warnings.level_label,
                          "status": warnings.status_label}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if self.datamodel.get(pk, self._base_filters) is None:  # unknown, or outside the user's scope
            abort(404)
        return redirect(url_for(".page", pk=pk))

    @expose("/page/<pk>")
    @has_access
    def page(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return self.render_template(
            "post_guarantee/warning.html", title=gettext("Warning details"), item=item,
            can_run=self.appbuilder.sm.has_access(P.can(P.RUN), P.POST_WARNING), rule_label=warnings.rule_label,
            level_label=warnings.level_label, status_label=warnings.status_label, user_name=_user_name)

    @expose("/handle/<pk>/<operation>", methods=["POST"])
    @has_access
    def handle(self, pk, operation):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None or operation not in ("acknowledge", "resolve"):
            abort(404)
        function = warnings.acknowledge if operation == "acknowledge" else warnings.resolve
        message = _l("The warning is acknowledged.") if operation == "acknowledge" else _l("The warning is resolved.")
        return _run_then(url_for(".page", pk=item.id), lambda: function(item.id, g.user.id, request.form.get("note")),
                         message)


def _user_name(user_id):
    from app.services.approval import _user_name as name

    return name(user_id) if user_id else ""


# --- rules ---------------------------------------------------------------------------------------------

class PostRuleView(BaseView):
    """保后规则: warning rules, inspection intervals and the products' working-day rule on one page."""

    route_base = "/postrules"
    default_view = "index"
    class_permission_name = P.POST_RULE
    base_permissions = [P.can(P.READ), P.can(P.EDIT)]
    method_permission_name = {"index": P.READ, "save_rule": P.EDIT, "save_interval": P.EDIT,
                              "save_product": P.EDIT}

    @expose("/")
    @has_access
    def index(self):
        from models.post_guarantee import InspectionInterval, PostProductRule, WarningRule
        from models.products import Product

        warnings.ensure_rules()
        inspections.ensure_intervals()
        db.session.commit()
        rules = list(db.session.execute(select(WarningRule).order_by(WarningRule.id)).scalars())
        intervals = list(db.session.execute(select(InspectionInterval).order_by(InspectionInterval.id)).scalars())
        adjusted = set(db.session.execute(select(PostProductRule.product_id)
                                          .where(PostProductRule.working_day_adjust.is_(True))).scalars())
        products = list(db.session.execute(select(Product).order_by(Product.code).limit(500)).scalars())
        return self.render_template(
            "post_guarantee/rules.html", title=gettext("Post-guarantee rules"), rules=rules, intervals=intervals,
            products=products, adjusted=adjusted, rule_label=warnings.rule_label, levels=warnings.LEVEL_LABELS,
            basis_labels=inspections.BASIS_LABELS, params_text=_params_text,
            can_edit=self.appbuilder.sm.has_access(P.can(P.EDIT), P.POST_RULE))

    @expose("/rule/<int:pk>", methods=["POST"])
    @has_access
    def save_rule(self, pk):
        from models.post_guarantee import WarningRule

        def run():
            rule = db.session.get(WarningRule, pk) if pk < 2**31 else None
            if rule is None:
                raise NotFound(gettext("The rule does not exist."))
            rule.level = request.form.get("level") or ""
            rule.active = request.form.get("active") == "1"
            rule.params = _parse_params(request.form.get("params"))
            rule.note = (request.form.get("note") or "").strip()[:300] or None
            warnings.validate_rule_row(rule)
        return _run_then(url_for(".index"), run, _l("The rule is saved."))

    @expose("/interval/<int:pk>", methods=["POST"])
    @has_access
    def save_interval(self, pk):
        from models.post_guarantee import InspectionInterval

        def run():
            row = db.session.get(InspectionInterval, pk) if pk < 2**31 else None
            if row is None:
                raise NotFound(gettext("The interval does not exist."))
            row.days = _int(request.form.get("days"), "days")
            inspections.validate_interval(row)
        return _run_then(url_for(".index"), run, _l("The interval is saved."))

    @expose("/product/<int:pk>", methods=["POST"])
    @has_access
    def save_product(self, pk):
        from models.products import Product

        def run():
            if pk >= 2**31 or db.session.get(Product, pk) is None:
                raise NotFound(gettext("The product does not exist."))
            repayment_plans.set_product_rule(pk, request.form.get("working_day_adjust") == "1")
        return _run_then(url_for(".index"), run, _l("The product rule is saved."))


def _params_text(params) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((params or {}).items()))


def _parse_params(text) -> dict:
    """"days=30, coverage=1.2" → {"days": 30, "coverage": 1.2}."""
    params = {}
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(key) > 40:
            raise ValidationError(gettext("Write the parameters as name=value, separated by commas."),
                                  field="params")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValidationError(gettext("The parameter %(name)s must be a number not below 0.", name=key),
                                  field="params")
        params[key] = int(number) if number == number.to_integral_value() else float(number)
    return params


# --- REST API ------------------------------------------------------------------------------------------

class PostWarningApi(BaseApi):
    """Warnings in the user's data scope (read only: acknowledge / resolve through post_warning_work)."""

    resource_name = "post_warning"
    datamodel = SafeInterface(PostWarning)
    class_permission_name = P.POST_WARNING
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "rule_code", "cause_key", "guarantee_id", "customer_id", "level", "message",
                                   "owner_id", "status", "raised_on", "ack_note", "resolve_note"]
    search_columns = ["rule_code", "level", "status", "raised_on", "guarantee_id", "customer_id", "owner_id"]
    base_order = ("id", "desc")


class PostWarningWorkApi(ApiHardeningMixin, FabBaseApi):
    """POST /<id>/acknowledge and /<id>/resolve with {"note": "..."}."""

    resource_name = "post_warning_work"
    class_permission_name = P.POST_WARNING
    allow_browser_login = True
    method_permission_name = {"handle": P.RUN}

    @api_expose("/<int:pk>/<operation>", methods=["POST"])
    @protect()
    @safe
    def handle(self, pk, operation):
        from app.services.data_scope import apply_scope

        if operation not in ("acknowledge", "resolve"):
            return self.response(404, message=gettext("The page or record does not exist."))
        visible = db.session.execute(apply_scope(select(PostWarning.id).where(PostWarning.id == pk), PostWarning)
                                     ).scalar() if pk < 2**31 else None
        if visible is None:
            return self.response(404, message=gettext("The warning does not exist."))
        body = request.get_json(silent=True) if request.is_json else None
        note = str((body or {}).get("note") or "") if isinstance(body, dict) else ""
        try:
            item = (warnings.acknowledge if operation == "acknowledge" else warnings.resolve)(pk, g.user.id, note)
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            return self.response(ex.status, message=ex.message)
        return self.response(200, result={"id": item.id, "status": item.status})


def _field(body: dict, name: str) -> str:
    """A JSON value as the text the screens' parsers read (a number or a string; anything else fails there)."""
    value = body.get(name)
    return "" if value is None else str(value)


def _plan_json(row) -> dict:
    return {"id": row.id, "seq": row.seq, "due_date": row.due_date.isoformat(),
            "effective_due": row.effective_due.isoformat(), "principal": str(row.principal),
            "interest": str(row.interest), "paid_principal": str(row.paid_principal),
            "paid_interest": str(row.paid_interest), "settled": bool(row.settled)}


def _inspection_json(item) -> dict:
    return {"id": item.id, "kind": item.kind, "due_date": item.due_date.isoformat(), "status": item.status,
            "visit_date": item.visit_date.isoformat() if item.visit_date else None, "risk_signal": item.risk_signal,
            **{name: getattr(item, name) for name, _label in inspections.SECTIONS}}


def _post_json(guarantee_id) -> dict:
    """A guarantee's post-guarantee file: plan, repayments, inspections and classification."""
    today = _today()
    suggested, reasons = classification.suggest(guarantee_id, today)
    return {"guarantee_id": guarantee_id,
            "outstanding_principal": str(repayment_plans.outstanding_principal(guarantee_id)),
            "overdue_days": repayment_plans.overdue_days(guarantee_id, today),
            "plan": [_plan_json(r) for r in repayment_plans.plan_rows(guarantee_id)],
            "repayments": [{"id": r.id, "paid_on": r.paid_on.isoformat(), "principal": str(r.principal),
                            "interest": str(r.interest), "reference": r.reference}
                           for r in repayment_plans.repayments(guarantee_id)],
            "inspections": [_inspection_json(i) for i in inspections.inspections(guarantee_id)],
            "current_class": classification.current_class(guarantee_id),
            "suggested_class": suggested, "suggestion_reasons": reasons,
            "classifications": [{"id": c.id, "previous_class": c.previous_class, "proposed_class": c.proposed_class,
                                 "status": c.status, "proposed_on": c.proposed_on.isoformat(),
                                 "decided_on": c.decided_on.isoformat() if c.decided_on else None}
                                for c in classification.history(guarantee_id)]}


class PostGuaranteeApi(ApiHardeningMixin, FabBaseApi):
    """The post-guarantee page's operations for other systems: GET /<guarantee id>; POST /<id>/plan (generate),
    /<id>/repayment, /<id>/classification (propose) and /inspection/<inspection id>/report. The same services,
    permissions and data scope as the screen (a guarantee outside the scope is 404)."""

    resource_name = "post_guarantee_work"
    class_permission_name = P.POST_GUARANTEE
    allow_browser_login = True
    method_permission_name = {"file": P.READ, "plan": P.ADD, "repayment": P.ADD, "classify": P.ADD,
                              "report": P.ADD}

    def _run(self, guarantee_id, operation, status=200):
        if _guarantee_in_scope(guarantee_id) is None:  # outside the data scope: told apart from a missing one by nothing
            return self.response(404, message=gettext("The page or record does not exist."))
        body = request.get_json(silent=True) if request.is_json else None
        try:
            operation(body if isinstance(body, dict) else {})
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            return self.response(ex.status, message=ex.message)
        return self.response(status, result=_post_json(guarantee_id))

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def file(self, pk):
        return self._run(pk, lambda body: None)

    @api_expose("/<int:pk>/plan", methods=["POST"])
    @protect()
    @safe
    def plan(self, pk):
        return self._run(pk, lambda body: repayment_plans.generate_plan(
            pk, _field(body, "method"), start=_date(_field(body, "start"), "start"),
            months=_int(_field(body, "months"), "months"), principal=_decimal(_field(body, "principal"), "principal"),
            annual_rate=_decimal(_field(body, "annual_rate"), "annual_rate"), user_id=g.user.id), 201)

    @api_expose("/<int:pk>/repayment", methods=["POST"])
    @protect()
    @safe
    def repayment(self, pk):
        return self._run(pk, lambda body: repayment_plans.record_repayment(
            pk, paid_on=_date(_field(body, "paid_on"), "paid_on"),
            principal=_decimal(_field(body, "principal") or "0", "principal"),
            interest=_decimal(_field(body, "interest") or "0", "interest"),
            reference=_field(body, "reference") or None, note=_field(body, "note") or None, user_id=g.user.id), 201)

    @api_expose("/<int:pk>/classification", methods=["POST"])
    @protect()
    @safe
    def classify(self, pk):
        return self._run(pk, lambda body: classification.propose(
            pk, g.user.id, _field(body, "proposed_class") or None, _field(body, "reason")), 201)

    @api_expose("/inspection/<int:pk>/report", methods=["POST"])
    @protect()
    @safe
    def report(self, pk):
        inspection = db.session.get(Inspection, pk) if 0 < pk < 2**31 else None
        return self._run(inspection.guarantee_id if inspection is not None else 0, lambda body: inspections.report(
            pk, g.user.id, visit_date=_date(_field(body, "visit_date"), "visit_date"),
            risk_signal=_field(body, "risk_signal") or "none",
            **{name: _field(body, name) or None for name, _label in inspections.SECTIONS}))


def register(appbuilder):
    """Menu 保后管理 (category "PostGuarantee", shared with the settlement screens) and the APIs."""
    classification.register_approval_kind()
    add = appbuilder.add_view
    add(PostGuaranteeView, "PostGuaranteeLedger", label=_l("Post-guarantee ledger"), icon="fa-list-alt", **MENU)
    add(InspectionView, "PostInspections", label=_l("Post-guarantee inspections"), icon="fa-search", **MENU)
    add(PostWarningView, "PostWarnings", label=_l("Post-guarantee warnings"), icon="fa-exclamation-triangle", **MENU)
    add(PostRuleView, "PostRules", label=_l("Post-guarantee rules"), icon="fa-sliders", **MENU)
    appbuilder.add_api(PostWarningApi)
    appbuilder.add_api(PostWarningWorkApi)
    appbuilder.add_api(PostGuaranteeApi)
