"""Month-end processing (期末处理, GL-4): accruals, carry forward of profit and loss, close and reopen.

One command per operation:

    close_period(period_id, user, run_id=None)   accruals → 结转损益 → (December) 结转本年利润 → closed
    reopen_period(period_id, user, reason)       反结账 of the latest closed period, permitted roles only

The close is ONE database transaction with the period row locked: killed half-way it leaves nothing
behind. It is idempotent: every generated voucher posts only the *difference* between what the period
needs and what earlier runs of the same period already posted (after a reopen and new postings only the
remainder is made; run twice, the second run makes nothing).

Generated vouchers (source accrual / carry_forward / year_end) are made by the closing user and posted
directly by the close command (no separate review: the close itself is the reviewed act, and the rules
that make them are fixed). They go through the ledger service's post_system_voucher, so they join the
hash chain.

Accrual bases:
- 提取未到期责任准备金: rate (setting gl_unearned_reserve_rate, default 50%) × the period's guarantee fee
  income (credit − debit of the fee income account in the period).
- 提取担保赔偿准备金: rate (setting gl_compensation_reserve_rate, default 1%) × the guarantee balance at
  period end, as a year-to-date target (the year's accruals sum to rate × year-end balance, as the
  regulation asks); the month posts target − what this year already accrued. The guarantee balance
  comes from a pluggable provider (register_guarantee_balance_provider); the default provider takes
  the period-end balance of the account named in setting gl_guarantee_balance_account (an off-balance
  memo account), or else the amount in setting gl_guarantee_balance, or when that is 0 the balance of the
  guarantees in force (guarantees_in_force).
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from flask_babel import gettext
from sqlalchemy import func, select, update

from app import permissions as P
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.services import settings

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal("0")

# Account codes the close works with (the chart of accounts is reference data: app/services/ledger_reference.py).
FEE_INCOME = "6001"  # 担保费收入
UNEARNED_EXPENSE = "6501"  # 提取未到期责任准备金
UNEARNED_RESERVE = "2601"  # 未到期责任准备金
COMPENSATION_EXPENSE = "6502"  # 提取担保赔偿准备金
COMPENSATION_RESERVE = "2602"  # 担保赔偿准备金
CURRENT_YEAR_PROFIT = "4103"  # 本年利润
UNDISTRIBUTED_PROFIT = ("410401", "4104")  # 利润分配-未分配利润 (the sub-account when the chart has it)

CLOSE_SOURCES = ("accrual", "carry_forward", "year_end")


def _session():
    from app.extensions import db

    return db.session


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


# --- guarantee balance provider --------------------------------------------------------------------------

def _default_guarantee_balance(period) -> Decimal:
    code = (settings.get("gl_guarantee_balance_account") or "").strip()
    if code and _chart().get(code) is not None:
        value = _balance_through(code, period)
        return value if _chart()[code].direction == "debit" else -value
    fixed = money(settings.get("gl_guarantee_balance") or 0)
    return fixed if fixed else guarantees_in_force(period)


def guarantees_in_force(period) -> Decimal:
    """The outstanding balance of the guarantees in force whose loan was confirmed by the period end (the
    guarantee business, issue 4). Until post-guarantee repayments are recorded (issue 7) the balance is the
    current one."""
    from models.business import Guarantee

    value = _session().execute(select(func.coalesce(func.sum(Guarantee.balance), 0)).where(
        Guarantee.stage == "in_force", Guarantee.status == "active",
        Guarantee.loan_date <= period.end_date)).scalar()
    return money(value)


_guarantee_balance_provider: Callable = _default_guarantee_balance


def register_guarantee_balance_provider(provider: Callable | None) -> None:
    """The guarantee business registers a function period → Decimal (guarantee balance at period end);
    None restores the default."""
    global _guarantee_balance_provider
    _guarantee_balance_provider = provider or _default_guarantee_balance


def guarantee_balance(period) -> Decimal:
    return money(_guarantee_balance_provider(period))


# --- small queries ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartAccount:
    id: int
    category: str
    direction: str


_close_chart: ContextVar[dict | None] = ContextVar("close_chart", default=None)


def _chart() -> dict[str, ChartAccount]:
    """code → account of the whole chart: one query, kept for the length of a close (its steps look up a
    dozen accounts and subtrees, each a round trip otherwise)."""
    from models.ledger import Account

    chart = _close_chart.get()
    if chart is None:
        chart = {code: ChartAccount(id, category, direction) for id, code, category, direction in _session().execute(
            select(Account.id, Account.code, Account.category, Account.direction))}
    return chart


def _account_id(code) -> int:
    account = _chart().get(code)
    if account is None:
        raise ValidationError(gettext("The chart of accounts has no account %(code)s.", code=code))
    return account.id


def _subtree_ids(code) -> list[int]:
    """The account and every sub-account (codes extend the parent's code)."""
    return [account.id for c, account in _chart().items() if c.startswith(code)]


def _account_codes() -> dict[int, str]:
    return {account.id: code for code, account in _chart().items()}


def _period_ordinal(period) -> int:
    return period.year * 12 + period.month


def period_by_ym(year: int, month: int):
    from models.ledger import Period

    return _session().execute(select(Period).where(Period.year == year, Period.month == month)).scalar()


def _periods_through(period, same_year_only=False):
    from models.ledger import Period

    q = select(Period.id).where(Period.year * 12 + Period.month <= _period_ordinal(period))
    if same_year_only:
        q = q.where(Period.year == period.year)
    return q


def _balance_through(code, period) -> Decimal:
    """Debit − credit of the account (and its sub-accounts) over every posted line up to period end."""
    from models.ledger import VoucherLine as L

    value = _session().execute(
        select(func.coalesce(func.sum(L.debit - L.credit), 0)).where(
            L.account_id.in_(_subtree_ids(code)), L.posted.is_(True),
            L.period_id.in_(_periods_through(period)))
    ).scalar()
    return money(value)


def _period_net(account_ids, period_id, sources=None, periods=None, exclude_sources=None) -> Decimal:
    """Debit − credit of posted lines on the accounts in one period (or the given period subquery),
    optionally only lines of vouchers with the given sources."""
    from models.ledger import Voucher, VoucherLine as L

    q = select(func.coalesce(func.sum(L.debit - L.credit), 0)).where(
        L.account_id.in_(account_ids), L.posted.is_(True))
    q = q.where(L.period_id.in_(periods)) if periods is not None else q.where(L.period_id == period_id)
    if sources:
        q = q.join(Voucher, Voucher.id == L.voucher_id).where(Voucher.source.in_(sources))
    if exclude_sources:
        q = q.join(Voucher, Voucher.id == L.voucher_id).where(Voucher.source.notin_(exclude_sources))
    return money(_session().execute(q).scalar())


# --- generated vouchers ----------------------------------------------------------------------------------

@dataclass
class Line:
    account_id: int
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    summary: str = ""
    customer_id: int | None = None
    department_id: int | None = None
    project_code: str | None = None
    bank_account: str | None = None


def _post_generated(period, source: str, summary: str, lines: list[Line], user):
    """A system voucher of the close, posted into the hash chain (the close holds the period lock)."""
    from app.services import ledger as gl

    return gl.post_system_voucher(period, source, summary, [ln.__dict__ for ln in lines], user.id,
                                  account_codes=_account_codes())


def _debit_credit(amount: Decimal, debit_side: bool) -> tuple[Decimal, Decimal]:
    """A positive amount on its side; a negative one as a red-letter amount on the same side."""
    return (amount, ZERO) if debit_side else (ZERO, amount)


# --- the steps -------------------------------------------------------------------------------------------

def rate(key: str) -> Decimal:
    return Decimal(str(settings.get(key)))


def accrue_unearned_reserve(period, user):
    """提取未到期责任准备金: rate × the period's fee income, less what earlier runs of the period accrued."""
    _account_id(FEE_INCOME)  # refused with the reason when the chart lacks it
    expense, reserve = _account_id(UNEARNED_EXPENSE), _account_id(UNEARNED_RESERVE)
    base = -_period_net(_subtree_ids(FEE_INCOME), period.id, exclude_sources=("carry_forward", "year_end"))
    target = money(base * rate("gl_unearned_reserve_rate"))
    done = _period_net([expense], period.id, sources=("accrual",))
    amount = target - done
    if amount == 0:
        return None
    summary = gettext("Unearned guarantee reserve accrual %(period)s", period=str(period))
    return _post_generated(period, "accrual", summary, [
        Line(expense, *_debit_credit(amount, True)), Line(reserve, *_debit_credit(amount, False))], user)


def accrue_compensation_reserve(period, user):
    """提取担保赔偿准备金: rate × guarantee balance at period end is this year's target; post the rest."""
    expense, reserve = _account_id(COMPENSATION_EXPENSE), _account_id(COMPENSATION_RESERVE)
    target = money(guarantee_balance(period) * rate("gl_compensation_reserve_rate"))
    done = _period_net([expense], None, sources=("accrual",),
                       periods=_periods_through(period, same_year_only=True))
    amount = target - done
    if amount == 0:
        return None
    summary = gettext("Guarantee compensation reserve accrual %(period)s", period=str(period))
    return _post_generated(period, "accrual", summary, [
        Line(expense, *_debit_credit(amount, True)), Line(reserve, *_debit_credit(amount, False))], user)


def carry_forward_profit_loss(period, user):
    """结转损益: every profit-and-loss account (per auxiliary slice) to 本年利润, leaving them at zero."""
    from models.ledger import VoucherLine as L

    profit = _account_id(CURRENT_YEAR_PROFIT)
    session = _session()
    # The P&L account ids from the chart, then only their lines (the period/account index), instead of
    # joining every line of the month to the chart.
    profit_loss = [account.id for account in _chart().values() if account.category == "profit_loss"]
    dims = (L.customer_id, L.department_id, L.project_code, L.bank_account)
    rows = session.execute(
        select(L.account_id, *dims, func.sum(L.debit - L.credit).label("net"))
        .where(L.period_id == period.id, L.account_id.in_(profit_loss), L.posted.is_(True))
        .group_by(L.account_id, *dims)
        .order_by(L.account_id)
    ).all()
    summary = gettext("Carry forward profit and loss %(period)s", period=str(period))
    lines, net = [], ZERO
    for row in rows:
        amount = money(row.net)
        if amount == 0:
            continue
        net += amount
        # a debit balance (expense) is credited away, a credit balance (income) debited away
        debit, credit = (ZERO, amount) if amount > 0 else (-amount, ZERO)
        lines.append(Line(row.account_id, debit, credit, summary, row.customer_id, row.department_id,
                          row.project_code, row.bank_account))
    if not lines:
        return None
    if net != 0:  # net debit of P&L = a loss: debit 本年利润; a profit is credited to it
        lines.append(Line(profit, *((net, ZERO) if net > 0 else (ZERO, -net)), summary))
    return _post_generated(period, "carry_forward", summary, lines, user)


def carry_forward_year_profit(period, user):
    """Year end (December): 本年利润 to 利润分配-未分配利润."""
    profit = _account_id(CURRENT_YEAR_PROFIT)
    target_code = next((code for code in UNDISTRIBUTED_PROFIT if code in _chart()), UNDISTRIBUTED_PROFIT[-1])
    target = _account_id(target_code)
    balance = _balance_through(CURRENT_YEAR_PROFIT, period)  # debit − credit; a profit is a credit balance
    if balance == 0:
        return None
    summary = gettext("Carry forward the year's profit %(year)s", year=period.year)
    if balance < 0:
        lines = [Line(profit, -balance, ZERO, summary), Line(target, ZERO, -balance, summary)]
    else:
        lines = [Line(target, balance, ZERO, summary), Line(profit, ZERO, balance, summary)]
    return _post_generated(period, "year_end", summary, lines, user)


# --- preconditions ---------------------------------------------------------------------------------------

def previous_period(period):
    from models.ledger import Period

    return _session().execute(
        select(Period).where(Period.year * 12 + Period.month < _period_ordinal(period))
        .order_by(Period.year.desc(), Period.month.desc()).limit(1)).scalar()


def unposted_vouchers(period) -> list:
    from models.ledger import VOUCHER_STATUSES, Voucher

    # IN rather than != "posted": the status index then finds the few waiting vouchers instead of the
    # period's every voucher being read and filtered.
    waiting = tuple(s for s in VOUCHER_STATUSES if s != "posted")
    return list(_session().execute(
        select(Voucher).where(Voucher.period_id == period.id, Voucher.status.in_(waiting))
        .order_by(Voucher.voucher_type, Voucher.number)).scalars())


def check_can_close(period) -> None:
    if period.status == "closed":
        raise Conflict(gettext("Period %(period)s is already closed.", period=str(period)))
    before = previous_period(period)
    if before is not None and before.status != "closed":
        raise ValidationError(gettext("Close the previous period %(period)s first.", period=str(before)))
    waiting = unposted_vouchers(period)
    if waiting:
        names = ", ".join(f"{v.voucher_type}-{v.number}" for v in waiting[:20])
        more = gettext(" and %(n)s more", n=len(waiting) - 20) if len(waiting) > 20 else ""
        raise ValidationError(gettext(
            "Period %(period)s has %(count)s unposted vouchers: %(list)s%(more)s. Post or delete them first.",
            period=str(period), count=len(waiting), list=names, more=more))


# --- commands --------------------------------------------------------------------------------------------

@dataclass
class CloseResult:
    period_id: int
    already_closed: bool = False
    vouchers: list = field(default_factory=list)  # ids of the vouchers made


STEPS = (  # (progress when done, step)
    (30, accrue_unearned_reserve),
    (50, accrue_compensation_reserve),
    (80, carry_forward_profit_loss),
    (90, carry_forward_year_profit),
)


def _lock_period(period_id):
    from models.ledger import Period

    period = _session().execute(select(Period).where(Period.id == period_id).with_for_update()).scalar()
    if period is None:
        raise NotFound(gettext("No such period."))
    return period


def _set_progress(run_id, progress: int, message: str | None = None, status: str | None = None) -> None:
    """Progress of a run, visible to the page while the close transaction is still open.

    On PostgreSQL on a connection of its own (autocommitted); SQLite locks the whole file for the
    close's transaction, so there the figures appear when it commits (tasks run eagerly there anyway).
    """
    if run_id is None:
        return
    from app.extensions import db
    from models.ledger import CloseRun

    values = {"progress": progress}
    if message is not None:
        values["message"] = message
    if status is not None:
        values["status"] = status
    if db.engine.dialect.name == "sqlite":
        _session().execute(update(CloseRun).where(CloseRun.id == run_id).values(**values))
        return
    with db.engine.begin() as conn:
        conn.execute(update(CloseRun.__table__).where(CloseRun.__table__.c.id == run_id).values(**values))


def close_period(period_id: int, user, run_id: int | None = None) -> CloseResult:
    """期末结账: one transaction; refuses with the reason when a precondition fails (nothing written)."""
    from app.audit import reset_actor, set_actor

    session = _session()
    token = set_actor(user.id, user.username)
    chart_token = _close_chart.set(None)
    try:
        period = _lock_period(period_id)
        if period.status == "closed":  # run again: nothing to do
            session.rollback()
            if run_id is not None:
                _set_progress(run_id, 100, gettext("Period %(period)s is already closed.", period=str(period)),
                              "done")
                session.commit()
            return CloseResult(period_id, already_closed=True)
        check_can_close(period)
        _close_chart.set(_chart())
        _set_progress(run_id, 10, gettext("Checks passed"))
        result = CloseResult(period_id)
        for progress, step in STEPS:
            if step is carry_forward_year_profit and period.month != 12:
                continue
            voucher = step(period, user)
            if voucher is not None:
                result.vouchers.append(voucher.id)
            _set_progress(run_id, progress)
        period.status, period.closed_at, period.closed_by_id = "closed", datetime.now(), user.id
        session.flush()
        if run_id is not None:
            from models.ledger import CloseRun

            run = session.get(CloseRun, run_id)
            run.status, run.progress, run.finished_at = "done", 100, datetime.now()
            run.message = gettext("Period %(period)s closed; %(count)s vouchers generated.",
                                  period=str(period), count=len(result.vouchers))
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        _close_chart.reset(chart_token)
        reset_actor(token)


def may_reopen(user) -> bool:
    from app.extensions import appbuilder

    return bool(user) and appbuilder.sm._has_view_access(user, P.can(P.RUN), P.PERIOD_REOPEN)


def reopen_period(period_id: int, user, reason: str):
    """反结账: only the latest closed period, only by a permitted role, with a reason; recorded as a CloseRun
    (and in the operation log through the period's audit)."""
    from app.audit import reset_actor, set_actor
    from models.ledger import CloseRun, Period

    if not may_reopen(user):
        raise Forbidden(gettext("You are not allowed to reopen a period."))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError(gettext("Give the reason for reopening the period."), "reason")
    if len(reason) > 300:
        raise ValidationError(gettext("The reason is too long (at most 300 characters)."), "reason")
    session = _session()
    token = set_actor(user.id, user.username)
    chart_token = _close_chart.set(None)
    try:
        period = _lock_period(period_id)
        if period.status != "closed":
            raise Conflict(gettext("Period %(period)s is not closed.", period=str(period)))
        later = session.execute(select(Period).where(
            Period.status == "closed", Period.year * 12 + Period.month > _period_ordinal(period))
            .order_by(Period.year.desc(), Period.month.desc()).limit(1)).scalar()
        if later is not None:
            raise ValidationError(gettext(
                "Only the latest closed period can be reopened; reopen %(period)s first.", period=str(later)))
        period.status, period.closed_at, period.closed_by_id = "open", None, None
        now = datetime.now()
        run = CloseRun(period_id=period.id, action="reopen", status="done", progress=100, reason=reason,
                       started_at=now, finished_at=now,
                       message=gettext("Period %(period)s reopened.", period=str(period)))
        session.add(run)
        session.commit()
        return run
    except BaseException:
        session.rollback()
        raise
    finally:
        reset_actor(token)


# --- background run with progress ------------------------------------------------------------------------

def start_close(period_id: int, user):
    """Create the run the progress bar watches and hand the close to Celery (eager without REDIS_URL)."""
    from models.ledger import CloseRun

    session = _session()
    period = _lock_period(period_id)
    check_can_close(period)  # refuse at once with the reason, not in the background
    running = session.execute(select(CloseRun.id).where(
        CloseRun.period_id == period.id, CloseRun.action == "close",
        CloseRun.status.in_(("queued", "running")))).scalar()
    if running is not None:
        session.rollback()
        raise Conflict(gettext("A close of this period is already running."))
    run = CloseRun(period_id=period.id, action="close", status="queued", progress=0)
    session.add(run)
    session.commit()
    run_id = run.id
    from app.tasks import close_period as task

    try:
        task.delay(run_id, user.id)
    except Exception:
        log.exception("close run %s could not be queued", run_id)
        session.rollback()
        _fail(run_id, gettext("The background run could not be started. Please try again later."))
    return run_id


def _fail(run_id, message):
    from models.ledger import CloseRun

    session = _session()
    run = session.get(CloseRun, run_id)
    run.status, run.finished_at, run.message = "failed", datetime.now(), message
    session.commit()


def run_close(run_id: int, user_id: int) -> None:
    """Body of the Celery task."""
    from app.errors import GuaranteeError
    from app.extensions import appbuilder
    from models.ledger import CloseRun

    session = _session()
    run = session.get(CloseRun, run_id)
    run.status, run.progress = "running", 5
    session.commit()
    user = appbuilder.sm.get_user_by_id(user_id)
    try:
        close_period(run.period_id, user, run_id=run_id)
    except GuaranteeError as ex:
        _fail(run_id, ex.message)
    except Exception:
        log.exception("close run %s failed", run_id)
        _fail(run_id, gettext("The month-end close failed; nothing was changed. The error has been logged."))
