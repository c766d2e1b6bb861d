"""Completeness of a customer's file (资料完整度, CUS-8).

Rules (models.customer_extras.CompletenessRule) name, per customer kind, the documents (要件: attachment
categories) and the fields (standard customer columns or extra field codes) a complete file holds. A
customer's completeness is the weighted share of the rules it meets; `compute_many` answers for a whole
page of customers with one query for their attachments.
"""
from dataclasses import dataclass, field

from flask import g, has_request_context
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import inspect, select

from app.errors import ValidationError

RULE_KINDS = {"both": _l("Both kinds"), "individual": _l("Individual"), "corporate": _l("Corporate")}
ITEM_TYPES = {"document": _l("Document"), "field": _l("Field")}

# Seeded once (reference data); the administrator changes them on the completeness rules screen.
DEFAULT_RULES = [
    ("individual", "document", "ID_CARD"), ("individual", "field", "name"), ("individual", "field", "id_number"),
    ("individual", "field", "phone"), ("individual", "field", "address"),
    ("corporate", "document", "LICENSE"), ("corporate", "document", "FINANCIAL"),
    ("corporate", "field", "legal_representative"), ("corporate", "field", "registered_capital"),
    ("corporate", "field", "address"),
]

# Customer columns a rule may not name: keys, bookkeeping, the kind itself.
_NOT_FIELDS = {"id", "code", "kind", "extra", "created_at", "updated_at", "created_by_id", "updated_by_id",
               "owner_id", "department_id", "credit_customer", "blacklisted", "direct"}


def _session():
    from app.extensions import db

    return db.session


@dataclass
class Item:
    item_type: str
    code: str
    label: str
    weight: int
    ok: bool


@dataclass
class Result:
    percent: int
    items: list = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [i.label for i in self.items if not i.ok]

    def as_dict(self) -> dict:
        return {"percent": self.percent, "missing": self.missing,
                "items": [{"type": i.item_type, "code": i.code, "label": i.label, "ok": i.ok} for i in self.items]}


# --- what a rule may name -------------------------------------------------------------------------

def standard_fields() -> list[str]:
    from models.customers import Customer

    return [c.key for c in inspect(Customer).column_attrs if c.key not in _NOT_FIELDS]


def field_label(code: str) -> str:
    """The label of a standard column (the customer screen's) or of an extra field."""
    from models.customer_extras import CustomerFieldDef

    if code in standard_fields():
        try:
            from views.customers import LABELS  # the screen's labels are the names users know
        except ImportError:  # pragma: no cover
            LABELS = {}
        return str(LABELS.get(code, code))
    label = _session().execute(select(CustomerFieldDef.label).where(CustomerFieldDef.code == code)).scalar()
    return label or code


def document_label(code: str) -> str:
    from app.services.reference import dict_choices

    return dict(dict_choices("attachment_category")).get(code, code)


def validate_rule(rule) -> None:
    """Screen and API check of a completeness rule."""
    from app.services.reference import dict_choices
    from models.customer_extras import CustomerFieldDef

    if rule.kind not in RULE_KINDS:
        raise ValidationError(gettext("Choose the customer kind the rule applies to."), "kind")
    if rule.item_type not in ITEM_TYPES:
        raise ValidationError(gettext("Choose whether the rule requires a document or a field."), "item_type")
    rule.item_code = (rule.item_code or "").strip()
    if rule.item_type == "document":
        if rule.item_code not in dict(dict_choices("attachment_category")):
            raise ValidationError(gettext("Choose an attachment category."), "item_code")
    elif rule.item_code not in standard_fields() and _session().execute(
            select(CustomerFieldDef.id).where(CustomerFieldDef.code == rule.item_code)).scalar() is None:
        raise ValidationError(gettext("Choose a customer field or a configured extra field."), "item_code")
    if rule.weight is None or not 1 <= rule.weight <= 100:
        raise ValidationError(gettext("The weight must be between 1 and 100."), "weight")


def ensure_default_rules() -> None:
    """Reference data: the shipped rules, when no rule exists yet (idempotent; caller commits)."""
    from models.customer_extras import CompletenessRule

    session = _session()
    if session.execute(select(CompletenessRule.id).limit(1)).scalar() is not None:
        return
    for order, (kind, item_type, code) in enumerate(DEFAULT_RULES):
        session.add(CompletenessRule(kind=kind, item_type=item_type, item_code=code, weight=1, sort_order=order,
                                     enabled=True))
    session.flush()


# --- computation ----------------------------------------------------------------------------------

def _rules(kind: str) -> list:
    """(item_type, code, label, weight) of the enabled rules of a kind, read once per request."""
    from models.customer_extras import CompletenessRule

    cache = g.setdefault("_completeness_rules", {}) if has_request_context() else {}
    if kind not in cache:
        rows = _session().execute(
            select(CompletenessRule).where(CompletenessRule.enabled.is_(True),
                                           CompletenessRule.kind.in_(("both", kind)))
            .order_by(CompletenessRule.sort_order, CompletenessRule.id)).scalars().all()
        cache[kind] = [(r.item_type, r.item_code,
                        document_label(r.item_code) if r.item_type == "document" else field_label(r.item_code),
                        r.weight) for r in rows]
    return cache[kind]


def _has_value(customer, code: str) -> bool:
    if code in standard_fields():
        value = getattr(customer, code, None)
    else:
        value = (customer.extra or {}).get(code)
    return value is not None and (not isinstance(value, str) or value.strip() != "")


def _result(customer, categories: set) -> Result:
    items = [Item(t, code, label, weight, code in categories if t == "document" else _has_value(customer, code))
             for t, code, label, weight in _rules(customer.kind)]
    total = sum(i.weight for i in items)
    done = sum(i.weight for i in items if i.ok)
    return Result(100 if total == 0 else int(round(100 * done / total)), items)


def compute_many(customers) -> dict:
    """{customer id: Result} for many customers: one query for the categories of their attachments."""
    from models.attachments import Attachment

    customers = [c for c in customers if c.id is not None]
    categories: dict[int, set] = {c.id: set() for c in customers}
    ids = list(categories)
    for start in range(0, len(ids), 500):
        rows = _session().execute(select(Attachment.customer_id, Attachment.category).distinct()
                                  .where(Attachment.customer_id.in_(ids[start:start + 500])))
        for customer_id, category in rows:
            categories[customer_id].add(category)
    return {c.id: _result(c, categories[c.id]) for c in customers}


def compute(customer) -> Result:
    return compute_many([customer])[customer.id]


def percent(customer) -> int:
    """The completeness of a customer shown in a list: the first call of a request computes it for every
    customer loaded in the session (the page), in one query."""
    from models.customers import Customer

    cache = g.setdefault("_completeness", {}) if has_request_context() else {}
    if customer.id not in cache:
        loaded = [obj for obj in _session().identity_map.values()
                  if isinstance(obj, Customer) and obj.id not in cache]
        if customer not in loaded:
            loaded.append(customer)
        cache.update({cid: r.percent for cid, r in compute_many(loaded).items()})
    return cache[customer.id]


def forget() -> None:
    """Drop this request's cached results (after an upload or a delete)."""
    if has_request_context():
        g.pop("_completeness", None)
