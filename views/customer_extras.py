"""Admin-configurable customer fields (CUS-7) and completeness (CUS-8) on the customer screens and API.

`CustomerExtrasMixin` goes first in the bases of every customer screen, `CustomerExtrasApiMixin` first
in the bases of every customer API. The extra fields are read from the definitions at request time, so
a field the administrator adds appears at once in the add/edit forms, the list filters, the show page,
the Excel export and the API (as the nested object `extra`) — no code change, no restart.
"""
from flask import g, has_request_context, render_template
from flask_appbuilder import expose
from flask_appbuilder.api import safe
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, DatePickerWidget, Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from app import permissions as P
from app.errors import GuaranteeError
from app.services import completeness, customer_extras as svc
from app.services.reference import dict_choices
from models.customer_extras import EXTRA_PREFIX, CompletenessRule, CustomerFieldDef
from models.customers import Customer
from views.base import BaseApi, BaseModelView, SafeInterface
from views.labels import choice_label

EXTRA_FIELDSET = _l("Additional information")
COMPLETENESS_LABEL = _l("Completeness")


# --- form fields ----------------------------------------------------------------------------------

class _RequiredFlag:
    """Marks a field required for the form's asterisk; the check itself is the service's (translated)."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


class _ExtraInput:
    """A form field of an extra field: its value goes to the customer's pending extra input, which the
    service checks and stores (CustomerExtrasMixin.pre_add), never to an attribute of its own."""

    def populate_obj(self, obj, name):
        pending = obj.__dict__.setdefault("_extra_input", {})
        pending[name[len(EXTRA_PREFIX):]] = self.data


class ExtraStringField(_ExtraInput, StringField):
    pass


class ExtraSelectField(_ExtraInput, SelectField):
    pass


def _form_field(spec):
    validators = [_RequiredFlag()] if spec.required else []
    if spec.field_type == "choice":
        return ExtraSelectField(spec.label, choices=lambda t=spec.dict_type: [("", "")] + dict_choices(t),
                                validate_choice=False, validators=validators, widget=Select2Widget())
    widget = DatePickerWidget() if spec.field_type == "date" else BS3TextFieldWidget()
    return ExtraStringField(spec.label, validators=validators, widget=widget)


def _search_field(spec):
    if spec.field_type == "choice":
        return SelectField(spec.label, choices=lambda t=spec.dict_type: [("", "")] + dict_choices(t),
                           validate_choice=False, widget=Select2Widget())
    widget = DatePickerWidget() if spec.field_type == "date" else BS3TextFieldWidget()
    return StringField(spec.label, widget=widget)


class ExtraFieldFilter(BaseFilter):
    """A list/API filter on one extra field (operation xeq / xct / xgt / xlt). FAB rebuilds filters from
    their class and column name, so each (field, operation) is a class of its own (see _filter_class)."""

    spec = None

    def apply(self, query, value):
        return query.filter(svc.condition(self.spec, self.arg_name, value))


_FILTER_CLASSES: dict = {}


def _filter_class(spec, operation):
    key = (spec, operation)
    if key not in _FILTER_CLASSES:
        _FILTER_CLASSES[key] = type("ExtraFieldFilter", (ExtraFieldFilter,), {
            "spec": spec, "arg_name": operation, "name": svc.OPERATION_LABELS[operation]})
    return _FILTER_CLASSES[key]


def _request_cache(name):
    return g.setdefault(name, {}) if has_request_context() else {}


def _kind_of_view(view) -> str | None:
    """The customer kind a screen or API is restricted to (its base filter on kind), else None."""
    for entry in getattr(view, "base_filters", None) or []:
        if len(entry) >= 3 and entry[0] == "kind":
            return entry[2]
    return None


class _ExtraFiltersMixin:
    """The view's FAB filters, with one entry per enabled extra field (rebuilt once per request)."""

    @property
    def _filters(self):
        filters = self.__dict__.get("_base_filters_object")
        if filters is None or not has_request_context():
            return filters
        done = _request_cache("_extra_filters_for")
        if id(self) not in done:
            done[id(self)] = True
            specs = svc.active_defs(_kind_of_view(self))
            extras = {EXTRA_PREFIX + s.code: [_filter_class(s, op)(EXTRA_PREFIX + s.code, self.datamodel)
                                              for op in svc.OPERATIONS[s.field_type]] for s in specs}
            for attr in ("_search_filters", "_all_filters"):
                current = getattr(filters, attr)
                setattr(filters, attr, {**{k: v for k, v in current.items() if not k.startswith(EXTRA_PREFIX)},
                                        **extras})
        return filters

    @_filters.setter
    def _filters(self, value):
        self.__dict__["_base_filters_object"] = value

    def _extra_specs(self, item=None):
        kind = item.kind if item is not None else _kind_of_view(self)
        return svc.active_defs(kind)

    def pre_add(self, item):
        super().pre_add(item)
        svc.apply(item, self._pending_extra(item))

    def pre_update(self, item):
        super().pre_update(item)
        svc.apply(item, self._pending_extra(item))


