"""Portfolio statistics (STAT-1, STAT-2): balances in force, new business and releases of the guarantees the
user may see (app/services/data_scope), grouped by a dimension, with growth year on year and month on month.

Every figure is one GROUP BY query with conditional sums over biz_guarantee (joined to its customer for
industry and region): no loop over guarantees. Definitions:
  in force      stage "in_force" and status "active"; balance = Guarantee.balance (the outstanding liability)
  new business  loan_date in the range; amount = loan_amount (else the guarantee amount)
  releases      status "released" with the stage change (stage_changed_at) in the range; amount = the
                guarantee's loan amount (else amount)
Compensations and recoveries come from the post-guarantee module through
app.services.regulatory.register_figure_provider; until then they are shown as "—".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, extract, func, literal, select

from app.services.data_scope import apply_scope

ZERO = Decimal("0.00")
DIMENSIONS = {
    "product": _l("Product"), "bank": _l("Lending bank"), "industry": _l("Industry"), "region": _l("Region"),
    "department": _l("Department"), "manager": _l("Account manager"), "month": _l("Month"),
}


def _session():
    from app.extensions import db

    return db.session


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min)


def shift_year(day: date, years: int = -1) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class Row:
    key: object
    label: str
    in_force_count: int = 0
    balance: Decimal = ZERO
    new_count: int = 0
    new_amount: Decimal = ZERO
    released_count: int = 0
    released_amount: Decimal = ZERO
    mom: Decimal | None = None  # month rows: growth on the month before (环比)
    yoy: Decimal | None = None  # and on the same month a year earlier (同比)
    links: dict = field(default_factory=dict)  # filled by the view (drill-down urls)


def _measures(Guarantee, date_from: date, date_to: date):
    in_force = and_(Guarantee.stage == "in_force", Guarantee.status == "active")
    new = and_(Guarantee.loan_date >= date_from, Guarantee.loan_date <= date_to)
    released = and_(Guarantee.status == "released", Guarantee.stage_changed_at >= _start(date_from),
                    Guarantee.stage_changed_at < _end(date_to))
    lent = func.coalesce(Guarantee.loan_amount, Guarantee.amount)
    return [
        func.sum(case((in_force, 1), else_=0)).label("in_force_count"),
        func.sum(case((in_force, Guarantee.balance), else_=0)).label("balance"),
        func.sum(case((new, 1), else_=0)).label("new_count"),
        func.sum(case((new, lent), else_=0)).label("new_amount"),
        func.sum(case((released, 1), else_=0)).label("released_count"),
        func.sum(case((released, lent), else_=0)).label("released_amount"),
    ]


def _dimension(name, Guarantee):
    """(key column(s), label column, joins) of a dimension."""
    from flask_appbuilder.security.sqla.models import User

    from models.customers import Customer
    from models.products import CooperatingBank, Product
    from models.system import Department

    if name == "product":
        return [Guarantee.product_id], Product.name, [(Product, Product.id == Guarantee.product_id)]
    if name == "bank":
        return [Guarantee.bank_id], CooperatingBank.name, [(CooperatingBank, CooperatingBank.id == Guarantee.bank_id)]
    if name == "industry":
        return [Customer.industry_code], Customer.industry_code, [(Customer, Customer.id == Guarantee.customer_id)]
    if name == "region":
        return [Customer.region_code], Customer.region_code, [(Customer, Customer.id == Guarantee.customer_id)]
    if name == "department":
        return [Guarantee.department_id], Department.name, [(Department, Department.id == Guarantee.department_id)]
    if name == "manager":
        return [Guarantee.manager_id], User.first_name + User.last_name, [(User, User.id == Guarantee.manager_id)]
    raise KeyError(name)


def _dict_names(code: str) -> dict:
    from models.system import DictItem, DictType

    return dict(_session().execute(select(DictItem.code, DictItem.name).join(DictType, DictItem.type_id == DictType.id)
                                   .where(DictType.code == code)).all())


def _row(key, label, r) -> Row:
    return Row(key, label or "-", int(r.in_force_count or 0), Decimal(r.balance or 0).quantize(ZERO),
               int(r.new_count or 0), Decimal(r.new_amount or 0).quantize(ZERO), int(r.released_count or 0),
               Decimal(r.released_amount or 0).quantize(ZERO))


def by_dimension(dimension: str, date_from: date, date_to: date, extra_where=()) -> list[Row]:
    """One row per value of the dimension (the user's data scope), largest balance first."""
    from models.business import Guarantee

    if dimension == "month":
        return by_month(date_from, date_to, extra_where)
    keys, label, joins = _dimension(dimension, Guarantee)
    query = select(*keys, label.label("label"), *_measures(Guarantee, date_from, date_to)).select_from(Guarantee)
    for model, on in joins:
        query = query.outerjoin(model, on)
    query = apply_scope(query.where(*extra_where).group_by(*keys, label), Guarantee)
    rows = _session().execute(query).all()
    names = {}
    if dimension in ("industry", "region"):
        names = _dict_names(dimension)
    out = [_row(r[0], names.get(r.label, r.label) if names else r.label, r) for r in rows]
    out = [r for r in out if r.in_force_count or r.new_count or r.released_count]
    out.sort(key=lambda r: (-r.balance, -r.new_amount, str(r.label)))
    return out


def by_month(date_from: date, date_to: date, extra_where=()) -> list[Row]:
    """New business per loan month and releases per release month within the range, with growth."""
    from models.business import Guarantee

    lent = func.coalesce(Guarantee.loan_amount, Guarantee.amount)
    y, m = extract("year", Guarantee.loan_date), extract("month", Guarantee.loan_date)
    new = _session().execute(apply_scope(
        select(y.label("y"), m.label("m"), func.count().label("n"), func.sum(lent).label("amount"))
        .where(Guarantee.loan_date >= date_from, Guarantee.loan_date <= date_to, *extra_where)
        .group_by(y, m), Guarantee)).all()
    ry, rm = extract("year", Guarantee.stage_changed_at), extract("month", Guarantee.stage_changed_at)
    rel = _session().execute(apply_scope(
        select(ry.label("y"), rm.label("m"), func.count().label("n"), func.sum(lent).label("amount"))
        .where(Guarantee.status == "released", Guarantee.stage_changed_at >= _start(date_from),
               Guarantee.stage_changed_at < _end(date_to), *extra_where)
        .group_by(ry, rm), Guarantee)).all()
    rows: dict = {}
    for r in new:
        key = (int(r.y), int(r.m))
        rows[key] = Row(key, f"{key[0]}-{key[1]:02d}", new_count=int(r.n), new_amount=Decimal(r.amount or 0).quantize(ZERO))
    for r in rel:
        key = (int(r.y), int(r.m))
        row = rows.setdefault(key, Row(key, f"{key[0]}-{key[1]:02d}"))
        row.released_count, row.released_amount = int(r.n), Decimal(r.amount or 0).quantize(ZERO)
    return [rows[k] for k in sorted(rows)]


def growth(current: Decimal, previous: Decimal) -> Decimal | None:
    """(current − previous) / previous; None when there is nothing to compare with."""
    if not previous:
        return None
    return ((Decimal(current) - Decimal(previous)) / Decimal(previous)).quantize(Decimal("0.0001"))


def totals(date_from: date, date_to: date, extra_where=()) -> Row:
    from models.business import Guarantee

    query = apply_scope(select(literal(1).label("k"), *_measures(Guarantee, date_from, date_to))
                        .select_from(Guarantee).where(*extra_where), Guarantee)
    return _row(None, "", _session().execute(query).one())


def _new_business(date_from: date, date_to: date, extra_where=()) -> tuple[int, Decimal]:
    from models.business import Guarantee

    lent = func.coalesce(Guarantee.loan_amount, Guarantee.amount)
    n, amount = _session().execute(apply_scope(
        select(func.count(), func.coalesce(func.sum(lent), 0))
        .where(Guarantee.loan_date >= date_from, Guarantee.loan_date <= date_to, *extra_where), Guarantee)).one()
    return int(n), Decimal(amount or 0).quantize(ZERO)


def portfolio(dimension: str, date_from: date, date_to: date) -> dict:
    """The statistics page's data: totals, growth of new business against the same range a year earlier
    (同比) and the range of the same length just before (环比), the rows of the dimension, the months."""
    if dimension not in DIMENSIONS:
        dimension = "product"
    total = totals(date_from, date_to)
    length = (date_to - date_from).days + 1
    prev_to = date_from - timedelta(days=1)
    if date_from.day == 1 and (date_to + timedelta(days=1)).day == 1:  # whole months: the months before
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        y, m = date_from.year, date_from.month - months
        while m < 1:
            y, m = y - 1, m + 12
        prev_from = date(y, m, 1)
    else:
        prev_from = prev_to - timedelta(days=length - 1)
    last_year = _new_business(shift_year(date_from), shift_year(date_to))
    before = _new_business(prev_from, prev_to)
    rows = by_dimension(dimension, date_from, date_to)
    month_from = shift_year(date(date_to.year, date_to.month, 1))  # 13 months: each month has its year-ago one
    months = by_month(month_from, date_to)
    by_key = {r.key: r for r in months}
    for r in months:
        y, m = r.key
        prev = by_key.get((y, m - 1) if m > 1 else (y - 1, 12))
        ago = by_key.get((y - 1, m))
        r.mom = growth(r.new_amount, prev.new_amount) if prev else None
        r.yoy = growth(r.new_amount, ago.new_amount) if ago else None
    return {"dimension": dimension, "date_from": date_from, "date_to": date_to, "total": total, "rows": rows,
            "months": [r for r in months if r.key >= (date_from.year, date_from.month)] or months,
            "yoy": growth(total.new_amount, last_year[1]), "mom": growth(total.new_amount, before[1]),
            "last_year": last_year, "before": before, "prev_range": (prev_from, prev_to)}
