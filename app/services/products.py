"""Guarantee products (担保品种, BIZ-1): the rules of a product and of an application's terms against it.

Screens and REST APIs call the same checks (views `validators`); each raises app.errors.ValidationError
(message, field) before anything is written. Guarantee kinds are items of the dictionary "guarantee_kind"
(seeded by app/services/reference.py, extended by administrators without code).
"""
import re
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import ValidationError
from models.products import COUNTER_KIND_CODES, COUNTER_KINDS, GUARANTEE_KIND_DICT, Product  # noqa: F401

# Translated labels of the counter-guarantee kinds (BIZ-10); the Chinese in models.products is the msgstr.
COUNTER_KIND_LABELS = {
    "pledge": _l("Pledge"),
    "mortgage": _l("Mortgage"),
    "surety": _l("Surety"),
    "credit": _l("Credit (unsecured)"),
    "lien": _l("Lien"),
    "deposit": _l("Cash deposit"),
}

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,29}")
MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18, 2)
MAX_TERM_MONTHS = 600  # 50 years: longer terms are typing mistakes
MAX_RATE = Decimal("1")  # 100 % a year


def _session():
    from app.extensions import db

    return db.session


# --- formatting used in messages (and by the screens) ------------------------------------------------

def money(value) -> str:
    """1000000 -> "1,000,000.00" (the figure as people read it in letters and messages)."""
    value = Decimal(value or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:,.2f}"


def percent(rate) -> str:
    """0.015 -> "1.5%" (no trailing zeros)."""
    if rate is None:
        return ""
    text = format((Decimal(rate) * 100).normalize(), "f")
    return f"{text}%"


def counter_kind_label(code) -> str:
    label = COUNTER_KIND_LABELS.get(code)
    return str(label) if label is not None else (code or "")


def counter_kinds_text(codes) -> str:
    return "、".join(counter_kind_label(c) for c in (codes or []))


def flow_choices() -> list[tuple[str, str]]:
    """(code, "name (code)") of the active approval flows (the approval engine's, models/approval.py)."""
    from models.approval import ApprovalFlow

    rows = _session().execute(select(ApprovalFlow.code, ApprovalFlow.name).where(ApprovalFlow.active.is_(True))
                              .order_by(ApprovalFlow.code)).all()
    return [(code, f"{name} ({code})") for code, name in rows]


def guarantee_kind_choices() -> list[tuple[str, str]]:
    from app.services.reference import dict_choices

    return dict_choices(GUARANTEE_KIND_DICT)


# --- the product record ----------------------------------------------------------------------------

def to_decimal(value, field, label) -> Decimal:
    """A finite Decimal from a form/API value, or ValidationError naming the field (shared with banks.py)."""
    if value is None or value == "":
        raise ValidationError(gettext("%(label)s is required.", label=label), field)
    try:
        value = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("%(label)s must be a number.", label=label), field)
    if not value.is_finite():
        raise ValidationError(gettext("%(label)s must be a number.", label=label), field)
    return value


