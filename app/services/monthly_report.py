"""融资担保机构主要数据月报表 (STAT-3): the regulator's monthly statistical report for any month, company-wide — and
the same report for a quarter (季报) or a year (年报): one code path over a date range (start, end); "the month"
below reads "the period" for those, balances are at the period's end and the year to date runs to it.

Columns (COLUMNS): total, the guarantee classes by the product's guarantee kind — loan (借款类, with housing
provident fund loans), bond (发行债券), other financing (any other kind not listed as non-financing) and
non-financing (履约, 诉讼保全, 其他非融资) — then, of the financing guarantees, small-micro enterprises (corporate
customers of enterprise size S or XS), farmers (individual customers of household type 2, rural) and individuals.

Lines, each one aggregate query grouped by class (no loop over guarantees):
  new            本月新增: loan amount and count of guarantees lent in the month (loan_date), and the year to date
  balance_end    月末在保余额: loan amount − principal repaid − early repayments − principal compensated, each on or
                 before the month's end, of the guarantees lent by then and not released by then; count of those
                 guarantees and of their customers
  released       解除担保: loan amount of the guarantees released in the month (release date, else the stage change)
  compensated    代偿: amount paid in the month and the year to date
Company lines: losses (app/services/post_figures.losses), compensation outstanding at the month's end (paid −
recovered by then), overdue not yet compensated (instalments due by the month's end and unpaid then, of guarantees
without a compensation paid by then), and the three reserves from the ledger at the month's end: 未到期责任准备金
(2601), 担保赔偿准备金 (2602), 一般风险准备 (4102) — "—" when the chart has no such account.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import and_, case, distinct, func, literal, or_, select

from app.errors import ValidationError

ZERO = Decimal("0.00")
NON_FINANCING = ("performance", "litigation", "other_non_financing")
LOAN_KINDS = ("loan", "housing_fund")
COLUMNS = {"total": _l("Total"), "loan": _l("Loan guarantees"), "bond": _l("Bond guarantees"),
           "other": _l("Other financing guarantees"), "non_financing": _l("Non-financing guarantees"),
           "small_micro": _l("Of financing: small and micro enterprises"),
           "agricultural": _l("Of financing: farmers"), "individual": _l("Of financing: individuals")}
LINES = [
    ("new_amount", _l("New guarantees in the month (amount)")),
    ("new_count", _l("New guarantees in the month (number)")),
    ("ytd_amount", _l("New guarantees in the year to date (amount)")),
    ("balance", _l("Guarantee balance at the month's end")),
    ("count", _l("Guarantees in force at the month's end (number)")),
    ("customers", _l("Customers in force at the month's end")),
    ("released", _l("Guarantees released in the month (amount)")),
    ("compensated", _l("Compensation paid in the month")),
    ("ytd_compensated", _l("Compensation paid in the year to date")),
]
COMPANY_LINES = [
    ("losses", _l("Losses confirmed in the month")),
    ("ytd_losses", _l("Losses confirmed in the year to date")),
    ("compensation_balance", _l("Compensation outstanding at the month's end")),
    ("overdue", _l("Overdue not yet compensated at the month's end")),
    ("reserve_unexpired", _l("Unexpired liability reserve (2601)")),
    ("reserve_compensation", _l("Guarantee compensation reserve (2602)")),
    ("reserve_general", _l("General risk reserve (4102)")),
]
# the lines that name the month read "quarter"/"year" in the quarterly and annual reports
PERIOD_LABELS = {
    "quarter": {
        "new_amount": _l("New guarantees in the quarter (amount)"),
        "new_count": _l("New guarantees in the quarter (number)"),
        "balance": _l("Guarantee balance at the quarter's end"),
        "count": _l("Guarantees in force at the quarter's end (number)"),
        "customers": _l("Customers in force at the quarter's end"),
        "released": _l("Guarantees released in the quarter (amount)"),
        "compensated": _l("Compensation paid in the quarter"),
        "losses": _l("Losses confirmed in the quarter"),
        "compensation_balance": _l("Compensation outstanding at the quarter's end"),
        "overdue": _l("Overdue not yet compensated at the quarter's end"),
    },
    "year": {
        "new_amount": _l("New guarantees in the year (amount)"),
        "new_count": _l("New guarantees in the year (number)"),
        "balance": _l("Guarantee balance at the year's end"),
        "count": _l("Guarantees in force at the year's end (number)"),
        "customers": _l("Customers in force at the year's end"),
        "released": _l("Guarantees released in the year (amount)"),
        "compensated": _l("Compensation paid in the year"),
        "losses": _l("Losses confirmed in the year"),
        "compensation_balance": _l("Compensation outstanding at the year's end"),
        "overdue": _l("Overdue not yet compensated at the year's end"),
    },
}
RESERVE_CODES = {"reserve_unexpired": "2601", "reserve_compensation": "2602", "reserve_general": "4102"}


def _session():
    from app.extensions import db

    return db.session


@dataclass(frozen=True)
class Period:
    """A reporting period: kind "month" (number 1-12), "quarter" (1-4) or "year" (number None)."""
    kind: str
    year: int
    number: int | None = None

    @property
    def start(self) -> date:
        first = {"month": self.number, "quarter": 3 * (self.number or 1) - 2}.get(self.kind, 1)
        return date(self.year, first, 1)

    @property
    def end(self) -> date:
        last = {"month": self.number, "quarter": 3 * (self.number or 1)}.get(self.kind, 12)
        return date(self.year, last, calendar.monthrange(self.year, last)[1])

    @property
    def code(self) -> str:
        """The query-string form: 2069-04, 2069-Q2 or 2069."""
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        return f"{self.year}-Q{self.number}" if self.kind == "quarter" else str(self.year)


@dataclass
class Report:
    year: int
    month: int  # the period's last month
    start: date
    end: date
    lines: dict  # line key -> {column key: Decimal | int}
    company: dict  # line key -> Decimal | None
    period: Period | None = None

    @property
    def kind(self) -> str:
        return self.period.kind if self.period else "month"


def line_labels(kind: str = "month") -> tuple[list, list]:
    """(LINES, COMPANY_LINES) with the labels of the period kind."""
    over = PERIOD_LABELS.get(kind, {})
    return ([(k, over.get(k, label)) for k, label in LINES], [(k, over.get(k, label)) for k, label in COMPANY_LINES])


def parse_month(text) -> tuple[int, int]:
    try:
        year, month = (int(p) for p in str(text or "").strip().split("-"))
        date(year, month, 1)
        return year, month
    except (TypeError, ValueError):
        raise ValidationError(gettext("Choose a month as yyyy-mm."), "month") from None


def parse_period(text) -> Period:
    """"2069-04" a month, "2069-Q2" a quarter, "2069" a year."""
    raw = str(text or "").strip().upper()
    try:
        if "-Q" in raw:
            year, quarter = (int(p) for p in raw.split("-Q"))
            if not (1 <= quarter <= 4 and 1 <= year <= 9999):
                raise ValueError
            return Period("quarter", year, quarter)
        if raw.isdigit() and len(raw) == 4:
            return Period("year", int(raw))
        return Period("month", *parse_month(raw))
    except (TypeError, ValueError, ValidationError):
        raise ValidationError(gettext("Choose a period as yyyy-mm, yyyy-Qn or yyyy."), "period") from None


def _classes(start: date, end: date, customer_ids=None):
    """Subquery: one row per guarantee with its class and the three financing flags."""
    from models.business import Guarantee
    from models.customers import Customer
    from models.products import Product

    kind = Product.guarantee_kind
    klass = case((kind.in_(LOAN_KINDS), "loan"), (kind == "bond", "bond"), (kind.in_(NON_FINANCING), "non_financing"),
                 else_="other")
    financing = kind.notin_(NON_FINANCING)
    flag = lambda cond: case((and_(financing, cond), 1), else_=0)  # noqa: E731
    return (select(Guarantee.id.label("gid"), Guarantee.customer_id.label("cid"), klass.label("klass"),
                   flag(and_(Customer.kind == "corporate", Customer.enterprise_size.in_(("S", "XS")))).label("sm"),
                   flag(and_(Customer.kind == "individual", Customer.household_type == "2")).label("agri"),
                   flag(Customer.kind == "individual").label("indiv"))
            .join(Product, Product.id == Guarantee.product_id).join(Customer, Customer.id == Guarantee.customer_id)
            .where(Guarantee.loan_date.isnot(None), Guarantee.loan_date <= end,
                   *([Guarantee.customer_id.in_(customer_ids)] if customer_ids is not None else []))
            .subquery())


FLAGS = ("small_micro", "agricultural", "individual")


def _by_class(cls, values, keys, customers_key=None) -> dict:
    """{key: {column: sum}} of the value columns `keys` of a (gid, …) subquery by class, flags and total — one
    GROUP BY for all keys; customers_key names a line counting distinct customers of the rows (two queries:
    a customer with guarantees of two classes counts once in the total and the flags)."""
    conds = [literal(True), cls.c.sm == 1, cls.c.agri == 1, cls.c.indiv == 1]
    cols = [func.coalesce(func.sum(case((c, values.c[key]), else_=0)), 0) for key in keys for c in conds]
    if customers_key:
        cols += [func.count(distinct(cls.c.cid))]
    rows = _session().execute(select(cls.c.klass, *cols).join(values, values.c.gid == cls.c.gid)
                              .group_by(cls.c.klass)).all()
    out = {key: dict.fromkeys(COLUMNS, ZERO) for key in keys + ([customers_key] if customers_key else [])}
    for row in rows:
        klass, numbers = row[0], row[1:]
        for k, key in enumerate(keys):
            total, *flags = numbers[4 * k: 4 * k + 4]
            out[key][klass] += Decimal(total or 0)
            out[key]["total"] += Decimal(total or 0)
            for name, v in zip(FLAGS, flags):
                out[key][name] += Decimal(v or 0)
        if customers_key:
            out[customers_key][klass] = Decimal(numbers[-1] or 0)
    if customers_key:
        counts = _session().execute(
            select(*(func.count(distinct(case((c, cls.c.cid)))) for c in conds))
            .join(values, values.c.gid == cls.c.gid)).one()
        out[customers_key].update({name: Decimal(v or 0) for name, v in zip(("total",) + FLAGS, counts)})
    return out


def _release_date_in(Guarantee, Release, start: date, end: date):
    return or_(and_(Release.released_on.isnot(None), Release.released_on >= start, Release.released_on <= end),
               and_(Release.released_on.is_(None), Guarantee.stage_changed_at >= datetime.combine(start, time.min),
                    Guarantee.stage_changed_at < datetime.combine(end + timedelta(days=1), time.min)))


def _balances(end: date):
    """Subquery (gid, v): each guarantee's balance at the end of `end` (> 0 only)."""
    from models.business import Guarantee
    from models.post_guarantee import Repayment
    from models.post_settlement import Compensation, EarlyRepayment, GuaranteeRelease

    repaid = (select(Repayment.guarantee_id.label("gid"), func.sum(Repayment.principal).label("v"))
              .where(Repayment.paid_on <= end).group_by(Repayment.guarantee_id).subquery())
    early = (select(EarlyRepayment.guarantee_id.label("gid"), func.sum(EarlyRepayment.amount).label("v"))
             .where(EarlyRepayment.repaid_on <= end).group_by(EarlyRepayment.guarantee_id).subquery())
    comp = (select(Compensation.guarantee_id.label("gid"), func.sum(Compensation.principal).label("v"))
            .where(Compensation.status == "paid", Compensation.paid_on <= end)
            .group_by(Compensation.guarantee_id).subquery())
    lent = func.coalesce(Guarantee.loan_amount, Guarantee.amount)
    value = lent - func.coalesce(repaid.c.v, 0) - func.coalesce(early.c.v, 0) - func.coalesce(comp.c.v, 0)
    # every branch is NOT NULL (the outer join gives NULLs), so the negation below is exact
    released_by_end = or_(and_(GuaranteeRelease.id.isnot(None), GuaranteeRelease.released_on <= end),
                          and_(GuaranteeRelease.id.is_(None), Guarantee.status == "released",
                               Guarantee.stage_changed_at.isnot(None),
                               Guarantee.stage_changed_at < datetime.combine(end + timedelta(days=1), time.min)))
    return (select(Guarantee.id.label("gid"), value.label("v"))
            .outerjoin(repaid, repaid.c.gid == Guarantee.id).outerjoin(early, early.c.gid == Guarantee.id)
            .outerjoin(comp, comp.c.gid == Guarantee.id)
            .outerjoin(GuaranteeRelease, GuaranteeRelease.guarantee_id == Guarantee.id)
            .where(Guarantee.loan_date <= end, or_(Guarantee.stage == "in_force", Guarantee.status == "released"),
                   ~released_by_end, value > 0).subquery())


