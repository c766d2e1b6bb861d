"""General ledger (GL-1, GL-3, GL-7): chart-of-accounts rules, periods, vouchers and the hash chain.

One function per operation; every rule lives here so screens, the REST API, the event review and
a hand-made POST meet the same checks. Functions flush but never commit: the caller (view, API,
CLI, test) commits or rolls back the whole operation.

Numbering (gap-free per type per period): a voucher takes the next number of its (period, type)
when it is saved, under the period row lock. Deleting a draft closes the gap: the later unposted
vouchers of the same period and type move down by one; when a later voucher is already posted
(its number is sealed in the hash chain) the draft cannot be deleted and is to be corrected instead.
A draft moved to another period or type leaves its old sequence the same way and takes the next
number of the new one.

Locks, always in this order: voucher row → period row → chain head. A state change reads its row
FOR UPDATE (PostgreSQL; SQLite serialises writers) and re-checks the status, so two people pressing
the same button get one success and one clear message. Posting checks the period's status with the
period row locked, and takes the next post_seq and previous hash from the one chain-head row, also
locked, so concurrent posts never fork the chain.
"""
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict, NotFound, ValidationError
from models.ledger import (ACCOUNT_CATEGORIES, DIRECTIONS, VOUCHER_TYPES, Account, ChainHead, Period, Voucher,
                           VoucherLine, VoucherTemplateLine)

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")
CATEGORY_DIGIT = {"asset": "1", "liability": "2", "common": "3", "equity": "4", "cost": "5", "profit_loss": "6"}
AUX_FIELDS = (("aux_customer", "customer_id"), ("aux_department", "department_id"),
              ("aux_project", "project_code"), ("aux_bank", "bank_account"))


def _session():
    from app.extensions import db

    return db.session


def _actor_id(user_id):
    if user_id is not None:
        return user_id
    from app.audit import current_actor

    return current_actor()[0]


def money(value) -> Decimal:
    """A money amount as Decimal with two places, or ValidationError."""
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(gettext("The amount %(value)s is not a number.", value=value)) from None
    if not amount.is_finite():
        raise ValidationError(gettext("The amount %(value)s is not a number.", value=value))
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationError(gettext("Amounts have at most two decimal places."))
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError(gettext("The amount is too large."))
    return amount.quantize(CENT)


def type_label(voucher_type) -> str:
    return {"ji": gettext("General voucher"), "shou": gettext("Receipt voucher"), "fu": gettext("Payment voucher"),
            "zhuan": gettext("Transfer voucher")}.get(voucher_type, voucher_type)


# --- chart of accounts (GL-1) ------------------------------------------------------------------------

def account_in_use(account) -> str | None:
    """Why the account cannot be deleted (lines, children or templates use it), or None."""
    session = _session()
    if account.id is None:
        return None
    if session.execute(select(exists().where(VoucherLine.account_id == account.id))).scalar():
        return gettext("Vouchers use this account.")
    if session.execute(select(exists().where(Account.parent_id == account.id))).scalar():
        return gettext("The account has sub-accounts.")
    if session.execute(select(exists().where(VoucherTemplateLine.account_id == account.id))).scalar():
        return gettext("Voucher templates use this account.")
    return None


def refuse_account_in_use(account) -> None:
    reason = account_in_use(account)
    if reason:
        raise ValidationError(gettext("The account %(code)s cannot be deleted: %(reason)s", code=account.code,
                                      reason=reason))