def _int(value, field, label):
    if value is None or value == "":
        raise ValidationError(gettext("%(label)s is required.", label=label), field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(gettext("%(label)s must be a whole number.", label=label), field)
    return value


def normalise_counter_kinds(kinds) -> list[str]:
    """A list of known counter-guarantee kind codes, in the canonical order, without repeats."""
    if kinds is None or kinds == "":
        return []
    if isinstance(kinds, str):
        kinds = [k for k in re.split(r"[,\s]+", kinds) if k]
    if not isinstance(kinds, (list, tuple)):
        raise ValidationError(gettext("Required counter-guarantee kinds must be a list."), "counter_kinds")
    unknown = [str(k) for k in kinds if k not in COUNTER_KINDS]
    if unknown:
        raise ValidationError(gettext("Unknown counter-guarantee kind: %(kinds)s. Known kinds: %(known)s.",
                                      kinds=", ".join(unknown[:5])[:100], known=", ".join(COUNTER_KIND_CODES)),
                              "counter_kinds")
    return [k for k in COUNTER_KIND_CODES if k in kinds]


def validate_product(item: Product) -> None:
    """Every rule of a product record (add and edit, screen and API)."""
    with _session().no_autoflush:  # the item is in the session already: no flush before the checks refuse it
        _validate_product(item)


def _validate_product(item: Product) -> None:
    item.code = (item.code or "").strip()
    item.name = (item.name or "").strip()
    if not CODE.fullmatch(item.code):
        raise ValidationError(gettext("The product code must be 1 to 30 letters, digits, '-' or '_'."), "code")
    if not item.name:
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Product name")), "name")
    kinds = dict(guarantee_kind_choices())
    if item.guarantee_kind not in kinds:
        raise ValidationError(gettext("Choose a guarantee kind from the dictionary \"guarantee kind\"."),
                              "guarantee_kind")
    amin = to_decimal(item.amount_min, "amount_min", gettext("Minimum amount"))
    amax = to_decimal(item.amount_max, "amount_max", gettext("Maximum amount"))
    if amin <= 0:
        raise ValidationError(gettext("The minimum amount must be greater than zero."), "amount_min")
    if amax > MAX_AMOUNT:
        raise ValidationError(gettext("The maximum amount is too large."), "amount_max")
    if amin > amax:
        raise ValidationError(gettext("The minimum amount (%(min)s) must not exceed the maximum amount (%(max)s).",
                                      min=money(amin), max=money(amax)), "amount_min")
    tmin = _int(item.term_min, "term_min", gettext("Shortest term (months)"))
    tmax = _int(item.term_max, "term_max", gettext("Longest term (months)"))
    if tmin < 1:
        raise ValidationError(gettext("The shortest term must be at least 1 month."), "term_min")
    if tmax > MAX_TERM_MONTHS:
        raise ValidationError(gettext("The longest term must be at most %(max)s months.", max=MAX_TERM_MONTHS),
                              "term_max")
    if tmin > tmax:
        raise ValidationError(gettext("The shortest term (%(min)s months) must not exceed the longest term "
                                      "(%(max)s months).", min=tmin, max=tmax), "term_min")
    rmin = to_decimal(item.fee_rate_min, "fee_rate_min", gettext("Lowest fee rate"))
    rmax = to_decimal(item.fee_rate_max, "fee_rate_max", gettext("Highest fee rate"))
    for value, field in ((rmin, "fee_rate_min"), (rmax, "fee_rate_max")):
        if value < 0 or value > MAX_RATE:
            raise ValidationError(gettext("A fee rate is an annual ratio between 0 and 1 (0.02 means 2 percent)."),
                                  field)
        if value != value.quantize(Decimal("0.000001")):
            raise ValidationError(gettext("A fee rate has at most 6 decimal places."), field)
    if rmin > rmax:
        raise ValidationError(gettext("The lowest fee rate (%(min)s) must not exceed the highest fee rate "
                                      "(%(max)s).", min=percent(rmin), max=percent(rmax)), "fee_rate_min")
    item.counter_kinds = normalise_counter_kinds(item.counter_kinds)
    item.flow_code = (item.flow_code or "").strip() or None
    if item.flow_code is not None and item.flow_code not in dict(flow_choices()):
        raise ValidationError(gettext("There is no active approval flow with the code %(code)s.",
                                      code=item.flow_code[:50]), "flow_code")
    query = select(func.count()).select_from(Product).where(func.lower(Product.code) == item.code.lower())
    if item.id is not None:
        query = query.where(Product.id != item.id)
    if _session().execute(query).scalar():
        raise ValidationError(gettext("Another product has the code %(code)s.", code=item.code), "code")
    query = select(func.count()).select_from(Product).where(Product.name == item.name)
    if item.id is not None:
        query = query.where(Product.id != item.id)
    if _session().execute(query).scalar():
        raise ValidationError(gettext("Another product has the name %(name)s.", name=item.name), "name")


def check_product_unused(item: Product) -> None:
    """A product that guarantees name cannot be deleted (deactivate it instead)."""
    from models.business import Guarantee

    used = _session().execute(select(func.count()).select_from(Guarantee).where(Guarantee.product_id == item.id))
    if used.scalar():
        raise ValidationError(gettext("The product is used by guarantees and cannot be deleted; "
                                      "set it inactive instead."))


# --- an application's terms against its product ---------------------------------------------------

def check_terms(product: Product, amount, term_months, fee_rate) -> None:
    """Refuse an application whose amount, term or fee rate lies outside the product's ranges
    (the message names the range), or whose product is inactive."""
    if product is None:
        raise ValidationError(gettext("Choose a product."), "product")
    if not product.active:
        raise ValidationError(gettext("The product %(name)s is no longer offered.", name=product.name), "product")
    amount = to_decimal(amount, "amount", gettext("Guarantee amount"))
    if not product.amount_min <= amount <= product.amount_max:
        raise ValidationError(gettext(
            "The amount %(amount)s is outside the range of the product %(name)s: %(min)s to %(max)s.",
            amount=money(amount), name=product.name, min=money(product.amount_min), max=money(product.amount_max)),
            "amount")
    if isinstance(term_months, bool) or not isinstance(term_months, int):
        raise ValidationError(gettext("%(label)s must be a whole number.", label=gettext("Term (months)")),
                              "term_months")
    if not product.term_min <= term_months <= product.term_max:
        raise ValidationError(gettext(
            "The term of %(term)s months is outside the range of the product %(name)s: %(min)s to %(max)s months.",
            term=term_months, name=product.name, min=product.term_min, max=product.term_max), "term_months")
    fee_rate = to_decimal(fee_rate, "fee_rate", gettext("Fee rate"))
    if not product.fee_rate_min <= fee_rate <= product.fee_rate_max:
        raise ValidationError(gettext(
            "The fee rate %(rate)s is outside the range of the product %(name)s: %(min)s to %(max)s.",
            rate=percent(fee_rate), name=product.name, min=percent(product.fee_rate_min),
            max=percent(product.fee_rate_max)), "fee_rate")


def missing_counter_kinds(product: Product, kinds) -> list[str]:
    """The product's required counter-guarantee kinds that `kinds` (the application's measures) lack."""
    have = set(kinds or [])
    return [k for k in (product.counter_kinds or []) if k not in have]


def check_counter_kinds(product: Product, kinds) -> None:
    """Refuse an application lacking a counter-guarantee kind its product requires."""
    missing = missing_counter_kinds(product, kinds)
    if missing:
        raise ValidationError(gettext("The product %(name)s requires these counter-guarantee measures: %(kinds)s.",
                                      name=product.name, kinds=counter_kinds_text(missing)), "measures")


def active_products():
    return list(_session().execute(select(Product).where(Product.active.is_(True)).order_by(Product.code)).scalars())
