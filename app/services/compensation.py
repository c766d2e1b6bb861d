"""Compensation (代偿, POST-5): after the borrower defaults the bank demands payment from the company.

    apply(data, user_id)          the application: principal, interest and penalty demanded → approval engine
    pay(compensation_id, user_id, ...)   the approved amount is paid → ledger event compensation_paid
    outstanding_by_guarantee / outstanding_by_customer   compensation balance (paid − recovered)

The application locks the guarantee (in force, no other open compensation); payment locks the compensation
row and re-checks its status, so two cashiers pressing "pay" at once give one payment and one refusal. The
principal paid reduces the guarantee's balance, which frees the bank line and the customer's limit.
This module also seeds what the settlement modules share: numbering rules and the default approval flows of
"compensation", "recovery" and "extension" (ensure_reference, idempotent, called before each submission).
Functions flush; the caller commits.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, NotFound, ValidationError
from app.services import guarantees as gsvc
from models.post_settlement import Compensation

APPROVAL_KIND = "compensation"
ZERO = Decimal("0.00")
STATUS_LABELS = {"pending": _l("Under approval"), "approved": _l("Approved, to be paid"),
                 "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"), "paid": _l("Paid")}
OPEN_STATUSES = ("pending", "approved")

# kind, name, prefix, date part, width (system numbering rules, SYS-7)
NUMBERING_RULES = [
    ("compensation", "代偿编号", "DC", "yyyy", 5),
    ("recovery", "追偿编号", "ZC", "yyyy", 5),
    ("foreclosed_asset", "抵债资产编号", "DZ", "yyyy", 5),
    ("extension", "展期编号", "ZQ", "yyyy", 5),
]
# Default flows (the administrator changes them in the flow designer): risk review, then the general manager.
_RISK = {"name": "风控审核", "mode": "single", "post_code": "RISK", "role": "风控专员"}
_GM = {"name": "总经理审批", "mode": "single", "post_code": "GM", "role": "总经理"}
DEFAULT_FLOWS = {
    "compensation": ("代偿审批", [_RISK, _GM]),
    "recovery": ("追偿审批", [_RISK, _GM]),
    "extension": ("展期审批", [_RISK, _GM]),
}


def _session():
    from app.extensions import db

    return db.session


def today() -> date:
    from app.services import business_date

    return business_date.today()


def money_text(value) -> str:
    return gsvc.money_text(value)


def q(value) -> Decimal:
    from app.services.ledger import money

    return money(value)


# --- reference data shared by the settlement modules --------------------------------------------------------

_registered = False


def register_approval_kinds() -> None:
    """Tell the approval engine about compensation, recovery and extension (idempotent, no database access)."""
    global _registered
    if _registered:
        return
    from app.services import approval, extension, recovery

    approval.register_kind(APPROVAL_KIND, label=_l("Compensation approval"), model=Compensation,
                           attributes=approval_attributes, on_decided=on_approval_decided, url=approval_url)
    recovery.register_approval_kind()
    extension.register_approval_kind()
    _registered = True


def ensure_reference() -> None:
    """Numbering rules and default approval flows (idempotent; a few small queries)."""
    from app.services import approval
    from models.system import NumberingRule

    session = _session()
    have = set(session.execute(select(NumberingRule.kind)).scalars())
    for kind, name, prefix, date_format, width in NUMBERING_RULES:
        if kind not in have:
            session.add(NumberingRule(kind=kind, name=name, prefix=prefix, date_format=date_format, seq_width=width))
    session.flush()
    register_approval_kinds()
    for kind, (name, steps) in DEFAULT_FLOWS.items():
        approval.ensure_default_flow(kind, name, steps)
    session.flush()


def choice(value, choices, field, label, *, required=True):
    """guarantees._choice for input that may not be text (a JSON list or object is refused, not a crash)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(gettext("%(label)s: not a valid choice.", label=label), field)
    return gsvc._choice(value, choices, field, label, required=required)


