"""Credit limits (授信额度, RAT-3): proposal from the rating, approval, current limit, usage and the over-limit check.

Life of a limit (models/credit_limits.STATUSES):
  propose  → "pending": saved and submitted to the approval engine (kind "credit_limit"; default flow 风控专员
             then 总经理; the engine refuses the proposer at every step and one person at two steps)
  approved → "granted": the customer's current limit of that kind; the previous granted limit of the same
             kind (and product) becomes "superseded" and stays as history
  rejected → "rejected"; withdrawn by the proposer → "proposed" (can be submitted again)
  revoke   → "revoked" (risk management ends a granted limit early, with a reason)
  a granted limit whose valid_to is before the business date is not current ("expired"; expire_limits()
  writes the status, e.g. from the day-end, but nothing depends on that having run).

Amount: the customer's current approved rating proposes it through the grade's credit-limit rule
(app/services/rating.py, when present); the proposer may ask for less, never more. Without a rating
service or rule the amount typed by the proposer is taken and the basis says so.

Usage follows the line-usage rule of app/services/banks.py (the same rule the regulatory checks use): the
balance of the customer's guarantees in force plus the amount of applications past acceptance, all
status "active". A per-product limit counts only the guarantees of its product.

Like the other services this one never commits; the caller commits or rolls back.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, GuaranteeError, NotFound, ValidationError
from app.services.products import MAX_AMOUNT, money, to_decimal
from models.credit_limits import KINDS, STATUSES, CreditLimit

ZERO = Decimal("0.00")
APPROVAL_KIND = "credit_limit"
NUMBERING_KIND = "credit_limit"
NUMBERING_RULE = ("credit_limit", "授信编号", "SX", "yyyy", 5)
EXPIRING_DAYS = 30  # "expiring soon" on the list: granted limits ending within this many days
MAX_YEARS = 5  # a limit longer than five years is a typing mistake

KIND_LABELS = {"comprehensive": _l("Comprehensive limit"), "product": _l("Per-product limit")}
STATUS_LABELS = {"proposed": _l("Proposed"), "pending": _l("Under approval"), "granted": _l("Granted"),
                 "rejected": _l("Rejected"), "superseded": _l("Superseded"), "expired": _l("Expired"),
                 "revoked": _l("Revoked")}
assert set(KIND_LABELS) == set(KINDS) and set(STATUS_LABELS) == set(STATUSES)

# Default approval flow (administrators change it in the flow designer): the risk officer, then the
# general manager; the engine keeps the proposer out of both steps and one person out of two steps.
DEFAULT_FLOW = ("授信额度审批", [
    {"name": "风控审查", "mode": "single", "post_code": "RISK", "role": "风控专员"},
    {"name": "总经理审批", "mode": "single", "post_code": "GM", "role": "总经理"},
])


def _session():
    from app.extensions import db

    return db.session


def _today() -> date:
    from app.services import business_date

    return business_date.today()


def _approval():
    from app.services import approval

    return approval


# --- reference data and the approval kind ------------------------------------------------------------------

def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("CreditLimitView.page", pk=item.id)
    except RuntimeError:  # outside a request (CLI, Celery)
        return f"/creditlimit/page/{item.id}"


def approval_attributes(item) -> dict:
    product_code = None
    if item.product_id:
        product = _product(item.product_id)
        product_code = product.code if product is not None else None
    return {"amount": item.amount, "customer_grade": item.grade, "product_code": product_code}


def on_approval_decided(item, outcome: str, instance) -> None:
    """Called by the approval engine inside the deciding action's transaction."""
    if item is None:
        return
    if outcome == "approved":
        _grant(item)
    elif outcome == "rejected":
        item.status = "rejected"
        item.decided_on = _today()
    else:  # withdrawn by the proposer: back to a proposal that can be submitted again
        item.status = "proposed"


def register_approval_kind() -> None:
    """Tell the approval engine about credit limits (idempotent, no database access)."""
    _approval().register_kind(APPROVAL_KIND, label=_l("Credit limit"), model=CreditLimit,
                              attributes=approval_attributes, on_decided=on_approval_decided, url=approval_url)


register_approval_kind()  # the engine must know the kind wherever an approval of it is acted on


