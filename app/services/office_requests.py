"""Staff requests (我的申请, WB-4 / OA-1; 财务设置 GL-6): leave, staff borrowing (借款), expense reimbursement (报销).

* file_request: the staff member files a request; it goes straight into the approval engine (kinds
  office.leave / office.borrowing / office.reimbursement). The flows are data: the defaults below (department
  head, then the general manager from 5,000 yuan or 5 days) are seeded at start and the administrator edits them
  in 审批中心. The engine keeps four eyes: the requester never approves the own request.
* on_approval_decided: approved → waiting for the cashier (leave: done); rejected; withdrawn → draft again.
* pay (出纳): an approved borrowing is paid out (event staff_borrowing; the borrowing is then open for its
  amount); an approved reimbursement first settles the borrowing it names (event staff_borrowing_offset, no
  money moves) and only the rest is paid out (event staff_reimbursement). Finance reviews the events into
  vouchers (复核管理). The payer is never the requester.
* repay (出纳): money paid back on an open borrowing (event staff_repayment).

Functions flush; the caller commits. Amounts, dates and texts are checked with the guarantee module's parsers,
so the screens and the messages are the same everywhere.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import Conflict, Forbidden, NotFound, ValidationError
from models.office_requests import OfficeRequest, StaffRepayment

KIND_LABELS = {"leave": _l("Leave"), "borrowing": _l("Staff borrowing"), "reimbursement": _l("Expense reimbursement")}
STATUS_LABELS = {"draft": _l("Not submitted"), "pending": _l("In approval"), "approved": _l("Approved"),
                 "rejected": _l("Not approved"), "paid": _l("Paid"), "cancelled": _l("Cancelled")}
LEAVE_TYPES = {"annual": _l("Annual leave"), "personal": _l("Personal leave"), "sick": _l("Sick leave"),
               "compensatory": _l("Time off in lieu"), "marriage": _l("Marriage leave"),
               "maternity": _l("Maternity or paternity leave"), "bereavement": _l("Bereavement leave"),
               "other": _l("Other leave")}
EXPENSE_TYPES = {"travel": _l("Travel"), "office": _l("Office supplies"), "entertainment": _l("Business entertainment"),
                 "transport": _l("Local transport"), "training": _l("Training"), "other": _l("Other expenses")}
PAYABLE = ("borrowing", "reimbursement")

APPROVAL_KINDS = {"leave": "office.leave", "borrowing": "office.borrowing", "reimbursement": "office.reimbursement"}
KIND_OF_APPROVAL = {v: k for k, v in APPROVAL_KINDS.items()}
APPROVAL_LABELS = {"office.leave": _l("Leave request"), "office.borrowing": _l("Staff borrowing request"),
                   "office.reimbursement": _l("Expense reimbursement request")}

# Default flows (财务设置 / 审批中心 edit them): the department head, then the general manager for larger
# amounts (leave: the amount the conditions read is the number of days).
DEFAULT_FLOWS = {
    "office.leave": ("请假审批", [
        {"name": "部门负责人审批", "mode": "single", "post_code": "DEPT_HEAD", "role": "部门负责人"},
        {"name": "总经理审批", "mode": "single", "post_code": "GM", "role": "总经理", "condition": {"amount_min": "5"}}]),
    "office.borrowing": ("职工借款审批", [
        {"name": "部门负责人审批", "mode": "single", "post_code": "DEPT_HEAD", "role": "部门负责人"},
        {"name": "总经理审批", "mode": "single", "post_code": "GM", "role": "总经理",
         "condition": {"amount_min": "5000"}}]),
    "office.reimbursement": ("费用报销审批", [
        {"name": "部门负责人审批", "mode": "single", "post_code": "DEPT_HEAD", "role": "部门负责人"},
        {"name": "总经理审批", "mode": "single", "post_code": "GM", "role": "总经理",
         "condition": {"amount_min": "5000"}}]),
}
NUMBERING_RULES = [
    ("office_leave", "请假单编号", "QJ", "yyyymm", 4),
    ("office_borrowing", "借款单编号", "JK", "yyyymm", 4),
    ("office_reimbursement", "报销单编号", "BX", "yyyymm", 4),
]
ZERO = Decimal("0.00")


def _session():
    from app.extensions import db

    return db.session


def _parsers():
    from app.services import guarantees

    return guarantees


def _today() -> date:
    from app.services import business_date

    return business_date.today()


def user_name(user_id) -> str:
    from app.services.approval import _user_name

    return _user_name(user_id)


def money_text(value) -> str:
    return _parsers().money_text(value or 0)


def _department_of(user_id):
    """The requester's department (employee record), else the head office: vouchers need a department."""
    from models.system import Department, Employee

    found = _session().execute(select(Employee.department_id).where(Employee.user_id == user_id)).scalar()
    if found is None:
        found = _session().execute(select(Department.id).order_by(Department.sort_order, Department.id)
                                   .limit(1)).scalar()
    return found


