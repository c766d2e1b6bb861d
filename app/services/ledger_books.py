"""Books and statements (账簿查询 / 报表查询, GL-5), read-only and set-based (SQLAlchemy Core GROUP BYs
over the voucher lines, which carry their voucher's period, date and posted flag).

- trial_balance: 科目余额表 — opening, period debit/credit, closing for a period range, any account
  level (parents roll up their children), optional auxiliary breakdown (customer/department/project/bank).
- account_summary: 科目汇总表 — debit and credit per account for a date range.
- general_ledger: 总账 — per account per month: opening, 本月合计, 本年累计, balance.
- detail_ledger: 明细账 — the lines of one account (optionally one auxiliary value, or every account)
  with a running balance and monthly subtotals, streamed from the database.
- journal: 序时账 — every posted line in date and voucher order, streamed.
- balance_sheet / income_statement: 资产负债表 / 利润表 from ReportLine rows (report line → account
  formula "+1001,+1002,-1231" or line formula "=L1+L2-L3"), validated when saved.

Amounts are Decimal. Balances in the books show on the side they fall (借/贷) like the usual Chinese
layouts; a "net" is always debit − credit.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Iterator

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import case, func, literal, select

from app.errors import ValidationError

ZERO = Decimal("0.00")
CLOSE_SOURCES = ("carry_forward", "year_end")

AUX_DIMENSIONS = {  # name → (line column, label)
    "customer": ("customer_id", _l("Customer")),
    "department": ("department_id", _l("Department")),
    "project": ("project_code", _l("Project")),
    "bank": ("bank_account", _l("Bank account")),
}
REPORTS = {"balance_sheet": _l("Balance sheet"), "income_statement": _l("Income statement")}
SECTIONS = {"asset": _l("Assets"), "liability_equity": _l("Liabilities and owners' equity"),
            "income": _l("Income statement")}


def _session():
    from app.extensions import db

    return db.session


def dec(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


# --- periods ---------------------------------------------------------------------------------------------

def ym(value) -> tuple[int, int]:
    """(year, month) from "2026-03", a date or a tuple."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, date):
        return value.year, value.month
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(value or ""))
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationError(gettext("Give a period like 2026-03."), "period")
    return int(match.group(1)), int(match.group(2))


def _ordinal(y_m) -> int:
    return y_m[0] * 12 + y_m[1]


def period_ids(before=None, start=None, end=None) -> list[int]:
    """Ids of the periods in [start, end] (year, month) or strictly before `before`."""
    from models.ledger import Period

    q = select(Period.id)
    o = Period.year * 12 + Period.month
    if before is not None:
        q = q.where(o < _ordinal(before))
    if start is not None:
        q = q.where(o >= _ordinal(start))
    if end is not None:
        q = q.where(o <= _ordinal(end))
    return list(_session().execute(q).scalars())


def periods_in(start, end) -> list:
    from models.ledger import Period

    o = Period.year * 12 + Period.month
    return list(_session().execute(select(Period).where(o >= _ordinal(start), o <= _ordinal(end))
                                   .order_by(Period.year, Period.month)).scalars())


def all_periods() -> list:
    from models.ledger import Period

    return list(_session().execute(select(Period).order_by(Period.year.desc(), Period.month.desc())).scalars())


# --- accounts --------------------------------------------------------------------------------------------

@dataclass
class Acct:
    id: int
    code: str
    name: str
    level: int
    parent_id: int | None
    direction: str
    category: str


def accounts() -> dict[int, Acct]:
    from models.ledger import Account

    rows = _session().execute(select(Account.id, Account.code, Account.name, Account.level, Account.parent_id,
                                     Account.direction, Account.category).order_by(Account.code))
    return {r.id: Acct(*r) for r in rows}


def _ancestors(acct: Acct, by_id: dict[int, Acct]) -> list[Acct]:
    chain, seen = [], set()
    while acct is not None and acct.id not in seen:
        seen.add(acct.id)
        chain.append(acct)
        acct = by_id.get(acct.parent_id)
    return chain


def side(net: Decimal) -> tuple[Decimal, Decimal]:
    """A net (debit − credit) as the (debit, credit) pair it shows as."""
    return (net, ZERO) if net >= 0 else (ZERO, -net)