def ensure_reference() -> None:
    """The numbering rule and the default approval flow of credit limits (idempotent; reference data at every
    start calls it, and the first proposal does when the start did not)."""
    from models.system import NumberingRule

    session = _session()
    if session.execute(select(NumberingRule.id).where(NumberingRule.kind == NUMBERING_KIND).limit(1)).first() is None:
        kind, name, prefix, date_format, width = NUMBERING_RULE
        session.add(NumberingRule(kind=kind, name=name, prefix=prefix, date_format=date_format, seq_width=width))
        session.flush()
    register_approval_kind()
    _approval().ensure_default_flow(APPROVAL_KIND, *DEFAULT_FLOW)


# --- the rating (issue 6, RAT-2: app/services/rating.py of the rating module) -------------------------------

def _rating_service():
    try:
        from app.services import rating
    except ImportError:  # the rating module is not installed: amounts are typed
        return None
    return rating


def rating_proposal(customer_id) -> dict | None:
    """{"rating_id", "grade", "amount" (None: the grade's rule gives no amount), "valid_to"} from the customer's
    current approved rating, or None when the customer has none (or there is no rating module)."""
    rating = _rating_service()
    if rating is None:
        return None
    current = rating.current_rating(customer_id)
    if current is None or current.status != "approved":
        return None
    if current.valid_to is not None and current.valid_to < _today():
        return None  # an expired rating proposes nothing: the customer is due for re-rating
    try:
        amount = rating.proposed_limit(current)
    except GuaranteeError:  # the rule cannot give an amount: the proposer types it
        amount = None
    amount = Decimal(amount).quantize(ZERO) if amount is not None else None
    return {"rating_id": current.id, "grade": current.grade, "amount": amount, "valid_to": current.valid_to}


# --- reading ---------------------------------------------------------------------------------------------

def _product(product_id):
    try:
        from models.products import Product
    except ImportError:
        return None
    return _session().get(Product, product_id)


