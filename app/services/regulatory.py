"""Regulatory indicators of the company (STAT-3), computed in the database:

  weighted     融资担保责任余额: the balance of guarantees in force weighted by the weight table
               (models.statistics.WeightRule; defaults from the 计量办法 in DEFAULT_RULES)
  leverage     放大倍数 = weighted balance / net assets, against the multiple of the setting
               compliance_leverage_multiple (10, or 15 for a qualifying company)
  single       the largest single customer's weighted balance / net assets, against compliance_single_customer_ratio
  group        the largest related group's (customer + its related parties) weighted balance / net assets,
               against compliance_related_group_ratio
  class_i_ii   asset classes I + II / (total assets − 应收代偿款) ≥ 70 %
  class_i      class I / the same base ≥ 20 %
  class_iii    class III / the same base ≤ 30 %
  reserves     担保赔偿准备金 + 未到期责任准备金 / guarantee balance in force ≥ 1 %
  figure providers (register_figure_provider): rates that other modules compute (代偿率 …); absent until a
               module provides them, never invented here.

Net assets and the ledger figures come from the latest closed ledger period (compliance.net_assets, the same
source as the application checks). Each indicator has a status: compliant, near (within NEAR_SHARE of an upper
limit, or within 1/NEAR_SHARE above a lower one) or breached. snapshot() stores a month's figures
(reg_snapshot); the day-end step does so on the last day of a month.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, false, func, null, or_, select, true

from app.services import compliance, settings
from app.services.dayend import dayend_step

ZERO = Decimal("0.00")
ONE = Decimal("1")
NEAR_SHARE = Decimal("0.9")
STATUS_LABELS = {"compliant": _l("Compliant"), "near": _l("Near limit"), "breached": _l("Breached"),
                 "absent": _l("Not available")}
_STATUS_RANK = {"absent": 0, "compliant": 1, "near": 2, "breached": 3}
ASSET_CLASSES = {"I": _l("Class I assets"), "II": _l("Class II assets"), "III": _l("Class III assets"),
                 "deduct": _l("Deducted (compensation receivable)")}
RESERVE_ACCOUNTS = ("2601", "2602")  # 未到期责任准备金, 担保赔偿准备金
RESERVE_MIN_RATIO = Decimal("0.01")
HOUSING_FUND_KIND = ("housing_fund", "住房公积金贷款担保")

# code, name, priority, conditions, cap, weight (the 融资担保责任余额计量办法 of 2018)
DEFAULT_RULES = [
    ("SMALL_MICRO", "小微企业借款类担保（单户≤500万元）", 10,
     dict(guarantee_kinds="loan", customer_kind="corporate", enterprise_sizes="S,XS"), Decimal("5000000"),
     Decimal("0.75")),
    ("FARMER", "农户借款类担保（单户≤200万元）", 20,
     dict(guarantee_kinds="loan", customer_kind="individual", household_types="2"), Decimal("2000000"),
     Decimal("0.75")),
    ("HOUSING_FUND", "住房公积金贷款担保", 30, dict(guarantee_kinds=HOUSING_FUND_KIND[0]), None, Decimal("0.30")),
    ("BOND_AA_PLUS", "债券担保（发行人主体评级AA+及以上）", 40, dict(guarantee_kinds="bond", issuer_grades="AAA,AA+"),
     None, Decimal("0.80")),
]
DEFAULT_ASSET_CLASSES = [
    ("1001", "I", "库存现金"), ("1002", "I", "银行存款"), ("1012", "I", "其他货币资金"), ("1031", "I", "存出保证金"),
    ("1101", "II", "交易性金融资产（高等级债券、货币基金等）"), ("1131", "deduct", "应收代偿款"),
]


def _session():
    from app.extensions import db

    return db.session


def _codes(text) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip()]


# --- defaults ----------------------------------------------------------------------------------------------

def ensure_defaults() -> int:
    """Insert the default weight rules, asset classes and the guarantee kind 住房公积金贷款担保 when missing
    (never changes what the administrator edited). Returns the rows added; caller commits."""
    from models.statistics import AssetClassMap, WeightRule
    from models.system import DictItem, DictType

    session = _session()
    added = 0
    have = set(session.execute(select(WeightRule.code)).scalars())
    for code, name, priority, cond, cap, weight in DEFAULT_RULES:
        if code not in have:
            session.add(WeightRule(code=code, name=name, priority=priority, balance_cap=cap, weight=weight,
                                   active=True, **cond))
            added += 1
    have = set(session.execute(select(AssetClassMap.account_code)).scalars())
    for code, klass, note in DEFAULT_ASSET_CLASSES:
        if code not in have:
            session.add(AssetClassMap(account_code=code, asset_class=klass, note=note))
            added += 1
    kind_type = session.execute(select(DictType).where(DictType.code == "guarantee_kind")).scalar()
    if kind_type is not None and session.execute(select(DictItem.id).where(
            DictItem.type_id == kind_type.id, DictItem.code == HOUSING_FUND_KIND[0])).scalar() is None:
        session.add(DictItem(type_id=kind_type.id, code=HOUSING_FUND_KIND[0], name=HOUSING_FUND_KIND[1],
                             sort_order=90))
        added += 1
    session.flush()
    return added


def validate_rule(rule) -> None:
    from app.errors import ValidationError

    if rule.weight is None or not (Decimal(0) <= Decimal(rule.weight) <= ONE):
        raise ValidationError(gettext("The weight must be between 0 and 1 (0.75 = 75%)."), "weight")
    if rule.balance_cap is not None and Decimal(rule.balance_cap) <= 0:
        raise ValidationError(gettext("The per-customer cap must be positive."), "balance_cap")
    if rule.customer_kind not in (None, "", "individual", "corporate"):
        raise ValidationError(gettext("The customer kind is individual or corporate."), "customer_kind")


def validate_asset_class(row) -> None:
    from app.errors import ValidationError

    if row.asset_class not in ASSET_CLASSES:
        raise ValidationError(gettext("The class is one of I, II, III or deduct."), "asset_class")


# --- the weighted balance -------------------------------------------------------------------------------

def in_force_condition(Guarantee):
    return and_(Guarantee.stage == "in_force", Guarantee.status == "active")


def _rule_condition(rule, Guarantee, Product, Customer, Rating):
    parts = []
    if _codes(rule.guarantee_kinds):
        parts.append(Product.guarantee_kind.in_(_codes(rule.guarantee_kinds)))
    if rule.customer_kind:
        parts.append(Customer.kind == rule.customer_kind)
    if _codes(rule.enterprise_sizes):
        parts.append(Customer.enterprise_size.in_(_codes(rule.enterprise_sizes)))
    if _codes(rule.household_types):
        parts.append(Customer.household_type.in_(_codes(rule.household_types)))
    if _codes(rule.product_codes):
        parts.append(Product.code.in_(_codes(rule.product_codes)))
    if _codes(rule.issuer_grades):
        parts.append(Rating.grade.in_(_codes(rule.issuer_grades)))
    return and_(*parts) if parts else true()


def _active_rules():
    from models.statistics import WeightRule

    return list(_session().execute(select(WeightRule).where(WeightRule.active.is_(True))
                                   .order_by(WeightRule.priority, WeightRule.id)).scalars())


def _per_customer_rule(extra_where=()):
    """Subquery: (customer_id, rule_id, balance) of the guarantees in force, rule by the weight table."""
    from models.business import Guarantee
    from models.customers import Customer
    from models.products import Product
    from models.rating import Rating

    rules = _active_rules()
    rule_id = case(*[(_rule_condition(r, Guarantee, Product, Customer, Rating), r.id) for r in rules],
                   else_=None) if rules else None
    query = (select(Guarantee.customer_id.label("customer_id"),
                    (rule_id if rule_id is not None else cast(null(), Integer)).label("rule_id"),
                    func.sum(Guarantee.balance).label("balance"))
             .join(Product, Product.id == Guarantee.product_id)
             .join(Customer, Customer.id == Guarantee.customer_id)
             .where(in_force_condition(Guarantee), *extra_where))
    if any(_codes(r.issuer_grades) for r in rules):
        query = query.outerjoin(Rating, and_(Rating.customer_id == Guarantee.customer_id,
                                             Rating.is_current.is_(True)))
    return query.group_by(Guarantee.customer_id, "rule_id").subquery(), rules


def _weight_expr(sub, rules):
    """The weight of one (customer, rule) row: the rule's weight within its cap, else 1."""
    whens = []
    for r in rules:
        within = sub.c.balance <= r.balance_cap if r.balance_cap is not None else true()
        whens.append((and_(sub.c.rule_id == r.id, within), Decimal(r.weight)))
    return case(*whens, else_=ONE) if whens else ONE