def build(year: int, month: int, customer_ids=None) -> Report:
    """The report of the month; customer_ids narrows it to those customers (the guarantees behind a figure)."""
    return build_period(Period("month", year, month), customer_ids)


def build_period(period: Period, customer_ids=None) -> Report:
    """The report of a month, quarter or year: flows over [start, end], balances at end, year to date to end."""
    from models.business import Guarantee
    from models.post_settlement import Compensation, GuaranteeRelease

    start, end = period.start, period.end
    year_start = date(end.year, 1, 1)
    cls = _classes(start, end, customer_ids)
    lent = func.coalesce(Guarantee.loan_amount, Guarantee.amount)

    in_period = and_(Guarantee.loan_date >= start, Guarantee.loan_date <= end)
    new = (select(Guarantee.id.label("gid"), case((in_period, lent), else_=0).label("new_amount"),
                  case((in_period, 1), else_=0).label("new_count"), lent.label("ytd_amount"))
           .where(Guarantee.loan_date >= year_start, Guarantee.loan_date <= end).subquery())
    balances = _balances(end)
    balances = select(balances.c.gid, balances.c.v.label("balance"), literal(1).label("count")).subquery()
    released = (select(Guarantee.id.label("gid"), lent.label("released"))
                .outerjoin(GuaranteeRelease, GuaranteeRelease.guarantee_id == Guarantee.id)
                .where(Guarantee.status == "released", _release_date_in(Guarantee, GuaranteeRelease, start, end))
                .subquery())
    paid = (select(Compensation.guarantee_id.label("gid"),
                   func.sum(case((Compensation.paid_on >= start, Compensation.paid_amount), else_=0))
                   .label("compensated"), func.sum(Compensation.paid_amount).label("ytd_compensated"))
            .where(Compensation.status == "paid", Compensation.paid_on >= year_start, Compensation.paid_on <= end)
            .group_by(Compensation.guarantee_id).subquery())
    lines = {**_by_class(cls, new, ["new_amount", "new_count", "ytd_amount"]),
             **_by_class(cls, balances, ["balance", "count"], customers_key="customers"),
             **_by_class(cls, released, ["released"]),
             **_by_class(cls, paid, ["compensated", "ytd_compensated"])}
    for key in ("new_count", "count", "customers"):
        lines[key] = {k: int(v) for k, v in lines[key].items()}
    return Report(end.year, end.month, start, end, lines, _company(start, end, year_start, customer_ids), period)


