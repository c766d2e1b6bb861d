"""Admin-defined customer fields (客户信息要素, CUS-7): definitions, value checks, list filters.

Values are kept in Customer.extra as {code: text}: numbers as normalised decimal text (exact; compared
as NUMERIC), dates as ISO text (compared as text, which orders like dates), choices as the dictionary
code. The same checks serve the screens (dynamic form fields) and the REST API (nested `extra`).
"""
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import g, has_request_context
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Numeric, cast, inspect, select

from app.errors import GuaranteeError, ValidationError

FIELD_KINDS = {"both": _l("Both kinds"), "individual": _l("Individual"), "corporate": _l("Corporate")}
FIELD_TYPES = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"), "choice": _l("Choice")}
CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_TEXT = 500


def _session():
    from app.extensions import db

    return db.session


# --- definitions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldSpec:
    """A definition as plain data (safe to keep for the request after the session commits)."""

    code: str
    label: str
    kind: str
    field_type: str
    dict_type: str | None
    required: bool
    enabled: bool

    def applies_to(self, kind) -> bool:
        return self.kind == "both" or kind is None or self.kind == kind


def all_defs() -> list[FieldSpec]:
    """Every definition (enabled or not), in display order; read once per request."""
    from models.customer_extras import CustomerFieldDef

    if has_request_context() and "_extra_defs" in g:
        return g._extra_defs
    rows = [FieldSpec(d.code, d.label, d.kind, d.field_type, d.dict_type, bool(d.required), bool(d.enabled))
            for d in _session().execute(select(CustomerFieldDef).order_by(CustomerFieldDef.sort_order,
                                                                          CustomerFieldDef.id)).scalars()]
    if has_request_context():
        g._extra_defs = rows
    return rows


def active_defs(kind: str | None = None) -> list:
    """Enabled definitions for a customer kind (None: every kind)."""
    return [d for d in all_defs() if d.enabled and d.applies_to(kind)]


def forget() -> None:
    if has_request_context():
        g.pop("_extra_defs", None)


def validate_definition(item) -> None:
    """Screen and API check of a field definition."""
    from app.services.reference import dict_choices
    from models.customer_extras import CustomerFieldDef
    from models.customers import Customer

    item.code = (item.code or "").strip().lower()
    if not CODE_RE.fullmatch(item.code):
        raise ValidationError(gettext("The code must start with a letter and hold only lower-case letters, "
                                      "digits and underscores (at most 40)."), "code")
    if item.code in {c.key for c in inspect(Customer).column_attrs} or item.code.startswith("extra"):
        raise ValidationError(gettext("This code is already used by a standard customer field."), "code")
    with _session().no_autoflush:
        clash = _session().execute(select(CustomerFieldDef.id).where(
            CustomerFieldDef.code == item.code, CustomerFieldDef.id != (item.id or 0))).scalar()
    if clash is not None:
        raise ValidationError(gettext("Another field already has this code."), "code")
    item.label = (item.label or "").strip()
    if not item.label:
        raise ValidationError(gettext("Enter the label users see."), "label")
    if item.kind not in FIELD_KINDS:
        raise ValidationError(gettext("Choose the customer kind the field applies to."), "kind")
    if item.field_type not in FIELD_TYPES:
        raise ValidationError(gettext("Choose the field type."), "field_type")
    if item.field_type == "choice":
        if not item.dict_type or not dict_choices(item.dict_type):
            raise ValidationError(gettext("A choice field needs a dictionary with entries."), "dict_type")
    else:
        item.dict_type = None
    forget()


# --- values -----------------------------------------------------------------------------------------

def normalise(defn, raw):
    """The stored text of a value of field `defn`, None for empty; ValidationError when not valid."""
    from app.services.reference import dict_choices

    field = f"extra__{defn.code}"
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, (dict, list, bool)):
        raise ValidationError(gettext("%(label)s: the value is not valid.", label=defn.label), field)
    if defn.field_type == "number":
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise ValidationError(gettext("%(label)s must be a number.", label=defn.label), field)
        text = format(number.normalize(), "f")
        return text if "." not in text else text.rstrip("0").rstrip(".")
    if defn.field_type == "date":
        if isinstance(raw, datetime):
            return raw.date().isoformat()
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValidationError(gettext("%(label)s must be a date like 2026-01-31.", label=defn.label),
                                  field) from None
    text = str(raw).strip()
    if "\x00" in text or len(text) > MAX_TEXT:
        raise ValidationError(gettext("%(label)s: at most %(max)s characters.", label=defn.label, max=MAX_TEXT),
                              field)
    if defn.field_type == "choice" and text not in dict(dict_choices(defn.dict_type)):
        raise ValidationError(gettext("%(label)s: choose one of the listed values.", label=defn.label), field)
    return text


def apply(customer, values: dict | None) -> None:
    """Check `values` ({code: raw}, only the fields being changed) and the required fields of the
    customer's kind, and store them in customer.extra. Nothing changes when a value is wrong."""
    if values is not None and not isinstance(values, dict):
        raise ValidationError(gettext("extra must be an object of field codes and values."), "extra")
    defs = {d.code: d for d in all_defs()}
    current = dict(customer.extra or {})
    for code, raw in (values or {}).items():
        defn = defs.get(code)
        if defn is None or not defn.enabled:
            raise ValidationError(gettext("Unknown customer field: %(code)s", code=str(code)[:40]), "extra")
        value = normalise(defn, raw)
        if value is None:
            current.pop(code, None)
        elif not defn.applies_to(customer.kind):
            raise ValidationError(gettext("%(label)s does not apply to this kind of customer.", label=defn.label),
                                  f"extra__{code}")
        else:
            current[code] = value
    for defn in active_defs(customer.kind):
        if defn.required and not current.get(defn.code):
            raise ValidationError(gettext("%(label)s is required.", label=defn.label), f"extra__{defn.code}")
    if current != (customer.extra or {}):
        customer.extra = current or None


def display(defn, value) -> str:
    from app.services.reference import dict_choices

    if value in (None, ""):
        return ""
    if defn.field_type == "choice":
        return dict(dict_choices(defn.dict_type)).get(value, value)
    return str(value)


# --- filters ----------------------------------------------------------------------------------------

OPERATIONS = {  # field type -> operations offered (FAB-style arg names of our own)
    "text": ("xeq", "xct"), "choice": ("xeq",), "number": ("xeq", "xgt", "xlt"), "date": ("xeq", "xgt", "xlt"),
}
OPERATION_LABELS = {"xeq": _l("Equal to"), "xct": _l("Contains"), "xgt": _l("Greater than"),
                    "xlt": _l("Smaller than")}


def condition(defn, operation: str, raw):
    """SQL condition on Customer.extra for a list filter (works on PostgreSQL and SQLite)."""
    from models.customers import Customer

    if isinstance(raw, (list, tuple)):
        raw = raw[0] if raw else ""
    element = Customer.extra[defn.code].as_string()
    if operation not in OPERATIONS.get(defn.field_type, ()):
        raise GuaranteeError(gettext("The list's filter, sort order or page is not valid."))
    if operation == "xct":
        return element.contains(str(raw or ""), autoescape=True)
    try:
        value = normalise(defn, raw)
    except ValidationError as ex:
        raise GuaranteeError(ex.message) from None
    if value is None:
        return element.is_(None)
    if defn.field_type == "number":
        element, value = cast(element, Numeric(28, 6)), Decimal(value)
    if operation == "xgt":
        return element > value
    if operation == "xlt":
        return element < value
    return element == value