def validate_account(item) -> None:
    """Codes: a first-level account has 4 digits starting with its category's digit; a sub-account
    extends its parent's code by 2 digits and shares its category. A parent that already has voucher
    lines gets no sub-account (its balance would be split between two levels)."""
    session = _session()
    item.code = (item.code or "").strip()
    item.name = (item.name or "").strip()
    if not item.name:
        raise ValidationError(gettext("The account name is required."), "name")
    if item.category not in ACCOUNT_CATEGORIES:
        raise ValidationError(gettext("Choose the account category."), "category")
    if item.direction not in DIRECTIONS:
        raise ValidationError(gettext("Choose the balance direction."), "direction")
    if not item.code.isascii() or not item.code.isdigit():
        raise ValidationError(gettext("The account code must consist of digits."), "code")
    parent = item.parent if item.parent is not None else (
        session.get(Account, item.parent_id) if item.parent_id else None)
    with session.no_autoflush:
        if parent is None:
            if len(item.code) != 4:
                raise ValidationError(gettext("A first-level account code has 4 digits."), "code")
            if item.code[0] != CATEGORY_DIGIT[item.category]:
                raise ValidationError(gettext("A first-level code of this category starts with %(digit)s.",
                                              digit=CATEGORY_DIGIT[item.category]), "code")
            item.level = 1
        else:
            if parent.id is not None and parent.id == item.id:
                raise ValidationError(gettext("An account cannot be its own parent."), "parent")
            if len(item.code) != len(parent.code) + 2 or not item.code.startswith(parent.code):
                raise ValidationError(gettext("A sub-account code is its parent's code %(code)s followed by 2 digits.",
                                              code=parent.code), "code")
            if item.category != parent.category:
                raise ValidationError(gettext("A sub-account has its parent's category."), "category")
            if parent.id is not None and session.execute(
                    select(exists().where(VoucherLine.account_id == parent.id))).scalar():
                raise ValidationError(gettext("The account %(code)s already has voucher lines and cannot get "
                                              "sub-accounts.", code=parent.code), "parent")
            item.level = (parent.level or 1) + 1
        clash = session.execute(select(Account.id).where(Account.code == item.code,
                                                         Account.id != (item.id or 0))).scalar()
        if clash is not None:
            raise ValidationError(gettext("The account code %(code)s already exists.", code=item.code), "code")
        if item.id is not None:
            old_code = session.execute(select(Account.code).where(Account.id == item.id)).scalar()
            if old_code is not None and old_code != item.code and account_in_use(item):
                raise ValidationError(gettext("The code of an account in use cannot change."), "code")


def is_leaf(account_id) -> bool:
    return not _session().execute(select(exists().where(Account.parent_id == account_id))).scalar()


def leaf_accounts(enabled_only=True) -> list[Account]:
    """Accounts a voucher line may use: enabled and without sub-accounts, in code order."""
    child = Account.__table__.alias("child")
    query = select(Account).where(~exists().where(child.c.parent_id == Account.id)).order_by(Account.code)
    if enabled_only:
        query = query.where(Account.enabled.is_(True))
    return list(_session().execute(query).scalars())


def account_full_name(account) -> str:
    """1002 银行存款 / 224101 其他应付款-存入保证金."""
    parts = []
    node = account
    while node is not None:
        parts.append(node.name)
        node = node.parent
    return f"{account.code} {'-'.join(reversed(parts))}"


# --- periods ------------------------------------------------------------------------------------------

def ensure_period(day: date) -> Period:
    """The accounting period (calendar month) of `day`, created open when missing."""
    import calendar

    session = _session()
    found = session.execute(select(Period).where(Period.year == day.year, Period.month == day.month)).scalar()
    if found is not None:
        return found
    last = calendar.monthrange(day.year, day.month)[1]
    period = Period(year=day.year, month=day.month, start_date=date(day.year, day.month, 1),
                    end_date=date(day.year, day.month, last), status="open")
    try:
        with session.begin_nested():
            session.add(period)
            session.flush()
    except IntegrityError:  # created meanwhile by a concurrent request
        found = session.execute(select(Period).where(Period.year == day.year, Period.month == day.month)).scalar()
        if found is None:
            raise
        return found
    return period