def direction_label(net: Decimal) -> str:
    return gettext("Dr") if net > 0 else gettext("Cr") if net < 0 else gettext("Zero")


# --- trial balance (科目余额表) ----------------------------------------------------------------------------

@dataclass
class BalanceRow:
    account_id: int | None
    code: str
    name: str
    level: int
    opening: Decimal = ZERO  # net, debit − credit
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    aux: str | None = None  # the auxiliary value (display) for breakdown rows
    aux_key: object = None
    kind: str = "account"  # account | aux | total
    has_children: bool = False

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @property
    def opening_debit(self):
        return side(self.opening)[0]

    @property
    def opening_credit(self):
        return side(self.opening)[1]

    @property
    def closing_debit(self):
        return side(self.closing)[0]

    @property
    def closing_credit(self):
        return side(self.closing)[1]

    def add(self, other: "BalanceRow") -> None:
        self.opening += other.opening
        self.debit += other.debit
        self.credit += other.credit


class TotalRow(BalanceRow):
    """The total line: the sums of each column of the rows added (balances by side, so debits = credits)."""

    def __init__(self, name):
        super().__init__(None, "", name, 0, kind="total")
        self.sides = [ZERO] * 4

    def add(self, other: BalanceRow) -> None:
        super().add(other)
        for i, v in enumerate((other.opening_debit, other.opening_credit, other.closing_debit, other.closing_credit)):
            self.sides[i] += v

    opening_debit = property(lambda self: self.sides[0])
    opening_credit = property(lambda self: self.sides[1])
    closing_debit = property(lambda self: self.sides[2])
    closing_credit = property(lambda self: self.sides[3])


def _aux_column(aux):
    from models.ledger import VoucherLine as L

    if aux is None:
        return None
    if aux not in AUX_DIMENSIONS:
        raise ValidationError(gettext("Unknown auxiliary dimension."), "aux")
    return getattr(L, AUX_DIMENSIONS[aux][0])


def aux_labels(aux, keys) -> dict:
    """Display names of auxiliary values (customer and department names)."""
    keys = [k for k in keys if k is not None]
    if not keys or aux in ("project", "bank", None):
        return {k: str(k) for k in keys}
    if aux == "customer":
        from models.customers import Customer as M
    else:
        from models.system import Department as M
    rows = _session().execute(select(M.id, M.name).where(M.id.in_(keys)))
    return {r.id: r.name for r in rows}


def movements(start, end, aux=None, account_ids=None):
    """Per leaf account (and auxiliary value): opening net before `start`, debit and credit in [start, end]."""
    from models.ledger import VoucherLine as L

    before, inside = period_ids(before=start), period_ids(start=start, end=end)
    if not before and not inside:
        return []
    aux_col = _aux_column(aux)
    in_range = L.period_id.in_(inside) if inside else literal(False)
    cols = [L.account_id] + ([aux_col] if aux_col is not None else [])
    q = (select(*cols,
                func.sum(case((in_range, 0), else_=L.debit - L.credit)).label("opening"),
                func.sum(case((in_range, L.debit), else_=0)).label("debit"),
                func.sum(case((in_range, L.credit), else_=0)).label("credit"))
         .where(L.posted.is_(True), L.period_id.in_(before + inside))
         .group_by(*cols))
    if account_ids is not None:
        q = q.where(L.account_id.in_(account_ids))
    return _session().execute(q).all()