@dataclass
class WeightLine:
    rule_id: int | None
    name: str
    weight: Decimal
    within_cap: bool
    customers: int
    balance: Decimal
    weighted: Decimal


def weighted_balance(customer_ids=None) -> dict:
    """{"balance", "weighted", "lines": [WeightLine]} of the guarantees in force (of the given customers only,
    when given: the cap is still per customer). Two set-based queries."""
    from models.business import Guarantee

    extra = (Guarantee.customer_id.in_(list(customer_ids)),) if customer_ids is not None else ()
    sub, rules = _per_customer_rule(extra)
    within = or_(*[and_(sub.c.rule_id == r.id, sub.c.balance <= r.balance_cap if r.balance_cap is not None
                        else true()) for r in rules]) if rules else false()
    within_flag = case((within, 1), else_=0).label("within")
    rows = _session().execute(
        select(sub.c.rule_id, within_flag, func.count().label("customers"), func.sum(sub.c.balance).label("balance"))
        .group_by(sub.c.rule_id, within_flag)).all()
    by_id = {r.id: r for r in rules}
    lines, total, weighted = [], ZERO, ZERO
    for rule_id, flag, customers, balance in rows:
        balance = Decimal(balance or 0).quantize(ZERO)
        rule = by_id.get(rule_id)
        weight = Decimal(rule.weight) if (rule is not None and flag) else ONE
        name = rule.name if rule is not None else gettext("Other guarantees (100%)")
        if rule is not None and not flag:
            name = gettext("%(rule)s — above the per-customer cap (100%%)", rule=rule.name)
        amount = (balance * weight).quantize(ZERO)
        lines.append(WeightLine(rule_id, name, weight, bool(flag), customers, balance, amount))
        total += balance
        weighted += amount
    lines.sort(key=lambda ln: (ln.rule_id is None, by_id[ln.rule_id].priority if ln.rule_id in by_id else 0,
                               not ln.within_cap))
    return {"balance": total, "weighted": weighted, "lines": lines}