# --- reference data and the approval engine ----------------------------------------------------------------

def approval_attributes(item) -> dict:
    """What flow conditions read: the amount (leave: the number of days)."""
    return {"amount": item.days if item.kind == "leave" else item.amount}


def approval_url(item) -> str:
    from flask import url_for

    try:
        return url_for("OfficeRequestView.page", pk=item.id)
    except RuntimeError:  # outside a request (CLI, Celery)
        return f"/officerequest/page/{item.id}"


def on_approval_decided(item, outcome: str, instance=None) -> None:
    """Called by the approval engine inside the deciding action's transaction."""
    if item is None:
        return
    locked = _lock(item.id)
    if locked.status != "pending":
        raise Conflict(gettext("The request %(code)s is no longer in approval.", code=locked.code))
    if outcome == "approved":
        locked.status = "approved"
        locked.decided_on = _today()
    elif outcome == "rejected":
        locked.status = "rejected"
        locked.decided_on = _today()
    else:  # withdrawn by the requester: a draft that can be sent again or cancelled
        locked.status = "draft"
    _session().flush()


_registered = False


def register_approval_kinds() -> None:
    """Tell the approval engine about the three request kinds (idempotent, no database access)."""
    global _registered
    if _registered:
        return
    from app.services import approval

    for kind, label in APPROVAL_LABELS.items():
        approval.register_kind(kind, label=label, model=OfficeRequest, attributes=approval_attributes,
                               on_decided=on_approval_decided, url=approval_url)
    _registered = True


register_approval_kinds()  # the engine must know the kinds wherever an approval of them is acted on


def ensure_reference() -> None:
    """Numbering rules and default approval flows of the requests (idempotent; reference data at every start
    calls it, and the first request does when the start did not)."""
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


# --- reading -------------------------------------------------------------------------------------------------

