"""Cooperating banks (合作银行, BIZ-2): the bank record, its credit line usage and the line check.

Line usage rule (documented for the business): what a bank's line carries is
  * the outstanding `balance` of every guarantee in force at the bank (stage "in_force", status "active"), plus
  * the `amount` of every application still in progress at the bank that has passed acceptance (stages
    "intention" to "loan_confirmation", status "active"): after the acceptance approval the company has
    committed to the bank's line, so two applications accepted in the same week cannot both use the last
    free part of it.
Drafts, applications under investigation or awaiting acceptance, rejected, withdrawn and released ones use
nothing. The same rule measures a customer's exposure for the regulatory checks (app/services/compliance.py).
"""
from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import case, func, or_, select

from app.errors import ValidationError
from app.services.products import CODE, MAX_AMOUNT, money, to_decimal
from models.products import CooperatingBank

ZERO = Decimal("0.00")
# Stages of an application that has passed acceptance but is not in force yet (models/business.py STAGES).
COMMITTED_STAGES = ("intention", "review", "risk", "committee", "confirmation", "fee_registration", "contract",
                    "fee_collection", "loan_notice", "loan_confirmation")
IN_FORCE_STAGE = "in_force"


def _session():
    from app.extensions import db

    return db.session


def _today() -> date:
    from app.services import business_date

    return business_date.today()


def guarantee_model():
    """models.business.Guarantee, imported when used (the business domain sits on top of this one)."""
    from models.business import Guarantee

    return Guarantee


# --- the bank record ---------------------------------------------------------------------------------

def validate_bank(item: CooperatingBank) -> None:
    with _session().no_autoflush:
        _validate_bank(item)


def _ratio(value, field, label):
    value = to_decimal(value, field, label)
    if value < 0 or value > 1:
        raise ValidationError(gettext("%(label)s is a ratio between 0 and 1 (0.2 means 20 percent).", label=label),
                              field)
    if value != value.quantize(Decimal("0.000001")):
        raise ValidationError(gettext("%(label)s has at most 6 decimal places.", label=label), field)
    return value


def _validate_bank(item: CooperatingBank) -> None:
    item.code = (item.code or "").strip()
    item.name = (item.name or "").strip()
    if not CODE.fullmatch(item.code):
        raise ValidationError(gettext("The bank code must be 1 to 30 letters, digits, '-' or '_'."), "code")
    if not item.name:
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Bank name")), "name")
    total = to_decimal(item.total_line, "total_line", gettext("Total credit line"))
    cap = to_decimal(item.single_cap, "single_cap", gettext("Single-loan cap"))
    if total <= 0:
        raise ValidationError(gettext("The total credit line must be greater than zero."), "total_line")
    if total > MAX_AMOUNT:
        raise ValidationError(gettext("The total credit line is too large."), "total_line")
    if cap <= 0:
        raise ValidationError(gettext("The single-loan cap must be greater than zero."), "single_cap")
    if cap > total:
        raise ValidationError(gettext("The single-loan cap (%(cap)s) must not exceed the total credit line "
                                      "(%(total)s).", cap=money(cap), total=money(total)), "single_cap")
    item.margin_ratio = _ratio(item.margin_ratio if item.margin_ratio is not None else 0, "margin_ratio",
                               gettext("Margin ratio"))
    item.risk_share_ratio = _ratio(item.risk_share_ratio if item.risk_share_ratio is not None else 0,
                                   "risk_share_ratio", gettext("Risk-sharing ratio"))
    if not isinstance(item.valid_from, date):
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Valid from")), "valid_from")
    if not isinstance(item.valid_to, date):
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Valid to")), "valid_to")
    if item.valid_from > item.valid_to:
        raise ValidationError(gettext("The validity must not end (%(end)s) before it starts (%(start)s).",
                                      start=item.valid_from.isoformat(), end=item.valid_to.isoformat()), "valid_to")
    for column, field, label in ((CooperatingBank.code, "code", gettext("Bank code")),
                                 (CooperatingBank.name, "name", gettext("Bank name"))):
        query = select(func.count()).select_from(CooperatingBank).where(
            func.lower(column) == getattr(item, field).lower())
        if item.id is not None:
            query = query.where(CooperatingBank.id != item.id)
        if _session().execute(query).scalar():
            raise ValidationError(gettext("Another bank has the same %(label)s: %(value)s.", label=label,
                                          value=getattr(item, field)), field)


def check_bank_unused(item: CooperatingBank) -> None:
    Guarantee = guarantee_model()
    used = _session().execute(select(func.count()).select_from(Guarantee).where(Guarantee.bank_id == item.id))
    if used.scalar():
        raise ValidationError(gettext("The bank is used by guarantees and cannot be deleted; "
                                      "set it inactive instead."))


# --- line usage ----------------------------------------------------------------------------------------

def committed_amount_column(Guarantee):
    """What one guarantee row uses of a line (or of a customer's exposure), as a SQL expression:
    the balance in force, the amount of an application past acceptance, else nothing."""
    return case(
        (Guarantee.stage == IN_FORCE_STAGE, func.coalesce(Guarantee.balance, 0)),
        else_=Guarantee.amount,
    )


