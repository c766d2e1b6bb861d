"""Collateral screens and API (押品管理, COL-1..4). Thin: every rule is in app/services/collateral.py, so the
screens, a hand-made POST and the REST API meet the same checks.

* 押品管理 → 押品登记与查询: the registry list (filters by kind, owner, status, location, value; Excel export), the
  register / edit form with the kind's own fields, the collateral's page (certificates and where they are,
  valuations, monitoring reports, the guarantees it secures, coverage and mortgage rate, vault requests with
  their approval panels);
* 押品管理 → 权证库: every certificate and where it is; the vault actions (入库, 借阅 / 出库 requests, 归还);
* 押品管理 → 押品要素设置: the administrator's kind-specific fields;
* REST: /api/v1/collateral (read, data scope), /api/v1/collateral_work (register, valuation, monitoring,
  certificate, link, coverage), /api/v1/collateral_vault (in, request, back).
Permissions: COLLATERAL read / add / edit / export; COLLATERAL_VAULT read / export / run; COLLATERAL_FIELD.
"""
from datetime import timedelta

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
from app.services import collateral as svc
from app.services.products import money, percent
from models.collateral import CollateralCertificate, Collateral, CollateralFieldDef
from views.api_support import ApiHardeningMixin
from views.base import BaseApi, BaseModelView, SafeInterface, run_operation as _run
from views.labels import choice_label

MENU = dict(category="Collateral", category_label=_l("Collateral"), category_icon="fa-archive")
CUSTOMER_OPTIONS = 500

LABELS = {
    "code": _l("Collateral no."), "name": _l("Collateral name"), "kind": _l("Collateral kind"),
    "customer": _l("Customer"), "owner_type": _l("Owner type"), "owner_name": _l("Owner"),
    "owner_id_number": _l("Owner's ID number"), "location": _l("Location"), "description": _l("Description"),
    "status": _l("Status"), "value": _l("Appraised value"), "value_date": _l("Valuation date"),
    "max_mortgage_rate": _l("Maximum mortgage rate"), "insurance_company": _l("Insurance company"),
    "insurance_policy": _l("Insurance policy"), "insurance_expiry": _l("Insurance expiry"),
    "monitor_months": _l("Monitoring interval (months)"), "next_monitor_date": _l("Next monitoring"),
    "note": _l("Note"), "created_at": _l("Created at"),
}
CERT_LABELS = {
    "collateral": _l("Collateral item"), "cert_type": _l("Certificate type"), "number": _l("Certificate number"),
    "issuing_authority": _l("Issuing authority"), "registration_date": _l("Registration date"),
    "mortgage_registration_number": _l("Mortgage registration number"), "expiry_date": _l("Expiry date"),
    "status": _l("Where it is"), "vault_location": _l("Vault location"), "holder": _l("Holder"),
    "due_back": _l("Due back"), "return_queued": _l("Queued for return"), "note": _l("Note"),
}


def _money(value):
    return money(value) if value is not None else ""


def _yes(value):
    return str(_l("Yes")) if value else ""


def _customers_with_collateral():
    return list(db.session.execute(select(Collateral.customer_id).distinct()).scalars())


def _customer_choices(selected=None):
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    base = select(Customer.id, Customer.name, Customer.code)
    rows = db.session.execute(apply_scope(base.order_by(Customer.id.desc()).limit(CUSTOMER_OPTIONS), Customer)).all()
    named = str(selected or "")
    if named.isdigit() and len(named) < 10 and int(named) not in {r.id for r in rows}:
        rows += db.session.execute(apply_scope(base.where(Customer.id == int(named)), Customer)).all()
    return [(r.id, f"{r.name} ({r.code})") for r in rows]