def top_customers(limit: int | None = 10, customer_ids=None) -> list[tuple[int, Decimal]]:
    """[(customer id, weighted balance)] largest first (set-based: group, weight, order, limit). A customer's
    weighted balance does not depend on the others (the cap is per customer), so sums of these are the
    weighted balances of groups."""
    from models.business import Guarantee

    extra = (Guarantee.customer_id.in_(list(customer_ids)),) if customer_ids is not None else ()
    sub, rules = _per_customer_rule(extra)
    amount = func.sum(sub.c.balance * _weight_expr(sub, rules)).label("weighted")
    query = select(sub.c.customer_id, amount).group_by(sub.c.customer_id).order_by(amount.desc(), sub.c.customer_id)
    if limit is not None:
        query = query.limit(limit)
    return [(cid, Decimal(w or 0).quantize(ZERO)) for cid, w in _session().execute(query).all()]


def largest_group(candidates: int = 20, customer_ids=None, top=None) -> tuple[int | None, Decimal, int]:
    """(customer id, weighted balance of it and its related parties, parties) of the largest related group
    among the `candidates` largest customers (a group's largest member is among them in any real portfolio).
    One query for the candidates (or `top`, already read), one relation walk each, one query for all members."""
    from app.services.relations import related_customer_ids

    top = top if top is not None else top_customers(candidates, customer_ids)
    groups = {}
    for cid, _amount in top[:candidates]:
        members = {cid, *related_customer_ids(cid)}
        groups[cid] = members & set(customer_ids) if customer_ids is not None else members
    everyone = set().union(*groups.values()) if groups else set()
    amounts = dict(top_customers(None, everyone)) if everyone else {}
    best = (None, ZERO, 0)
    for cid, members in groups.items():
        amount = sum((amounts.get(m, ZERO) for m in members), ZERO)
        if amount > best[1]:
            best = (cid, amount, len(members))
    return best