# --- screens --------------------------------------------------------------------------------------

class CustomerExtrasMixin(_ExtraFiltersMixin):
    """Extra fields in the forms, search, show page and export; completeness on the show page and list."""

    completeness_in_list = True

    def __init__(self, **kwargs):
        if self.completeness_in_list and "completeness_pct" not in (self.list_columns or []):
            self.list_columns = [*(self.list_columns or []), "completeness_pct"]
        super().__init__(**kwargs)
        self.label_columns = _ExtraLabels({**self.label_columns, "completeness_pct": COMPLETENESS_LABEL})
        self.export_columns = _ExtraColumns(self.export_columns or self.list_columns, self)
        self.order_columns = [c for c in self.order_columns or [] if c != "completeness_pct"]  # computed: no sort
        self.formatters_columns = {**(self.formatters_columns or {}),
                                   "completeness_pct": lambda v: "" if v is None else f"{v}%"}

    @staticmethod
    def _pending_extra(item):
        return item.__dict__.pop("_extra_input", None)

    # forms: the FAB form classes, extended per request with the extra fields
    def _extended(self, base, cache_key):
        if base is None or not has_request_context():
            return base
        cache = _request_cache("_extra_forms")
        key = (id(self), cache_key)
        if key not in cache:
            fields = {EXTRA_PREFIX + s.code: _form_field(s) for s in self._extra_specs()}
            cache[key] = type(base.__name__, (base,), fields) if fields else base
        return cache[key]

    @property
    def add_form(self):
        return self._extended(self.__dict__.get("_base_add_form"), "add")

    @add_form.setter
    def add_form(self, value):
        self.__dict__["_base_add_form"] = value

    @property
    def edit_form(self):
        return self._extended(self.__dict__.get("_base_edit_form"), "edit")

    @edit_form.setter
    def edit_form(self, value):
        self.__dict__["_base_edit_form"] = value

    def _add_extras_to(self, widget, columns_key):
        names = [EXTRA_PREFIX + s.code for s in self._extra_specs()]
        if not names:
            return
        args = widget.template_args
        if args.get("fieldsets"):
            args["fieldsets"] = [*args["fieldsets"], (EXTRA_FIELDSET, {"fields": names})]
        else:
            args[columns_key] = [*(args.get(columns_key) or []), *names]

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        widgets = super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)
        self._add_extras_to(widgets["add"], "include_cols")
        return widgets

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        widgets = super()._get_edit_widget(form, exclude_cols=exclude_cols, widgets=widgets)
        self._add_extras_to(widgets["edit"], "include_cols")
        return widgets

    # search: the extra fields are offered as filters
    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        specs = self._extra_specs()
        if not specs or form is None:
            return super()._get_search_widget(form=form, exclude_cols=exclude_cols, widgets=widgets)
        fields = {EXTRA_PREFIX + s.code: _search_field(s) for s in specs}
        form = type(type(form).__name__, (type(form),), fields)()
        widgets = widgets or {}
        widgets["search"] = self.search_widget(route_base=self.route_base, form=form,
                                               include_cols=[*self.search_columns, *fields],
                                               exclude_cols=exclude_cols or [], filters=self._filters)
        return widgets

    # show: extra values, and the completeness panel on top
    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets=widgets, actions=actions, show_fieldsets=show_fieldsets)
        widget = widgets["show"]
        specs = self._extra_specs(item)
        if specs:
            args = widget.template_args
            names = [EXTRA_PREFIX + s.code for s in specs]
            args["label_columns"] = {**args["label_columns"], **{EXTRA_PREFIX + s.code: s.label for s in specs}}
            args["include_columns"] = [*args["include_columns"], *names]
            args["value_columns"] = [*args["value_columns"],
                                     *[svc.display(s, (item.extra or {}).get(s.code)) for s in specs]]
            if args.get("fieldsets"):
                args["fieldsets"] = [*args["fieldsets"], (EXTRA_FIELDSET, {"fields": names})]
        widgets["show"] = _WithCompleteness(widget, item)
        return widgets

    @property
    def export_formatters_columns(self):
        specs = self._extra_specs() if has_request_context() else []
        return {**(self.__dict__.get("_base_export_formatters") or {}),
                **{EXTRA_PREFIX + s.code: (lambda v, s=s: svc.display(s, v)) for s in specs}}

    @export_formatters_columns.setter
    def export_formatters_columns(self, value):
        self.__dict__["_base_export_formatters"] = value


