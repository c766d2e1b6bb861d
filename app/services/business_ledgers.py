"""台账 (issue 8): the business ledgers under 统计分析, one SELECT each over the user's data scope.

  guarantee     担保业务台账  guarantees lent in the date range (loan_date): loan, term, rate, balance, stage
  compensation  代偿台账      compensations paid in the range (paid_on); recovered and outstanding as of the end
                              of the range (receipts received and foreclosed assets taken on or before it), so the
                              outstanding of all compensations paid up to a day equals 应收代偿款 (1131) that day
  recovery      追偿台账      recovery receipts received in the range, allocated to principal, interest and costs
  collateral    押品台账      the collateral register (appraised in the range when a range is given)
  fee           收费台账      fees received in the range; the total is the fee income (6001) of the range once
                              the fee events are vouchered and posted
  contract      合同登记状态  (STAT-4) every guarantee lent by the end of the range with its guarantee contract's
                              status: performing, normal end (released), terminated on default (a compensation
                              paid: its reason and amount), the end date; and the overdue statistics of the range
                              (a quarter, for the registration system's quarterly report): instalments due in the
                              range and not settled by their due date, their number and amount

Filters (all optional): date_from, date_to, bank_id, product_id, manager_id (the guarantee's account manager; for
collateral the customer's), customer_id, code (the guarantee code). rows() yields tuples in the order of
columns(); totals() sums the money columns in the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, literal, or_, select

from app.errors import ValidationError
from app.services.data_scope import apply_scope

ZERO = Decimal("0.00")
LEDGERS = {"guarantee": _l("Guarantee business ledger"), "compensation": _l("Compensation ledger"),
           "recovery": _l("Recovery ledger"), "collateral": _l("Collateral ledger"), "fee": _l("Fee ledger"),
           "contract": _l("Contract registration status")}
CONTRACT_STATUS = {"performing": _l("Performing"), "normal_end": _l("Normal end"),
                   "default_end": _l("Terminated on default"), "other": _l("Other")}
SCREEN_ROWS = 500  # the page shows this many; the exports have every row


@dataclass
class Column:
    key: str
    label: object
    kind: str = "text"  # text | money | date | rate
    width: int = 14


def _session():
    from app.extensions import db

    return db.session


def _int(value, field):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(gettext("Choose a valid value."), field) from None


def _day(value, field):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(gettext("The date %(text)s is not valid (yyyy-mm-dd).", text=value), field) from None


def parse_filters(args) -> dict:
    """The filters from a query string or a dict; bad values raise ValidationError."""
    f = {"date_from": _day(args.get("date_from"), "date_from"), "date_to": _day(args.get("date_to"), "date_to"),
         "bank_id": _int(args.get("bank_id"), "bank_id"), "product_id": _int(args.get("product_id"), "product_id"),
         "manager_id": _int(args.get("manager_id"), "manager_id"),
         "customer_id": _int(args.get("customer_id"), "customer_id"),
         "code": (args.get("code") or "").strip() or None}
    if f["date_from"] and f["date_to"] and f["date_to"] < f["date_from"]:
        raise ValidationError(gettext("The end date is before the start date."), "date_to")
    return f


def _check(name):
    if name not in LEDGERS:
        raise ValidationError(gettext("There is no such ledger."), "ledger")


def _between(column, f):
    conditions = []
    if f.get("date_from"):
        conditions.append(column >= f["date_from"])
    if f.get("date_to"):
        conditions.append(column <= f["date_to"])
    return conditions


def _guarantee_filters(Guarantee, f):
    conditions = []
    for key, column in (("bank_id", Guarantee.bank_id), ("product_id", Guarantee.product_id),
                        ("manager_id", Guarantee.manager_id), ("customer_id", Guarantee.customer_id),
                        ("code", Guarantee.code)):
        if f.get(key) is not None:
            conditions.append(column == f[key])
    return conditions


def _user_name():
    from flask_appbuilder.security.sqla.models import User

    return User, (func.coalesce(User.last_name, "") + func.coalesce(User.first_name, ""))


def columns(name) -> list[Column]:
    _check(name)
    C = Column
    if name == "guarantee":
        return [C("code", _l("Guarantee code"), width=16), C("customer", _l("Customer"), width=28),
                C("product", _l("Product"), width=18), C("bank", _l("Lending bank"), width=22),
                C("manager", _l("Account manager"), width=10), C("loan_amount", _l("Loan amount"), "money", 16),
                C("loan_date", _l("Loan date"), "date", 11), C("due_date", _l("Due date"), "date", 11),
                C("term", _l("Term (months)"), width=8), C("fee_rate", _l("Fee rate"), "rate", 9),
                C("balance", _l("Balance in force"), "money", 16), C("stage", _l("Stage"), width=10)]
    if name == "compensation":
        return [C("code", _l("Compensation code"), width=14), C("guarantee", _l("Guarantee code"), width=16),
                C("customer", _l("Customer"), width=28), C("bank", _l("Lending bank"), width=22),
                C("demand_date", _l("Demand date"), "date", 11), C("principal", _l("Principal"), "money", 15),
                C("interest", _l("Interest"), "money", 13), C("penalty", _l("Penalty"), "money", 12),
                C("paid_on", _l("Paid on"), "date", 11), C("paid_amount", _l("Amount paid"), "money", 15),
                C("recovered", _l("Recovered"), "money", 15), C("outstanding", _l("Outstanding"), "money", 15)]
    if name == "recovery":
        return [C("case", _l("Recovery case"), width=14), C("compensation", _l("Compensation code"), width=14),
                C("guarantee", _l("Guarantee code"), width=16), C("customer", _l("Customer"), width=28),
                C("received_on", _l("Received on"), "date", 11), C("source", _l("Source"), width=14),
                C("payer", _l("Payer"), width=16), C("principal", _l("Principal"), "money", 14),
                C("interest", _l("Interest"), "money", 13), C("costs", _l("Costs"), "money", 12),
                C("amount", _l("Amount recovered"), "money", 15)]
    if name == "collateral":
        return [C("code", _l("Collateral code"), width=14), C("name", _l("Collateral"), width=26),
                C("kind", _l("Kind"), width=12), C("customer", _l("Customer"), width=26),
                C("owner", _l("Owner"), width=16), C("value", _l("Appraised value"), "money", 16),
                C("value_date", _l("Valued on"), "date", 11), C("status", _l("Status"), width=10),
                C("location", _l("Location"), width=24)]
    if name == "contract":
        return [C("code", _l("Guarantee code"), width=16), C("contract", _l("Contract number"), width=18),
                C("customer", _l("Customer"), width=26), C("bank", _l("Lending bank"), width=20),
                C("loan_amount", _l("Loan amount"), "money", 15), C("loan_date", _l("Loan date"), "date", 11),
                C("due_date", _l("Due date"), "date", 11), C("status", _l("Contract status"), width=12),
                C("end_date", _l("End date"), "date", 11), C("reason", _l("Termination reason"), width=24),
                C("compensated", _l("Amount compensated"), "money", 15),
                C("overdue_count", _l("Overdue instalments"), width=8),
                C("overdue_amount", _l("Overdue amount"), "money", 15)]
    return [C("guarantee", _l("Guarantee code"), width=16), C("customer", _l("Customer"), width=28),
            C("product", _l("Product"), width=18), C("bank", _l("Lending bank"), width=22),
            C("manager", _l("Account manager"), width=10), C("fee_type", _l("Fee type"), width=12),
            C("received_on", _l("Date received"), "date", 11), C("reference", _l("Reference"), width=16),
            C("amount", _l("Amount received"), "money", 15)]


def _select(name, f):
    """(select of the ledger's rows, its money columns as SQL expressions for the totals)."""
    from models.business import FeeReceipt, Guarantee
    from models.customers import Customer
    from models.products import CooperatingBank, Product

    User, user_name = _user_name()
    if name == "guarantee":
        lent = func.coalesce(Guarantee.loan_amount, Guarantee.amount)
        q = (select(Guarantee.code, Customer.name, Product.name, CooperatingBank.name, user_name, lent,
                    Guarantee.loan_date, Guarantee.due_date, Guarantee.term_months, Guarantee.fee_rate,
                    Guarantee.balance, Guarantee.stage)
             .join(Customer, Customer.id == Guarantee.customer_id).join(Product, Product.id == Guarantee.product_id)
             .join(CooperatingBank, CooperatingBank.id == Guarantee.bank_id)
             .outerjoin(User, User.id == Guarantee.manager_id)
             .where(Guarantee.loan_date.isnot(None), *_between(Guarantee.loan_date, f), *_guarantee_filters(Guarantee, f))
             .order_by(Guarantee.loan_date, Guarantee.id))
        return apply_scope(q, Guarantee), {"loan_amount": lent, "balance": Guarantee.balance}
    if name == "compensation":
        from models.post_settlement import Compensation, ForeclosedAsset, RecoveryCase, RecoveryReceipt

        # recovered as of the end of the range: receipts and assets taken on or before it (grouped once each)
        receipts = select(RecoveryCase.compensation_id.label("cid"), func.sum(RecoveryReceipt.amount).label("v")) \
            .join(RecoveryReceipt, RecoveryReceipt.case_id == RecoveryCase.id)
        assets = select(ForeclosedAsset.compensation_id.label("cid"), func.sum(ForeclosedAsset.book_value).label("v")) \
            .where(ForeclosedAsset.compensation_id.isnot(None))
        if f.get("date_to"):
            receipts = receipts.where(RecoveryReceipt.received_on <= f["date_to"])
            assets = assets.where(ForeclosedAsset.acquired_on <= f["date_to"])
        receipts = receipts.group_by(RecoveryCase.compensation_id).subquery()
        assets = assets.group_by(ForeclosedAsset.compensation_id).subquery()
        recovered = func.coalesce(receipts.c.v, 0) + func.coalesce(assets.c.v, 0)
        outstanding = Compensation.paid_amount - recovered
        q = (select(Compensation.code, Guarantee.code, Customer.name, CooperatingBank.name, Compensation.demand_date,
                    Compensation.principal, Compensation.interest, Compensation.penalty, Compensation.paid_on,
                    Compensation.paid_amount, recovered, outstanding)
             .join(Guarantee, Guarantee.id == Compensation.guarantee_id)
             .join(Customer, Customer.id == Compensation.customer_id)
             .join(CooperatingBank, CooperatingBank.id == Compensation.bank_id)
             .outerjoin(receipts, receipts.c.cid == Compensation.id).outerjoin(assets, assets.c.cid == Compensation.id)
             .where(Compensation.status == "paid", *_between(Compensation.paid_on, f),
                    *_guarantee_filters(Guarantee, f))
             .order_by(Compensation.paid_on, Compensation.id))
        return apply_scope(q, Guarantee), {"principal": Compensation.principal, "interest": Compensation.interest,
                                           "penalty": Compensation.penalty, "paid_amount": Compensation.paid_amount,
                                           "recovered": recovered, "outstanding": outstanding}
    if name == "recovery":
        from models.post_settlement import Compensation, RecoveryCase, RecoveryReceipt

        q = (select(RecoveryCase.code, Compensation.code, Guarantee.code, Customer.name, RecoveryReceipt.received_on,
                    RecoveryReceipt.source, RecoveryReceipt.payer, RecoveryReceipt.principal, RecoveryReceipt.interest,
                    RecoveryReceipt.costs, RecoveryReceipt.amount)
             .join(RecoveryCase, RecoveryCase.id == RecoveryReceipt.case_id)
             .join(Compensation, Compensation.id == RecoveryCase.compensation_id)
             .join(Guarantee, Guarantee.id == RecoveryCase.guarantee_id)
             .join(Customer, Customer.id == RecoveryCase.customer_id)
             .where(*_between(RecoveryReceipt.received_on, f), *_guarantee_filters(Guarantee, f))
             .order_by(RecoveryReceipt.received_on, RecoveryReceipt.id))
        return apply_scope(q, Guarantee), {"principal": RecoveryReceipt.principal, "interest": RecoveryReceipt.interest,
                                           "costs": RecoveryReceipt.costs, "amount": RecoveryReceipt.amount}
    if name == "collateral":
        from models.business import CounterMeasure
        from models.collateral import Collateral

        conditions = _between(Collateral.value_date, f)
        if f.get("customer_id") is not None:
            conditions.append(Collateral.customer_id == f["customer_id"])
        if f.get("manager_id") is not None:
            conditions.append(Customer.manager_id == f["manager_id"])
        linked = [(k, c) for k, c in (("bank_id", Guarantee.bank_id), ("product_id", Guarantee.product_id),
                                      ("code", Guarantee.code)) if f.get(k) is not None]
        if linked:  # pledged to a guarantee of that bank / product / code
            conditions.append(exists(select(literal(1)).select_from(CounterMeasure)
                                     .join(Guarantee, Guarantee.id == CounterMeasure.guarantee_id)
                                     .where(CounterMeasure.collateral_id == Collateral.id,
                                            *(c == f[k] for k, c in linked))))
        q = (select(Collateral.code, Collateral.name, Collateral.kind, Customer.name, Collateral.owner_name,
                    Collateral.value, Collateral.value_date, Collateral.status, Collateral.location)
             .join(Customer, Customer.id == Collateral.customer_id).where(*conditions)
             .order_by(Collateral.code))
        return apply_scope(q, Collateral), {"value": Collateral.value}
    if name == "contract":
        return _contract_select(f)
    q = (select(Guarantee.code, Customer.name, Product.name, CooperatingBank.name, user_name, FeeReceipt.fee_type,
                FeeReceipt.received_on, FeeReceipt.reference, FeeReceipt.amount)
         .join(Guarantee, Guarantee.id == FeeReceipt.guarantee_id)
         .join(Customer, Customer.id == Guarantee.customer_id).join(Product, Product.id == Guarantee.product_id)
         .join(CooperatingBank, CooperatingBank.id == Guarantee.bank_id)
         .outerjoin(User, User.id == Guarantee.manager_id)
         .where(*_between(FeeReceipt.received_on, f), *_guarantee_filters(Guarantee, f))
         .order_by(FeeReceipt.received_on, FeeReceipt.id))
    return apply_scope(q, Guarantee), {"amount": FeeReceipt.amount}


def _contract_select(f):
    from models.business import Guarantee, GuaranteeContract
    from models.customers import Customer
    from models.post_guarantee import RepaymentPlanRow
    from models.post_settlement import Compensation, GuaranteeRelease
    from models.products import CooperatingBank

    contract = (select(GuaranteeContract.guarantee_id.label("gid"), func.min(GuaranteeContract.number).label("number"))
                .where(GuaranteeContract.kind == "guarantee").group_by(GuaranteeContract.guarantee_id).subquery())
    paid = Compensation.paid_on <= f["date_to"] if f.get("date_to") else literal(True)
    comp = (select(Compensation.guarantee_id.label("gid"), func.max(Compensation.paid_on).label("paid_on"),
                   func.max(Compensation.reason).label("reason"), func.sum(Compensation.paid_amount).label("amount"))
            .where(Compensation.status == "paid", paid).group_by(Compensation.guarantee_id).subquery())
    late = or_(RepaymentPlanRow.settled.is_(False), RepaymentPlanRow.settled_on > RepaymentPlanRow.effective_due)
    overdue = (select(RepaymentPlanRow.guarantee_id.label("gid"), func.count().label("n"),
                      func.sum(RepaymentPlanRow.principal + RepaymentPlanRow.interest).label("amount"))
               .where(late, *_between(RepaymentPlanRow.effective_due, f))
               .group_by(RepaymentPlanRow.guarantee_id).subquery())
    released = GuaranteeRelease.released_on.isnot(None)
    if f.get("date_to"):
        released = and_(released, GuaranteeRelease.released_on <= f["date_to"])
    status = case((comp.c.gid.isnot(None), "default_end"), (released, "normal_end"),
                  (Guarantee.stage.in_(("in_force", "released")), "performing"), else_="other")
    end_date = case((comp.c.gid.isnot(None), comp.c.paid_on), (released, GuaranteeRelease.released_on), else_=None)
    q = (select(Guarantee.code, contract.c.number, Customer.name, CooperatingBank.name,
                func.coalesce(Guarantee.loan_amount, Guarantee.amount), Guarantee.loan_date, Guarantee.due_date,
                status, end_date, comp.c.reason, comp.c.amount, func.coalesce(overdue.c.n, 0),
                func.coalesce(overdue.c.amount, 0))
         .join(Customer, Customer.id == Guarantee.customer_id)
         .join(CooperatingBank, CooperatingBank.id == Guarantee.bank_id)
         .outerjoin(contract, contract.c.gid == Guarantee.id).outerjoin(comp, comp.c.gid == Guarantee.id)
         .outerjoin(overdue, overdue.c.gid == Guarantee.id)
         .outerjoin(GuaranteeRelease, GuaranteeRelease.guarantee_id == Guarantee.id)
         .where(Guarantee.loan_date.isnot(None), *([Guarantee.loan_date <= f["date_to"]] if f.get("date_to") else []),
                *_guarantee_filters(Guarantee, f))
         .order_by(Guarantee.loan_date, Guarantee.id))
    return apply_scope(q, Guarantee), {"loan_amount": func.coalesce(Guarantee.loan_amount, Guarantee.amount),
                                       "compensated": func.coalesce(comp.c.amount, 0),
                                       "overdue_amount": func.coalesce(overdue.c.amount, 0)}


def _labels(name):
    """Code → label translations applied to the text columns of a row."""
    if name == "guarantee":
        from app.services.guarantees import stage_label

        return {11: stage_label}
    if name == "recovery":
        from app.services.recovery import SOURCES

        return {5: lambda v: str(SOURCES.get(v, v or ""))}
    if name == "collateral":
        from app.services.collateral import KIND_LABELS, STATUS_LABELS

        return {2: lambda v: str(KIND_LABELS.get(v, v or "")), 7: lambda v: str(STATUS_LABELS.get(v, v or ""))}
    if name == "contract":
        return {7: lambda v: str(CONTRACT_STATUS.get(v, v or ""))}
    if name == "fee":
        from app.services.fees import FEE_TYPES

        return {5: lambda v: str(FEE_TYPES.get(v, v or ""))}
    return {}


def rows(name, f, limit: int | None = None):
    """The ledger's rows as tuples (labels translated, money as Decimal), streamed from the cursor."""
    _check(name)
    q, _money = _select(name, f)
    if limit:
        q = q.limit(limit)
    labels = _labels(name)
    kinds = [c.kind for c in columns(name)]
    result = _session().execute(q.execution_options(yield_per=2000))
    for row in result:
        out = list(row)
        for i, func_ in labels.items():
            out[i] = func_(out[i])
        for i, kind in enumerate(kinds):
            if kind == "money" and out[i] is not None:
                out[i] = Decimal(out[i]).quantize(ZERO)
        yield tuple(out)


def totals(name, f) -> dict:
    """{"count": rows, money column key: sum} over the whole filtered ledger (one aggregate query)."""
    _check(name)
    q, money = _select(name, f)
    sub = q.order_by(None).with_only_columns(*(expr.label(key) for key, expr in money.items())).subquery()
    row = _session().execute(select(func.count(), *(func.coalesce(func.sum(sub.c[key]), 0) for key in money))
                             .select_from(sub)).one()
    out = {"count": int(row[0] or 0)}
    out.update({key: Decimal(value or 0).quantize(ZERO) for key, value in zip(money, row[1:])})
    return out


def totals_row(name, total) -> list:
    """The totals as a row of the ledger (the first column says 合计)."""
    out = []
    for i, column in enumerate(columns(name)):
        if column.key in total and column.kind == "money":
            out.append(total[column.key])
        elif i == 0:
            out.append(gettext("Total (%(n)s rows)", n=total["count"]))
        else:
            out.append(None)
    return out


def filter_text(f) -> str:
    """The filters in words, for the export's subtitle."""
    from models.products import CooperatingBank, Product

    parts = []
    if f.get("date_from") or f.get("date_to"):
        parts.append(f"{f.get('date_from') or ''} ~ {f.get('date_to') or ''}")
    session = _session()
    if f.get("bank_id"):
        bank = session.get(CooperatingBank, f["bank_id"])
        parts.append(bank.name if bank else "")
    if f.get("product_id"):
        product = session.get(Product, f["product_id"])
        parts.append(product.name if product else "")
    if f.get("code"):
        parts.append(f["code"])
    return "  ".join(p for p in parts if p)


def choices() -> dict:
    """Options of the filter form: banks, products, account managers (who manage any guarantee)."""
    from models.business import Guarantee
    from models.products import CooperatingBank, Product

    User, user_name = _user_name()
    session = _session()
    managers = select(User.id, user_name).where(User.id.in_(select(Guarantee.manager_id).distinct()))
    return {"banks": session.execute(select(CooperatingBank.id, CooperatingBank.name)
                                     .order_by(CooperatingBank.name)).all(),
            "products": session.execute(select(Product.id, Product.name).order_by(Product.name)).all(),
            "managers": session.execute(managers.order_by(User.id)).all()}