# --- ledger figures -------------------------------------------------------------------------------------

def _closed_period():
    from models.ledger import Period

    return _session().execute(select(Period).where(Period.status == "closed")
                              .order_by(Period.year.desc(), Period.month.desc()).limit(1)).scalar()


def asset_classes(period=None) -> dict | None:
    """{"I", "II", "III", "deduct", "total", "base", "period"} from the account balances at the end of the
    latest closed period (or `period` (year, month)); None without a closed period."""
    from app.services import ledger_books
    from models.ledger import Account
    from models.statistics import AssetClassMap

    if period is None:
        closed = _closed_period()
        if closed is None:
            return None
        period = (closed.year, closed.month)
    nets = ledger_books._nets_through(ledger_books.period_ids(end=period))  # leaf accounts, debit − credit
    session = _session()
    asset_codes = set(session.execute(select(Account.code).where(Account.category == "asset")).scalars())
    mapping = sorted(session.execute(select(AssetClassMap.account_code, AssetClassMap.asset_class)).all(),
                     key=lambda r: -len(r[0]))
    out = {"I": ZERO, "II": ZERO, "III": ZERO, "deduct": ZERO}
    for code, net in nets.items():
        if code not in asset_codes:
            continue
        klass = next((k for prefix, k in mapping if code.startswith(prefix)), "III")
        out[klass] += net
    out = {k: v.quantize(ZERO) for k, v in out.items()}
    out["total"] = out["I"] + out["II"] + out["III"] + out["deduct"]
    out["base"] = out["total"] - out["deduct"]
    out["period"] = f"{period[0]}-{period[1]:02d}"
    return out


def reserves(period=None) -> Decimal | None:
    """Balance of 未到期责任准备金 + 担保赔偿准备金 (credit side) at the end of the latest closed period."""
    from app.services import ledger_books

    if period is None:
        closed = _closed_period()
        if closed is None:
            return None
        period = (closed.year, closed.month)
    nets = ledger_books._nets_through(ledger_books.period_ids(end=period))
    return -sum((v for c, v in nets.items() if c.startswith(RESERVE_ACCOUNTS)), ZERO).quantize(ZERO)


# --- figures other modules provide (compensation rate, loss rate, recovery rate …) -----------------------

@dataclass(frozen=True)
class FigureProvider:
    key: str
    label: object
    func: Callable  # func(date_from, date_to) -> Decimal ratio, or None when it has nothing to say
    kind: str = "ratio"  # ratio | money


_PROVIDERS: dict[str, FigureProvider] = {}
PROVIDED_FIGURES = {"compensation_rate": _l("Compensation rate"), "loss_rate": _l("Loss rate"),
                    "recovery_rate": _l("Recovery rate")}


def register_figure_provider(key: str, label, func: Callable, kind: str = "ratio") -> None:
    """A module that knows a figure (the post-guarantee module: 代偿率 = compensations / releases and
    compensations, 损失率, 追偿率) registers it here; the statistics and regulatory pages show it. Keys named
    in PROVIDED_FIGURES are listed with "—" until a provider exists."""
    _PROVIDERS[key] = FigureProvider(key, label, func, kind)