class CollateralView(BaseModelView):
    """押品登记与查询 (COL-1, COL-4): the registry list, the register / edit form, the collateral's page."""

    route_base = "/collateral"
    datamodel = SafeInterface(Collateral)
    class_permission_name = P.COLLATERAL
    base_permissions = [P.can(P.READ), P.can(P.ADD), P.can(P.EDIT), P.can(P.EXPORT)]
    method_permission_name = {**BaseModelView.method_permission_name, "page": P.READ, "work": P.EDIT}
    list_template = "collateral/list.html"
    list_title = _l("Collateral registry")
    list_columns = ["code", "name", "kind", "customer", "owner_name", "status", "value", "value_date", "location",
                    "next_monitor_date"]
    order_columns = ["code", "name", "kind", "owner_name", "status", "value", "value_date", "next_monitor_date"]
    export_columns = ["code", "name", "kind", "customer", "owner_type", "owner_name", "owner_id_number", "location",
                      "status", "value", "value_date", "max_mortgage_rate", "insurance_company", "insurance_policy",
                      "insurance_expiry", "monitor_months", "next_monitor_date", "note"]
    show_columns = export_columns
    search_columns = ["code", "name", "kind", "status", "customer", "owner_name", "location", "value", "value_date",
                      "insurance_expiry", "next_monitor_date"]
    # The customer filter offers only customers that have collateral (never the whole customer file).
    search_form_query_rel_fields = {"customer": [["id", FilterInFunction, _customers_with_collateral]]}
    base_order = ("id", "desc")
    page_size = 20
    label_columns = LABELS
    formatters_columns = {
        "kind": choice_label(svc.KIND_LABELS), "status": choice_label(svc.STATUS_LABELS),
        "owner_type": choice_label(svc.OWNER_TYPE_LABELS), "value": _money, "max_mortgage_rate": percent,
    }

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["quick_filters"] = _quick_filters()
            # FAB's date "smaller than" (filter index 2) is strict: reports due up to the business date
            kwargs["monitoring_due_url"] = url_for(
                "CollateralView.list", _flt_2_next_monitor_date=(svc._today() + timedelta(days=1)).isoformat())
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

    # --- register / edit ------------------------------------------------------------------------------------
    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        form = request.form.to_dict() if request.method == "POST" else {
            k: v for k, v in request.args.items() if k in ("customer_id", "kind", "measure_id")}
        errors = {}
        if request.method == "POST" and form.get("_save"):
            try:
                item = svc.register(form, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message
                flash(ex.message, "danger")
            else:
                flash(gettext("The collateral %(code)s is registered.", code=item.code), "success")
                return redirect(url_for(".page", pk=item.id))
        return self._form(gettext("Register collateral"), form, errors, None)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        item = self._item(pk)
        errors = {}
        if request.method == "POST":
            form = request.form.to_dict()
            try:
                svc.update(item.id, form, g.user.id)
                db.session.commit()
            except GuaranteeError as ex:
                db.session.rollback()
                errors[ex.field or "_"] = ex.message
                flash(ex.message, "danger")
            else:
                flash(gettext("The collateral %(code)s is saved.", code=item.code), "success")
                return redirect(url_for(".page", pk=item.id))
        else:
            form = svc.editable_values(item)
            form.update({f"extra__{k}": v for k, v in (item.extra or {}).items()})
        return self._form(gettext("Edit collateral %(code)s", code=item.code), form, errors, item)

    def _form(self, title, form, errors, item):
        from app.services.reference import dict_choices

        kind = item.kind if item is not None else form.get("kind")
        kind = kind if kind in svc.KIND_LABELS else None
        fields = svc.field_defs(kind) if kind else []
        choices = {d.code: dict_choices(d.dict_type) for d in fields if d.field_type == "choice"}
        if not form.get("max_mortgage_rate") and kind:
            form["max_mortgage_rate"] = svc.DEFAULT_MORTGAGE_RATES[kind]
        return self.render_template(
            "collateral/form.html", title=title, form=form, errors=errors, item=item, kind=kind, fields=fields,
            field_choices=choices, svc=svc, customers=_customer_choices(form.get("customer_id"))
            if item is None else [], owners=_customer_choices(form.get("owner_customer_id")))

    # --- the collateral's page --------------------------------------------------------------------------
    @expose("/page/<pk>")
    @has_access
    def page(self, pk):
        item = self._item(pk)
        sm = self.appbuilder.sm
        can = {"edit": sm.has_access(P.can(P.EDIT), P.COLLATERAL),
               "vault": sm.has_access(P.can(P.RUN), P.COLLATERAL_VAULT)}
        guarantees = svc.secured_guarantees(item.id)
        coverages = {g_.id: svc.coverage(g_.id) for g_ in guarantees}
        return self.render_template(
            "collateral/page.html", title=gettext("Collateral %(code)s", code=item.code), item=item, can=can,
            svc=svc, money=_money, percent=percent, extra=svc.extra_display(item), guarantees=guarantees,
            coverages=coverages, mortgage_rate=svc.mortgage_rate(item), secured=svc.secured_balance(item.id),
            pending=svc.pending_requests(item.id), movements=svc.movements_of(item.id),
            measures=svc.measures_to_link(item) if can["edit"] and item.status in svc.IN_USE else [],
            today=svc._today())

    @expose("/work/<int:pk>/<operation>", methods=["POST"])
    @has_access
    def work(self, pk, operation):
        """The page's forms: valuation, monitoring, certificate, link (all edit the collateral's file)."""
        form = request.form.to_dict()
        user_id = g.user.id
        operations = {
            "valuation": (lambda: svc.add_valuation(pk, form, user_id), _l("The valuation is recorded.")),
            "monitoring": (lambda: svc.add_monitoring(pk, form, user_id), _l("The monitoring report is recorded.")),
            "certificate": (lambda: svc.add_certificate(pk, form, user_id), _l("The certificate is registered.")),
            "link": (lambda: svc.link_measure(pk, form.get("measure_id"), user_id),
                     _l("The collateral now secures the counter-guarantee measure.")),
            "renew": (lambda: _renew(pk, form, user_id), _l("The certificate is updated.")),
        }
        if operation not in operations:
            abort(404)
        run, message = operations[operation]
        return _run(run, message, url_for(".page", pk=pk))


def _renew(collateral_id, form, user_id):
    """A certificate of this collateral renewed (the certificate id comes with the form)."""
    cert = svc.get_certificate(form.get("certificate_id"))
    if cert.collateral_id != collateral_id:
        raise NotFound(gettext("The certificate does not exist."))
    return svc.renew_certificate(cert.id, form, user_id)


def _quick_filters() -> list[dict]:
    # FAB filter indexes (SQLAFilterConverter): string "equal" is 3.
    filters = [
        ("_flt_3_kind", _l("Collateral kind"), [(k, str(v)) for k, v in svc.KIND_LABELS.items()]),
        ("_flt_3_status", _l("Status"), [(k, str(v)) for k, v in svc.STATUS_LABELS.items()]),
    ]
    return [{"name": name, "label": str(label), "options": options, "value": request.args.get(name, "")}
            for name, label, options in filters]


class CertificateView(BaseModelView):
    """权证库 (COL-2): where every certificate is; the vault actions (入库, 借阅 / 出库 requests, 归还)."""

    route_base = "/collateralcertificate"
    datamodel = SafeInterface(CollateralCertificate)
    class_permission_name = P.COLLATERAL_VAULT
    base_permissions = [P.can(P.READ), P.can(P.EXPORT), P.can(P.RUN)]
    method_permission_name = {**BaseModelView.method_permission_name, "vault": P.RUN}
    list_title = _l("Certificate vault")
    list_columns = ["collateral", "cert_type", "number", "mortgage_registration_number", "expiry_date", "status",
                    "vault_location", "holder", "due_back", "return_queued"]
    order_columns = ["cert_type", "number", "expiry_date", "status", "vault_location", "due_back"]
    export_columns = ["collateral", "cert_type", "number", "issuing_authority", "registration_date",
                      "mortgage_registration_number", "expiry_date", "status", "vault_location", "holder", "due_back",
                      "return_queued", "note"]
    show_columns = export_columns
    search_columns = ["number", "cert_type", "status", "vault_location", "holder", "mortgage_registration_number",
                      "expiry_date", "due_back", "return_queued"]
    base_order = ("id", "desc")
    page_size = 20
    label_columns = CERT_LABELS
    formatters_columns = {"status": choice_label(svc.CERTIFICATE_STATUS_LABELS), "return_queued": _yes}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        try:
            cert = svc.get_certificate(pk)
        except GuaranteeError:
            abort(404)
        return redirect(url_for("CollateralView.page", pk=cert.collateral_id) + f"#cert-{cert.id}")

    @expose("/vault/<int:pk>/<operation>", methods=["POST"])
    @has_access
    def vault(self, pk, operation):
        form = request.form.to_dict()
        user_id = g.user.id
        try:
            collateral_id = svc.get_certificate(pk).collateral_id
        except GuaranteeError:
            abort(404)
        operations = {
            "in": (lambda: svc.check_in(pk, user_id, form.get("location")), _l("The certificate is in the vault.")),
            "back": (lambda: svc.give_back(pk, user_id, form.get("location")),
                     _l("The certificate is back in the vault.")),
            "request": (lambda: svc.request_out(pk, user_id, form),
                        _l("The request is sent to approval; the certificate stays in the vault until approved.")),
            "return": (lambda: svc.request_return(pk, user_id),
                       _l("The request is sent to approval; the certificate stays in the vault until approved.")),
        }
        if operation not in operations:
            abort(404)
        run, message = operations[operation]
        return _run(run, message, url_for("CollateralView.page", pk=collateral_id) + f"#cert-{pk}")


class CollateralFieldDefView(BaseModelView):
    """押品要素设置: the administrator's kind-specific fields (like the customer elements)."""

    route_base = "/collateralfield"
    datamodel = SafeInterface(CollateralFieldDef)
    class_permission_name = P.COLLATERAL_FIELD
    list_title = _l("Collateral fields")
    list_columns = ["code", "label", "kind", "field_type", "dict_type", "required", "sort_order", "enabled"]
    add_columns = edit_columns = ["code", "label", "kind", "field_type", "dict_type", "required", "sort_order",
                                  "enabled"]
    search_columns = ["code", "label", "kind", "field_type", "enabled"]
    base_order = ("sort_order", "asc")
    label_columns = {"code": _l("Code"), "label": _l("Label"), "kind": _l("Collateral kind"),
                     "field_type": _l("Field type"), "dict_type": _l("Dictionary (choice fields)"),
                     "required": _l("Required"), "sort_order": _l("Order"), "enabled": _l("Enabled")}
    formatters_columns = {"kind": choice_label(svc.FIELD_KIND_LABELS), "field_type": choice_label(svc.FIELD_TYPE_LABELS)}
    validators = (svc.validate_field_def,)

    def _init_forms(self):
        from wtforms import SelectField

        self.add_form_extra_fields = self.edit_form_extra_fields = {
            "kind": SelectField(_l("Collateral kind"), choices=[(k, v) for k, v in svc.FIELD_KIND_LABELS.items()]),
            "field_type": SelectField(_l("Field type"), choices=[(k, v) for k, v in svc.FIELD_TYPE_LABELS.items()]),
        }
        super()._init_forms()


# --- REST API ------------------------------------------------------------------------------------------

class CollateralApi(BaseApi):
    """The collateral in the user's data scope (read only: changes go through collateral_work)."""

    resource_name = "collateral"
    datamodel = SafeInterface(Collateral)
    class_permission_name = P.COLLATERAL
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "code", "name", "kind", "customer_id", "owner_type", "owner_name",
                                   "location", "status", "value", "value_date", "max_mortgage_rate",
                                   "insurance_expiry", "next_monitor_date", "extra"]
    search_columns = ["code", "name", "kind", "status", "customer_id", "owner_name", "location", "value",
                      "value_date"]
    base_order = ("id", "desc")


