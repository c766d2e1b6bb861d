"""Release (解保 / 担保结算, POST-8): the bank confirms the loan is repaid and the guarantee ends.

    release(guarantee_id, data, user_id)   in force → released: balance 0, status "released" (so the bank line and
                                           the customer's credit limit, which count balances in force only, are
                                           freed), margin refund → ledger event margin_refunded, counter-guarantee
                                           and guarantee contracts end on the release date, collateral
                                           certificates queued for return, settlement statement kept
    settlement_statement(guarantee)        the figures of the statement (also shown before release)

The margin held is the customer's margin deposit: the value of the guarantee's 保证金 (deposit) counter-guarantee
measures. The guarantee row is locked and must be in force with no compensation or extension open.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import delete, func, select

from app.errors import Conflict, ValidationError
from app.services import compensation as csvc
from app.services import guarantees as gsvc
from models.business import CounterMeasure, FeeReceipt, FeeScheduleRow
from models.post_settlement import (
    Compensation, EarlyRepayment, Extension, GuaranteeRelease, RecoveryCase, RecoveryReceipt,
)

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")


def _session():
    from app.extensions import db

    return db.session


def margin_held(guarantee_id) -> Decimal:
    total = _session().execute(select(func.coalesce(func.sum(CounterMeasure.value), 0)).where(
        CounterMeasure.guarantee_id == guarantee_id, CounterMeasure.kind == "deposit")).scalar()
    return csvc.q(total or 0)


def _sum(column, *conditions) -> Decimal:
    return csvc.q(_session().execute(select(func.coalesce(func.sum(column), 0)).where(*conditions)).scalar() or 0)


def settlement_statement(guarantee) -> dict:
    """担保结算单: the guarantee's money from loan to release, as plain strings (kept as JSON at release)."""
    gid = guarantee.id
    fees_due = _sum(FeeScheduleRow.amount, FeeScheduleRow.guarantee_id == gid)
    fees_received = _sum(FeeReceipt.amount, FeeReceipt.guarantee_id == gid)
    paid = _sum(Compensation.paid_amount, Compensation.guarantee_id == gid, Compensation.status == "paid")
    recovered = _sum(RecoveryReceipt.amount, RecoveryReceipt.case_id.in_(
        select(RecoveryCase.id).where(RecoveryCase.guarantee_id == gid)))
    refunds = _sum(EarlyRepayment.fee_refund, EarlyRepayment.guarantee_id == gid)
    early = _sum(EarlyRepayment.amount, EarlyRepayment.guarantee_id == gid)
    extensions = _session().execute(select(func.count(Extension.id)).where(
        Extension.guarantee_id == gid, Extension.status == "approved")).scalar() or 0
    released = _session().execute(select(GuaranteeRelease).where(GuaranteeRelease.guarantee_id == gid)).scalar()
    held = margin_held(gid)

    def d(value):
        return value.isoformat() if value else ""

    return {
        "code": guarantee.code, "customer": guarantee.customer.name if guarantee.customer else "",
        "bank": guarantee.bank.name if guarantee.bank else "", "product": guarantee.product.name
        if guarantee.product else "", "loan_number": guarantee.loan_number or "",
        "amount": str(guarantee.amount), "loan_amount": str(guarantee.loan_amount or ZERO),
        "loan_date": d(guarantee.loan_date), "due_date": d(guarantee.due_date), "term_months": guarantee.term_months,
        "fee_rate": str(guarantee.fee_rate), "fees_due": str(fees_due), "fees_received": str(fees_received),
        "fees_unpaid": str(max(ZERO, fees_due - fees_received)), "fee_refunds": str(refunds),
        "early_repaid": str(early), "extensions": int(extensions), "compensation_paid": str(paid),
        "recovered": str(recovered), "compensation_outstanding": str(csvc.outstanding_by_guarantee(gid)),
        "margin_held": str(held), "margin_refund": str(released.margin_refund if released else held),
        "released_on": d(released.released_on) if released else "",
        "bank_confirmation": released.bank_confirmation if released else "",
    }


