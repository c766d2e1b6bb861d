"""Repayment plans of the loans behind guarantees (还款计划, POST-4).

A plan is generated (等额本息 annuity, 等额本金 equal principal, 按期付息到期还本 interest-only with a bullet,
到期一次还本 bullet) or imported from the bank's schedule (Excel). Repayments the bank reports are applied to
the instalments oldest first. Each row keeps ``effective_due``: the due date moved to the next working day
(chinese_calendar: statutory holidays and make-up working days) when the product's post-guarantee rule says
so, so overdue checks are plain date comparisons, set-based, in the day-end batch.
"""
from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import delete, func, select

from app.errors import NotFound, ValidationError

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
METHODS = {
    "annuity": _l("Equal instalments"),
    "equal_principal": _l("Equal principal"),
    "interest_only": _l("Interest-only with bullet"),
    "bullet": _l("Bullet at maturity"),
}
MAX_MONTHS = 600


def _session():
    from app.extensions import db

    return db.session


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def method_label(method: str) -> str:
    if method == "imported":
        return gettext("Imported")
    return str(METHODS.get(method, method))


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has fewer days (31 Jan + 1 → 28/29 Feb)."""
    month = start.month - 1 + months
    year = start.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_working_day(day: date) -> bool:
    """A working day by the State Council's calendar (chinese_calendar); outside the years it knows,
    Monday to Friday."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def adjusts_to_working_day(product_id) -> bool:
    from models.post_guarantee import PostProductRule

    return bool(_session().execute(select(PostProductRule.working_day_adjust)
                                   .where(PostProductRule.product_id == product_id)).scalar())


def set_product_rule(product_id, working_day_adjust: bool):
    """The product's post-guarantee rule (creates it on first use)."""
    from models.post_guarantee import PostProductRule

    rule = _session().execute(select(PostProductRule).where(PostProductRule.product_id == product_id)
                              ).scalar_one_or_none()
    if rule is None:
        rule = PostProductRule(product_id=product_id)
        _session().add(rule)
    rule.working_day_adjust = bool(working_day_adjust)
    _session().flush()
    return rule


def _guarantee(guarantee_id, lock: bool = False):
    from models.business import Guarantee

    query = select(Guarantee).where(Guarantee.id == guarantee_id)
    if lock:
        query = query.with_for_update()
    item = _session().execute(query).scalar_one_or_none()
    if item is None:
        raise NotFound(gettext("The guarantee does not exist."))
    return item


def _effective(due: date, adjust: bool) -> date:
    return next_working_day(due) if adjust else due


def schedule(method: str, *, start: date, months: int, principal, annual_rate) -> list[tuple[date, Decimal, Decimal]]:
    """[(due date, principal, interest)] of a plan, without touching the database.

    Interest per month is the balance × annual rate / 12, rounded half up to the cent; the last instalment
    takes the rounding remainder of the principal. Bullet: one instalment at maturity with simple interest
    for the whole term."""
    if method not in METHODS:
        raise ValidationError(gettext("Unknown repayment method."), field="method")
    try:
        principal = _money(principal)
        rate = Decimal(str(annual_rate))
        months = int(months)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(gettext("Principal, rate and term must be numbers."))
    if principal <= 0:
        raise ValidationError(gettext("The principal must be greater than 0."), field="principal")
    if rate < 0 or rate >= 1:
        raise ValidationError(gettext("The annual rate must be a fraction between 0 and 1 (0.048 = 4.8 %)."),
                              field="annual_rate")
    if months < 1 or months > MAX_MONTHS:
        raise ValidationError(gettext("The term must be 1 to %(max)s months.", max=MAX_MONTHS), field="months")
    if not isinstance(start, date):
        raise ValidationError(gettext("Give the start date of the loan."), field="start")
    monthly = rate / 12
    rows = []
    if method == "bullet":
        return [(add_months(start, months), principal, _money(principal * monthly * months))]
    if method == "interest_only":
        interest = _money(principal * monthly)
        for k in range(1, months + 1):
            rows.append((add_months(start, k), principal if k == months else Decimal("0.00"), interest))
        return rows
    balance = principal
    if method == "annuity" and monthly > 0:
        factor = (1 + monthly) ** months
        payment = _money(principal * monthly * factor / (factor - 1))
        for k in range(1, months + 1):
            interest = _money(balance * monthly)
            part = balance if k == months else min(payment - interest, balance)
            rows.append((add_months(start, k), part, interest))
            balance -= part
        return rows
    # equal principal (and an annuity at a zero rate, which is the same thing)
    part = _money(principal / months)
    for k in range(1, months + 1):
        interest = _money(balance * monthly)
        this = balance if k == months else part
        rows.append((add_months(start, k), this, interest))
        balance -= this
    return rows