def trial_balance(start, end=None, level: int | None = None, aux: str | None = None,
                  account_prefix: str | None = None, include_zero: bool = False) -> list[BalanceRow]:
    """科目余额表 rows in account-code order, each account followed by its auxiliary rows; the last row
    is the total over first-level accounts (debits equal credits)."""
    start, end = ym(start), ym(end or start)
    if _ordinal(end) < _ordinal(start):
        raise ValidationError(gettext("The end period is before the start period."), "end")
    by_id = accounts()
    rolled: dict[int, BalanceRow] = {}
    aux_rows: dict[int, dict] = defaultdict(dict)
    for r in movements(start, end, aux):
        acct = by_id.get(r.account_id)
        if acct is None:
            continue
        leaf = BalanceRow(acct.id, acct.code, acct.name, acct.level, dec(r.opening), dec(r.debit), dec(r.credit))
        for a in _ancestors(acct, by_id):
            rolled.setdefault(a.id, BalanceRow(a.id, a.code, a.name, a.level)).add(leaf)
        if aux is not None:
            key = r[1]
            row = aux_rows[acct.id].setdefault(key, BalanceRow(acct.id, acct.code, acct.name, acct.level,
                                                               kind="aux", aux_key=key))
            row.add(leaf)
    parents = {a.parent_id for a in by_id.values() if a.parent_id}
    labels = aux_labels(aux, {k for rows in aux_rows.values() for k in rows}) if aux else {}
    result, total = [], TotalRow(gettext("Total"))
    for acct in by_id.values():  # code order
        if level is not None and acct.level > level:
            continue
        if account_prefix and not acct.code.startswith(account_prefix):
            continue
        row = rolled.get(acct.id)
        if row is None:
            if not include_zero:
                continue
            row = BalanceRow(acct.id, acct.code, acct.name, acct.level)
        elif not include_zero and not (row.opening or row.debit or row.credit):
            continue
        row.has_children = acct.id in parents
        result.append(row)
        if acct.parent_id is None or by_id.get(acct.parent_id) is None:
            total.add(row)
        for key, aux_row in sorted(aux_rows.get(acct.id, {}).items(), key=lambda kv: str(kv[0] or "")):
            aux_row.aux = labels.get(key, gettext("(none)")) if key is not None else gettext("(none)")
            result.append(aux_row)
    if account_prefix:  # the total of what is shown: the top rows of the selection
        total = TotalRow(gettext("Total"))
        top = min((r.level for r in result if r.kind == "account"), default=1)
        for r in result:
            if r.kind == "account" and r.level == top:
                total.add(r)
    result.append(total)
    return result


# --- account summary (科目汇总表) -------------------------------------------------------------------------

def account_summary(date_from: date, date_to: date, level: int | None = 1) -> list[BalanceRow]:
    """Debit and credit per account of the posted lines dated in [date_from, date_to]."""
    from models.ledger import VoucherLine as L

    if date_to < date_from:
        raise ValidationError(gettext("The end date is before the start date."), "date_to")
    by_id = accounts()
    rows = _session().execute(
        select(L.account_id, func.sum(L.debit).label("debit"), func.sum(L.credit).label("credit"))
        .where(L.posted.is_(True), L.voucher_date >= date_from, L.voucher_date <= date_to)
        .group_by(L.account_id)).all()
    rolled: dict[int, BalanceRow] = {}
    for r in rows:
        acct = by_id.get(r.account_id)
        if acct is None:
            continue
        leaf = BalanceRow(acct.id, acct.code, acct.name, acct.level, ZERO, dec(r.debit), dec(r.credit))
        for a in _ancestors(acct, by_id):
            rolled.setdefault(a.id, BalanceRow(a.id, a.code, a.name, a.level)).add(leaf)
    parents = {a.parent_id for a in by_id.values() if a.parent_id}
    result, total = [], TotalRow(gettext("Total"))
    for acct in by_id.values():
        row = rolled.get(acct.id)
        if row is None or (level is not None and acct.level > level):
            continue
        row.has_children = acct.id in parents
        result.append(row)
        if by_id.get(acct.parent_id) is None:
            total.add(row)
    result.append(total)
    return result


# --- general ledger (总账) --------------------------------------------------------------------------------

@dataclass
class LedgerRow:
    code: str
    name: str
    level: int
    period: str  # "2026-03"
    kind: str  # opening | month | year
    summary: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO  # net
    account_id: int | None = None


