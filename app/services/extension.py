"""Extension (展期) and early repayment (提前还款), POST-9.

    apply(guarantee_id, data, user_id)   months more for a guarantee in force → approval engine (kind "extension");
                                         approved: due date and term move, the fee of the added months joins the
                                         fee schedule, the repayment plan is regenerated when one exists
    early_repayment(guarantee_id, data, user_id)   the bank reports a repayment before the due date: balance down,
                                         the plan recalculated (app/services/repayment_plans.generate_plan), the
                                         guarantee fee refunded by the product's rule (FeeRefundRule), a
                                         business event fee_refunded for the ledger
    fee_refund(guarantee, amount, on)    the refund the product's rule gives (amount, basis text)

Refund rule of a product: "none" (nothing back) or "pro_rata": guarantee fee received × repaid ÷ loan amount ×
days left ÷ days of the term × ratio, nothing when fewer than `min_days` days are left. Rounded half up to cents.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, NotFound, ValidationError
from app.services import compensation as csvc
from app.services import guarantees as gsvc
from models.business import FeeReceipt, FeeScheduleRow, Guarantee
from models.post_settlement import EarlyRepayment, Extension, FeeRefundRule

APPROVAL_KIND = "extension"
ZERO = Decimal("0.00")
STATUS_LABELS = {"pending": _l("Under approval"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                 "withdrawn": _l("Withdrawn")}
REFUND_METHODS = {"none": _l("No refund"), "pro_rata": _l("Unused part, pro rata")}
MAX_EXTENSION_MONTHS = 60
# The guarantee's repayment method (issue 4 dictionary) → the plan method of app/services/repayment_plans.py.
PLAN_METHOD_OF = {"lump_sum": "bullet", "equal_instalments": "annuity", "equal_principal": "equal_principal",
                  "interest_first": "interest_only"}


def _session():
    from app.extensions import db

    return db.session


def register_approval_kind() -> None:
    from app.services import approval

    approval.register_kind(APPROVAL_KIND, label=_l("Extension approval"), model=Extension,
                           attributes=lambda item: {"amount": item.guarantee.balance if item.guarantee else None},
                           on_decided=on_approval_decided, url=approval_url)


def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("SettlementView.page", pk=item.guarantee_id)
    except RuntimeError:
        return f"/settlement/page/{item.guarantee_id}"


def get(extension_id) -> Extension:
    from app.services.data_scope import ensure_visible

    item = _session().get(Extension, gsvc._id(extension_id, "id", "id"))
    if item is None:
        raise NotFound(gettext("The extension does not exist."))
    return ensure_visible(item)


def extension_fee(balance, rate, months) -> Decimal:
    return (Decimal(balance) * Decimal(rate) * months / 12).quantize(Decimal("0.01"), ROUND_HALF_UP)


def apply(guarantee_id, data: dict, user_id) -> Extension:
    """An extension application: months, fee rate (default the guarantee's), reason → approval."""
    csvc.ensure_reference()
    guarantee = gsvc._at(guarantee_id, "in_force")
    if guarantee.due_date is None:
        raise Conflict(gettext("The guarantee %(code)s has no due date to extend.", code=guarantee.code))
    if _session().execute(select(Extension.id).where(Extension.guarantee_id == guarantee.id,
                                                     Extension.status == "pending")).first():
        raise Conflict(gettext("An extension of this guarantee is already in approval."))
    months = gsvc._int(data.get("months"), "months", gettext("Extension months"))
    if months > MAX_EXTENSION_MONTHS:
        raise ValidationError(gettext("An extension is at most %(max)s months.", max=MAX_EXTENSION_MONTHS), "months")
    rate = gsvc._rate(data.get("fee_rate"), "fee_rate", gettext("Extension fee rate"), required=False) \
        or Decimal(guarantee.fee_rate)
    item = Extension(code=csvc.next_code("extension"), guarantee_id=guarantee.id, months=months,
                     old_due_date=guarantee.due_date, new_due_date=gsvc.add_months(guarantee.due_date, months),
                     fee_rate=rate, fee_amount=extension_fee(guarantee.balance or 0, rate, months),
                     reason=gsvc._text(data.get("reason"), 1000, "reason", gettext("Reason"), required=True),
                     status="pending", applied_by_id=user_id, applied_on=csvc.today())
    _session().add(item)
    _session().flush()
    gsvc._history(guarantee, "extension_applied", user_id, item.code)
    from app.services import approval

    approval.submit(APPROVAL_KIND, item, user_id, str(data.get("comment") or ""),
                    title=gettext("Extension %(code)s (%(guarantee)s)", code=item.code, guarantee=guarantee.code))
    return item


def on_approval_decided(item, outcome, instance=None):
    locked = _session().execute(select(Extension).where(Extension.id == item.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.status != "pending":
        raise Conflict(gettext("The extension %(code)s is not in approval.", code=locked.code))
    locked.decided_on = csvc.today()
    if outcome != "approved":
        locked.status = "rejected" if outcome == "rejected" else "withdrawn"
        _session().flush()
        return locked
    guarantee = _session().execute(select(Guarantee).where(Guarantee.id == locked.guarantee_id).with_for_update()
                                   .execution_options(populate_existing=True)).scalar_one()
    if not guarantee.in_force or guarantee.due_date != locked.old_due_date:
        raise Conflict(gettext("The guarantee %(code)s changed since the extension was applied for; apply again.",
                               code=guarantee.code))
    locked.status = "approved"
    guarantee.due_date = locked.new_due_date
    guarantee.term_months = guarantee.term_months + locked.months
    if locked.fee_amount > 0:  # the fee of the added months, due when the extension is granted
        _session().add(FeeScheduleRow(guarantee_id=guarantee.id, due_date=csvc.today(), fee_type="guarantee",
                                      amount=locked.fee_amount, period_from=locked.old_due_date,
                                      period_to=locked.new_due_date, received=ZERO))
    user_id = gsvc._deciding_user(instance)
    gsvc._history(guarantee, "extended", user_id, f"{locked.code} {locked.old_due_date} → {locked.new_due_date}")
    _regenerate_plan(guarantee, csvc.today(), None, None, user_id)
    _session().flush()
    return locked


# --- early repayment ---------------------------------------------------------------------------------------

def refund_rule(product_id) -> FeeRefundRule | None:
    return _session().execute(select(FeeRefundRule).where(FeeRefundRule.product_id == product_id)).scalar()


def validate_rule(rule: FeeRefundRule) -> None:
    if rule.method not in REFUND_METHODS:
        raise ValidationError(gettext("%(label)s: not a valid choice.", label=gettext("Refund method")), "method")
    ratio = Decimal(rule.ratio if rule.ratio is not None else 1)
    if ratio < 0 or ratio > 1:
        raise ValidationError(gettext("The refund ratio is between 0 and 1 (0.8 means 80 percent)."), "ratio")
    if rule.min_days is None or not 0 <= int(rule.min_days) <= 3650:
        raise ValidationError(gettext("The minimum days left are between 0 and 3650."), "min_days")
    if rule.product_id is None and rule.product is None:
        raise ValidationError(gettext("%(label)s is required.", label=gettext("Product")), "product")


def fee_refund(guarantee, amount, on: date) -> tuple[Decimal, str]:
    """(refund, basis) for repaying `amount` early on `on`, by the product's rule."""
    rule = refund_rule(guarantee.product_id)
    if rule is None or rule.method == "none":
        return ZERO, gettext("The product gives no fee refund on early repayment.")
    if not (guarantee.loan_date and guarantee.due_date and guarantee.loan_amount):
        return ZERO, gettext("The guarantee has no loan term to prorate.")
    days_total = (guarantee.due_date - guarantee.loan_date).days
    days_left = (guarantee.due_date - on).days
    if days_total <= 0 or days_left <= 0 or days_left < (rule.min_days or 0):
        return ZERO, gettext("Fewer days are left than the product's rule requires for a refund.")
    fee = csvc.q(_session().execute(select(func.coalesce(func.sum(FeeReceipt.amount), 0)).where(
        FeeReceipt.guarantee_id == guarantee.id, FeeReceipt.fee_type == "guarantee")).scalar() or 0)
    refund = (fee * Decimal(amount) / Decimal(guarantee.loan_amount) * days_left / days_total
              * Decimal(rule.ratio)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    basis = gettext("Guarantee fee received %(fee)s × repaid %(amount)s ÷ loan %(loan)s × %(left)s ÷ %(total)s days "
                    "× ratio %(ratio)s", fee=csvc.money_text(fee), amount=csvc.money_text(amount),
                    loan=csvc.money_text(guarantee.loan_amount), left=days_left, total=days_total,
                    ratio=f"{Decimal(rule.ratio).normalize():f}")
    return refund, basis


def _months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month + (1 if end.day > start.day else 0)
    return max(months, 1)


def _has_plan(guarantee_id) -> bool:
    try:
        from models.post_guarantee import RepaymentPlanRow as R
    except ImportError:
        return False
    return _session().execute(select(R.id).where(R.guarantee_id == guarantee_id, R.settled.is_(False))
                              .limit(1)).first() is not None


def _plan_method(guarantee) -> str:
    from models.post_guarantee import RepaymentPlanRow as R

    method = _session().execute(select(R.method).where(R.guarantee_id == guarantee.id, R.method != "imported")
                                .order_by(R.id.desc()).limit(1)).scalar()
    return method or PLAN_METHOD_OF.get(guarantee.repayment_method or "", "bullet")


def _regenerate_plan(guarantee, start: date, annual_rate, method, user_id) -> int:
    """Recalculate the unpaid plan over the remaining term (only when the guarantee has a plan)."""
    if not _has_plan(guarantee.id) or not guarantee.due_date:
        return 0
    from app.services import repayment_plans

    if Decimal(guarantee.balance or 0) <= 0:  # repaid in full: the unpaid instalments are void
        repayment_plans._write_rows(guarantee, [], _plan_method(guarantee), "generated")
        return 0

    if annual_rate is None:
        annual_rate = _plan_rate(guarantee)
    rows = repayment_plans.generate_plan(guarantee.id, method or _plan_method(guarantee), start=start,
                                         months=_months_between(start, guarantee.due_date),
                                         principal=Decimal(guarantee.balance), annual_rate=annual_rate,
                                         user_id=user_id)
    return len(rows)


def _plan_rate(guarantee) -> Decimal:
    """The loan rate implied by the first generated row (interest ÷ principal outstanding, per year)."""
    from models.post_guarantee import RepaymentPlanRow as R

    first = _session().execute(select(R).where(R.guarantee_id == guarantee.id).order_by(R.seq).limit(1)).scalar()
    loan = Decimal(guarantee.loan_amount or 0)
    if first is None or loan <= 0 or not guarantee.loan_date:
        return Decimal("0")
    days = max((first.due_date - guarantee.loan_date).days, 1)
    months = max(round(days / 30.4), 1)
    return (Decimal(first.interest) / loan * 12 / months).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def early_repayment(guarantee_id, data: dict, user_id) -> EarlyRepayment:
    """The bank reports an early repayment: balance, plan and fee refund follow."""
    guarantee = gsvc._at(guarantee_id, "in_force")
    amount = gsvc._money(data.get("amount"), "amount", gettext("Amount repaid"))
    balance = Decimal(guarantee.balance or 0)
    if amount > balance:
        raise ValidationError(gettext("The amount repaid %(amount)s exceeds the outstanding balance %(balance)s.",
                                      amount=csvc.money_text(amount), balance=csvc.money_text(balance)), "amount")
    on = gsvc._date(data.get("repaid_on"), "repaid_on", gettext("Repayment date"), required=False) or csvc.today()
    if on > csvc.today():
        raise ValidationError(gettext("The repayment date cannot be after the business date."), "repaid_on")
    if guarantee.loan_date and on < guarantee.loan_date:
        raise ValidationError(gettext("The repayment date cannot be before the loan date."), "repaid_on")
    if guarantee.due_date and on >= guarantee.due_date:
        raise ValidationError(gettext("A repayment on or after the due date is not early."), "repaid_on")
    rate = gsvc._rate(data.get("annual_rate"), "annual_rate", gettext("Loan annual rate"), required=False)
    method = data.get("method") or None
    if method is not None:
        from app.services import repayment_plans

        csvc.choice(method, repayment_plans.METHODS, "method", gettext("Repayment method"))
    refund, basis = fee_refund(guarantee, amount, on)
    guarantee.balance = balance - amount
    record = EarlyRepayment(guarantee_id=guarantee.id, repaid_on=on, amount=amount, balance_before=balance,
                            balance_after=guarantee.balance, fee_refund=refund, refund_basis=basis[:500],
                            recorded_by_id=user_id, note=gsvc._text(data.get("note"), 500, "note", gettext("Note")))
    _session().add(record)
    gsvc._history(guarantee, "early_repayment", user_id, f"{csvc.money_text(amount)}")
    _session().flush()
    if refund > 0:  # money paid back: finance's queue turns it into a voucher (Dr 担保费收入 / Cr 银行存款)
        from app.services import ledger_events

        ledger_events.record_event(
            "fee_refunded", refund, on, "early_repayment", str(record.id), customer_id=guarantee.customer_id,
            project_code=guarantee.code, summary=guarantee.code,
            bank_account=gsvc._text(data.get("bank_account"), 60, "bank_account", gettext("Company bank account")))
    record.plan_rows = _regenerate_plan(guarantee, on, rate, method, user_id)
    _session().flush()
    return record


def extensions_of(guarantee_id) -> list[Extension]:
    return list(_session().execute(select(Extension).where(Extension.guarantee_id == guarantee_id)
                                   .order_by(Extension.id)).scalars())


def early_repayments_of(guarantee_id) -> list[EarlyRepayment]:
    return list(_session().execute(select(EarlyRepayment).where(EarlyRepayment.guarantee_id == guarantee_id)
                                   .order_by(EarlyRepayment.id)).scalars())