def _replaceable_rows(guarantee_id):
    """Rows nothing was paid on: a new plan replaces them; rows with payments stay as history."""
    from models.post_guarantee import RepaymentPlanRow as R

    return (R.guarantee_id == guarantee_id, R.paid_principal == 0, R.paid_interest == 0, R.settled.is_(False))


def _write_rows(guarantee, rows, method: str, source: str):
    from models.post_guarantee import RepaymentPlanRow as R

    session = _session()
    session.execute(delete(R).where(*_replaceable_rows(guarantee.id)).execution_options(synchronize_session=False))
    last = session.execute(select(func.max(R.seq)).where(R.guarantee_id == guarantee.id)).scalar() or 0
    adjust = adjusts_to_working_day(guarantee.product_id)
    made = []
    for offset, (due, principal, interest) in enumerate(rows, start=1):
        row = R(guarantee_id=guarantee.id, seq=last + offset, due_date=due, effective_due=_effective(due, adjust),
                principal=principal, interest=interest, paid_principal=Decimal("0.00"),
                paid_interest=Decimal("0.00"), settled=False, method=method, source=source)
        session.add(row)
        made.append(row)
    session.flush()
    return made


def generate_plan(guarantee_id, method, *, start: date, months: int, principal, annual_rate, user_id=None):
    """Generate (or regenerate) the plan of a guarantee: rows nothing was paid on are replaced; rows with
    payments are kept. Returns the new rows. h7comp calls this on extension and early repayment."""
    guarantee = _guarantee(guarantee_id, lock=True)
    rows = schedule(method, start=start, months=months, principal=principal, annual_rate=annual_rate)
    made = _write_rows(guarantee, rows, method, "generated")
    log.info("plan of guarantee %s generated by user %s: %s rows (%s)", guarantee_id, user_id, len(made), method)
    return made


IMPORT_COLUMNS = ("seq", "due_date", "principal", "interest")
IMPORT_HEADERS = (_l("Instalment"), _l("Due date"), _l("Principal"), _l("Interest"))


def import_template() -> bytes:
    """An empty workbook with the import's header row and one example line."""
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(gettext("Repayment plan"))
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, header in enumerate(IMPORT_HEADERS):
        sheet.write(0, col, str(header), bold)
    sheet.write(1, 0, 1)
    sheet.write_datetime(1, 1, datetime(2031, 1, 20), day)
    sheet.write(1, 2, 100000)
    sheet.write(1, 3, 4000)
    sheet.set_column(0, 3, 16)
    book.close()
    return buffer.getvalue()


def _cell_date(value, row_no):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.strptime(value.strip().replace("/", "-"), "%Y-%m-%d").date()
        except ValueError:
            pass
    raise ValidationError(gettext("Row %(row)s: the date is not a date.", row=row_no), field="file")


def _cell_money(value, row_no, label):
    try:
        amount = _money(str(value).strip().replace(",", "")) if value not in (None, "") else Decimal("0.00")
    except InvalidOperation:
        raise ValidationError(gettext("Row %(row)s: %(field)s is not a number.", row=row_no, field=label),
                              field="file")
    if amount < 0:
        raise ValidationError(gettext("Row %(row)s: %(field)s must not be negative.", row=row_no, field=label),
                              field="file")
    return amount