def bank_account_of(value) -> str:
    """The company's bank account the money moved through (the voucher's 银行存款 line names it)."""
    return gsvc._text(value, 60, "bank_account", gettext("Company bank account"), required=True)


def next_code(kind: str) -> str:
    from app.services import numbering

    return numbering.next_number(kind)


# --- loading ------------------------------------------------------------------------------------------------

def get(compensation_id, *, lock=False) -> Compensation:
    """The compensation (404 when missing or outside the user's data scope)."""
    from app.services.data_scope import ensure_visible

    pk = gsvc._id(compensation_id, "id", "id")
    query = select(Compensation).where(Compensation.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = _session().execute(query).scalar()
    if item is None:
        raise NotFound(gettext("The compensation does not exist."))
    return ensure_visible(item)


def open_compensation(guarantee_id) -> Compensation | None:
    return _session().execute(select(Compensation).where(
        Compensation.guarantee_id == guarantee_id, Compensation.status.in_(OPEN_STATUSES))).scalars().first()


# --- apply --------------------------------------------------------------------------------------------------

def apply(data: dict, user_id) -> Compensation:
    """The bank's demand after default → a compensation application in approval."""
    ensure_reference()
    guarantee = gsvc._at(data.get("guarantee_id"), "in_force")
    if open_compensation(guarantee.id) is not None:
        raise Conflict(gettext("The guarantee %(code)s already has a compensation in approval or waiting for "
                               "payment.", code=guarantee.code))
    principal = gsvc._money(data.get("principal"), "principal", gettext("Principal demanded"))
    interest = gsvc._money(data.get("interest") or "0", "interest", gettext("Interest demanded"), positive=False)
    penalty = gsvc._money(data.get("penalty") or "0", "penalty", gettext("Penalty demanded"), positive=False)
    if interest < 0 or penalty < 0:
        raise ValidationError(gettext("Interest and penalty cannot be negative."), "interest")
    if principal > Decimal(guarantee.balance or 0):
        raise ValidationError(gettext("The principal demanded %(amount)s exceeds the guarantee's outstanding balance "
                                      "%(balance)s.", amount=money_text(principal),
                                      balance=money_text(guarantee.balance)), "principal")
    demand_date = gsvc._date(data.get("demand_date"), "demand_date", gettext("Demand date"))
    if demand_date > today():
        raise ValidationError(gettext("The demand date cannot be after the business date."), "demand_date")
    if guarantee.loan_date and demand_date < guarantee.loan_date:
        raise ValidationError(gettext("The demand date cannot be before the loan date."), "demand_date")
    item = Compensation(
        code=next_code("compensation"), guarantee_id=guarantee.id, customer_id=guarantee.customer_id,
        bank_id=guarantee.bank_id, demand_date=demand_date,
        demand_reference=gsvc._text(data.get("demand_reference"), 60, "demand_reference",
                                    gettext("Bank notice no.")),
        principal=principal, interest=interest, penalty=penalty, amount=principal + interest + penalty,
        reason=gsvc._text(data.get("reason"), 1000, "reason", gettext("Reason"), required=True),
        status="pending", applied_by_id=user_id, applied_on=today(), recovered_amount=ZERO)
    _session().add(item)
    _session().flush()
    gsvc._history(guarantee, "compensation_applied", user_id, item.code)
    from app.services import approval

    approval.submit(APPROVAL_KIND, item, user_id, str(data.get("comment") or ""),
                    title=gettext("Compensation %(code)s (%(guarantee)s)", code=item.code, guarantee=guarantee.code))
    return item


def approval_attributes(item) -> dict:
    return {"amount": item.amount, "product_code": item.guarantee.product.code if item.guarantee else None}


def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("CompensationView.page", pk=item.id)
    except RuntimeError:
        return f"/compensation/page/{item.id}"


def on_approval_decided(item, outcome, instance=None):
    """The engine's decision, inside its transaction."""
    locked = _session().execute(select(Compensation).where(Compensation.id == item.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.status != "pending":
        raise Conflict(gettext("The compensation %(code)s is not in approval.", code=locked.code))
    locked.status = {"approved": "approved", "rejected": "rejected", "withdrawn": "withdrawn"}[outcome]
    locked.decided_on = today()
    _session().flush()
    return locked


# --- pay ----------------------------------------------------------------------------------------------------

def pay(compensation_id, user_id, *, paid_on=None, amount=None, reference=None, bank_account=None) -> Compensation:
    """Pay the approved compensation to the bank: the ledger event, the guarantee's balance, the history."""
    from app.services import ledger_events

    item = get(compensation_id, lock=True)
    if item.status == "paid":
        raise Conflict(gettext("The compensation %(code)s has already been paid.", code=item.code))
    if item.status != "approved":
        raise Conflict(gettext("The compensation %(code)s is not approved: it cannot be paid.", code=item.code))
    on = gsvc._date(paid_on, "paid_on", gettext("Payment date"), required=False) or today()
    if on > today():
        raise ValidationError(gettext("The payment date cannot be after the business date."), "paid_on")
    if on < item.demand_date:
        raise ValidationError(gettext("The payment date cannot be before the demand date."), "paid_on")
    value = gsvc._money(amount, "amount", gettext("Amount paid"), required=False) or Decimal(item.amount)
    if value > item.amount:
        raise ValidationError(gettext("The amount paid %(paid)s exceeds the approved amount %(amount)s.",
                                      paid=money_text(value), amount=money_text(item.amount)), "amount")
    account = bank_account_of(bank_account)
    guarantee = gsvc.get(item.guarantee_id, lock=True)
    # What the bank was paid for the principal is no longer the company's liability to the bank.
    principal_paid = min(Decimal(item.principal), value)
    guarantee.balance = max(ZERO, Decimal(guarantee.balance or 0) - principal_paid)
    event = ledger_events.record_event(
        "compensation_paid", value, on, "compensation", str(item.id), customer_id=item.customer_id,
        project_code=guarantee.code, bank_account=account, summary=item.code,
        details={"principal": principal_paid, "interest": item.interest, "penalty": item.penalty})
    item.status, item.paid_on, item.paid_amount, item.paid_by_id = "paid", on, value, user_id
    item.payment_reference = gsvc._text(reference, 60, "reference", gettext("Payment reference"))
    item.event_id = event.id
    gsvc._history(guarantee, "compensation_paid", user_id, f"{item.code} {money_text(value)}")
    _session().flush()
    return item


# --- balances and history -----------------------------------------------------------------------------------

def outstanding(item: Compensation) -> Decimal:
    """Paid and not yet recovered (应收代偿款余额)."""
    if item.status != "paid":
        return ZERO
    return q(Decimal(item.paid_amount or 0) - Decimal(item.recovered_amount or 0))


def _outstanding_sum(*conditions) -> Decimal:
    total = _session().execute(select(func.coalesce(func.sum(Compensation.paid_amount - Compensation.recovered_amount),
                                                    0)).where(Compensation.status == "paid", *conditions)).scalar()
    return q(total or 0)


def outstanding_by_guarantee(guarantee_id) -> Decimal:
    return _outstanding_sum(Compensation.guarantee_id == guarantee_id)


def outstanding_by_customer(customer_id) -> Decimal:
    return _outstanding_sum(Compensation.customer_id == customer_id)


def paid_by_guarantee(guarantee_id) -> Decimal:
    total = _session().execute(select(func.coalesce(func.sum(Compensation.paid_amount), 0)).where(
        Compensation.guarantee_id == guarantee_id, Compensation.status == "paid")).scalar()
    return q(total or 0)


def history(guarantee_id) -> list[Compensation]:
    return list(_session().execute(select(Compensation).where(Compensation.guarantee_id == guarantee_id)
                                   .order_by(Compensation.id)).scalars())


def to_json(item: Compensation) -> dict:
    return {"id": item.id, "code": item.code, "guarantee_id": item.guarantee_id, "customer_id": item.customer_id,
            "status": item.status, "demand_date": item.demand_date.isoformat() if item.demand_date else None,
            "principal": str(item.principal), "interest": str(item.interest), "penalty": str(item.penalty),
            "amount": str(item.amount), "paid_amount": str(item.paid_amount) if item.paid_amount is not None else None,
            "paid_on": item.paid_on.isoformat() if item.paid_on else None, "event_id": item.event_id,
            "recovered_amount": str(item.recovered_amount), "outstanding": str(outstanding(item))}


# --- demo data ----------------------------------------------------------------------------------------------

def _approve_all(kind, obj_id) -> None:
    """Approve every step of an open approval with the first assignee of each step (demo data only)."""
    from app.services import approval
    from models.approval import ApprovalTask

    for _ in range(10):
        instance = approval.open_instance(kind, obj_id)
        if instance is None:
            return
        task = _session().execute(select(ApprovalTask).where(ApprovalTask.instance_id == instance.id,
                                                             ApprovalTask.status == "open")
                                  .order_by(ApprovalTask.id).limit(1)).scalar()
        if task is None:
            return
        approval.act(instance.id, task.assignee_id, "approve", "同意")


def load_demo_settlement(users: dict) -> dict:
    """Demo (once): a compensation paid with a recovery under way, an extension in approval and a released
    guarantee, each made by the real services and approval engine as the demo users."""
    from app.services import extension, recovery, release
    from models.business import Guarantee

    session = _session()
    if session.execute(select(Compensation.id).limit(1)).first() is not None:
        return {}
    manager, cashier = users.get("manager1"), users.get("cashier")
    if manager is None or cashier is None:
        return {}
    day = today()
    in_force = session.execute(select(Guarantee).where(
        Guarantee.stage == "in_force", Guarantee.status == "active", Guarantee.balance > 0,
        Guarantee.loan_date <= day, Guarantee.due_date > day).order_by(Guarantee.id).limit(3)).scalars().all()
    if len(in_force) < 3:
        return {}
    defaulted, extended, repaid = in_force
    ensure_reference()
    principal = q(Decimal(defaulted.balance) / 2)
    comp = apply({"guarantee_id": defaulted.id, "demand_date": day.isoformat(), "principal": str(principal),
                  "interest": str(q(principal * Decimal("0.02"))), "demand_reference": "演示代偿通知",
                  "reason": "借款人逾期超过90天，银行书面要求履行担保责任"}, manager.id)
    _approve_all(APPROVAL_KIND, comp.id)
    pay(comp.id, cashier.id, reference="演示付款", bank_account="工行基本户")
    case = recovery.apply({"compensation_id": comp.id, "plan": "与借款人协商分期归还；向反担保人追偿；必要时起诉"},
                          manager.id)
    _approve_all(recovery.APPROVAL_KIND, case.id)
    recovery.record_receipt(case.id, {"source": "cash", "principal": str(q(principal / 5)), "payer": "借款人",
                                      "bank_account": "工行基本户"}, cashier.id)
    recovery.log_legal_action(case.id, {"action_date": day.isoformat(), "kind": "demand_letter",
                                        "description": "向借款人及反担保人发出催收函"}, manager.id)
    extension.apply(extended.id, {"months": "6", "reason": "项目回款周期延长"}, manager.id)
    release.release(repaid.id, {"bank_confirmation": "演示还款确认", "bank_account": "工行基本户"}, cashier.id)
    session.commit()  # like the other demo loaders: load_demo itself does not commit
    return {"compensations": 1, "extensions": 1, "released": 1}