def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


def _answer(api, run, to_json, status=200):
    try:
        item = run()
        db.session.commit()
    except GuaranteeError as ex:
        db.session.rollback()
        return api.response(ex.status, message=ex.message)
    return api.response(status, result=to_json(item))


class CollateralWorkApi(ApiHardeningMixin, FabBaseApi):
    """POST / (register), PUT /<pk>, POST /<pk>/valuation | monitoring | certificate | link | renew (certificate_id,
    expiry_date …), GET /<pk>,
    GET /coverage/<guarantee_id>."""

    resource_name = "collateral_work"
    class_permission_name = P.COLLATERAL
    allow_browser_login = True
    method_permission_name = {"register": P.ADD, "change": P.EDIT, "operation": P.EDIT, "detail": P.READ,
                              "guarantee_coverage": P.READ}

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    def register(self):
        return _answer(self, lambda: svc.register(_json_body(), g.user.id), svc.to_json, 201)

    @api_expose("/<int:pk>", methods=["PUT"])
    @protect()
    @safe
    def change(self, pk):
        return _answer(self, lambda: svc.update(pk, _json_body(), g.user.id), svc.to_json)

    @api_expose("/<int:pk>/<operation>", methods=["POST"])
    @protect()
    @safe
    def operation(self, pk, operation):
        data, user_id = _json_body(), g.user.id
        operations = {
            "valuation": (lambda: svc.add_valuation(pk, data, user_id),
                          lambda v: {"id": v.id, "value": str(v.value), "valuation_date": v.valuation_date.isoformat()}),
            "monitoring": (lambda: svc.add_monitoring(pk, data, user_id),
                           lambda m: {"id": m.id, "report_date": m.report_date.isoformat(),
                                      "next_date": m.next_date.isoformat() if m.next_date else None}),
            "certificate": (lambda: svc.add_certificate(pk, data, user_id), svc.certificate_json),
            "link": (lambda: svc.link_measure(pk, data.get("measure_id"), user_id), svc.to_json),
            "renew": (lambda: _renew(pk, data, user_id), svc.certificate_json),
        }
        if operation not in operations:
            return self.response(404, message=gettext("The page or record does not exist."))
        run, to_json = operations[operation]
        return _answer(self, run, to_json, 201 if operation not in ("link", "renew") else 200)

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def detail(self, pk):
        try:
            return self.response(200, result=svc.to_json(svc.get(pk)))
        except GuaranteeError as ex:
            return self.response(ex.status, message=ex.message)

    @api_expose("/coverage/<int:guarantee_id>", methods=["GET"])
    @protect()
    @safe
    def guarantee_coverage(self, guarantee_id):
        from app.services.data_scope import ensure_visible
        from models.business import Guarantee

        try:
            guarantee = ensure_visible(db.session.get(Guarantee, guarantee_id) if 0 < guarantee_id < 2**31 else None)
        except GuaranteeError as ex:
            return self.response(ex.status, message=ex.message)
        value = svc.collateral_value_of(guarantee.id)
        ratio = svc.coverage(guarantee.id)
        return self.response(200, result={"guarantee_id": guarantee.id, "balance": str(guarantee.balance),
                                          "collateral_value": str(value) if value is not None else None,
                                          "coverage": str(ratio) if ratio is not None else None})