def _valid_id(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound(gettext("The request does not exist.")) from None
    if not 0 < number < 2 ** 31:
        raise NotFound(gettext("The request does not exist."))
    return number


def _lock(request_id) -> OfficeRequest:
    item = _session().execute(select(OfficeRequest).where(OfficeRequest.id == _valid_id(request_id))
                              .with_for_update().execution_options(populate_existing=True)).scalar()
    if item is None:
        raise NotFound(gettext("The request does not exist."))
    return item


def get(request_id) -> OfficeRequest:
    item = _session().get(OfficeRequest, _valid_id(request_id))
    if item is None:
        raise NotFound(gettext("The request does not exist."))
    return item


def may_see(item: OfficeRequest, user_id, *, finance: bool = False, admin: bool = False) -> bool:
    """The requester, the people of its approval (approvers, delegates), finance (payment permission: borrowings
    and reimbursements) and the administrator see a request; nobody else, not even by its URL."""
    if admin or item.requester_id == user_id or (finance and item.kind in PAYABLE):
        return True
    from app.services import approval

    kind = APPROVAL_KINDS[item.kind]
    return any(approval.is_involved(inst, user_id) for inst in approval.instances_for(kind, item.id))


def my_requests(user_id, kind=None, page=0, page_size=20):
    """(rows, total) of the user's requests, newest first."""
    where = [OfficeRequest.requester_id == user_id]
    if kind in KIND_LABELS:
        where.append(OfficeRequest.kind == kind)
    total = _session().execute(select(func.count()).select_from(OfficeRequest).where(*where)).scalar()
    rows = _session().execute(select(OfficeRequest).where(*where).order_by(OfficeRequest.id.desc())
                              .limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def open_borrowings(user_id) -> list[OfficeRequest]:
    """The user's paid borrowings not yet settled, oldest first."""
    return list(_session().execute(select(OfficeRequest).where(
        OfficeRequest.requester_id == user_id, OfficeRequest.kind == "borrowing", OfficeRequest.status == "paid",
        OfficeRequest.outstanding > 0).order_by(OfficeRequest.id)).scalars())


def borrowing_balance(user_id) -> Decimal:
    """What the staff member still owes on paid borrowings."""
    value = _session().execute(select(func.coalesce(func.sum(OfficeRequest.outstanding), 0)).where(
        OfficeRequest.requester_id == user_id, OfficeRequest.kind == "borrowing",
        OfficeRequest.status == "paid")).scalar()
    return Decimal(value or 0).quantize(Decimal("0.01"))


def borrowing_balances() -> list[dict]:
    """Per staff member with an open borrowing: count and balance (the cashier's and finance's view)."""
    rows = _session().execute(select(
        OfficeRequest.requester_id, func.count(OfficeRequest.id), func.sum(OfficeRequest.outstanding),
        func.min(OfficeRequest.paid_on)).where(
        OfficeRequest.kind == "borrowing", OfficeRequest.status == "paid", OfficeRequest.outstanding > 0)
        .group_by(OfficeRequest.requester_id)).all()
    result = [{"user_id": uid, "name": user_name(uid), "count": count,
               "balance": Decimal(total or 0).quantize(Decimal("0.01")), "since": since}
              for uid, count, total, since in rows]
    return sorted(result, key=lambda r: (-r["balance"], r["name"]))


def awaiting_payment(page=0, page_size=50):
    """(rows, total) of approved borrowings and reimbursements the cashier has not paid yet, oldest first."""
    where = (OfficeRequest.kind.in_(PAYABLE), OfficeRequest.status == "approved")
    total = _session().execute(select(func.count()).select_from(OfficeRequest).where(*where)).scalar()
    rows = _session().execute(select(OfficeRequest).where(*where).order_by(OfficeRequest.id)
                              .limit(page_size).offset(page * page_size)).scalars().all()
    return rows, total


def settlements_of(borrowing: OfficeRequest) -> list[dict]:
    """How a borrowing was settled: reimbursements that offset it and repayments, in order."""
    rows = [{"date": r.paid_on, "kind": "reimbursement", "code": r.code, "id": r.id, "amount": r.offset_amount}
            for r in _session().execute(select(OfficeRequest).where(
                OfficeRequest.offset_borrowing_id == borrowing.id, OfficeRequest.status == "paid",
                OfficeRequest.offset_amount > 0)).scalars()]
    rows += [{"date": p.received_on, "kind": "repayment", "code": "", "id": None, "amount": p.amount}
             for p in borrowing.repayments]
    return sorted(rows, key=lambda r: (r["date"] or date.min))


# --- filing ----------------------------------------------------------------------------------------------------

def _working_days(start: date, end: date) -> Decimal:
    """Working days of a leave (chinese-calendar knows the public holidays and the swapped working days)."""
    try:
        import chinese_calendar

        days = len(chinese_calendar.get_workdays(start, end))
    except (ImportError, NotImplementedError):  # a year the calendar does not know yet: count weekdays
        days = sum(1 for n in range((end - start).days + 1) if (start + timedelta(days=n)).weekday() < 5)
    return Decimal(days)


def _choice_text(value):
    """A choice arrives as text; anything else (a list, an object from a JSON body) is simply not a choice."""
    return value if value is None or isinstance(value, str) else str(value)


def _parse(kind: str, data: dict, user_id) -> dict:
    p = _parsers()
    data = {**data, **{k: _choice_text(data.get(k)) for k in ("leave_type", "expense_type")}}
    values = {"reason": p._text(data.get("reason"), 500, "reason", gettext("Reason"), required=True),
              "note": p._text(data.get("note"), 2000, "note", gettext("Note"))}
    if kind == "leave":
        values["leave_type"] = p._choice(data.get("leave_type"), LEAVE_TYPES, "leave_type", gettext("Leave type"))
        start = p._date(data.get("date_from"), "date_from", gettext("First day"))
        end = p._date(data.get("date_to"), "date_to", gettext("Last day"))
        if end < start:
            raise ValidationError(gettext("The last day is before the first day."), "date_to")
        if (end - start).days > 366:
            raise ValidationError(gettext("A leave request covers at most one year."), "date_to")
        raw_days = data.get("days")
        if raw_days in (None, ""):
            days = _working_days(start, end)
            if days <= 0:
                raise ValidationError(gettext("The period has no working day; enter the number of days."), "days")
        else:
            try:
                days = Decimal(str(raw_days).strip())
            except ArithmeticError:
                raise ValidationError(gettext("Enter the number of days, e.g. 1.5."), "days") from None
            if not days.is_finite() or days <= 0 or days > (end - start).days + 1 or (days * 2) % 1 != 0:
                raise ValidationError(gettext("The number of days must be whole or half days within the period."),
                                      "days")
        values.update(date_from=start, date_to=end, days=days.quantize(Decimal("0.1")))
        return values
    values["amount"] = p._money(data.get("amount"), "amount", gettext("Amount"))
    if kind == "reimbursement":
        values["expense_type"] = p._choice(data.get("expense_type"), EXPENSE_TYPES, "expense_type",
                                           gettext("Expense type"))
        count = data.get("invoice_count")
        if count not in (None, ""):
            try:
                count = int(str(count).strip())
            except ValueError:
                raise ValidationError(gettext("Enter the number of invoices as a whole number."),
                                      "invoice_count") from None
            if not 0 <= count <= 999:
                raise ValidationError(gettext("Enter the number of invoices as a whole number."), "invoice_count")
            values["invoice_count"] = count
        offset_id = p._id(data.get("offset_borrowing_id"), "offset_borrowing_id", gettext("Borrowing to settle"),
                          required=False)
        if offset_id is not None:
            if offset_id not in {b.id for b in open_borrowings(user_id)}:
                raise ValidationError(gettext("Choose one of your own open borrowings."), "offset_borrowing_id")
            values["offset_borrowing_id"] = offset_id
    return values


def file_request(kind: str, data: dict, user_id, comment: str = "") -> OfficeRequest:
    """File a request and send it to approval (the caller commits)."""
    from app.services import numbering

    if kind not in KIND_LABELS:
        raise ValidationError(gettext("Unknown request kind."), "kind")
    if not user_id:
        raise Forbidden(gettext("Log in to file a request."))
    values = _parse(kind, data or {}, user_id)
    ensure_reference()
    item = OfficeRequest(code=numbering.next_number(f"office_{kind}"), kind=kind, requester_id=user_id,
                         department_id=_department_of(user_id), status="draft", request_date=_today(), **values)
    _session().add(item)
    _session().flush()
    _send(item, user_id, comment)
    return item


def _send(item: OfficeRequest, user_id, comment=""):
    from app.services import approval

    item.status = "pending"
    _session().flush()
    title = gettext("%(kind)s %(code)s of %(name)s", kind=str(KIND_LABELS[item.kind]), code=item.code,
                    name=user_name(item.requester_id))
    if item.amount is not None:
        title += f" {money_text(item.amount)}"
    approval.submit(APPROVAL_KINDS[item.kind], item, user_id, comment or "", title=title)


def submit(request_id, user_id, comment: str = "") -> OfficeRequest:
    """Send a draft (withdrawn) request to approval again; only its requester does."""
    item = _lock(request_id)
    if item.requester_id != user_id:
        raise Forbidden(gettext("Only the requester can send the request."))
    if item.status != "draft":
        raise Conflict(gettext("Only a request that is not in approval can be sent."))
    if item.kind == "reimbursement" and item.offset_borrowing_id and \
            item.offset_borrowing_id not in {b.id for b in open_borrowings(user_id)}:
        item.offset_borrowing_id = None  # settled meanwhile: the reimbursement is paid out in full
    _send(item, user_id, comment)
    return item


def cancel(request_id, user_id, reason: str = "") -> OfficeRequest:
    """The requester drops a request that is not in approval."""
    item = _lock(request_id)
    if item.requester_id != user_id:
        raise Forbidden(gettext("Only the requester can cancel the request."))
    if item.status != "draft":
        raise Conflict(gettext("Only a request that is not in approval can be cancelled; withdraw it first."))
    item.status = "cancelled"
    reason = _parsers()._text(reason, 200, "reason", gettext("Reason"))
    if reason:
        item.note = f"{item.note}\n{reason}" if item.note else reason
    _session().flush()
    return item


# --- the cashier ---------------------------------------------------------------------------------------------

def _summary(item) -> str:
    return f"{user_name(item.requester_id)} {item.code}"


def _payment_day(value, field, label) -> date:
    day = _parsers()._date(value, field, label, required=False) or _today()
    if day > _today():
        raise ValidationError(gettext("The date cannot be after the business date."), field)
    return day


def _bank_account(value) -> str:
    return _parsers()._text(value, 60, "bank_account", gettext("Bank account"), required=True)


def pay(request_id, user_id, paid_on=None, bank_account=None) -> OfficeRequest:
    """The cashier pays an approved borrowing or reimbursement; the money becomes business events for the
    ledger. A reimbursement settles the borrowing it names first: only the difference is paid out."""
    from app.services import ledger_events

    item = _lock(request_id)
    if item.kind not in PAYABLE:
        raise ValidationError(gettext("Only borrowings and reimbursements are paid."))
    if item.status == "paid":
        raise Conflict(gettext("The request %(code)s has already been paid.", code=item.code))
    if item.status != "approved":
        raise Conflict(gettext("The request %(code)s is not approved; it cannot be paid.", code=item.code))
    if item.requester_id == user_id:
        raise Forbidden(gettext("You filed this request; someone else has to pay it."))
    day = _payment_day(paid_on, "paid_on", gettext("Payment date"))
    offset = ZERO
    borrowing = None
    if item.kind == "reimbursement" and item.offset_borrowing_id:
        borrowing = _lock(item.offset_borrowing_id)  # two payments against one borrowing: one waits
        if borrowing.status == "paid" and borrowing.outstanding and borrowing.outstanding > 0:
            offset = min(item.amount, borrowing.outstanding)
    cash = item.amount - offset
    account = _bank_account(bank_account) if cash > 0 else _parsers()._text(bank_account, 60, "bank_account",
                                                                             gettext("Bank account"))
    common = dict(department_id=item.department_id, summary=_summary(item),
                  details={"requester_id": str(item.requester_id), "request": item.code})
    if offset > 0:
        event = ledger_events.record_event("staff_borrowing_offset", offset, day, "oa_request", str(item.id),
                                           project_code=borrowing.code, **common)
        item.offset_event_id = event.id
        borrowing.outstanding = borrowing.outstanding - offset
    if cash > 0:
        kind = "staff_borrowing" if item.kind == "borrowing" else "staff_reimbursement"
        event = ledger_events.record_event(kind, cash, day, "oa_request", str(item.id), bank_account=account,
                                           **common)
        item.payment_event_id = event.id
    item.status, item.paid_on, item.paid_by_id = "paid", day, user_id
    item.paid_amount, item.offset_amount, item.bank_account = cash, offset, account
    if item.kind == "borrowing":
        item.outstanding = item.amount
    _session().flush()
    return item


def repay(borrowing_id, user_id, amount, received_on=None, bank_account=None, note=None) -> StaffRepayment:
    """The cashier records money a staff member paid back on an open borrowing."""
    from app.services import ledger_events

    p = _parsers()
    borrowing = _lock(borrowing_id)
    if borrowing.kind != "borrowing" or borrowing.status != "paid":
        raise Conflict(gettext("Only a paid borrowing can be repaid."))
    if borrowing.requester_id == user_id:
        raise Forbidden(gettext("You filed this request; someone else has to record its repayment."))
    value = p._money(amount, "amount", gettext("Amount repaid"))
    if not borrowing.outstanding or borrowing.outstanding <= 0:
        raise Conflict(gettext("The borrowing %(code)s is settled.", code=borrowing.code))
    if value > borrowing.outstanding:
        raise ValidationError(gettext("The amount exceeds what is still owed: %(due)s.",
                                      due=money_text(borrowing.outstanding)), "amount")
    day = _payment_day(received_on, "received_on", gettext("Date received"))
    repayment = StaffRepayment(borrowing=borrowing, amount=value, received_on=day, received_by_id=user_id,
                               bank_account=_bank_account(bank_account),
                               note=p._text(note, 200, "note", gettext("Note")))
    _session().add(repayment)
    _session().flush()
    event = ledger_events.record_event(
        "staff_repayment", value, day, "oa_repayment", str(repayment.id), department_id=borrowing.department_id,
        bank_account=repayment.bank_account, project_code=borrowing.code, summary=_summary(borrowing),
        details={"requester_id": str(borrowing.requester_id), "request": borrowing.code})
    repayment.event_id = event.id
    borrowing.outstanding = borrowing.outstanding - value
    _session().flush()
    return repayment


def events_of(item: OfficeRequest) -> list:
    """The business events the request's money made (for its page: pending review or vouchered)."""
    from models.ledger import BusinessEvent

    ids = [i for i in (item.payment_event_id, item.offset_event_id) if i]
    ids += [r.event_id for r in item.repayments if r.event_id]
    if not ids:
        return []
    return list(_session().execute(select(BusinessEvent).where(BusinessEvent.id.in_(ids))
                                   .order_by(BusinessEvent.id)).scalars())


def effective_status(item: OfficeRequest) -> str:
    """A paid borrowing reads as settled once nothing is owed any more."""
    if item.kind == "borrowing" and item.status == "paid" and item.outstanding is not None and item.outstanding <= 0:
        return "settled"
    return item.status


STATUS_LABELS["settled"] = _l("Settled")


def to_json(item: OfficeRequest) -> dict:
    def plain(value):
        return str(value) if isinstance(value, (Decimal, date, datetime)) else value

    fields = ("id", "code", "kind", "requester_id", "department_id", "status", "reason", "request_date",
              "leave_type", "date_from", "date_to", "days", "amount", "expense_type", "invoice_count",
              "offset_borrowing_id", "outstanding", "decided_on", "paid_on", "paid_amount", "offset_amount")
    result = {f: plain(getattr(item, f)) for f in fields}
    result["effective_status"] = effective_status(item)
    return result


# --- demo data --------------------------------------------------------------------------------------------------

def load_demo_requests() -> int:
    """A few requests of the demo users (once): manager1's borrowing approved and paid, his reimbursement that
    settles part of it waiting for the department head, and an approved leave. Returns how many were made."""
    from flask_appbuilder.security.sqla.models import User

    from app.services import approval

    session = _session()
    if session.execute(select(OfficeRequest.id).limit(1)).first() is not None:
        return 0
    ids = dict(session.execute(select(User.username, User.id).where(
        User.username.in_(("manager1", "head1", "gm", "cashier")))).all())
    if len(ids) < 4:
        return 0

    def approve_all(item):
        kind = APPROVAL_KINDS[item.kind]
        while (inst := approval.open_instance(kind, item.id)) is not None:
            who = ids["head1"] if inst.current_step.name.startswith("部门") else ids["gm"]
            approval.act(inst.id, who, "approve", "同意")

    borrowing = file_request("borrowing", {"amount": "3000", "reason": "出差借支（演示）"}, ids["manager1"])
    approve_all(borrowing)
    pay(borrowing.id, ids["cashier"], bank_account="工商银行 6222 0201")
    file_request("reimbursement", {"amount": "1860.50", "reason": "南京出差差旅费（演示）", "expense_type": "travel",
                                   "invoice_count": "5", "offset_borrowing_id": borrowing.id}, ids["manager1"])
    leave = file_request("leave", {"leave_type": "annual", "date_from": _today().isoformat(),
                                   "date_to": _today().isoformat(), "days": "1", "reason": "年假（演示）"},
                         ids["manager1"])
    approve_all(leave)
    session.commit()
    return 3