class _ExtraLabels(dict):
    """A screen's labels that also know the extra fields' labels (export headers, filters)."""

    def get(self, key, default=None):
        if key in self:
            return self[key]
        if isinstance(key, str) and key.startswith(EXTRA_PREFIX) and has_request_context():
            code = key[len(EXTRA_PREFIX):]
            return next((s.label for s in svc.all_defs() if s.code == code), default)
        return default


class _ExtraColumns(list):
    """A screen's export columns followed by the enabled extra fields of the moment (Customer.extra__<code>
    reads the value)."""

    def __init__(self, columns, view):
        super().__init__(columns)
        self.view = view

    def __iter__(self):
        yield from (c for c in super().__iter__() if c != "completeness_pct")
        if has_request_context():
            yield from (EXTRA_PREFIX + s.code for s in self.view._extra_specs())


class _WithCompleteness:
    """The show widget with the customer's completeness panel above it."""

    def __init__(self, inner, item):
        self.inner, self.item = inner, item

    def __call__(self, **kwargs):
        result = completeness.compute(self.item)
        panel = render_template("customer_extras/completeness.html", result=result, customer=self.item)
        return Markup(panel) + Markup(self.inner(**kwargs))

    def __getattr__(self, name):
        return getattr(self.inner, name)


Customer.completeness_pct = property(lambda self: completeness.percent(self))


# --- API ------------------------------------------------------------------------------------------