def _company(start, end, year_start, customer_ids=None) -> dict:
    from app.services import ledger_books, post_figures
    from models.business import Guarantee
    from models.ledger import Account
    from models.post_guarantee import RepaymentPlanRow
    from models.post_settlement import Compensation, ForeclosedAsset, RecoveryCase, RecoveryReceipt

    session = _session()

    def only(column):
        return [column.in_(customer_ids)] if customer_ids is not None else []

    paid = session.execute(select(func.coalesce(func.sum(Compensation.paid_amount), 0)).where(
        Compensation.status == "paid", Compensation.paid_on <= end, *only(Compensation.customer_id))).scalar()
    receipts = session.execute(select(func.coalesce(func.sum(RecoveryReceipt.amount), 0))
                               .join(RecoveryCase, RecoveryCase.id == RecoveryReceipt.case_id)
                               .where(RecoveryReceipt.received_on <= end, *only(RecoveryCase.customer_id))).scalar()
    assets = session.execute(select(func.coalesce(func.sum(ForeclosedAsset.book_value), 0)).where(
        ForeclosedAsset.compensation_id.isnot(None), ForeclosedAsset.acquired_on <= end,
        *only(ForeclosedAsset.customer_id))).scalar()
    compensated_by_end = select(Compensation.guarantee_id).where(Compensation.status == "paid",
                                                                 Compensation.paid_on <= end)
    unpaid_then = case((and_(RepaymentPlanRow.settled.is_(True), RepaymentPlanRow.settled_on > end),
                        RepaymentPlanRow.principal + RepaymentPlanRow.interest),
                       else_=RepaymentPlanRow.principal + RepaymentPlanRow.interest - RepaymentPlanRow.paid_principal
                       - RepaymentPlanRow.paid_interest)
    overdue = session.execute(
        select(func.coalesce(func.sum(unpaid_then), 0))
        .join(Guarantee, Guarantee.id == RepaymentPlanRow.guarantee_id)
        .where(RepaymentPlanRow.effective_due <= end,
               or_(RepaymentPlanRow.settled.is_(False), RepaymentPlanRow.settled_on > end),
               Guarantee.id.notin_(compensated_by_end), Guarantee.loan_date <= end,
               *only(Guarantee.customer_id))).scalar()
    out = {"losses": post_figures.losses(start, end, customer_ids),
           "ytd_losses": post_figures.losses(year_start, end, customer_ids),
           "compensation_balance": Decimal(paid or 0) - Decimal(receipts or 0) - Decimal(assets or 0),
           "overdue": Decimal(overdue or 0)}
    codes = set(session.execute(select(Account.code).where(Account.code.in_(RESERVE_CODES.values()))).scalars())
    nets = ledger_books._nets_through(ledger_books.period_ids(end=(end.year, end.month)))
    for key, code in RESERVE_CODES.items():
        out[key] = None if code not in codes else \
            -sum((v for c, v in nets.items() if c.startswith(code)), ZERO)  # credit balances
    return {k: (Decimal(v).quantize(ZERO) if v is not None else None) for k, v in out.items()}