def general_ledger(start, end=None, level: int | None = 1, account_prefix: str | None = None) -> list[LedgerRow]:
    from models.ledger import VoucherLine as L

    start, end = ym(start), ym(end or start)
    by_id = accounts()
    periods = periods_in(start, end)
    inside = [p.id for p in periods]
    year_start = (start[0], 1)
    early = period_ids(before=start)
    ytd_before = period_ids(start=year_start, end=(start[0], start[1] - 1)) if start[1] > 1 else []
    rows = _session().execute(
        select(L.period_id, L.account_id, func.sum(L.debit).label("debit"), func.sum(L.credit).label("credit"))
        .where(L.posted.is_(True), L.period_id.in_(early + inside))
        .group_by(L.period_id, L.account_id)).all()
    by_period = {p.id: p for p in periods}
    early_set, ytd_set = set(early), set(ytd_before)
    opening, ytd = defaultdict(lambda: ZERO), defaultdict(lambda: [ZERO, ZERO])
    moves = defaultdict(lambda: [ZERO, ZERO])  # (account, period) → [debit, credit]
    for r in rows:
        acct = by_id.get(r.account_id)
        if acct is None:
            continue
        for a in _ancestors(acct, by_id):
            if r.period_id in early_set:
                opening[a.id] += dec(r.debit) - dec(r.credit)
                if r.period_id in ytd_set:
                    ytd[a.id][0] += dec(r.debit)
                    ytd[a.id][1] += dec(r.credit)
            else:
                m = moves[(a.id, r.period_id)]
                m[0] += dec(r.debit)
                m[1] += dec(r.credit)
    active = set(opening) | {a for a, _ in moves}
    result = []
    for acct in by_id.values():
        if acct.id not in active or (level is not None and acct.level > level):
            continue
        if account_prefix and not acct.code.startswith(account_prefix):
            continue
        balance = opening[acct.id]
        result.append(LedgerRow(acct.code, acct.name, acct.level, f"{start[0]}-{start[1]:02d}", "opening",
                                gettext("Opening balance"), balance=balance, account_id=acct.id))
        cum = list(ytd[acct.id])
        for pid in inside:
            p = by_period[pid]
            if p.month == 1:
                cum = [ZERO, ZERO]
            d, c = moves.get((acct.id, pid), (ZERO, ZERO))
            balance += d - c
            cum[0] += d
            cum[1] += c
            label = f"{p.year}-{p.month:02d}"
            result.append(LedgerRow(acct.code, acct.name, acct.level, label, "month", gettext("Month total"),
                                    d, c, balance, acct.id))
            result.append(LedgerRow(acct.code, acct.name, acct.level, label, "year", gettext("Year to date"),
                                    cum[0], cum[1], balance, acct.id))
    return result


# --- detail ledger (明细账) and journal (序时账): streamed -------------------------------------------------

@dataclass
class DetailRow:
    kind: str  # opening | line | month | year | account_end
    code: str
    name: str
    voucher_date: date | None = None
    voucher: str = ""  # 记-12
    voucher_id: int | None = None
    summary: str = ""
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO
    aux: str | None = None


VOUCHER_WORDS = {"ji": "记", "shou": "收", "fu": "付", "zhuan": "转"}


def _voucher_label(voucher_type, number) -> str:
    return f"{VOUCHER_WORDS.get(voucher_type, voucher_type)}-{number}"


