"""Guarantee products (担保品种, BIZ-1) and cooperating banks (合作银行, BIZ-2): screens and REST APIs under
业务管理. The rules live in app/services/products.py and app/services/banks.py; screens and APIs run the
same validators."""
from flask_appbuilder.api import expose as api_expose, safe
from flask_appbuilder.fieldwidgets import Select2ManyWidget, Select2Widget
from flask_appbuilder.security.decorators import protect
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField
from wtforms.validators import DataRequired, Optional

from app import permissions as P
from app.services import banks as bank_rules
from app.services import products as product_rules
from app.services.reference import dict_choices
from models.products import COUNTER_KIND_CODES, GUARANTEE_KIND_DICT, CooperatingBank, Product
from views.base import BaseApi, BaseModelView, SafeInterface
from views.labels import YES_NO, choice_label, dict_label

BUSINESS_MENU = dict(category="Business", category_label=_l("Business management"), category_icon="fa-briefcase")

PRODUCT_LABELS = {
    "code": _l("Product code"), "name": _l("Product name"), "guarantee_kind": _l("Guarantee kind"),
    "amount_min": _l("Minimum amount (yuan)"), "amount_max": _l("Maximum amount (yuan)"),
    "term_min": _l("Shortest term (months)"), "term_max": _l("Longest term (months)"),
    "fee_rate_min": _l("Lowest annual fee rate"), "fee_rate_max": _l("Highest annual fee rate"),
    "counter_kinds": _l("Required counter-guarantee kinds"), "flow_code": _l("Default approval flow"),
    "description": _l("Description"), "active": _l("Active"), "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
}
BANK_LABELS = {
    "code": _l("Bank code"), "name": _l("Bank name"), "total_line": _l("Total credit line (yuan)"),
    "single_cap": _l("Single-loan cap (yuan)"), "margin_ratio": _l("Margin ratio"),
    "risk_share_ratio": _l("Risk-sharing ratio (bank)"), "valid_from": _l("Valid from"), "valid_to": _l("Valid to"),
    "contact_person": _l("Contact person"), "contact_phone": _l("Contact telephone"), "note": _l("Note"),
    "active": _l("Active"), "line_used": _l("Line used (yuan)"), "line_available": _l("Line available (yuan)"),
    "created_at": _l("Created at"), "updated_at": _l("Updated at"),
}
PRODUCT_DESCRIPTIONS = {
    "fee_rate_min": _l("Annual ratio: 0.015 means 1.5 percent a year."),
    "fee_rate_max": _l("Annual ratio: 0.03 means 3 percent a year."),
    "counter_kinds": _l("Every application of the product must carry a measure of each kind chosen here."),
    "flow_code": _l("Optional: the approval flow used when no matching rule picks another one."),
    "guarantee_kind": _l("Kinds are kept in the data dictionary \"guarantee kind\"."),
}
BANK_DESCRIPTIONS = {
    "margin_ratio": _l("Share of the guarantee the company deposits with the bank: 0.1 means 10 percent."),
    "risk_share_ratio": _l("Share of a loss the bank bears: 0.2 means 20 percent."),
}


def _money(value):
    return product_rules.money(value) if value is not None else ""


def _percent(value):
    return product_rules.percent(value) if value is not None else ""


def _counter_kinds(value):
    return product_rules.counter_kinds_text(value)


def _product_fields():
    return {
        "guarantee_kind": SelectField(
            PRODUCT_LABELS["guarantee_kind"], widget=Select2Widget(), validators=[DataRequired()],
            description=PRODUCT_DESCRIPTIONS["guarantee_kind"],
            choices=lambda: [("", "")] + dict_choices(GUARANTEE_KIND_DICT)),
        "counter_kinds": SelectMultipleField(
            PRODUCT_LABELS["counter_kinds"], widget=Select2ManyWidget(), validators=[Optional()],
            description=PRODUCT_DESCRIPTIONS["counter_kinds"],
            choices=lambda: [(k, product_rules.counter_kind_label(k)) for k in COUNTER_KIND_CODES]),
        "flow_code": SelectField(
            PRODUCT_LABELS["flow_code"], widget=Select2Widget(), validators=[Optional()],
            description=PRODUCT_DESCRIPTIONS["flow_code"],
            choices=lambda: [("", "")] + product_rules.flow_choices()),
    }


PRODUCT_FORM = ["code", "name", "guarantee_kind", "amount_min", "amount_max", "term_min", "term_max",
                "fee_rate_min", "fee_rate_max", "counter_kinds", "flow_code", "description", "active"]
PRODUCT_FORMATTERS = {
    "guarantee_kind": dict_label(GUARANTEE_KIND_DICT), "counter_kinds": _counter_kinds,
    "amount_min": _money, "amount_max": _money, "fee_rate_min": _percent, "fee_rate_max": _percent,
    "active": choice_label(YES_NO),
}