def lock_period(period_id) -> Period:
    return _session().execute(select(Period).where(Period.id == period_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _open_period_locked(day: date) -> Period:
    period = lock_period(ensure_period(day).id)
    if period.status != "open":
        raise ValidationError(gettext("The period %(period)s is closed: no voucher may be entered or posted in it.",
                                      period=f"{period.year}-{period.month:02d}"), "voucher_date")
    return period


# --- vouchers -------------------------------------------------------------------------------------------

def _lock_voucher(voucher_id) -> Voucher:
    if not _valid_id(voucher_id):
        raise NotFound(gettext("The voucher does not exist."))
    voucher = _session().execute(select(Voucher).where(Voucher.id == voucher_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar()
    if voucher is None:
        raise NotFound(gettext("The voucher does not exist."))
    return voucher


def _posted_refusal(voucher):
    return Conflict(gettext("Voucher %(number)s is posted: it can no longer be changed or deleted; correct it "
                            "with a reversal voucher.", number=voucher.display_number))


@dataclass
class CheckedLine:
    account: Account
    summary: str
    debit: Decimal
    credit: Decimal
    customer_id: int | None
    department_id: int | None
    project_code: str | None
    bank_account: str | None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates


def _clean_text(value, limit):
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if _UNSTORABLE.search(text):
        raise ValidationError(gettext("The text contains characters that cannot be stored."))
    return text[:limit] or None


MAX_ID = 2**31 - 1


def _int_or_none(value):
    """An id or count from a form or JSON value; -1 for anything that cannot be one (refused by the caller)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return -1
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return -1
    return number if -MAX_ID <= number <= MAX_ID else -1


def _valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def check_lines(lines, voucher_type="ji", voucher_summary=None) -> list[CheckedLine]:
    """Validate voucher lines (dicts) and return them checked; the first problem raises ValidationError
    naming the line."""
    from models.customers import Customer
    from models.system import Department

    session = _session()
    rows = [line for line in (lines or []) if any(line.get(k) not in (None, "", "0", 0) for k in
                                                  ("account_id", "account_code", "debit", "credit"))]
    if len(rows) < 2:
        raise ValidationError(gettext("A voucher needs at least two lines."), "lines")
    checked = []
    first_summary = _clean_text(voucher_summary, 200)
    for no, line in enumerate(rows, start=1):
        account = None
        if line.get("account_id") not in (None, ""):
            account_id = _int_or_none(line.get("account_id"))
            account = session.get(Account, account_id) if account_id and account_id > 0 else None
        elif line.get("account_code"):
            code = _clean_text(line["account_code"], 20)
            account = session.execute(select(Account).where(Account.code == code)).scalar() if code else None
        if account is None:
            raise ValidationError(gettext("Line %(no)s: choose an account.", no=no), "lines")
        if not account.enabled:
            raise ValidationError(gettext("Line %(no)s: the account %(code)s is disabled.", no=no, code=account.code),
                                  "lines")
        if not is_leaf(account.id):
            raise ValidationError(gettext("Line %(no)s: the account %(code)s has sub-accounts; use one of them.",
                                          no=no, code=account.code), "lines")
        try:
            debit, credit = money(line.get("debit")), money(line.get("credit"))
        except ValidationError as ex:
            raise ValidationError(gettext("Line %(no)s: %(message)s", no=no, message=ex.message), "lines") from None
        if (debit != 0) == (credit != 0):
            raise ValidationError(gettext("Line %(no)s: enter either a debit or a credit amount.", no=no), "lines")
        summary = _clean_text(line.get("summary"), 200) or first_summary
        if not summary:
            raise ValidationError(gettext("Line %(no)s: the summary is required.", no=no), "lines")
        first_summary = first_summary or summary
        values = {"customer_id": _int_or_none(line.get("customer_id")),
                  "department_id": _int_or_none(line.get("department_id")),
                  "project_code": _clean_text(line.get("project_code"), 40),
                  "bank_account": _clean_text(line.get("bank_account"), 60)}
        customer_id = values["customer_id"]
        if customer_id is not None and (customer_id <= 0 or session.get(Customer, customer_id) is None):
            raise ValidationError(gettext("Line %(no)s: the customer does not exist.", no=no), "lines")
        if values["department_id"] is not None and (values["department_id"] <= 0 or
                                                   session.get(Department, values["department_id"]) is None):
            raise ValidationError(gettext("Line %(no)s: the department does not exist.", no=no), "lines")
        names = {"customer_id": gettext("customer"), "department_id": gettext("department"),
                 "project_code": gettext("project"), "bank_account": gettext("bank account")}
        for flag, field in AUX_FIELDS:
            if getattr(account, flag) and values[field] is None:
                raise ValidationError(gettext("Line %(no)s: the account %(code)s requires the %(aux)s.", no=no,
                                              code=account.code, aux=names[field]), "lines")
        checked.append(CheckedLine(account, summary, debit, credit, **values))
    total_debit = sum((c.debit for c in checked), Decimal("0.00"))
    total_credit = sum((c.credit for c in checked), Decimal("0.00"))
    if total_debit != total_credit:
        raise ValidationError(gettext("Debits (%(debit)s) and credits (%(credit)s) are not equal.",
                                      debit=f"{total_debit:,.2f}", credit=f"{total_credit:,.2f}"), "lines")
    if total_debit == 0:
        raise ValidationError(gettext("The voucher total cannot be zero."), "lines")
    _check_type(voucher_type, checked)
    return checked


def _check_type(voucher_type, checked) -> None:
    """收 debits a cash/bank account, 付 credits one, 转 touches none; 记 is free."""
    if voucher_type not in VOUCHER_TYPES:
        raise ValidationError(gettext("Unknown voucher type."), "voucher_type")
    cash_debit = any(c.account.is_cash and c.debit != 0 for c in checked)
    cash_credit = any(c.account.is_cash and c.credit != 0 for c in checked)
    if voucher_type == "shou" and not cash_debit:
        raise ValidationError(gettext("A receipt voucher must debit a cash or bank account."), "voucher_type")
    if voucher_type == "fu" and not cash_credit:
        raise ValidationError(gettext("A payment voucher must credit a cash or bank account."), "voucher_type")
    if voucher_type == "zhuan" and (cash_debit or cash_credit):
        raise ValidationError(gettext("A transfer voucher cannot touch cash or bank accounts."), "voucher_type")


def _attachments(value) -> int:
    count = _int_or_none(value)
    if count is None:
        return 0
    if not 0 <= count <= 9999:
        raise ValidationError(gettext("The number of attachments must be between 0 and 9999."), "attachment_count")
    return count


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationError(gettext("The voucher date must be a date like 2026-01-31."), "voucher_date") from None


def _next_number(period_id, voucher_type) -> int:
    last = _session().execute(select(func.max(Voucher.number)).where(
        Voucher.period_id == period_id, Voucher.voucher_type == voucher_type, Voucher.number > 0)).scalar()
    return (last or 0) + 1


def _set_lines(voucher, checked) -> None:
    voucher.lines.clear()
    _session().flush()
    for no, c in enumerate(checked, start=1):
        voucher.lines.append(VoucherLine(
            line_no=no, summary=c.summary, account_id=c.account.id, debit=c.debit, credit=c.credit,
            customer_id=c.customer_id, department_id=c.department_id, project_code=c.project_code,
            bank_account=c.bank_account, period_id=voucher.period_id, voucher_date=voucher.voucher_date,
            posted=False))
    voucher.total_debit = sum((c.debit for c in checked), Decimal("0.00"))
    voucher.total_credit = sum((c.credit for c in checked), Decimal("0.00"))


def create_voucher(voucher_date, lines, *, voucher_type="ji", summary=None, attachment_count=0, maker_id=None,
                   source="manual", reversal_of_id=None) -> Voucher:
    """Save a balanced draft voucher with the next number of its type in its (open) period."""
    maker_id = _actor_id(maker_id)
    if maker_id is None:
        raise ValidationError(gettext("A voucher needs its maker."))
    day = _as_date(voucher_date)
    checked = check_lines(lines, voucher_type, summary)
    count = _attachments(attachment_count)
    period = _open_period_locked(day)
    voucher = Voucher(period_id=period.id, voucher_type=voucher_type, number=_next_number(period.id, voucher_type),
                      voucher_date=day, summary=_clean_text(summary, 200) or checked[0].summary,
                      attachment_count=count, status="draft", maker_id=maker_id, source=source,
                      reversal_of_id=reversal_of_id)
    _session().add(voucher)
    _set_lines(voucher, checked)
    _session().flush()
    return voucher


def _close_gap(period_id, voucher_type, number) -> None:
    """Move the later unposted vouchers of (period, type) down by one, in ascending order."""
    session = _session()
    later = session.execute(select(Voucher).where(Voucher.period_id == period_id, Voucher.voucher_type == voucher_type,
                                                  Voucher.number > number).order_by(Voucher.number)
                            .with_for_update()).scalars().all()
    for other in later:
        other.number -= 1
        session.flush()


def _refuse_if_posted_after(voucher) -> None:
    posted_after = _session().execute(select(Voucher).where(
        Voucher.period_id == voucher.period_id, Voucher.voucher_type == voucher.voucher_type,
        Voucher.number > voucher.number, Voucher.status == "posted").order_by(Voucher.number).limit(1)).scalar()
    if posted_after is not None:
        raise ValidationError(gettext("Voucher %(later)s after it is already posted, so its number cannot be given up; "
                                      "correct this draft instead.", later=posted_after.display_number))


def update_voucher(voucher_id, voucher_date, lines, *, voucher_type="ji", summary=None, attachment_count=0,
                   user_id=None) -> Voucher:
    """Change a draft (a reviewed voucher is un-reviewed first). A cashier's signature is withdrawn."""
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise _posted_refusal(voucher)
    if voucher.status != "draft":
        raise ValidationError(gettext("Voucher %(number)s is reviewed: cancel the review before changing it.",
                                      number=voucher.display_number))
    day = _as_date(voucher_date)
    checked = check_lines(lines, voucher_type, summary)
    count = _attachments(attachment_count)
    session = _session()
    new_period = ensure_period(day)
    if new_period.id != voucher.period_id or voucher_type != voucher.voucher_type:
        lock_period(voucher.period_id)
        _refuse_if_posted_after(voucher)
        period = _open_period_locked(day)
        old = (voucher.period_id, voucher.voucher_type, voucher.number)
        voucher.number = -voucher.id  # out of the way while the old sequence closes up
        session.flush()
        _close_gap(*old)
        number = _next_number(period.id, voucher_type)
        voucher.period_id, voucher.voucher_type, voucher.number = period.id, voucher_type, number
    else:
        _open_period_locked(day)
    voucher.voucher_date = day
    voucher.summary = _clean_text(summary, 200) or checked[0].summary
    voucher.attachment_count = count
    voucher.cashier_id = voucher.signed_at = None
    _set_lines(voucher, checked)
    session.flush()
    return voucher


def delete_voucher(voucher_id, user_id=None) -> None:
    """Delete a draft and close the numbering gap (see the module notes). An event's voucher gives the
    event back to the review queue."""
    from models.ledger import BusinessEvent

    session = _session()
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise _posted_refusal(voucher)
    if voucher.status != "draft":
        raise ValidationError(gettext("Voucher %(number)s is reviewed: cancel the review before deleting it.",
                                      number=voucher.display_number))
    lock_period(voucher.period_id)
    _refuse_if_posted_after(voucher)
    period_id, voucher_type, number = voucher.period_id, voucher.voucher_type, voucher.number
    session.execute(update(BusinessEvent).where(BusinessEvent.voucher_id == voucher.id).values(
        voucher_id=None, status="pending", reviewed_by_id=None, reviewed_at=None,
        version_id=BusinessEvent.version_id + 1))
    session.delete(voucher)
    session.flush()
    _close_gap(period_id, voucher_type, number)


def review_voucher(voucher_id, user_id=None) -> Voucher:
    """审核: by somebody other than the maker."""
    user_id = _actor_id(user_id)
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise _posted_refusal(voucher)
    if voucher.status == "reviewed":
        raise Conflict(gettext("Voucher %(number)s has already been reviewed.", number=voucher.display_number))
    if user_id is None or user_id == voucher.maker_id:
        raise ValidationError(gettext("The maker of a voucher cannot review it."))
    voucher.status, voucher.reviewer_id, voucher.reviewed_at = "reviewed", user_id, datetime.now()
    _flush()
    return voucher


def unreview_voucher(voucher_id, user_id=None) -> Voucher:
    """Cancel a review before posting."""
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise _posted_refusal(voucher)
    if voucher.status != "reviewed":
        raise Conflict(gettext("Voucher %(number)s is not reviewed.", number=voucher.display_number))
    voucher.status, voucher.reviewer_id, voucher.reviewed_at = "draft", None, None
    _flush()
    return voucher


def touches_cash(voucher) -> bool:
    return any(line.account.is_cash for line in voucher.lines)


def cashier_sign_required(voucher) -> bool:
    from app.services import settings

    return bool(settings.get("ledger_cashier_sign_required")) and touches_cash(voucher)


def sign_voucher(voucher_id, user_id=None) -> Voucher:
    """出纳签字 on a voucher that moves cash or bank money, before it is posted."""
    user_id = _actor_id(user_id)
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise _posted_refusal(voucher)
    if not touches_cash(voucher):
        raise ValidationError(gettext("Voucher %(number)s moves no cash or bank money: no cashier's signature is "
                                      "needed.", number=voucher.display_number))
    if voucher.cashier_id is not None:
        raise Conflict(gettext("Voucher %(number)s has already been signed by the cashier.",
                               number=voucher.display_number))
    if user_id is None or user_id == voucher.maker_id:
        raise ValidationError(gettext("The maker of a voucher cannot sign it as cashier."))
    voucher.cashier_id, voucher.signed_at = user_id, datetime.now()
    _flush()
    return voucher


def unsign_voucher(voucher_id, user_id=None) -> Voucher:
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise _posted_refusal(voucher)
    if voucher.cashier_id is None:
        raise Conflict(gettext("Voucher %(number)s is not signed.", number=voucher.display_number))
    voucher.cashier_id = voucher.signed_at = None
    _flush()
    return voucher


def _flush():
    try:
        _session().flush()
    except StaleDataError:
        _session().rollback()
        raise Conflict(gettext("Somebody else changed this record meanwhile. Reload it and try again.")) from None


def lock_chain_head() -> ChainHead:
    session = _session()
    head = session.execute(select(ChainHead).where(ChainHead.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar()
    if head is None:
        try:
            with session.begin_nested():
                session.add(ChainHead(id=1, last_seq=0, last_hash=""))
                session.flush()
        except IntegrityError:
            pass
        head = session.execute(select(ChainHead).where(ChainHead.id == 1).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one()
    return head


def post_voucher(voucher_id, user_id=None) -> Voucher:
    """记账: a reviewed (and, for cash, signed) voucher of an open period joins the hash chain."""
    user_id = _actor_id(user_id)
    voucher = _lock_voucher(voucher_id)
    if voucher.status == "posted":
        raise Conflict(gettext("Voucher %(number)s has already been posted.", number=voucher.display_number))
    if voucher.status != "reviewed":
        raise ValidationError(gettext("Voucher %(number)s must be reviewed before it is posted.",
                                      number=voucher.display_number))
    if user_id is None or user_id == voucher.maker_id:
        raise ValidationError(gettext("The maker of a voucher cannot post it."))
    period = lock_period(voucher.period_id)
    if period.status != "open":
        raise ValidationError(gettext("The period %(period)s is closed: no voucher may be entered or posted in it.",
                                      period=f"{period.year}-{period.month:02d}"))
    if cashier_sign_required(voucher) and voucher.cashier_id is None:
        raise ValidationError(gettext("Voucher %(number)s moves cash or bank money and needs the cashier's signature "
                                      "first.", number=voucher.display_number))
    head, codes = _chain_head_and_codes(voucher)
    # no query from here to the flush: the guard below sees the voucher change from reviewed to posted at once
    voucher.status, voucher.poster_id, voucher.posted_at = "posted", user_id, datetime.now()
    _seal(voucher, head, codes, period)
    _flush()
    return voucher


def _chain_head_and_codes(voucher) -> tuple[ChainHead, dict]:
    """The locked chain head and the account codes the voucher's hash covers (read before any change)."""
    head = lock_chain_head()
    codes = dict(_session().execute(select(Account.id, Account.code).where(
        Account.id.in_({line.account_id for line in voucher.lines}))).all())
    return head, codes


def _seal(voucher, head: ChainHead, codes: dict, period: Period) -> None:
    """Append a voucher being posted to the hash chain: next sequence, previous hash, its own hash."""
    voucher.post_seq, voucher.prev_hash = head.last_seq + 1, head.last_hash or ""
    for line in voucher.lines:
        line.posted = True
        line.period_id, line.voucher_date = voucher.period_id, voucher.voucher_date
    voucher.hash = chain_hash(voucher.prev_hash, canonical_content(
        _voucher_row(voucher), [_line_row(line) for line in voucher.lines], codes, f"{period.year}-{period.month:02d}"))
    head.last_seq, head.last_hash, head.last_voucher = voucher.post_seq, voucher.hash, voucher


def post_system_voucher(period: Period, source: str, summary: str, lines: list[dict], user_id,
                        account_codes: dict | None = None) -> Voucher:
    """Make and post a system voucher (记账凭证) dated the period's last day, without a separate review.

    For the month-end close (app/services/ledger_close.py), whose fixed rules are the reviewed act. The
    lines (account_id, debit, credit and the auxiliary values) come from posted lines, so they are only
    checked for balance here; the caller holds the period lock and the period must be open. `account_codes`
    (id → code), when the caller has the chart at hand, saves reading the codes the hash covers.
    """
    user_id = _actor_id(user_id)
    period = lock_period(period.id)
    if period.status != "open":
        raise ValidationError(gettext("The period %(period)s is closed: no voucher may be entered or posted in it.",
                                      period=f"{period.year}-{period.month:02d}"))
    total_debit = sum((money(ln["debit"]) for ln in lines), Decimal("0.00"))
    total_credit = sum((money(ln["credit"]) for ln in lines), Decimal("0.00"))
    if not lines or total_debit != total_credit:
        raise ValidationError(gettext("Debits (%(debit)s) and credits (%(credit)s) are not equal.",
                                      debit=total_debit, credit=total_credit))
    now = datetime.now()
    # Built posted and sealed before the insert: one INSERT per row, no UPDATE of every line afterwards
    # (a carry-forward voucher has a line per account and auxiliary slice).
    voucher = Voucher(period_id=period.id, voucher_type="ji", number=_next_number(period.id, "ji"),
                      voucher_date=period.end_date, summary=summary, attachment_count=0, status="posted",
                      total_debit=total_debit, total_credit=total_debit, maker_id=user_id, source=source,
                      reviewer_id=user_id, reviewed_at=now, poster_id=user_id, posted_at=now)
    for no, ln in enumerate(lines, 1):
        voucher.lines.append(VoucherLine(
            line_no=no, summary=ln.get("summary") or summary, account_id=ln["account_id"], debit=money(ln["debit"]),
            credit=money(ln["credit"]), customer_id=ln.get("customer_id"), department_id=ln.get("department_id"),
            project_code=ln.get("project_code"), bank_account=ln.get("bank_account"), period_id=period.id,
            voucher_date=period.end_date, posted=True))
    if account_codes is None:
        head, codes = _chain_head_and_codes(voucher)
    else:
        head, codes = lock_chain_head(), account_codes
    _seal(voucher, head, codes, period)
    _session().add(voucher)
    _flush()
    return voucher


def reverse_voucher(voucher_id, user_id=None, on: date | None = None) -> Voucher:
    """红字冲销: a new draft with the same accounts and negated amounts, referring to the original. Once only."""
    from app.services import business_date

    user_id = _actor_id(user_id)
    original = _lock_voucher(voucher_id)
    if original.status != "posted":
        raise ValidationError(gettext("Only a posted voucher can be reversed; a draft is corrected or deleted."))
    if original.reversal_of_id is not None:
        raise ValidationError(gettext("A reversal voucher cannot itself be reversed."))
    existing = _session().execute(select(Voucher).where(Voucher.reversal_of_id == original.id)).scalar()
    if existing is not None:
        raise Conflict(gettext("Voucher %(number)s has already been reversed by %(reversal)s.",
                               number=original.display_number, reversal=existing.display_number))
    day = on or business_date.today()
    label = f"{original.period} {original.display_number}"
    lines = [{"account_id": line.account_id, "summary": gettext("Reversal of %(number)s: %(summary)s", number=label,
                                                                summary=line.summary or "")[:200],
              "debit": -line.debit, "credit": -line.credit, "customer_id": line.customer_id,
              "department_id": line.department_id, "project_code": line.project_code,
              "bank_account": line.bank_account} for line in original.lines]
    try:
        with _session().begin_nested():
            reversal = create_voucher(day, lines, voucher_type=original.voucher_type,
                                      summary=gettext("Reversal of voucher %(number)s", number=label)[:200],
                                      attachment_count=0, maker_id=user_id, source="reversal",
                                      reversal_of_id=original.id)
    except IntegrityError:
        raise Conflict(gettext("Voucher %(number)s has already been reversed.", number=original.display_number)) \
            from None
    return reversal


def reversal_of(voucher) -> Voucher | None:
    return _session().execute(select(Voucher).where(Voucher.reversal_of_id == voucher.id)).scalar()


# --- tamper evidence (GL-7) -----------------------------------------------------------------------------

def _amount_text(value) -> str:
    return format(Decimal(value or 0).quantize(CENT), "f")


def _voucher_row(v) -> dict:
    return {"post_seq": v.post_seq, "voucher_type": v.voucher_type, "number": v.number,
            "voucher_date": v.voucher_date, "attachment_count": v.attachment_count, "summary": v.summary,
            "total_debit": v.total_debit, "total_credit": v.total_credit, "reversal_of_id": v.reversal_of_id}


def _line_row(line) -> dict:
    return {"line_no": line.line_no, "account_id": line.account_id, "debit": line.debit, "credit": line.credit,
            "customer_id": line.customer_id, "department_id": line.department_id, "project_code": line.project_code,
            "bank_account": line.bank_account, "summary": line.summary}


def canonical_content(voucher: dict, lines: list[dict], account_codes: dict, period: str) -> str:
    """The voucher's content as one canonical JSON text: what the hash seals."""
    data = {
        "seq": voucher["post_seq"], "type": voucher["voucher_type"], "number": voucher["number"], "period": period,
        "date": voucher["voucher_date"].isoformat(), "attachments": voucher["attachment_count"] or 0,
        "summary": voucher["summary"] or "", "debit": _amount_text(voucher["total_debit"]),
        "credit": _amount_text(voucher["total_credit"]), "reversal_of": voucher["reversal_of_id"],
        "lines": [[ln["line_no"], account_codes.get(ln["account_id"], f"#{ln['account_id']}"),
                   _amount_text(ln["debit"]), _amount_text(ln["credit"]), ln["customer_id"], ln["department_id"],
                   ln["project_code"] or "", ln["bank_account"] or "", ln["summary"] or ""]
                  for ln in sorted(lines, key=lambda x: x["line_no"])],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash or ''}|{content}".encode("utf-8")).hexdigest()


@dataclass
class ChainReport:
    ok: bool
    checked: int
    voucher_id: int | None = None
    voucher_label: str | None = None
    post_seq: int | None = None
    reason: str | None = None

    @property
    def message(self) -> str:
        if self.ok:
            return gettext("The chain of %(count)s posted vouchers is intact.", count=self.checked)
        return gettext("The chain is broken at post no. %(seq)s, voucher %(voucher)s: %(reason)s",
                       seq=self.post_seq, voucher=self.voucher_label or "?", reason=self.reason)


def verify_chain(batch: int = 2000) -> ChainReport:
    """Recompute every posted voucher's hash in posting order; name the first broken link."""
    session = _session()
    v, ln = Voucher.__table__.c, VoucherLine.__table__.c
    codes = dict(session.execute(select(Account.id, Account.code)).all())
    periods = {pid: f"{y}-{m:02d}" for pid, y, m in session.execute(select(Period.id, Period.year, Period.month))}
    type_chars = {"ji": "记", "shou": "收", "fu": "付", "zhuan": "转"}

    def label(row):
        return f"{periods.get(row['period_id'], '?')} {type_chars.get(row['voucher_type'], '?')}-{row['number']:04d}"

    expected_seq, prev_hash, checked, last = 1, "", 0, None
    posted_without_seq = session.execute(select(Voucher.__table__).where(
        or_(v.status == "posted", v.hash.is_not(None)), v.post_seq.is_(None)).limit(1)).mappings().first()
    after = 0
    while True:
        rows = session.execute(select(Voucher.__table__).where(v.post_seq.is_not(None), v.post_seq > after)
                               .order_by(v.post_seq).limit(batch)).mappings().all()
        if not rows:
            break
        ids = [r["id"] for r in rows]
        lines: dict[int, list] = {}
        for line in session.execute(select(VoucherLine.__table__).where(ln.voucher_id.in_(ids))).mappings():
            lines.setdefault(line["voucher_id"], []).append(line)
        for row in rows:
            def broken(reason):
                return ChainReport(False, checked, row["id"], label(row), row["post_seq"], reason)

            if row["post_seq"] != expected_seq:
                return ChainReport(False, checked, row["id"], label(row), expected_seq,
                                   gettext("post no. %(seq)s is missing (a posted voucher was deleted or renumbered).",
                                           seq=expected_seq))
            if row["status"] != "posted":
                return broken(gettext("its status was changed from posted."))
            if (row["prev_hash"] or "") != prev_hash:
                return broken(gettext("it does not follow the previous posted voucher."))
            own = lines.get(row["id"], [])
            if any(not line["posted"] or line["period_id"] != row["period_id"] for line in own):
                return broken(gettext("its lines were changed."))
            content = canonical_content(row, own, codes, periods.get(row["period_id"], "?"))
            if chain_hash(prev_hash, content) != row["hash"]:
                return broken(gettext("its content (date, number, lines, amounts, accounts or auxiliary values) "
                                      "was changed after posting."))
            prev_hash, expected_seq, checked, last = row["hash"], expected_seq + 1, checked + 1, row
        after = rows[-1]["post_seq"]
    if posted_without_seq is not None:
        return ChainReport(False, checked, posted_without_seq["id"], label(posted_without_seq), None,
                           gettext("it is marked posted but was never chained."))
    head = session.execute(select(ChainHead).where(ChainHead.id == 1)).scalar()
    head_seq = head.last_seq if head else 0
    if head_seq != checked or (head and (head.last_hash or "") != prev_hash):
        return ChainReport(False, checked, last["id"] if last else None, label(last) if last else None,
                           checked + 1, gettext("the newest posted vouchers (up to post no. %(seq)s) are missing.",
                                                seq=head_seq))
    return ChainReport(True, checked)


# --- guard: posted vouchers are never changed, whatever the path through the ORM --------------------------

def _guard_posted(session, flush_context, instances):
    from sqlalchemy import inspect as sa_inspect

    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Voucher):
            hist = sa_inspect(obj).attrs.status.history
            before = (hist.deleted or hist.unchanged or [None])[0]
            if before == "posted" and (obj in session.deleted or session.is_modified(obj, include_collections=False)):
                raise _posted_refusal(obj)
        elif isinstance(obj, VoucherLine):
            hist = sa_inspect(obj).attrs.posted.history
            before = (hist.deleted or hist.unchanged or [None])[0]
            if before and (obj in session.deleted or session.is_modified(obj)):
                raise Conflict(gettext("A line of a posted voucher cannot be changed."))


def install_guard():
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "before_flush", _guard_posted):
        event.listen(Session, "before_flush", _guard_posted)


install_guard()