def parse_import(data: bytes) -> list[tuple[date, Decimal, Decimal]]:
    """Rows of the bank's schedule: instalment numbers 1, 2, 3 …, due dates strictly ascending, amounts ≥ 0."""
    from app.services import xlsx_upload

    book = xlsx_upload.open_workbook(data)
    book.close()
    rows = []
    expected = 1
    previous = None
    for row_no, values in xlsx_upload.read_first_sheet(data):
        values = list(values) + [None] * 4
        if row_no == 1 or all(v in (None, "") for v in values[:4]):
            continue
        try:
            seq = int(float(values[0]))
        except (TypeError, ValueError):
            raise ValidationError(gettext("Row %(row)s: the instalment number is missing.", row=row_no),
                                  field="file")
        if seq != expected:
            raise ValidationError(gettext("Row %(row)s: instalment %(expected)s was expected.", row=row_no,
                                          expected=expected), field="file")
        due = _cell_date(values[1], row_no)
        if previous is not None and due <= previous:
            raise ValidationError(gettext("Row %(row)s: the due dates must rise from one instalment to the next.",
                                          row=row_no), field="file")
        principal = _cell_money(values[2], row_no, gettext("Principal"))
        interest = _cell_money(values[3], row_no, gettext("Interest"))
        rows.append((due, principal, interest))
        expected += 1
        previous = due
    if not rows:
        raise ValidationError(gettext("The file has no instalments."), field="file")
    return rows


def import_plan(guarantee_id, data: bytes, user_id=None):
    """Replace the unpaid plan by the bank's schedule. The principal of the imported rows must equal the loan's
    outstanding principal (the loan amount less what was repaid)."""
    from models.post_guarantee import RepaymentPlanRow as R

    guarantee = _guarantee(guarantee_id, lock=True)
    rows = parse_import(data)
    kept = _session().execute(select(func.coalesce(func.sum(R.principal), 0))
                              .where(R.guarantee_id == guarantee.id, ~(R.paid_principal == 0)
                                     | ~(R.paid_interest == 0) | R.settled.is_(True))).scalar()
    loan = _money(guarantee.loan_amount or guarantee.amount)
    expected = loan - _money(kept)
    total = sum((p for _d, p, _i in rows), Decimal("0.00"))
    if total != expected:
        raise ValidationError(gettext("The principal of the instalments is %(total)s; the loan needs %(expected)s.",
                                      total=total, expected=expected), field="file")
    made = _write_rows(guarantee, rows, "imported", "imported")
    log.info("plan of guarantee %s imported by user %s: %s rows", guarantee_id, user_id, len(made))
    return made


def plan_rows(guarantee_id):
    from models.post_guarantee import RepaymentPlanRow as R

    return list(_session().execute(select(R).where(R.guarantee_id == guarantee_id).order_by(R.seq)).scalars())


def outstanding_principal(guarantee_id) -> Decimal:
    """Principal of the plan not yet repaid."""
    from models.post_guarantee import RepaymentPlanRow as R

    value = _session().execute(select(func.coalesce(func.sum(R.principal - R.paid_principal), 0))
                               .where(R.guarantee_id == guarantee_id)).scalar()
    return _money(value)


def overdue_days(guarantee_id, business_date: date | None = None) -> int:
    """Days since the oldest unpaid instalment's (working-day) due date; 0 when nothing is overdue."""
    from app.services import business_date as bd
    from models.post_guarantee import RepaymentPlanRow as R

    business_date = business_date or bd.today()
    oldest = _session().execute(select(func.min(R.effective_due)).where(
        R.guarantee_id == guarantee_id, R.settled.is_(False), R.effective_due < business_date)).scalar()
    if oldest is None:
        return 0
    if isinstance(oldest, str):  # SQLite hands back the aggregate of a date column as text
        oldest = date.fromisoformat(oldest)
    return (business_date - oldest).days


def row_overdue_days(row, business_date: date) -> int:
    if row.settled or row.effective_due >= business_date:
        return 0
    return (business_date - row.effective_due).days