def unregister_figure_provider(key: str) -> None:
    _PROVIDERS.pop(key, None)


def provided_figures(date_from=None, date_to=None) -> list[dict]:
    """[{"key", "label", "value" (None when absent), "kind"}] for every known or registered figure."""
    keys = list(PROVIDED_FIGURES) + [k for k in _PROVIDERS if k not in PROVIDED_FIGURES]
    out = []
    for key in keys:
        provider = _PROVIDERS.get(key)
        value = provider.func(date_from, date_to) if provider is not None else None
        out.append({"key": key, "label": str(provider.label if provider else PROVIDED_FIGURES[key]),
                    "value": value, "kind": provider.kind if provider else "ratio"})
    return out


# --- the indicators -------------------------------------------------------------------------------------

@dataclass
class Indicator:
    code: str
    label: str
    figure: Decimal | None  # a ratio (0.085) or a multiple (7.2)
    limit: Decimal | None
    bound: str  # "max" | "min"
    status: str
    detail: str = ""
    kind: str = "ratio"  # ratio | multiple

    def as_json(self) -> dict:
        return {"label": self.label, "figure": None if self.figure is None else str(self.figure),
                "limit": None if self.limit is None else str(self.limit), "bound": self.bound,
                "status": self.status, "detail": self.detail, "kind": self.kind}


def status_of(figure, limit, bound: str) -> str:
    if figure is None or limit is None:
        return "absent"
    if bound == "max":
        if figure > limit:
            return "breached"
        return "near" if figure >= limit * NEAR_SHARE else "compliant"
    if figure < limit:
        return "breached"
    return "near" if figure * NEAR_SHARE < limit else "compliant"


def _ratio(numerator, denominator) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))


def _indicator(code, label, figure, limit, bound, detail, kind="ratio"):
    return Indicator(code, str(label), figure, limit, bound, status_of(figure, limit, bound), detail, kind)