class CollateralVaultApi(ApiHardeningMixin, FabBaseApi):
    """POST /<certificate id>/in {location}, /<id>/request {action lend|out, recipient, reason, due_back,
    purpose}, /<id>/back {location}, /<id>/return; GET /<id>."""

    resource_name = "collateral_vault"
    class_permission_name = P.COLLATERAL_VAULT
    allow_browser_login = True
    method_permission_name = {"operation": P.RUN, "detail": P.READ}

    @api_expose("/<int:pk>/<operation>", methods=["POST"])
    @protect()
    @safe
    def operation(self, pk, operation):
        data, user_id = _json_body(), g.user.id
        operations = {
            "in": (lambda: svc.check_in(pk, user_id, data.get("location")), svc.certificate_json),
            "back": (lambda: svc.give_back(pk, user_id, data.get("location")), svc.certificate_json),
            "request": (lambda: svc.request_out(pk, user_id, data), svc.movement_json),
            "return": (lambda: svc.request_return(pk, user_id), svc.movement_json),
        }
        if operation not in operations:
            return self.response(404, message=gettext("The page or record does not exist."))
        run, to_json = operations[operation]
        return _answer(self, run, to_json)

    @api_expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def detail(self, pk):
        try:
            return self.response(200, result=svc.certificate_json(svc.get_certificate(pk)))
        except GuaranteeError as ex:
            return self.response(ex.status, message=ex.message)


def register(appbuilder):
    """Menu 押品管理 (category "Collateral") and the APIs."""
    svc.register_approval_kind()
    appbuilder.add_view(CollateralView, "CollateralRegistry", label=_l("Collateral registry"), icon="fa-archive",
                        **MENU)
    appbuilder.add_view(CertificateView, "CertificateVault", label=_l("Certificate vault"), icon="fa-folder-open",
                        **MENU)
    appbuilder.add_view(CollateralFieldDefView, "CollateralFields", label=_l("Collateral fields"), icon="fa-list",
                        **MENU)
    appbuilder.add_api(CollateralApi)
    appbuilder.add_api(CollateralWorkApi)
    appbuilder.add_api(CollateralVaultApi)
