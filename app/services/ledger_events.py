"""Business financial events (GL-2, 复核管理): other modules tell finance that money moved; finance
reviews each event in a queue and approving it makes one voucher from the voucher template of its kind.

    record_event("fee_received", Decimal("12000.00"), day, "guarantee", str(guarantee.id), customer_id=...)

is idempotent per (source_type, source_id, kind): calling it again returns the event already recorded.
Approving locks the event row and re-checks its status; the voucher id is unique on the event, so an
event becomes exactly one voucher even when two people approve it at the same moment. Functions flush;
the caller commits.
"""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, ValidationError
from app.services import ledger, settings
from models.ledger import BusinessEvent, VoucherTemplate

EVENT_KINDS = {
    "fee_received": _l("Guarantee fee received"),
    "margin_received": _l("Margin received"),
    "margin_refunded": _l("Margin refunded"),
    "fee_refunded": _l("Guarantee fee refunded"),  # issue 7 (POST-9): the product's refund on early repayment
    "compensation_paid": _l("Compensation paid"),
    "recovery_received": _l("Recovery received"),
    "foreclosed_asset_disposal": _l("Foreclosed asset disposed"),
    "foreclosed_asset_received": _l("Foreclosed asset received"),  # issue 7: asset taken against a compensation
    "staff_borrowing": _l("Staff borrowing"),
    "staff_reimbursement": _l("Staff reimbursement"),
    # issue 9 (OA-1): a reimbursement that settles an open borrowing, and a borrowing paid back in money
    "staff_borrowing_offset": _l("Borrowing settled by reimbursement"),
    "staff_repayment": _l("Staff borrowing repaid"),
}
EVENT_STATUSES = {"pending": _l("Pending review"), "vouchered": _l("Vouchered"), "rejected": _l("Returned")}
SUMMARY_FIELDS = ("customer", "project", "summary", "source")


def _session():
    from app.extensions import db

    return db.session


def record_event(kind, amount, event_date, source_type, source_id, *, customer_id=None, department_id=None,
                 project_code=None, bank_account=None, summary=None, details=None) -> BusinessEvent:
    """Put an event into finance's review queue (once per source and kind). The caller commits."""
    session = _session()
    if kind not in EVENT_KINDS:
        raise ValidationError(gettext("Unknown business event kind: %(kind)s", kind=kind), "kind")
    value = ledger.money(amount)
    if value <= 0:
        raise ValidationError(gettext("The event amount must be greater than zero."), "amount")
    if not isinstance(event_date, date):
        raise ValidationError(gettext("The event date is required."), "event_date")
    source_type, source_id = ledger._clean_text(source_type, 30), ledger._clean_text(source_id, 40)
    project_code, bank_account = ledger._clean_text(project_code, 40), ledger._clean_text(bank_account, 60)
    summary = ledger._clean_text(summary, 200)
    if not source_type or not source_id:
        raise ValidationError(gettext("The event's source is required."), "source_id")
    clean_details = {}
    for key, raw in (details or {}).items():
        clean_details[str(key)[:30]] = str(ledger.money(raw)) if isinstance(raw, (int, float, Decimal)) else raw

    def existing():
        return session.execute(select(BusinessEvent).where(
            BusinessEvent.source_type == source_type, BusinessEvent.source_id == source_id,
            BusinessEvent.kind == kind)).scalar()

    found = existing()
    if found is not None:
        return found
    event = BusinessEvent(kind=kind, amount=value, event_date=event_date, source_type=source_type,
                          source_id=source_id, customer_id=customer_id, department_id=department_id,
                          project_code=project_code, bank_account=bank_account, summary=summary,
                          details=clean_details or None, status="pending")
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:  # recorded meanwhile by a concurrent call
        found = existing()
        if found is None:
            raise
        return found
    return event


def _lock_event(event_id) -> BusinessEvent:
    if not ledger._valid_id(event_id):
        raise NotFound(gettext("The business event does not exist."))
    event = _session().execute(select(BusinessEvent).where(BusinessEvent.id == event_id).with_for_update()
                               .execution_options(populate_existing=True)).scalar()
    if event is None:
        raise NotFound(gettext("The business event does not exist."))
    return event


def _refuse_unless_pending(event):
    if event.status == "vouchered":
        raise Conflict(gettext("This event has already been reviewed into a voucher."))
    if event.status == "rejected":
        raise Conflict(gettext("This event has already been rejected."))


class _Blank(dict):
    def __missing__(self, key):
        return ""


def _fill(text, event) -> str:
    values = _Blank(customer=event.customer.name if event.customer is not None else "",
                    project=event.project_code or "", summary=event.summary or "", source=event.source_id)
    try:
        return (text or "").format_map(values).strip()[:200]
    except (ValueError, IndexError, AttributeError):
        return (text or "").strip()[:200]