def indicators(customer_ids=None) -> dict:
    """Every indicator with its figures (the regulatory page, the snapshot). `customer_ids` restricts the
    guarantee figures to those customers (a sub-portfolio: what-if and tests); the ledger figures stay."""
    from app.services.products import money, percent
    from models.customers import Customer

    weighted = weighted_balance(customer_ids)
    assets, source = compliance.net_assets()
    multiple = Decimal(settings.get("compliance_leverage_multiple"))
    single_ratio = Decimal(settings.get("compliance_single_customer_ratio"))
    group_ratio = Decimal(settings.get("compliance_related_group_ratio"))
    out = []
    out.append(_indicator("leverage", _l("Leverage (weighted liability balance / net assets)"),
                          _ratio(weighted["weighted"], assets), multiple, "max",
                          gettext("Weighted liability balance %(w)s; net assets %(a)s (%(source)s).",
                                  w=money(weighted["weighted"]), a=money(assets), source=source), "multiple"))
    top = top_customers(20, customer_ids)
    if top:
        name = _session().get(Customer, top[0][0]).name
        detail = gettext("Largest customer %(name)s: %(amount)s.", name=name, amount=money(top[0][1]))
    else:
        detail = gettext("No guarantee in force.")
    out.append(_indicator("single", _l("Single-customer concentration"),
                          _ratio(top[0][1] if top else ZERO, assets), single_ratio, "max", detail))
    cid, amount, parties = largest_group(customer_ids=customer_ids, top=top)
    detail = (gettext("Largest related group around %(name)s (%(n)s parties): %(amount)s.",
                      name=_session().get(Customer, cid).name, n=parties, amount=money(amount))
              if cid is not None else gettext("No guarantee in force."))
    out.append(_indicator("group", _l("Related-group concentration"), _ratio(amount, assets), group_ratio,
                          "max", detail))
    classes = asset_classes()
    if classes is None:
        no_ledger = gettext("No closed ledger period.")
        for code, label, limit, bound in (("class_i_ii", _l("Class I + II assets share"), "0.70", "min"),
                                          ("class_i", _l("Class I assets share"), "0.20", "min"),
                                          ("class_iii", _l("Class III assets share"), "0.30", "max")):
            out.append(_indicator(code, label, None, Decimal(limit), bound, no_ledger))
    else:
        detail = gettext("Period %(p)s: total assets %(t)s less compensation receivable %(d)s = %(b)s; I %(i)s, "
                         "II %(ii)s, III %(iii)s.", p=classes["period"], t=money(classes["total"]),
                         d=money(classes["deduct"]), b=money(classes["base"]), i=money(classes["I"]),
                         ii=money(classes["II"]), iii=money(classes["III"]))
        base = classes["base"]
        out.append(_indicator("class_i_ii", _l("Class I + II assets share"),
                              _ratio(classes["I"] + classes["II"], base), Decimal("0.70"), "min", detail))
        out.append(_indicator("class_i", _l("Class I assets share"), _ratio(classes["I"], base),
                              Decimal("0.20"), "min", detail))
        out.append(_indicator("class_iii", _l("Class III assets share"), _ratio(classes["III"], base),
                              Decimal("0.30"), "max", detail))
    reserve = reserves()
    out.append(_indicator("reserves", _l("Reserves / guarantee balance in force"),
                          _ratio(reserve, weighted["balance"]) if reserve is not None else None,
                          RESERVE_MIN_RATIO, "min",
                          gettext("Reserves %(r)s; guarantee balance in force %(b)s.", r=money(reserve),
                                  b=money(weighted["balance"])) if reserve is not None
                          else gettext("No closed ledger period.")))
    for figure in provided_figures():
        out.append(Indicator(figure["key"], figure["label"], figure["value"], None, "max",
                             "absent" if figure["value"] is None else "compliant",
                             "" if figure["value"] is not None else gettext("Provided by the post-guarantee module "
                                                                           "when it is installed.")))
    worst = max((i.status for i in out), key=_STATUS_RANK.__getitem__, default="compliant")
    return {"weighted": weighted, "net_assets": assets, "net_assets_source": source, "indicators": out,
            "worst": worst if worst != "absent" else "compliant", "percent": percent}


def snapshot(period: str, user_id=None):
    """Store (or replace) the indicators of `period` ("2026-10") in reg_snapshot; caller commits."""
    from models.statistics import RegulatorySnapshot

    data = indicators()
    figures = {i.code: i.as_json() for i in data["indicators"]}
    figures["_weighted"] = {"balance": str(data["weighted"]["balance"]), "weighted": str(data["weighted"]["weighted"]),
                            "net_assets": str(data["net_assets"])}
    session = _session()
    row = session.execute(select(RegulatorySnapshot).where(RegulatorySnapshot.period == period)).scalar()
    if row is None:
        row = RegulatorySnapshot(period=period)
        session.add(row)
    from datetime import datetime

    row.computed_at, row.computed_by_id = datetime.now(), user_id
    row.figures, row.worst_status = figures, data["worst"]
    session.flush()
    return row


def history(limit: int = 24) -> list:
    from models.statistics import RegulatorySnapshot

    return list(_session().execute(select(RegulatorySnapshot).order_by(RegulatorySnapshot.period.desc())
                                   .limit(limit)).scalars())


@dayend_step("statistics.regulatory_snapshot", order=800, label=_l("Month-end regulatory indicators"))
def month_end_snapshot(business_date):
    """On the last day of a month, store the month's regulatory indicators (later runs of the same month
    replace them). Returns the rows written."""
    from datetime import timedelta

    if (business_date + timedelta(days=1)).month == business_date.month:
        return 0
    ensure_defaults()
    snapshot(f"{business_date.year}-{business_date.month:02d}")
    return 1