def committed_conditions(Guarantee, exclude_guarantee_id=None) -> list:
    """Rows that use a line: active and in force, or active and past acceptance."""
    conditions = [Guarantee.status == "active",
                  or_(Guarantee.stage == IN_FORCE_STAGE, Guarantee.stage.in_(COMMITTED_STAGES))]
    if exclude_guarantee_id is not None:
        conditions.append(Guarantee.id != exclude_guarantee_id)
    return conditions


def usage_by_bank(bank_ids, exclude_guarantee_id=None) -> dict[int, dict]:
    """{bank_id: {"in_force": Decimal, "pending": Decimal}} for many banks in one query (the bank list)."""
    bank_ids = [b for b in bank_ids if b is not None]
    result = {b: {"in_force": ZERO, "pending": ZERO} for b in bank_ids}
    if not bank_ids:
        return result
    Guarantee = guarantee_model()
    in_force = func.sum(case((Guarantee.stage == IN_FORCE_STAGE, func.coalesce(Guarantee.balance, 0)), else_=0))
    pending = func.sum(case((Guarantee.stage.in_(COMMITTED_STAGES), Guarantee.amount), else_=0))
    query = (select(Guarantee.bank_id, in_force, pending)
             .where(Guarantee.bank_id.in_(bank_ids), *committed_conditions(Guarantee, exclude_guarantee_id))
             .group_by(Guarantee.bank_id))
    for bank_id, used_in_force, used_pending in _session().execute(query):
        result[bank_id] = {"in_force": Decimal(used_in_force or 0).quantize(ZERO),
                           "pending": Decimal(used_pending or 0).quantize(ZERO)}
    return result


def line_usage(bank: CooperatingBank, exclude_guarantee_id=None) -> dict:
    """{"total", "used", "available", "in_force", "pending"} of a bank's credit line (Decimal yuan).
    `available` is negative when a line was cut below what it already carries."""
    parts = usage_by_bank([bank.id], exclude_guarantee_id)[bank.id]
    total = Decimal(bank.total_line or 0).quantize(ZERO)
    used = parts["in_force"] + parts["pending"]
    return {"total": total, "used": used, "available": total - used, **parts}


def cached_usage(bank: CooperatingBank) -> dict:
    """line_usage() of a bank, computed for every bank at once and kept for the request (bank lists and
    their exports show the usage of each row)."""
    from flask import g, has_request_context

    if bank.id is None:
        total = Decimal(bank.total_line or 0)
        return {"total": total, "used": ZERO, "available": total, "in_force": ZERO, "pending": ZERO}
    if not has_request_context():
        return line_usage(bank)
    cache = g.setdefault("_bank_usage", {})
    if bank.id not in cache:
        ids = list(_session().execute(select(CooperatingBank.id)).scalars())
        cache.update(usage_by_bank(ids if bank.id in ids else [*ids, bank.id]))
    parts = cache[bank.id]
    total = Decimal(bank.total_line or 0).quantize(ZERO)
    used = parts["in_force"] + parts["pending"]
    return {"total": total, "used": used, "available": total - used, **parts}


def is_valid_on(bank: CooperatingBank, day: date) -> bool:
    return bool(bank.active) and bank.valid_from <= day <= bank.valid_to


def check_line(bank: CooperatingBank, amount, exclude_guarantee_id=None) -> dict:
    """Refuse a guarantee of `amount` at `bank` when the bank is inactive or outside its validity, the amount
    is above the single-loan cap, or the line's available part is smaller (the message gives the figures).
    `exclude_guarantee_id`: the application being checked, so that its own use is not counted twice.
    Returns the usage when the guarantee fits."""
    if bank is None:
        raise ValidationError(gettext("Choose a cooperating bank."), "bank")
    amount = Decimal(amount or 0)
    today = _today()
    if not bank.active:
        raise ValidationError(gettext("The cooperation with %(bank)s is not active.", bank=bank.name), "bank")
    if not bank.valid_from <= today <= bank.valid_to:
        raise ValidationError(gettext(
            "The cooperation with %(bank)s is valid from %(start)s to %(end)s; the business date is %(today)s.",
            bank=bank.name, start=bank.valid_from.isoformat(), end=bank.valid_to.isoformat(),
            today=today.isoformat()), "bank")
    if amount > bank.single_cap:
        raise ValidationError(gettext(
            "The amount %(amount)s exceeds the single-loan cap of %(bank)s: %(cap)s.",
            amount=money(amount), bank=bank.name, cap=money(bank.single_cap)), "amount")
    usage = line_usage(bank, exclude_guarantee_id)
    if amount > usage["available"]:
        raise ValidationError(gettext(
            "The credit line of %(bank)s is not sufficient: total %(total)s, used %(used)s, available %(available)s, "
            "requested %(amount)s.", bank=bank.name, total=money(usage["total"]), used=money(usage["used"]),
            available=money(usage["available"]), amount=money(amount)), "amount")
    return usage


def active_banks(day: date | None = None):
    day = day or _today()
    return list(_session().execute(
        select(CooperatingBank).where(CooperatingBank.active.is_(True), CooperatingBank.valid_from <= day,
                                      CooperatingBank.valid_to >= day).order_by(CooperatingBank.code)).scalars())