def aux_key(aux, value):
    """The auxiliary value as stored: customer and department are ids."""
    if aux in ("customer", "department"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationError(gettext("Give the id of the customer or department."), "aux_value") from None
    return str(value)


def _line_query(start, end, account_ids=None, aux=None, aux_value=None):
    from models.ledger import Voucher, VoucherLine as L

    inside = period_ids(start=start, end=end)
    q = (select(L.account_id, L.voucher_date, L.period_id, L.voucher_id, L.summary, L.debit, L.credit,
                Voucher.voucher_type, Voucher.number, L.customer_id, L.department_id, L.project_code,
                L.bank_account)
         .join(Voucher, Voucher.id == L.voucher_id)
         .where(L.posted.is_(True), L.period_id.in_(inside)))
    if account_ids is not None:
        q = q.where(L.account_id.in_(account_ids))
    if aux is not None and aux_value not in (None, ""):
        col = _aux_column(aux)
        q = q.where(col == aux_key(aux, aux_value))
    return q


def _subtree(prefix: str | None, by_id) -> list[int] | None:
    if not prefix:
        return None
    return [a.id for a in by_id.values() if a.code.startswith(prefix)]


def detail_ledger(start, end=None, account_prefix: str | None = None, aux: str | None = None,
                  aux_value=None, by_leaf: bool = True, period_totals: bool = True) -> Iterator[DetailRow]:
    """明细账: for every account with lines (leaf accounts; or the chosen account and its sub-accounts
    as one book when by_leaf is False) an opening row, each posted line with its running balance,
    and monthly / year-to-date totals. Rows are streamed from a server-side cursor."""
    from models.ledger import Account, Voucher, VoucherLine as L

    start, end = ym(start), ym(end or start)
    by_id = accounts()
    ids = _subtree(account_prefix, by_id)
    if account_prefix and not ids:
        raise ValidationError(gettext("No account has the code %(code)s.", code=account_prefix), "account")
    top = next((a for a in by_id.values() if a.code == account_prefix), None)

    def book_of(account_id):  # the account whose book a line belongs to
        return account_id if by_leaf or top is None else top.id

    # openings (and the year-to-date totals before `start`) per book
    opening = defaultdict(lambda: ZERO)
    ytd0 = defaultdict(lambda: [ZERO, ZERO])
    early = period_ids(before=start)
    ytd_ids = set(period_ids(start=(start[0], 1), end=(start[0], start[1] - 1))) if start[1] > 1 else set()
    if early:
        q = (select(L.account_id, L.period_id, func.sum(L.debit).label("d"), func.sum(L.credit).label("c"))
             .where(L.posted.is_(True), L.period_id.in_(early)).group_by(L.account_id, L.period_id))
        if ids is not None:
            q = q.where(L.account_id.in_(ids))
        if aux is not None and aux_value not in (None, ""):
            col = _aux_column(aux)
            q = q.where(col == aux_key(aux, aux_value))
        for r in _session().execute(q):
            b = book_of(r.account_id)
            opening[b] += dec(r.d) - dec(r.c)
            if r.period_id in ytd_ids:
                ytd0[b][0] += dec(r.d)
                ytd0[b][1] += dec(r.c)
    periods = {p.id: p for p in periods_in(start, end)}
    q = _line_query(start, end, ids, aux, aux_value)
    order = [L.voucher_date, Voucher.voucher_type, Voucher.number, L.line_no]
    if by_leaf:
        q = q.join(Account, Account.id == L.account_id).order_by(Account.code, *order)
    else:
        q = q.order_by(*order)
    rows = _session().execute(q.execution_options(yield_per=5000, stream_results=True))
    labels = aux_labels(aux, [aux_key(aux, aux_value)]) if aux and aux_value not in (None, "") else {}
    aux_text = labels.get(aux_key(aux, aux_value)) if labels else None

    state = {"book": None, "balance": ZERO, "period": None, "month": [ZERO, ZERO], "ytd": [ZERO, ZERO]}

    def close_month():
        p = periods.get(state["period"])
        if p is None or not period_totals:
            return []
        acct = by_id[state["book"]]
        out = [DetailRow("month", acct.code, acct.name, p.end_date, "", None, gettext("Month total"),
                         state["month"][0], state["month"][1], state["balance"], aux_text),
               DetailRow("year", acct.code, acct.name, p.end_date, "", None, gettext("Year to date"),
                         state["ytd"][0], state["ytd"][1], state["balance"], aux_text)]
        state["month"] = [ZERO, ZERO]
        return out

    def open_book(book):
        acct = by_id[book]
        state.update(book=book, balance=opening[book], period=None, month=[ZERO, ZERO], ytd=list(ytd0[book]))
        return DetailRow("opening", acct.code, acct.name, None, "", None, gettext("Opening balance"),
                         balance=opening[book], aux=aux_text)

    seen = set()
    for r in rows:
        book = book_of(r.account_id)
        if book != state["book"]:
            if state["book"] is not None:
                yield from close_month()
            seen.add(book)
            yield open_book(book)
        if r.period_id != state["period"]:
            if state["period"] is not None:
                yield from close_month()
            if periods.get(r.period_id) is not None and periods[r.period_id].month == 1:
                state["ytd"] = [ZERO, ZERO]
            state["period"] = r.period_id
        d, c = r.debit, r.credit
        state["balance"] += d - c
        state["month"][0] += d
        state["month"][1] += c
        state["ytd"][0] += d
        state["ytd"][1] += c
        acct = by_id[book]
        yield DetailRow("line", acct.code, acct.name, r.voucher_date, _voucher_label(r.voucher_type, r.number),
                        r.voucher_id, r.summary or "", d, c, state["balance"], aux_text)
    if state["book"] is not None:
        yield from close_month()
    # books with an opening balance and no lines in the range
    for book, value in sorted(opening.items(), key=lambda kv: by_id[kv[0]].code):
        if book not in seen and value:
            yield open_book(book)


def journal(start, end=None, date_from: date | None = None, date_to: date | None = None) -> Iterator[dict]:
    """序时账: every posted line in date and voucher order, streamed."""
    from models.ledger import Voucher, VoucherLine as L

    start, end = ym(start), ym(end or start)
    by_id = accounts()
    q = _line_query(start, end).add_columns(L.line_no).order_by(
        L.voucher_date, Voucher.voucher_type, Voucher.number, L.line_no)
    if date_from:
        q = q.where(L.voucher_date >= date_from)
    if date_to:
        q = q.where(L.voucher_date <= date_to)
    for r in _session().execute(q.execution_options(yield_per=5000, stream_results=True)):
        acct = by_id.get(r.account_id)
        yield {"voucher_date": r.voucher_date, "voucher": _voucher_label(r.voucher_type, r.number),
               "voucher_id": r.voucher_id, "line_no": r.line_no, "summary": r.summary or "",
               "code": acct.code if acct else "", "name": acct.name if acct else "",
               "debit": r.debit, "credit": r.credit}


# --- statements ------------------------------------------------------------------------------------------

ACCOUNT_TERM = re.compile(r"^([+-]?)\s*(\d{2,20})$")
LINE_TERM = re.compile(r"([+-])\s*L(\d+)")


def parse_formula(formula: str):
    """("accounts", [(sign, code)]) or ("lines", [(sign, line_no)]); ValidationError when malformed."""
    text = (formula or "").strip()
    if not text:
        return "accounts", []
    if text.startswith("="):
        body = text[1:].replace(" ", "")
        if not body:
            raise ValidationError(gettext("The line formula is empty."), "formula")
        if body[0] not in "+-":
            body = "+" + body
        terms = LINE_TERM.findall(body)
        if "".join(f"{s}L{n}" for s, n in terms) != body:
            raise ValidationError(gettext('Write line formulas like "=L1+L2-L3".'), "formula")
        return "lines", [(1 if s == "+" else -1, int(n)) for s, n in terms]
    terms = []
    for part in text.split(","):
        match = ACCOUNT_TERM.match(part.strip())
        if not match:
            raise ValidationError(gettext('Write account formulas like "+1001,+1002,-1231" (account codes '
                                          'with signs, separated by commas).'), "formula")
        terms.append((-1 if match.group(1) == "-" else 1, match.group(2)))
    return "accounts", terms


def validate_report_line(item) -> None:
    """Service check of a statement line (screen and API): the formula parses, its accounts exist,
    the lines it sums exist in the same report and no line ends up summing itself."""
    from models.ledger import Account, ReportLine

    if item.report not in REPORTS:
        raise ValidationError(gettext("Choose the balance sheet or the income statement."), "report")
    if item.line_no is None or item.line_no < 1:
        raise ValidationError(gettext("The line number must be a positive whole number."), "line_no")
    kind, terms = parse_formula(item.formula)
    session = _session()
    if kind == "accounts":
        codes = {code for _, code in terms}
        known = set(session.execute(select(Account.code).where(Account.code.in_(codes))).scalars()) if codes else set()
        missing = sorted(codes - known)
        if missing:
            raise ValidationError(gettext("No account has the code %(code)s.", code=", ".join(missing)), "formula")
        return
    with session.no_autoflush:
        others = {r.line_no: r.formula for r in session.execute(
            select(ReportLine).where(ReportLine.report == item.report)).scalars() if r.id != item.id}
    graph = {n: f for n, f in others.items()}
    graph[item.line_no] = item.formula
    for _, n in terms:
        if n not in graph:
            raise ValidationError(gettext("The report has no line %(n)s.", n=n), "formula")

    def refs(n):
        f = graph.get(n) or ""
        return [m for _, m in parse_formula(f)[1]] if f.strip().startswith("=") else []

    stack, seen = [item.line_no], set()
    while stack:
        n = stack.pop()
        for m in refs(n):
            if m == item.line_no:
                raise ValidationError(gettext("The formula refers back to its own line."), "formula")
            if m not in seen:
                seen.add(m)
                stack.append(m)


def _nets_through(period_list_ids, exclude_close=False) -> dict[str, Decimal]:
    """Net (debit − credit) per account code, leaf accounts only, over the given periods."""
    from models.ledger import Voucher, VoucherLine as L

    if not period_list_ids:
        return {}
    q = select(L.account_id, func.sum(L.debit - L.credit).label("net")).where(
        L.posted.is_(True), L.period_id.in_(period_list_ids)).group_by(L.account_id)
    if exclude_close:
        q = q.join(Voucher, Voucher.id == L.voucher_id).where(Voucher.source.notin_(CLOSE_SOURCES))
    by_id = accounts()
    return {by_id[r.account_id].code: dec(r.net) for r in _session().execute(q) if r.account_id in by_id}


def _account_value(code: str, nets: dict[str, Decimal], directions: dict[str, str]) -> Decimal:
    """The account (with its sub-accounts) in its own balance direction."""
    net = sum((v for c, v in nets.items() if c.startswith(code)), ZERO)
    return net if directions.get(code, "debit") == "debit" else -net


@dataclass
class StatementLine:
    line_no: int
    name: str
    section: str | None
    bold: bool
    values: list = field(default_factory=list)  # one per column


def _evaluate(lines, columns: list[dict[str, Decimal]], directions) -> list[StatementLine]:
    parsed = {ln.line_no: parse_formula(ln.formula) for ln in lines}
    cache: dict[tuple[int, int], Decimal] = {}

    def value(n, col, depth=0):
        if (n, col) in cache:
            return cache[(n, col)]
        if depth > 100 or n not in parsed:
            return ZERO
        kind, terms = parsed[n]
        if kind == "accounts":
            v = sum((s * _account_value(code, columns[col], directions) for s, code in terms), ZERO)
        else:
            v = sum((s * value(m, col, depth + 1) for s, m in terms), ZERO)
        cache[(n, col)] = v
        return v

    return [StatementLine(ln.line_no, ln.name, ln.section, ln.bold, [value(ln.line_no, c) for c in range(len(columns))])
            for ln in lines]


def _report_lines(report):
    from models.ledger import ReportLine

    return list(_session().execute(select(ReportLine).where(ReportLine.report == report)
                                   .order_by(ReportLine.line_no)).scalars())


def _directions() -> dict[str, str]:
    return {a.code: a.direction for a in accounts().values()}


def balance_sheet(period) -> dict:
    """资产负债表: 期末余额 at the period end and 年初余额 (end of the previous year), assets beside
    liabilities and owners' equity."""
    y, m = ym(period)
    closing = _nets_through(period_ids(end=(y, m)))
    year_open = _nets_through(period_ids(before=(y, 1)))
    lines = _evaluate(_report_lines("balance_sheet"), [closing, year_open], _directions())
    left = [ln for ln in lines if ln.section == "asset"]
    right = [ln for ln in lines if ln.section != "asset"]
    return {"period": f"{y}-{m:02d}", "left": left, "right": right, "lines": lines}


def income_statement(period) -> dict:
    """利润表: 本期金额 and 本年累计金额, from the lines before carry forward (结转) vouchers."""
    y, m = ym(period)
    current = _nets_through(period_ids(start=(y, m), end=(y, m)), exclude_close=True)
    ytd = _nets_through(period_ids(start=(y, 1), end=(y, m)), exclude_close=True)
    lines = _evaluate(_report_lines("income_statement"), [current, ytd], _directions())
    return {"period": f"{y}-{m:02d}", "lines": lines}


# Default statement lines for a financing guarantee company (simplified standard layout). Reference data:
# finance edits them on the "Statement lines" screen.
DEFAULT_REPORT_LINES = {
    "balance_sheet": [
        (1, "货币资金", "asset", "+1001,+1002,+1012", False),
        (2, "存出保证金", "asset", "+1031", False),
        (3, "交易性金融资产", "asset", "+1101", False),
        (4, "应收账款", "asset", "+1122", False),
        (5, "预付款项", "asset", "+1123", False),
        (6, "应收代偿款", "asset", "+1131", False),
        (7, "应收利息", "asset", "+1132", False),
        (8, "其他应收款", "asset", "+1221,-1231", False),
        (9, "流动资产合计", "asset", "=L1+L2+L3+L4+L5+L6+L7+L8", True),
        (10, "长期股权投资", "asset", "+1511", False),
        (11, "固定资产", "asset", "+1601,-1602", False),
        (12, "无形资产", "asset", "+1701,-1702", False),
        (13, "抵债资产", "asset", "+1441", False),
        (14, "长期待摊费用", "asset", "+1801", False),
        (15, "递延所得税资产", "asset", "+1811", False),
        (16, "非流动资产合计", "asset", "=L10+L11+L12+L13+L14+L15", True),
        (17, "资产总计", "asset", "=L9+L16", True),
        (21, "短期借款", "liability_equity", "+2001", False),
        (22, "应付账款", "liability_equity", "+2202", False),
        (23, "预收账款", "liability_equity", "+2203", False),
        (24, "应付职工薪酬", "liability_equity", "+2211", False),
        (25, "应交税费", "liability_equity", "+2221", False),
        (26, "存入保证金", "liability_equity", "+224101", False),
        (27, "其他应付款", "liability_equity", "+224102", False),
        (28, "未到期责任准备金", "liability_equity", "+2601", False),
        (29, "担保赔偿准备金", "liability_equity", "+2602", False),
        (30, "负债合计", "liability_equity", "=L21+L22+L23+L24+L25+L26+L27+L28+L29", True),
        (31, "实收资本", "liability_equity", "+4001", False),
        (32, "资本公积", "liability_equity", "+4002", False),
        (33, "盈余公积", "liability_equity", "+4101", False),
        (34, "一般风险准备", "liability_equity", "+4102", False),
        (35, "未分配利润", "liability_equity", "+4103,+4104", False),
        (36, "所有者权益合计", "liability_equity", "=L31+L32+L33+L34+L35", True),
        (37, "负债和所有者权益总计", "liability_equity", "=L30+L36", True),
    ],
    "income_statement": [
        (1, "一、营业收入", "income", "=L2+L3", True),
        (2, "担保费收入", "income", "+6001", False),
        (3, "其他业务收入", "income", "+6051", False),
        (4, "减：提取未到期责任准备金", "income", "+6501", False),
        (5, "提取担保赔偿准备金", "income", "+6502", False),
        (6, "税金及附加", "income", "+6403", False),
        (7, "业务及管理费", "income", "+6602", False),
        (8, "财务费用", "income", "+6603", False),
        (9, "资产减值损失", "income", "+6701", False),
        (10, "加：投资收益", "income", "+6111", False),
        (11, "二、营业利润", "income", "=L1-L4-L5-L6-L7-L8-L9+L10", True),
        (12, "加：营业外收入", "income", "+6301", False),
        (13, "减：营业外支出", "income", "+6711", False),
        (14, "三、利润总额", "income", "=L11+L12-L13", True),
        (15, "减：所得税费用", "income", "+6801", False),
        (16, "四、净利润", "income", "=L14-L15", True),
    ],
}


def ensure_report_lines() -> int:
    """Reference data: the default statement lines of a report that has none (idempotent; caller commits)."""
    from models.ledger import ReportLine

    session = _session()
    have = set(session.execute(select(ReportLine.report).distinct()).scalars())
    added = 0
    for report, lines in DEFAULT_REPORT_LINES.items():
        if report in have:
            continue
        for line_no, name, section, formula, bold in lines:
            session.add(ReportLine(report=report, line_no=line_no, name=name, section=section, formula=formula,
                                   bold=bold))
            added += 1
    return added


def company_name() -> str:
    from models.system import CompanyInfo

    return _session().execute(select(CompanyInfo.name).limit(1)).scalar() or ""