def record_repayment(guarantee_id, *, paid_on: date, principal, interest=0, reference=None, note=None,
                     user_id=None):
    """A repayment the bank reported: interest and principal go to the unpaid instalments oldest first; an
    instalment is settled when both are paid. The guarantee's balance falls by the principal repaid."""
    from app.services import business_date as bd
    from models.post_guarantee import Repayment
    from models.post_guarantee import RepaymentPlanRow as R

    guarantee = _guarantee(guarantee_id, lock=True)
    if not guarantee.in_force:
        raise ValidationError(gettext("Repayments are recorded only for guarantees in force."))
    if not isinstance(paid_on, date):
        raise ValidationError(gettext("Give the date of the repayment."), field="paid_on")
    if paid_on > bd.today():
        raise ValidationError(gettext("The repayment date cannot be after the business date."), field="paid_on")
    try:
        principal = _money(principal or 0)
        interest = _money(interest or 0)
    except InvalidOperation:
        raise ValidationError(gettext("The amounts must be numbers."))
    if principal < 0 or interest < 0 or principal + interest <= 0:
        raise ValidationError(gettext("Enter a principal or interest amount greater than 0."), field="principal")
    rows = list(_session().execute(select(R).where(R.guarantee_id == guarantee.id, R.settled.is_(False))
                                   .order_by(R.seq).with_for_update()).scalars())
    if not rows:
        raise ValidationError(gettext("The guarantee has no unpaid instalments."))
    owed_p = sum((r.principal - r.paid_principal for r in rows), Decimal("0.00"))
    owed_i = sum((r.interest - r.paid_interest for r in rows), Decimal("0.00"))
    if principal > owed_p:
        raise ValidationError(gettext("The principal repaid (%(amount)s) is more than the unpaid principal "
                                      "(%(owed)s).", amount=principal, owed=owed_p), field="principal")
    if interest > owed_i:
        raise ValidationError(gettext("The interest repaid (%(amount)s) is more than the unpaid interest "
                                      "(%(owed)s).", amount=interest, owed=owed_i), field="interest")
    left_p, left_i = principal, interest
    for row in rows:
        take_i = min(left_i, row.interest - row.paid_interest)
        take_p = min(left_p, row.principal - row.paid_principal)
        row.paid_interest += take_i
        row.paid_principal += take_p
        left_i -= take_i
        left_p -= take_p
        if row.paid_interest >= row.interest and row.paid_principal >= row.principal:
            row.settled, row.settled_on = True, paid_on
    repayment = Repayment(guarantee_id=guarantee.id, paid_on=paid_on, principal=principal, interest=interest,
                          reference=(reference or "").strip()[:60] or None, note=(note or "").strip()[:300] or None)
    _session().add(repayment)
    if principal:
        guarantee.balance = max(_money(guarantee.balance or 0) - principal, Decimal("0.00"))
    _session().flush()
    return repayment


def repayments(guarantee_id):
    from models.post_guarantee import Repayment

    return list(_session().execute(select(Repayment).where(Repayment.guarantee_id == guarantee_id)
                                   .order_by(Repayment.paid_on, Repayment.id)).scalars())


REPAYMENT_HEADERS = (_l("Paid on"), _l("Principal"), _l("Interest"), _l("Bank reference"))


def import_repayments(guarantee_id, data: bytes, user_id=None) -> list:
    """The bank's repayment list (Excel: paid on, principal, interest, reference), recorded row by row with the
    same checks as one repayment. A wrong row refuses the file: the caller rolls the whole import back."""
    from app.services import xlsx_upload

    _guarantee(guarantee_id)
    book = xlsx_upload.open_workbook(data)
    book.close()
    made = []
    for row_no, values in xlsx_upload.read_first_sheet(data):
        values = list(values) + [None] * 4
        if row_no == 1 or all(v in (None, "") for v in values[:4]):
            continue
        paid_on = _cell_date(values[0], row_no)
        principal = _cell_money(values[1], row_no, gettext("Principal"))
        interest = _cell_money(values[2], row_no, gettext("Interest"))
        try:
            made.append(record_repayment(guarantee_id, paid_on=paid_on, principal=principal, interest=interest,
                                         reference=str(values[3]) if values[3] not in (None, "") else None,
                                         user_id=user_id))
        except ValidationError as ex:
            raise ValidationError(gettext("Row %(row)s: %(message)s", row=row_no, message=ex.message), field="file")
    if not made:
        raise ValidationError(gettext("The file has no repayments."), field="file")
    return made
