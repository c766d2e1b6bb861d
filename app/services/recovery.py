"""Recovery (追偿, POST-6): getting a paid compensation back from the customer, the counter-guarantors or the
collateral.

    apply(data, user_id)                 a recovery case: plan and target for a paid compensation → approval
    record_receipt(case_id, data, user_id)   an amount recovered, by source, allocated to principal / interest /
                                         costs → ledger event recovery_received (one per receipt)
    log_legal_action(case_id, data, user_id) the legal-action log
    close(case_id, user_id, note)        the case ends; recovery_rate(case) = recovered / compensation paid

A receipt locks the compensation row (its recovered amount is the running total) and cannot exceed what is
still outstanding. Functions flush; the caller commits.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, NotFound, ValidationError
from app.services import compensation as csvc
from app.services import guarantees as gsvc
from models.post_settlement import Compensation, LegalAction, RecoveryCase, RecoveryReceipt

APPROVAL_KIND = "recovery"
ZERO = Decimal("0.00")
STATUS_LABELS = {"pending": _l("Under approval"), "approved": _l("Recovering"), "rejected": _l("Rejected"),
                 "withdrawn": _l("Withdrawn"), "closed": _l("Closed")}
SOURCES = {"cash": _l("Cash from the customer"), "counter_guarantor": _l("From a counter-guarantor"),
           "collateral": _l("From collateral disposal")}
LEGAL_KINDS = {"demand_letter": _l("Demand letter"), "lawsuit": _l("Lawsuit filed"),
               "preservation": _l("Property preservation"), "judgment": _l("Judgment"),
               "enforcement": _l("Enforcement"), "settlement": _l("Settlement agreement"), "other": _l("Other")}


def _session():
    from app.extensions import db

    return db.session


def register_approval_kind() -> None:
    from app.services import approval

    approval.register_kind(APPROVAL_KIND, label=_l("Recovery approval"), model=RecoveryCase,
                           attributes=lambda item: {"amount": item.target_amount}, on_decided=on_approval_decided,
                           url=approval_url)


def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("RecoveryView.page", pk=item.id)
    except RuntimeError:
        return f"/recovery/page/{item.id}"


def get(case_id, *, lock=False) -> RecoveryCase:
    from app.services.data_scope import ensure_visible

    pk = gsvc._id(case_id, "id", "id")
    query = select(RecoveryCase).where(RecoveryCase.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = _session().execute(query).scalar()
    if item is None:
        raise NotFound(gettext("The recovery case does not exist."))
    return ensure_visible(item)


def apply(data: dict, user_id) -> RecoveryCase:
    """A recovery plan for a paid compensation, sent to approval."""
    csvc.ensure_reference()
    comp = csvc.get(data.get("compensation_id"), lock=True)
    if comp.status != "paid":
        raise Conflict(gettext("Recovery starts after the compensation %(code)s has been paid.", code=comp.code))
    busy = _session().execute(select(RecoveryCase.code).where(
        RecoveryCase.compensation_id == comp.id, RecoveryCase.status.in_(("pending", "approved")))).scalar()
    if busy:
        raise Conflict(gettext("The compensation %(code)s already has an open recovery case %(case)s.",
                               code=comp.code, case=busy))
    outstanding = csvc.outstanding(comp)
    if outstanding <= 0:
        raise Conflict(gettext("Nothing is outstanding on the compensation %(code)s.", code=comp.code))
    target = gsvc._money(data.get("target_amount"), "target_amount", gettext("Target amount"), required=False) \
        or outstanding
    if target > outstanding:
        raise ValidationError(gettext("The target %(target)s exceeds the outstanding compensation %(amount)s.",
                                      target=csvc.money_text(target), amount=csvc.money_text(outstanding)),
                              "target_amount")
    case = RecoveryCase(code=csvc.next_code("recovery"), compensation_id=comp.id, guarantee_id=comp.guarantee_id,
                        customer_id=comp.customer_id, target_amount=target, status="pending",
                        plan=gsvc._text(data.get("plan"), 5000, "plan", gettext("Recovery plan"), required=True),
                        applied_by_id=user_id, applied_on=csvc.today())
    _session().add(case)
    _session().flush()
    from app.services import approval

    approval.submit(APPROVAL_KIND, case, user_id, str(data.get("comment") or ""),
                    title=gettext("Recovery %(code)s (%(comp)s)", code=case.code, comp=comp.code))
    return case


def on_approval_decided(item, outcome, instance=None):
    locked = _session().execute(select(RecoveryCase).where(RecoveryCase.id == item.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.status != "pending":
        raise Conflict(gettext("The recovery case %(code)s is not in approval.", code=locked.code))
    locked.status = {"approved": "approved", "rejected": "rejected", "withdrawn": "withdrawn"}[outcome]
    locked.decided_on = csvc.today()
    _session().flush()
    return locked


def record_receipt(case_id, data: dict, user_id) -> RecoveryReceipt:
    """An amount recovered: allocated to principal, interest and costs; a ledger event of its own."""
    from app.services import ledger_events

    case = get(case_id, lock=True)
    if case.status != "approved":
        raise Conflict(gettext("Amounts are recorded on an approved, open recovery case only."))
    source = csvc.choice(data.get("source"), SOURCES, "source", gettext("Source"))
    parts = {}
    for field, label in (("principal", gettext("Principal")), ("interest", gettext("Interest")),
                         ("costs", gettext("Costs and fees"))):
        value = gsvc._money(data.get(field) or "0", field, label, positive=False)
        if value < 0:
            raise ValidationError(gettext("%(label)s cannot be negative.", label=label), field)
        parts[field] = value
    amount = sum(parts.values(), ZERO)
    if amount <= 0:
        raise ValidationError(gettext("Allocate the amount recovered to principal, interest or costs."), "principal")
    on = gsvc._date(data.get("received_on"), "received_on", gettext("Date received"), required=False) or csvc.today()
    if on > csvc.today():
        raise ValidationError(gettext("The date received cannot be after the business date."), "received_on")
    comp = _session().execute(select(Compensation).where(Compensation.id == case.compensation_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()
    if comp.paid_on and on < comp.paid_on:
        raise ValidationError(gettext("The date received cannot be before the compensation was paid."), "received_on")
    account = csvc.bank_account_of(data.get("bank_account"))
    outstanding = csvc.outstanding(comp)
    if amount > outstanding:
        raise ValidationError(gettext("The amount %(amount)s exceeds the outstanding compensation %(outstanding)s.",
                                      amount=csvc.money_text(amount), outstanding=csvc.money_text(outstanding)),
                              "principal")
    receipt = RecoveryReceipt(case_id=case.id, received_on=on, source=source, amount=amount, recorded_by_id=user_id,
                              payer=gsvc._text(data.get("payer"), 200, "payer", gettext("Paid by")),
                              reference=gsvc._text(data.get("reference"), 60, "reference", gettext("Reference")),
                              note=gsvc._text(data.get("note"), 500, "note", gettext("Note")), **parts)
    _session().add(receipt)
    _session().flush()
    event = ledger_events.record_event(
        "recovery_received", amount, on, "recovery_receipt", str(receipt.id), customer_id=case.customer_id,
        project_code=case.guarantee.code if case.guarantee else None, bank_account=account, summary=case.code,
        details={**parts, "source": source})
    receipt.event_id = event.id
    comp.recovered_amount = csvc.q(Decimal(comp.recovered_amount or 0) + amount)
    _session().flush()
    return receipt


def log_legal_action(case_id, data: dict, user_id) -> LegalAction:
    case = get(case_id, lock=True)
    if case.status in ("rejected", "withdrawn"):
        raise Conflict(gettext("The recovery case %(code)s is closed without approval.", code=case.code))
    action_date = gsvc._date(data.get("action_date"), "action_date", gettext("Date"))
    if action_date > csvc.today():
        raise ValidationError(gettext("The date cannot be after the business date."), "action_date")
    entry = LegalAction(case_id=case.id, action_date=action_date, recorded_by_id=user_id,
                        kind=csvc.choice(data.get("kind"), LEGAL_KINDS, "kind", gettext("Legal step")),
                        court=gsvc._text(data.get("court"), 200, "court", gettext("Court")),
                        case_number=gsvc._text(data.get("case_number"), 60, "case_number", gettext("Case no.")),
                        description=gsvc._text(data.get("description"), 1000, "description", gettext("Description"),
                                               required=True))
    _session().add(entry)
    _session().flush()
    return entry


def close(case_id, user_id, note) -> RecoveryCase:
    case = get(case_id, lock=True)
    if case.status != "approved":
        raise Conflict(gettext("Only a recovery case in progress can be closed."))
    case.close_note = gsvc._text(note, 1000, "note", gettext("Closing note"), required=True)
    case.status, case.closed_on = "closed", csvc.today()
    _session().flush()
    return case


def recovered(case: RecoveryCase) -> Decimal:
    total = _session().execute(select(func.coalesce(func.sum(RecoveryReceipt.amount), 0)).where(
        RecoveryReceipt.case_id == case.id)).scalar()
    return csvc.q(total or 0)


def recovery_rate(case: RecoveryCase) -> Decimal | None:
    """Recovered on the case ÷ the compensation paid (4 decimals; None before payment)."""
    paid = Decimal(case.compensation.paid_amount or 0) if case.compensation else ZERO
    if paid <= 0:
        return None
    return (recovered(case) / paid).quantize(Decimal("0.0001"))


def allocation(case: RecoveryCase) -> dict:
    row = _session().execute(select(
        func.coalesce(func.sum(RecoveryReceipt.principal), 0), func.coalesce(func.sum(RecoveryReceipt.interest), 0),
        func.coalesce(func.sum(RecoveryReceipt.costs), 0)).where(RecoveryReceipt.case_id == case.id)).one()
    return {"principal": csvc.q(row[0]), "interest": csvc.q(row[1]), "costs": csvc.q(row[2])}


def to_json(case: RecoveryCase) -> dict:
    rate = recovery_rate(case)
    return {"id": case.id, "code": case.code, "compensation_id": case.compensation_id, "status": case.status,
            "target_amount": str(case.target_amount), "recovered": str(recovered(case)),
            "recovery_rate": str(rate) if rate is not None else None,
            "allocation": {k: str(v) for k, v in allocation(case).items()}}