def event_amount(event, field) -> Decimal:
    if field in (None, "", "amount"):
        return Decimal(event.amount)
    raw = (event.details or {}).get(field)
    return ledger.money(raw) if raw not in (None, "") else Decimal("0.00")


def template_lines(event, template) -> list[dict]:
    """The voucher lines a template makes of an event; auxiliary values are copied where the account keeps them."""
    lines = []
    for tline in template.lines:
        amount = event_amount(event, tline.amount_field)
        if amount == 0:
            continue
        account = tline.account
        line = {"account_id": account.id, "summary": _fill(tline.summary or template.summary, event) or
                _fill(template.summary, event) or str(EVENT_KINDS.get(event.kind, event.kind)),
                "debit": amount if tline.side == "debit" else 0, "credit": amount if tline.side == "credit" else 0}
        if account.aux_customer or event.customer_id:
            line["customer_id"] = event.customer_id
        if account.aux_department or event.department_id:
            line["department_id"] = event.department_id
        if account.aux_project or event.project_code:
            line["project_code"] = event.project_code
        if account.aux_bank or account.is_cash:
            line["bank_account"] = event.bank_account or settings.get("gl_default_bank_account") or None
        lines.append(line)
    return lines


def approve_event(event_id, user_id=None):
    """Review an event into its voucher (a draft made by the reviewer, numbered like any other)."""
    user_id = ledger._actor_id(user_id)
    event = _lock_event(event_id)
    _refuse_unless_pending(event)
    template = _session().execute(select(VoucherTemplate).where(VoucherTemplate.event_kind == event.kind)).scalar()
    if template is None or not template.enabled:
        raise ValidationError(gettext("No enabled voucher template exists for %(kind)s.",
                                      kind=EVENT_KINDS.get(event.kind, event.kind)))
    try:
        voucher = ledger.create_voucher(event.event_date, template_lines(event, template),
                                        voucher_type=template.voucher_type, summary=_fill(template.summary, event),
                                        maker_id=user_id, source="event")
    except ValidationError as ex:
        raise ValidationError(gettext("The voucher template %(name)s does not fit this event: %(message)s",
                                      name=template.name, message=ex.message)) from None
    event.status, event.voucher_id = "vouchered", voucher.id
    event.reviewed_by_id, event.reviewed_at = user_id, datetime.now()
    ledger._flush()
    return voucher


def reject_event(event_id, reason, user_id=None) -> BusinessEvent:
    user_id = ledger._actor_id(user_id)
    event = _lock_event(event_id)
    _refuse_unless_pending(event)
    reason = ledger._clean_text(reason if isinstance(reason, str) else None, 200)
    if not reason:
        raise ValidationError(gettext("Give the reason for rejecting the event."), "reason")
    event.status, event.reject_reason = "rejected", reason[:200]
    event.reviewed_by_id, event.reviewed_at = user_id, datetime.now()
    ledger._flush()
    return event


def validate_template(item) -> None:
    """A template names a known event kind and voucher type; its lines use leaf accounts, both sides appear,
    and amount fields are "amount" or a details key."""
    if item.event_kind not in EVENT_KINDS:
        raise ValidationError(gettext("Unknown business event kind: %(kind)s", kind=item.event_kind), "event_kind")
    if item.voucher_type not in ("ji", "shou", "fu", "zhuan"):
        raise ValidationError(gettext("Unknown voucher type."), "voucher_type")
    item.summary = (item.summary or "").strip() or None
    try:
        (item.summary or "").format_map(_Blank())
    except (ValueError, IndexError):
        raise ValidationError(gettext("The summary may use {customer}, {project}, {summary} and {source} only."),
                              "summary") from None


def validate_template_line(item) -> None:
    if item.side not in ("debit", "credit"):
        raise ValidationError(gettext("Choose debit or credit."), "side")
    account = item.account
    if account is None:
        raise ValidationError(gettext("Choose an account."), "account")
    if not ledger.is_leaf(account.id):
        raise ValidationError(gettext("The account %(code)s has sub-accounts; use one of them.", code=account.code),
                              "account")
    item.amount_field = (item.amount_field or "amount").strip()
    if not item.amount_field.replace("_", "").isalnum() or not item.amount_field.isascii():
        raise ValidationError(gettext("The amount field is \"amount\" or the name of an event detail."),
                              "amount_field")
    try:
        (item.summary or "").format_map(_Blank())
    except (ValueError, IndexError):
        raise ValidationError(gettext("The summary may use {customer}, {project}, {summary} and {source} only."),
                              "summary") from None