class CustomerExtrasApiMixin(_ExtraFiltersMixin):
    """`extra` readable and writable as a nested object, extra fields as filters (col "extra__<code>",
    opr xeq/xct/xgt/xlt), and GET /<pk>/completeness."""

    def __init__(self, **kwargs):
        for attr in ("list_columns", "show_columns"):
            columns = list(getattr(self, attr) or [])
            if columns and "extra" not in columns:
                setattr(self, attr, [*columns, "extra"])
        self.method_permission_name = {**(self.method_permission_name or {}), "completeness": P.READ}
        super().__init__(**kwargs)

    @staticmethod
    def _pending_extra(item):
        return g.pop("_api_extra", None) if has_request_context() else None

    def _json_object(self) -> dict:
        data = super()._json_object()
        if "extra" in data:
            extra = data.pop("extra")
            if extra is not None and not isinstance(extra, dict):
                raise GuaranteeError(gettext("extra must be an object of field codes and values."), "extra")
            g._api_extra = extra or {}
        return data

    def _handle_filters_args(self, rison_args):
        raw = rison_args.get("filters", [])
        extras = []
        if isinstance(raw, list):
            extras = [f for f in raw if isinstance(f, dict) and str(f.get("col", "")).startswith(EXTRA_PREFIX)]
            rison_args = {**rison_args, "filters": [f for f in raw if f not in extras]}
        joined = super()._handle_filters_args(rison_args)
        available = self._filters.get_search_filters()
        for item in extras:
            match = [f for f in available.get(item["col"], []) if f.arg_name == item.get("opr")]
            if not match:
                raise GuaranteeError(gettext("Filtering on %(column)s is not allowed.", column=str(item["col"])[:60]))
            joined._add_filter(match[0], item.get("value"))
        return joined

    @expose("/<int:pk>/completeness", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def completeness(self, pk):
        """Completeness of one customer's file: percent, missing items, every rule with its state."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        return self.response(200, result=completeness.compute(item).as_dict())


# --- administration: field definitions and completeness rules -------------------------------------

def validate_field_def(item):
    svc.validate_definition(item)


def _dict_type_choices():
    from models.system import DictType
    from app.extensions import db

    return [("", "")] + [(code, f"{name} ({code})") for code, name in
                         db.session.execute(select(DictType.code, DictType.name).order_by(DictType.code))]


def _rule_item_choices():
    documents = [(code, f"{gettext('Document')}：{name}") for code, name in dict_choices("attachment_category")]
    fields = [(code, f"{gettext('Field')}：{completeness.field_label(code)}") for code in completeness.standard_fields()]
    extras = [(s.code, f"{gettext('Field')}：{s.label}") for s in svc.all_defs()]
    return [("", "")] + documents + fields + extras


FIELD_DEF_LABELS = {
    "code": _l("Code"), "label": _l("Label"), "kind": _l("Customer kind"), "field_type": _l("Field type"),
    "dict_type": _l("Dictionary"), "required": _l("Required"), "sort_order": _l("Sort order"),
    "enabled": _l("Enabled"), "created_at": _l("Created at"), "updated_at": _l("Updated at"),
}
YES_NO = {True: _l("Yes"), False: _l("No")}


def _select(label, choices, required=True):
    return SelectField(label, choices=choices, validators=[DataRequired()] if required else [Optional()],
                       widget=Select2Widget())


class CustomerFieldDefView(BaseModelView):
    datamodel = SafeInterface(CustomerFieldDef)
    class_permission_name = P.CUSTOMER_FIELD
    list_title = _l("Customer fields")
    show_title, add_title, edit_title = _l("Customer field"), _l("Add customer field"), _l("Edit customer field")
    list_columns = ["sort_order", "code", "label", "kind", "field_type", "dict_type", "required", "enabled"]
    search_columns = ["code", "label", "kind", "field_type", "required", "enabled"]
    add_columns = edit_columns = ["code", "label", "kind", "field_type", "dict_type", "required", "sort_order",
                                  "enabled"]
    show_columns = add_columns + ["created_at", "updated_at"]
    base_order = ("sort_order", "asc")
    label_columns = FIELD_DEF_LABELS
    description_columns = {
        "code": _l("Lower-case letters, digits and underscores; the key in the API's extra object. "
                   "Not changed once customers hold values."),
        "dict_type": _l("Only for choice fields: the dictionary whose entries are offered."),
    }
    formatters_columns = {"kind": choice_label(svc.FIELD_KINDS), "field_type": choice_label(svc.FIELD_TYPES),
                          "required": choice_label(YES_NO), "enabled": choice_label(YES_NO)}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": _select(FIELD_DEF_LABELS["kind"], lambda: [(k, str(v)) for k, v in svc.FIELD_KINDS.items()]),
        "field_type": _select(FIELD_DEF_LABELS["field_type"],
                              lambda: [(k, str(v)) for k, v in svc.FIELD_TYPES.items()]),
        "dict_type": _select(FIELD_DEF_LABELS["dict_type"], _dict_type_choices, required=False),
    }
    validators = (validate_field_def,)


RULE_LABELS = {
    "kind": _l("Customer kind"), "item_type": _l("Requirement"), "item_code": _l("Required item"),
    "item_label": _l("Required item"), "weight": _l("Weight"), "sort_order": _l("Sort order"),
    "enabled": _l("Enabled"), "created_at": _l("Created at"), "updated_at": _l("Updated at"),
}

CompletenessRule.item_label = property(
    lambda self: completeness.document_label(self.item_code) if self.item_type == "document"
    else completeness.field_label(self.item_code))


class CompletenessRuleView(BaseModelView):
    datamodel = SafeInterface(CompletenessRule)
    class_permission_name = P.COMPLETENESS_RULE
    list_title = _l("Completeness rules")
    show_title, add_title, edit_title = _l("Completeness rule"), _l("Add completeness rule"), \
        _l("Edit completeness rule")
    list_columns = ["kind", "item_type", "item_label", "weight", "sort_order", "enabled"]
    order_columns = ["kind", "item_type", "weight", "sort_order", "enabled"]
    search_columns = ["kind", "item_type", "item_code", "enabled"]
    add_columns = edit_columns = ["kind", "item_type", "item_code", "weight", "sort_order", "enabled"]
    show_columns = ["kind", "item_type", "item_label", "item_code", "weight", "sort_order", "enabled", "created_at",
                    "updated_at"]
    base_order = ("sort_order", "asc")
    label_columns = RULE_LABELS
    description_columns = {"weight": _l("Share of this item in the completeness percentage (1 = one item).")}
    formatters_columns = {"kind": choice_label(completeness.RULE_KINDS),
                          "item_type": choice_label(completeness.ITEM_TYPES), "enabled": choice_label(YES_NO)}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": _select(RULE_LABELS["kind"], lambda: [(k, str(v)) for k, v in completeness.RULE_KINDS.items()]),
        "item_type": _select(RULE_LABELS["item_type"],
                             lambda: [(k, str(v)) for k, v in completeness.ITEM_TYPES.items()]),
        "item_code": _select(RULE_LABELS["item_code"], _rule_item_choices),
        "weight": IntegerField(RULE_LABELS["weight"], default=1, validators=[DataRequired(), NumberRange(1, 100)],
                               widget=BS3TextFieldWidget()),
    }
    validators = (completeness.validate_rule,)


class CustomerFieldDefApi(BaseApi):
    resource_name = "customer_field"
    datamodel = SafeInterface(CustomerFieldDef)
    class_permission_name = P.CUSTOMER_FIELD
    list_columns = show_columns = ["id", "code", "label", "kind", "field_type", "dict_type", "required",
                                   "sort_order", "enabled"]
    add_columns = edit_columns = ["code", "label", "kind", "field_type", "dict_type", "required", "sort_order",
                                  "enabled"]
    search_columns = ["code", "label", "kind", "field_type", "enabled"]
    base_order = ("sort_order", "asc")
    validators = (validate_field_def,)


class CompletenessRuleApi(BaseApi):
    resource_name = "completeness_rule"
    datamodel = SafeInterface(CompletenessRule)
    class_permission_name = P.COMPLETENESS_RULE
    list_columns = show_columns = ["id", "kind", "item_type", "item_code", "weight", "sort_order", "enabled"]
    add_columns = edit_columns = ["kind", "item_type", "item_code", "weight", "sort_order", "enabled"]
    search_columns = ["kind", "item_type", "item_code", "enabled"]
    base_order = ("sort_order", "asc")
    validators = (completeness.validate_rule,)


def register(appbuilder):
    """The attachments tab's endpoints, the two administration screens and their APIs."""
    from views.attachments import AttachmentView

    appbuilder.add_view_no_menu(AttachmentView)
    sysm = dict(category="SystemManagement", category_label=_l("System management"), category_icon="fa-cogs")
    appbuilder.add_view(CustomerFieldDefView, "CustomerFields", label=_l("Customer fields"), icon="fa-th-list",
                        **sysm)
    appbuilder.add_view(CompletenessRuleView, "CompletenessRules", label=_l("Completeness rules"),
                        icon="fa-check-square-o", **sysm)
    appbuilder.add_api(CustomerFieldDefApi)
    appbuilder.add_api(CompletenessRuleApi)