def _queue_certificates(guarantee_id, user_id) -> int:
    """Collateral certificates go back to their owners (the collateral register, when it is installed)."""
    try:
        from app.services import collateral
    except ImportError:
        return 0
    queue = getattr(collateral, "queue_certificates_for_return", None)
    return int(queue(guarantee_id, user_id) or 0) if queue is not None else 0


def _end_post_guarantee_work(guarantee_id, user_id) -> None:
    """A released guarantee needs no more inspections (the planned ones go), and the release settles its open
    warnings (resolved with a note, so the history stays)."""
    from app.services import warnings
    from models.post_guarantee import Inspection

    _session().execute(delete(Inspection).where(Inspection.guarantee_id == guarantee_id,
                                                Inspection.status == "scheduled"))
    for warning in warnings.open_warnings(guarantee_id=guarantee_id):
        warnings.resolve(warning.id, user_id, gettext("Closed by the release of the guarantee."))


def release(guarantee_id, data: dict, user_id) -> GuaranteeRelease:
    """解保: the bank confirmed repayment; everything the guarantee held is given back."""
    from app.services import ledger_events

    guarantee = gsvc._at(guarantee_id, "in_force")
    busy = _session().execute(select(Compensation.code).where(
        Compensation.guarantee_id == guarantee.id, Compensation.status.in_(csvc.OPEN_STATUSES))).scalar()
    if busy:
        raise Conflict(gettext("The compensation %(code)s of this guarantee is still open: finish it first.",
                               code=busy))
    if _session().execute(select(Extension.id).where(Extension.guarantee_id == guarantee.id,
                                                     Extension.status == "pending")).first():
        raise Conflict(gettext("An extension of this guarantee is in approval: wait for the decision."))
    confirmation = gsvc._text(data.get("bank_confirmation"), 60, "bank_confirmation",
                              gettext("Bank repayment confirmation no."), required=True)
    on = gsvc._date(data.get("released_on"), "released_on", gettext("Release date"), required=False) or csvc.today()
    if on > csvc.today():
        raise ValidationError(gettext("The release date cannot be after the business date."), "released_on")
    if guarantee.loan_date and on < guarantee.loan_date:
        raise ValidationError(gettext("The release date cannot be before the loan date."), "released_on")
    held = margin_held(guarantee.id)
    raw_refund = data.get("margin_refund")
    refund = held if raw_refund in (None, "") else gsvc._money(raw_refund, "margin_refund",
                                                               gettext("Margin refund"), positive=False)
    if refund < 0 or refund > held:
        raise ValidationError(gettext("The margin refund is between 0 and the margin held %(held)s.",
                                      held=csvc.money_text(held)), "margin_refund")
    record = GuaranteeRelease(guarantee_id=guarantee.id, released_on=on, bank_confirmation=confirmation,
                              margin_held=held, margin_refund=refund, released_by_id=user_id,
                              note=gsvc._text(data.get("note"), 1000, "note", gettext("Note")))
    _session().add(record)
    _session().flush()
    if refund > 0:
        account = csvc.bank_account_of(data.get("bank_account"))
        event = ledger_events.record_event(
            "margin_refunded", refund, on, "guarantee_release", str(guarantee.id), customer_id=guarantee.customer_id,
            project_code=guarantee.code, bank_account=account, summary=guarantee.code)
        record.event_id = event.id
    for contract in guarantee.contracts:  # the guarantee and its counter-guarantees end with the release
        if contract.end_date is None or contract.end_date > on:
            contract.end_date = on
    gsvc._history(guarantee, "released", user_id, confirmation, from_stage="in_force", to_stage="released")
    guarantee.stage, guarantee.status, guarantee.balance = "released", "released", ZERO
    from datetime import datetime

    guarantee.stage_changed_at = datetime.now()
    _session().flush()
    _end_post_guarantee_work(guarantee.id, user_id)
    record.certificates_queued = _queue_certificates(guarantee.id, user_id)
    record.statement = settlement_statement(guarantee)
    _session().flush()
    return record


def release_of(guarantee_id) -> GuaranteeRelease | None:
    return _session().execute(select(GuaranteeRelease).where(GuaranteeRelease.guarantee_id == guarantee_id)).scalar()