class ProductView(BaseModelView):
    datamodel = SafeInterface(Product)
    class_permission_name = P.PRODUCT
    list_title = _l("Guarantee products")
    show_title = _l("Guarantee product")
    add_title, edit_title = _l("Add guarantee product"), _l("Edit guarantee product")
    list_columns = ["code", "name", "guarantee_kind", "amount_min", "amount_max", "term_min", "term_max",
                    "fee_rate_min", "fee_rate_max", "counter_kinds", "active"]
    order_columns = ["code", "name", "guarantee_kind", "amount_min", "amount_max", "term_min", "term_max",
                     "fee_rate_min", "fee_rate_max", "active"]
    export_columns = PRODUCT_FORM
    search_columns = ["code", "name", "guarantee_kind", "active"]
    add_columns = edit_columns = PRODUCT_FORM
    show_columns = PRODUCT_FORM + ["created_at", "updated_at"]
    base_order = ("code", "asc")
    label_columns = PRODUCT_LABELS
    description_columns = PRODUCT_DESCRIPTIONS
    formatters_columns = PRODUCT_FORMATTERS
    add_form_extra_fields = edit_form_extra_fields = _product_fields()
    validators = (product_rules.validate_product,)
    delete_validators = (product_rules.check_product_unused,)


class ProductApi(BaseApi):
    resource_name = "product"
    datamodel = SafeInterface(Product)
    class_permission_name = P.PRODUCT
    list_columns = ["id", "code", "name", "guarantee_kind", "amount_min", "amount_max", "term_min", "term_max",
                    "fee_rate_min", "fee_rate_max", "counter_kinds", "flow_code", "active"]
    show_columns = list_columns + ["description", "created_at", "updated_at"]
    add_columns = edit_columns = PRODUCT_FORM
    search_columns = ["code", "name", "guarantee_kind", "active"]
    order_columns = ["code", "name", "guarantee_kind", "amount_min", "amount_max", "active"]
    base_order = ("code", "asc")
    validators = (product_rules.validate_product,)
    delete_validators = (product_rules.check_product_unused,)


BANK_FORM = ["code", "name", "total_line", "single_cap", "margin_ratio", "risk_share_ratio", "valid_from",
             "valid_to", "contact_person", "contact_phone", "note", "active"]
BANK_FORMATTERS = {
    "total_line": _money, "single_cap": _money, "line_used": _money, "line_available": _money,
    "margin_ratio": _percent, "risk_share_ratio": _percent, "active": choice_label(YES_NO),
}


class BankView(BaseModelView):
    datamodel = SafeInterface(CooperatingBank)
    class_permission_name = P.BANK
    list_title = _l("Cooperating banks")
    show_title, add_title, edit_title = _l("Cooperating bank"), _l("Add cooperating bank"), _l("Edit cooperating bank")
    list_columns = ["code", "name", "total_line", "line_used", "line_available", "single_cap", "margin_ratio",
                    "risk_share_ratio", "valid_from", "valid_to", "active"]
    order_columns = ["code", "name", "total_line", "single_cap", "margin_ratio", "risk_share_ratio", "valid_from",
                     "valid_to", "active"]
    export_columns = list_columns + ["contact_person", "contact_phone", "note"]
    search_columns = ["code", "name", "valid_from", "valid_to", "active"]
    add_columns = edit_columns = BANK_FORM
    show_fieldsets = [
        (_l("Cooperation agreement"), {"fields": ["code", "name", "valid_from", "valid_to", "active", "contact_person",
                                        "contact_phone", "note"]}),
        (_l("Credit line"), {"fields": ["total_line", "line_used", "line_available", "single_cap", "margin_ratio",
                                        "risk_share_ratio"]}),
        (_l("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    base_order = ("code", "asc")
    label_columns = BANK_LABELS
    description_columns = BANK_DESCRIPTIONS
    formatters_columns = BANK_FORMATTERS
    validators = (bank_rules.validate_bank,)
    delete_validators = (bank_rules.check_bank_unused,)


class BankApi(BaseApi):
    resource_name = "bank"
    datamodel = SafeInterface(CooperatingBank)
    class_permission_name = P.BANK
    method_permission_name = {**BaseApi.method_permission_name, "usage": P.READ}
    list_columns = ["id", "code", "name", "total_line", "single_cap", "margin_ratio", "risk_share_ratio",
                    "valid_from", "valid_to", "active"]
    show_columns = list_columns + ["contact_person", "contact_phone", "note", "created_at", "updated_at"]
    add_columns = edit_columns = BANK_FORM
    search_columns = ["code", "name", "valid_from", "valid_to", "active"]
    order_columns = ["code", "name", "total_line", "single_cap", "valid_from", "valid_to", "active"]
    base_order = ("code", "asc")
    validators = (bank_rules.validate_bank,)
    delete_validators = (bank_rules.check_bank_unused,)

    @api_expose("/<int:pk>/usage", methods=["GET"])
    @protect()
    @safe
    def usage(self, pk):
        """The bank's credit line: total, used (in force + applications past acceptance), available.
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: line usage in yuan (strings with two decimals)
            404:
              $ref: '#/components/responses/404'
        """
        bank = self.datamodel.get(pk, self._base_filters)
        if bank is None:
            return self.response_404()
        usage = bank_rules.line_usage(bank)
        return self.response(200, result={key: f"{value:.2f}" for key, value in usage.items()})


def register(appbuilder):
    """Called by views.register_views: the product and bank screens under 业务管理, and their APIs."""
    appbuilder.add_view(ProductView, "GuaranteeProducts", label=_l("Guarantee products"), icon="fa-cubes",
                        **BUSINESS_MENU)
    appbuilder.add_view(BankView, "CooperatingBanks", label=_l("Cooperating banks"), icon="fa-university",
                        **BUSINESS_MENU)
    appbuilder.add_api(ProductApi)
    appbuilder.add_api(BankApi)