def get(limit_id, *, lock=False) -> CreditLimit:
    """The limit (404 when missing or outside the current user's data scope); `lock` takes the row lock."""
    from app.services.data_scope import ensure_visible

    pk = _int(limit_id, "id")
    query = select(CreditLimit).where(CreditLimit.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = _session().execute(query).scalar()
    if item is None:
        raise NotFound(gettext("The credit limit does not exist."))
    return ensure_visible(item)


def is_current(item: CreditLimit, on: date | None = None) -> bool:
    on = on or _today()
    return item.status == "granted" and item.valid_from <= on <= item.valid_to


def effective_status(item: CreditLimit, on: date | None = None) -> str:
    """The status as of the business date: a granted limit past its end is expired even before the day-end
    writes it."""
    on = on or _today()
    if item.status == "granted" and item.valid_to < on:
        return "expired"
    return item.status


def current_limit(customer_id, product_id=None, on: date | None = None) -> CreditLimit | None:
    """The customer's current granted limit (comprehensive, or of the product when `product_id` is given)."""
    on = on or _today()
    query = select(CreditLimit).where(
        CreditLimit.customer_id == customer_id, CreditLimit.status == "granted",
        CreditLimit.valid_from <= on, CreditLimit.valid_to >= on)
    if product_id is None:
        query = query.where(CreditLimit.kind == "comprehensive")
    else:
        query = query.where(CreditLimit.kind == "product", CreditLimit.product_id == product_id)
    return _session().execute(query.order_by(CreditLimit.granted_at.desc(), CreditLimit.id.desc())).scalars().first()


def used_amount(customer_id, product_id=None, exclude_guarantee_id=None) -> Decimal:
    """The customer's guarantees by the line-usage rule of app/services/banks.py (of one product when given)."""
    from app.services import banks

    Guarantee = banks.guarantee_model()
    query = select(func.coalesce(func.sum(banks.committed_amount_column(Guarantee)), 0)).where(
        Guarantee.customer_id == customer_id, *banks.committed_conditions(Guarantee, exclude_guarantee_id))
    if product_id is not None:
        query = query.where(Guarantee.product_id == product_id)
    return Decimal(_session().execute(query).scalar() or 0).quantize(ZERO)


def usage(customer_id, product_id=None, exclude_guarantee_id=None) -> dict:
    """{"limit", "used", "available", "item"}: limit and available are None when no limit is current."""
    item = current_limit(customer_id, product_id)
    used = used_amount(customer_id, product_id, exclude_guarantee_id)
    if item is None:
        return {"limit": None, "used": used, "available": None, "item": None}
    limit = Decimal(item.amount).quantize(ZERO)
    return {"limit": limit, "used": used, "available": limit - used, "item": item}


def figures_of(item: CreditLimit) -> dict | None:
    """usage() of the limit's customer when `item` is the current limit, else None (list columns)."""
    if item.id is None or not is_current(item):
        return None
    product_id = item.product_id if item.kind == "product" else None
    # A list row asks for "used" and "available": compute the customer's figures once per request.
    from flask import g, has_request_context

    cache = g.setdefault("_credit_limit_usage", {}) if has_request_context() else {}
    key = (item.customer_id, product_id)
    if key not in cache:
        cache[key] = usage(item.customer_id, product_id)
    figures = cache[key]
    return figures if figures["item"] is not None and figures["item"].id == item.id else None


def _check_one(figures, amount, customer_name, what):
    if figures["limit"] is not None and figures["used"] + amount > figures["limit"]:
        raise ValidationError(gettext(
            "The %(what)s of %(customer)s is not sufficient: limit %(limit)s, used %(used)s, available "
            "%(available)s, requested %(amount)s.", what=what, customer=customer_name,
            limit=money(figures["limit"]), used=money(figures["used"]), available=money(figures["available"]),
            amount=money(amount)), "amount")


def check_available(customer_id, amount, product_id=None, exclude_guarantee_id=None) -> dict:
    """Refuse (ValidationError with limit, used, available and requested) a new use of `amount` that the
    customer's current limits cannot carry: the comprehensive limit and, for `product_id`, the product's limit.
    `exclude_guarantee_id`: the application being checked, so that its own use is not counted twice.
    A customer without a current limit is not restricted here (the regulatory checks report it).
    Returns the comprehensive usage."""
    from models.customers import Customer

    amount = to_decimal(amount, "amount", gettext("Amount"))
    customer = _session().get(Customer, customer_id)
    if customer is None:
        raise NotFound(gettext("The customer does not exist."))
    figures = usage(customer_id, exclude_guarantee_id=exclude_guarantee_id)
    _check_one(figures, amount, customer.name, gettext("credit limit"))
    if product_id is not None:
        _check_one(usage(customer_id, product_id, exclude_guarantee_id), amount, customer.name,
                   gettext("product credit limit"))
    return figures


def compliance_limits(customer_id, amount, exclude_guarantee_id=None) -> list:
    """Source of app/services/compliance.CREDIT_LIMIT_SOURCES: [(name, used with `amount`, limit)]."""
    figures = usage(customer_id, exclude_guarantee_id=exclude_guarantee_id)
    if figures["limit"] is None:
        return []
    item = figures["item"]
    name = gettext("credit limit %(code)s (valid to %(end)s)", code=item.code, end=item.valid_to.isoformat())
    return [(name, figures["used"] + Decimal(amount or 0), figures["limit"])]


def history(customer_id) -> list[CreditLimit]:
    return list(_session().execute(select(CreditLimit).where(CreditLimit.customer_id == customer_id)
                                   .order_by(CreditLimit.id.desc())).scalars())


def expiring_before(on: date | None = None) -> date:
    """The last valid_to of the "expiring soon" filter."""
    return (on or _today()) + timedelta(days=EXPIRING_DAYS)


# --- input -----------------------------------------------------------------------------------------------

def _int(value, field):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise NotFound(gettext("The credit limit does not exist.")) if field == "id" else \
            ValidationError(gettext("Not a valid number."), field)
    return int(text)


def _date(value, field, label) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        raise ValidationError(gettext("%(label)s is required.", label=label), field)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(gettext("%(label)s is not a valid date (YYYY-MM-DD).", label=label), field) from None


def _text(value, limit, field, label):
    from views.api_support import storable

    text = str(value or "").strip()
    if len(text) > limit:
        raise ValidationError(gettext("%(label)s is too long (at most %(n)d characters).", label=label, n=limit),
                              field)
    if text and not storable(text):
        raise ValidationError(gettext("The text contains characters that cannot be stored."), field)
    return text or None


# --- proposing -------------------------------------------------------------------------------------------

def propose(data: dict, user_id: int, submit_now: bool = True) -> CreditLimit:
    """A new limit for a customer the user may see, submitted to the approval (unless `submit_now` is False).

    data: customer_id, amount (default: the rating's proposal), valid_from (default: the business date),
    valid_to (default: the rating's validity, else one year), kind ("comprehensive" | "product"), product_id,
    note."""
    from app.services import numbering
    from app.services.data_scope import ensure_visible
    from models.customers import Customer

    data = dict(data or {})
    ensure_reference()
    customer_id = _int(data.get("customer_id"), "customer_id") if data.get("customer_id") not in (None, "") else None
    if customer_id is None:
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Customer")), "customer_id")
    customer = _session().get(Customer, customer_id)
    if customer is None:
        raise ValidationError(gettext("The customer does not exist."), "customer_id")
    ensure_visible(customer)  # an account manager proposes for his own customers only
    if getattr(customer, "blacklisted", False):
        raise ValidationError(gettext("%(customer)s is on the blacklist: no credit limit can be proposed.",
                                      customer=customer.name), "customer_id")

    kind = str(data.get("kind") or "comprehensive")
    if kind not in KINDS:
        raise ValidationError(gettext("Choose the kind of limit."), "kind")
    product_id = None
    if kind == "product":
        if data.get("product_id") in (None, ""):
            raise ValidationError(gettext("A per-product limit needs a product."), "product_id")
        product_id = _int(data.get("product_id"), "product_id")
        if _product(product_id) is None:
            raise ValidationError(gettext("The product does not exist."), "product_id")

    today = _today()
    proposal = rating_proposal(customer.id)
    rule_amount = proposal["amount"] if proposal else None
    if data.get("amount") in (None, "") and rule_amount is not None:
        amount = rule_amount
    else:
        amount = to_decimal(data.get("amount"), "amount", gettext("Limit amount"))
    if amount <= 0:
        raise ValidationError(gettext("The limit amount must be greater than zero."), "amount")
    if amount > MAX_AMOUNT or amount != amount.quantize(ZERO):
        raise ValidationError(gettext("The limit amount is not a valid amount of yuan and fen."), "amount")
    if rule_amount is not None and amount > rule_amount:
        raise ValidationError(gettext(
            "The limit %(amount)s is above what grade %(grade)s allows: %(rule)s.", amount=money(amount),
            grade=proposal["grade"], rule=money(rule_amount)), "amount")

    valid_from = _date(data.get("valid_from") or today, "valid_from", gettext("Valid from"))
    default_to = (proposal or {}).get("valid_to") or _add_years(valid_from, 1) - timedelta(days=1)
    valid_to = _date(data.get("valid_to") or default_to, "valid_to", gettext("Valid to"))
    if valid_to < valid_from:
        raise ValidationError(gettext("The validity must not end (%(end)s) before it starts (%(start)s).",
                                      start=valid_from.isoformat(), end=valid_to.isoformat()), "valid_to")
    if valid_to < today:
        raise ValidationError(gettext("The validity ends (%(end)s) before the business date %(today)s.",
                                      end=valid_to.isoformat(), today=today.isoformat()), "valid_to")
    if valid_to > _add_years(valid_from, MAX_YEARS):
        raise ValidationError(gettext("A credit limit is valid for at most %(n)d years.", n=MAX_YEARS), "valid_to")

    if proposal is None:
        basis = gettext("Amount entered by the proposer (no approved rating).")
    elif rule_amount is None:
        basis = gettext("Grade %(grade)s; the grade's rule gives no amount: amount entered by the proposer.",
                        grade=proposal["grade"])
    else:
        basis = gettext("Grade %(grade)s: the grade's rule proposes %(rule)s.", grade=proposal["grade"],
                        rule=money(rule_amount))
    item = CreditLimit(
        code=numbering.next_number(NUMBERING_KIND), customer_id=customer.id, kind=kind, product_id=product_id,
        amount=amount, valid_from=valid_from, valid_to=valid_to, status="proposed",
        grade=(proposal or {}).get("grade"), rating_id=(proposal or {}).get("rating_id"), rule_amount=rule_amount,
        basis=basis[:500], proposed_by_id=user_id, note=_text(data.get("note"), 2000, "note", gettext("Note")))
    _session().add(item)
    _session().flush()
    if submit_now:
        submit(item.id, user_id, data.get("comment") or "")
    return item


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def submit(limit_id, user_id: int, comment: str = "") -> CreditLimit:
    """Send a proposed (or withdrawn) limit to the approval engine."""
    item = get(limit_id, lock=True)
    if item.status != "proposed":
        raise Conflict(gettext("Only a proposed credit limit can be submitted; this one is %(status)s.",
                               status=str(STATUS_LABELS[item.status])))
    if item.valid_to < _today():
        raise ValidationError(gettext("The validity ends (%(end)s) before the business date %(today)s.",
                                      end=item.valid_to.isoformat(), today=_today().isoformat()), "valid_to")
    ensure_reference()
    customer_name = item.customer.name if item.customer is not None else ""
    title = gettext("Credit limit %(code)s: %(customer)s %(amount)s", code=item.code, customer=customer_name,
                    amount=money(item.amount))
    _approval().submit(APPROVAL_KIND, item, user_id, comment=comment, title=title)
    item.status = "pending"
    _session().flush()
    return item


def _grant(item: CreditLimit) -> None:
    from models.customers import Customer

    # Grants of one customer are serialised on the customer's row: two limits approved at the same moment
    # end with the later one current and the earlier superseded, never two current limits.
    _session().execute(select(Customer.id).where(Customer.id == item.customer_id).with_for_update()).all()
    today = _today()
    item.status = "granted"
    item.granted_at = datetime.now()
    item.decided_on = today
    # The customer's earlier granted limits of the same kind (and product) end here; they stay as history.
    query = select(CreditLimit).where(
        CreditLimit.customer_id == item.customer_id, CreditLimit.kind == item.kind,
        CreditLimit.status == "granted", CreditLimit.id != item.id).with_for_update()
    if item.kind == "product":
        query = query.where(CreditLimit.product_id == item.product_id)
    for old in _session().execute(query).scalars():
        old.status = "superseded"
        old.superseded_by_id = item.id
        old.ended_on = today
        old.end_reason = gettext("Superseded by %(code)s", code=item.code)
    _session().flush()


def revoke(limit_id, user_id: int, reason: str) -> CreditLimit:
    """End a granted limit early (risk management), with a reason."""
    reason = _text(reason, 500, "reason", gettext("Reason"))
    if not reason:
        raise ValidationError(gettext("Give the reason for revoking the limit."), "reason")
    item = get(limit_id, lock=True)
    if item.status != "granted":
        raise Conflict(gettext("Only a granted credit limit can be revoked; this one is %(status)s.",
                               status=str(STATUS_LABELS[effective_status(item)])))
    item.status = "revoked"
    item.ended_on = _today()
    item.end_reason = reason
    _session().flush()
    return item


def expire_limits(on: date | None = None) -> int:
    """Write "expired" on granted limits whose validity ended before `on` (day-end); returns how many."""
    on = on or _today()
    rows = _session().execute(select(CreditLimit).where(CreditLimit.status == "granted", CreditLimit.valid_to < on)
                              .with_for_update()).scalars().all()
    for item in rows:
        item.status = "expired"
        item.ended_on = item.valid_to + timedelta(days=1)
        item.end_reason = gettext("Validity ended on %(end)s", end=item.valid_to.isoformat())
    _session().flush()
    return len(rows)


def _register_day_end_step() -> None:
    from app.services.dayend import dayend_step

    @dayend_step("credit_limit.expire", order=300, label=_l("Expire credit limits"))
    def expire_at_day_end(day):
        # the run closes `day` and moves the business date to the next day: limits ending on `day` end with it
        return expire_limits(day + timedelta(days=1))


_register_day_end_step()


def to_json(item: CreditLimit) -> dict:
    figures = figures_of(item)
    return {
        "id": item.id, "code": item.code, "customer_id": item.customer_id, "kind": item.kind,
        "product_id": item.product_id, "amount": str(item.amount), "valid_from": item.valid_from.isoformat(),
        "valid_to": item.valid_to.isoformat(), "status": effective_status(item), "grade": item.grade,
        "rating_id": item.rating_id, "rule_amount": str(item.rule_amount) if item.rule_amount is not None else None,
        "basis": item.basis, "proposed_by_id": item.proposed_by_id,
        "decided_on": item.decided_on.isoformat() if item.decided_on else None,
        "superseded_by_id": item.superseded_by_id, "ended_on": item.ended_on.isoformat() if item.ended_on else None,
        "end_reason": item.end_reason, "note": item.note,
        "used": str(figures["used"]) if figures else None,
        "available": str(figures["available"]) if figures else None,
    }


def usage_json(figures: dict) -> dict:
    return {k: (str(v) if v is not None else None) for k, v in figures.items() if k != "item"} | {
        "limit_id": figures["item"].id if figures.get("item") is not None else None}
