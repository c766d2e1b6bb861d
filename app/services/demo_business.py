"""Demo data of the guarantee business (issue 4): products, cooperating banks, applications at every stage
and guarantees in force across banks and products.

The applications are moved by the real service functions (app/services/guarantees.py) and the real
approval engine (app/services/approval.py), acting as the demo users of the right roles (account manager,
risk officer, three committee members, general manager, cashier), so every stage history, approval
timeline, committee vote, numbered letter, fee receipt and ledger event is what a user would have made.
The portfolio already in force when the system started comes in through the backfill service
(app/services/guarantee_backfill.py), marked as backfilled like a real historic import.

`load_demo_business()` is idempotent: it does nothing when a demo product already has guarantees.
"""
from __future__ import annotations

import logging
import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import permissions as P
from app.errors import GuaranteeError

log = logging.getLogger(__name__)

# code, name, kind, amount range, term range (months), fee-rate range, required counter-guarantee kinds
DEMO_PRODUCTS = [
    ("LOAN-WC", "流动资金贷款担保", "loan", ("100000", "30000000"), (3, 36), ("0.010", "0.030"), ["mortgage"]),
    ("BOND", "企业债券担保", "bond", ("1000000", "200000000"), (12, 84), ("0.008", "0.025"), ["pledge"]),
    ("PERF", "工程履约保函", "performance", ("50000", "20000000"), (3, 36), ("0.005", "0.020"), []),
    ("LITIG", "诉讼财产保全担保", "litigation", ("10000", "10000000"), (1, 24), ("0.005", "0.020"), []),
]
# code, name, total line, single-loan cap, margin ratio, risk-sharing ratio
DEMO_BANKS = [
    ("ICBC-HZ", "中国工商银行杭州分行", "300000000", "30000000", "0.10", "0.20"),
    ("CCB-HZ", "中国建设银行杭州分行", "250000000", "25000000", "0.10", "0.20"),
    ("BOC-HZ", "中国银行杭州分行", "200000000", "20000000", "0.15", "0.10"),
    ("HZB", "杭州银行", "150000000", "15000000", "0.10", "0.20"),
    ("CMB-HZ", "招商银行杭州分行", "100000000", "10000000", "0.20", "0.00"),
]
# More committee members than the platform's one demo member: a committee vote needs a quorum of three.
EXTRA_USERS = [("committee2", "孙委员", P.COMMITTEE_MEMBER, "RISK"), ("committee3", "周委员", P.COMMITTEE_MEMBER, "RISK")]

# The stage each demo application is left at (one per stage; the approval stages wait for the decision),
# then a rejected and a withdrawn one.
PIPELINE = ["draft", "investigation", "acceptance", "intention", "review", "risk", "committee", "confirmation",
            "fee_registration", "contract", "fee_collection", "loan_notice", "loan_confirmation", "in_force",
            "in_force", "in_force"]
PURPOSES = ["补充流动资金", "采购原材料", "支付工程款", "设备更新改造", "偿还到期债务", "扩大生产经营"]
REPAYMENTS = ["lump_sum", "interest_first", "equal_instalments", "equal_principal"]
BACKFILLED = 12  # guarantees in force before the system, across every bank and product
# Amounts in 万元. Small on purpose: the demo customers' relation graph (issue 3) is dense, so the related-party
# limit (15 % of net assets, BIZ-15) applies to nearly the whole demo portfolio, and every demo application must
# pass it at submission and before the committee, as a real one would.
APPLICATION_AMOUNTS = [30, 50, 80, 100, 120, 150, 200]
BACKFILL_AMOUNTS = [30, 50, 80, 100, 150]


def _session():
    from app.extensions import db

    return db.session


def _appbuilder():
    from flask import current_app

    return current_app.appbuilder


# --- reference: products, banks, users --------------------------------------------------------------------

def ensure_products() -> dict:
    from app.services import products as product_rules
    from models.products import Product

    session = _session()
    out = {}
    for code, name, kind, (amin, amax), (tmin, tmax), (rmin, rmax), counters in DEMO_PRODUCTS:
        item = session.execute(select(Product).where(Product.code == code)).scalar()
        if item is None:
            item = Product(code=code, name=name, guarantee_kind=kind, amount_min=Decimal(amin),
                           amount_max=Decimal(amax), term_min=tmin, term_max=tmax, fee_rate_min=Decimal(rmin),
                           fee_rate_max=Decimal(rmax), counter_kinds=counters, active=True,
                           description=f"{name}（演示数据）")
            product_rules.validate_product(item)
            session.add(item)
            session.flush()
        out[code] = item
    return out


def ensure_banks() -> dict:
    from app.services import banks as bank_rules
    from app.services import business_date
    from models.products import CooperatingBank

    session = _session()
    today = business_date.today()
    out = {}
    for n, (code, name, line, cap, margin, share) in enumerate(DEMO_BANKS):
        item = session.execute(select(CooperatingBank).where(CooperatingBank.code == code)).scalar()
        if item is None:
            item = CooperatingBank(code=code, name=name, total_line=Decimal(line), single_cap=Decimal(cap),
                                   margin_ratio=Decimal(margin), risk_share_ratio=Decimal(share),
                                   valid_from=today.replace(month=1, day=1) - timedelta(days=365 * 2),
                                   valid_to=today.replace(month=12, day=31) + timedelta(days=365 * (1 + n % 3)),
                                   contact_person=["王行长", "李经理", "赵主任", "陈经理", "钱经理"][n],
                                   contact_phone=f"0571-8{n + 1}00{n + 1}88{n}", active=True)
            bank_rules.validate_bank(item)
            session.add(item)
            session.flush()
        out[code] = item
    return out


def ensure_users(appbuilder=None) -> dict:
    """{username: user id} of the demo users the business needs (the platform's, plus two committee members)."""
    from app.services.demo import DEMO_PASSWORD, ensure_demo_org
    from models.system import Department, Employee

    appbuilder = appbuilder or _appbuilder()
    users = {name: user.id for name, user in ensure_demo_org(appbuilder).items()}
    session = _session()
    for number, (username, name, role_name, dep_code) in enumerate(EXTRA_USERS, start=50):
        user = appbuilder.sm.find_user(username=username)
        if user is None:
            user = appbuilder.sm.add_user(username, name[0], name[1:], f"{username}@demo.local",
                                          [appbuilder.sm.find_role(role_name)], DEMO_PASSWORD)
        users[username] = user.id
        if session.execute(select(Employee.id).where(Employee.user_id == user.id)).scalar() is None:
            department = session.execute(select(Department).where(Department.code == dep_code)).scalar()
            session.add(Employee(code=f"E{number:04d}", name=name, department=department, user_id=user.id,
                                 phone=f"1380000{number:04d}", email=f"{username}@demo.local"))
    session.commit()
    return users


# --- moving one application ---------------------------------------------------------------------------------

class Actors:
    def __init__(self, users: dict, manager: str):
        self.manager = users[manager]
        self.risk = users["risk1"]
        self.gm = users["gm"]
        self.committee = [users["committee1"], users["committee2"], users["committee3"]]
        self.cashier = users["cashier"]


def _instance(kind, guarantee_id):
    from app.services import approval

    instance = approval.open_instance(kind, guarantee_id)
    if instance is None:
        raise RuntimeError(f"no open {kind} approval for guarantee {guarantee_id}")
    return instance


def approve(kind, guarantee_id, user_id, comment):
    from app.services import approval

    approval.act(_instance(kind, guarantee_id).id, user_id, "approve", comment)


def committee_passes(guarantee_id, actors: Actors, today):
    """The 审保会: meeting with the three members (the first chairs), three votes, then the GM signs."""
    from app.services import approval

    instance = _instance("guarantee.committee", guarantee_id)
    chair = actors.committee[0]
    approval.open_meeting(instance.id, chair, today, actors.committee, chair_id=chair)
    opinions = ["同意。反担保措施充分，第一还款来源可靠。", "同意，建议保后每季度检查一次。", "同意。"]
    for member, opinion in zip(actors.committee, opinions):
        approval.vote(instance.id, member, "agree", opinion)
    approval.act(instance.id, actors.gm, "approve", "同意审保会决议，签批。")


def _step(item_id, stage, actors: Actors, rng, today):
    """Do what moves the application out of `stage` (the service checks every step)."""
    from app.services import guarantees as G

    if stage == "draft":
        G.submit_application(item_id, actors.manager, "客户资料齐全，提交调查。")
    elif stage == "investigation":
        G.save_investigation_report(item_id, {
            "company_overview": "企业成立多年，主营业务稳定，股权结构清晰。",
            "operations": "近三年营业收入稳步增长，主要客户稳定。",
            "financial_analysis": "资产负债率约55%，流动比率1.4，经营性现金流为正。",
            "credit_record": "人民银行征信无不良记录。",
            "repayment_source": "第一还款来源为经营收入，第二还款来源为抵押物处置。",
            "counter_assessment": "抵押物为自有房产，变现能力较强。",
            "risks": "行业竞争加剧，应收账款回收期偏长。",
            "conclusion": "风险可控，建议受理。", "recommendation": "recommend"}, actors.manager)
        G.submit_for_acceptance(item_id, actors.manager, "调查完毕，提请受理审批。")
    elif stage == "acceptance":
        approve("guarantee.acceptance", item_id, actors.risk, "资料完整，同意受理。")
    elif stage == "intention":
        G.issue_intention_letter(item_id, actors.manager, "向贷款银行出具意向函。")
    elif stage == "review":
        approve("guarantee.review", item_id, actors.risk, "评审通过。")
    elif stage == "risk":
        G.save_risk_report(item_id, {
            "risk_points": "行业周期波动；客户对单一大客户依赖度较高。",
            "mitigation": "追加实际控制人个人连带责任保证；落实抵押登记；按季保后检查。",
            "risk_level": rng.choice(["low", "medium"]), "opinion": "风险可控，同意提交审保会。"}, actors.risk)
        G.submit_risk_approval(item_id, actors.risk, "风险管控报告已完成。")
        approve("guarantee.risk", item_id, actors.gm, "同意。")
    elif stage == "committee":
        G.submit_to_committee(item_id, actors.risk, "提交审保会审议。")
        committee_passes(item_id, actors, today)
    elif stage == "confirmation":
        G.issue_confirmation_letter(item_id, actors.manager)
    elif stage == "fee_registration":
        G.register_fees(item_id, actors.manager)
    elif stage == "contract":
        item = G.get(item_id)
        for contract in list(item.contracts):
            if contract.kind == "counter":
                G.review_contract(contract.id, actors.risk, "合同条款审查无误。")
            G.sign_contract(contract.id, actors.manager)
        for measure in list(item.measures):
            if measure.kind in G.REGISTERED_MEASURES:
                G.register_measure(measure.id, actors.manager)
        G.complete_contracts(item_id, actors.manager)
    elif stage == "fee_collection":
        item = G.get(item_id)
        for row in G.fees_due_unpaid(item):
            G.collect_fee(item_id, actors.cashier, row.id, row.amount - row.received, method="transfer",
                          reference=f"HD{rng.randrange(10**9, 10**10)}")
        G.finish_fee_collection(item_id, actors.cashier)
    elif stage == "loan_notice":
        G.issue_loan_notice(item_id, actors.manager)
    elif stage == "loan_confirmation":
        item = G.get(item_id)
        G.confirm_loan(item_id, actors.cashier, f"JK{today:%Y%m}{item_id:05d}", item.amount, today,
                       "银行已放款。")
    else:
        raise ValueError(stage)


def _stop_before(stage):
    """The last stage whose step runs for an application left at `stage` (approval stages: submitted, waiting)."""
    from models.business import STAGES

    return STAGES[:STAGES.index(stage)]


def _application_data(customer_id, product, bank, rng, guarantor_id=None) -> dict:
    amount = Decimal(rng.choice(APPLICATION_AMOUNTS)) * 10_000
    amount = min(max(amount, product.amount_min), product.amount_max, bank.single_cap)
    term = max(product.term_min, min(product.term_max, rng.choice([6, 12, 12, 24, 36])))
    rate = ((product.fee_rate_min + product.fee_rate_max) / 2).quantize(Decimal("0.0001"))
    measures = []
    for kind in product.counter_kinds or []:
        if kind == "mortgage":
            measures.append({"kind": "mortgage", "description": f"杭州市{rng.choice(['西湖区', '滨江区', '余杭区'])}"
                                                               f"{rng.randrange(1, 300)}号厂房及土地使用权",
                             "value": str(amount * Decimal("1.6"))})
        elif kind == "pledge":
            measures.append({"kind": "pledge", "description": "应收账款质押", "value": str(amount * Decimal("1.2"))})
        else:
            measures.append({"kind": kind, "description": "反担保", "value": str(amount)})
    if guarantor_id is not None:
        measures.append({"kind": "surety", "guarantor_id": guarantor_id, "description": "连带责任保证"})
    if not measures:
        measures.append({"kind": "credit", "description": "信用反担保"})
    fee_items = [{"fee_type": "guarantee", "basis": "ratio", "rate": str(rate),
                  "frequency": rng.choice(["one_off", "one_off", "quarterly", "yearly"])}]
    if rng.random() < 0.5:
        fee_items.append({"fee_type": "service", "basis": "fixed", "amount": "5000.00", "frequency": "one_off"})
    return {"customer_id": customer_id, "product_id": product.id, "bank_id": bank.id, "amount": str(amount),
            "term_months": term, "fee_rate": str(rate), "purpose": rng.choice(PURPOSES),
            "repayment_method": rng.choice(REPAYMENTS), "green_channel": False, "measures": measures,
            "fee_items": fee_items}


def _customers(manager_ids, limit) -> list:
    """Corporate, not blacklisted customers of the demo account managers, in a fixed order."""
    from models.customers import Customer

    return list(_session().execute(
        select(Customer.id, Customer.manager_id).where(Customer.kind == "corporate", Customer.blacklisted.is_(False),
                                                       Customer.manager_id.in_(manager_ids))
        .order_by(Customer.id).limit(limit)).all())


def build_applications(users, products, banks, rng, today) -> dict:
    """One application per PIPELINE entry, moved up to its stage, plus a rejected and a withdrawn one."""
    from app.extensions import db
    from app.services import guarantees as G

    managers = {users["manager1"]: "manager1", users["manager2"]: "manager2"}
    pool = _customers(list(managers), 200)
    if len(pool) < 4:
        return {"applications": 0}
    product_list, bank_list = list(products.values()), list(banks.values())
    made, skipped, cursor = {}, 0, 0
    plans = [(stage, None) for stage in PIPELINE] + [("acceptance", "reject"), ("investigation", "withdraw")]
    for n, (target, ending) in enumerate(plans):
        while cursor < len(pool):
            customer_id, manager_id = pool[cursor]
            guarantor_id = pool[(cursor + 1) % len(pool)][0] if n % 3 == 0 else None
            cursor += 1
            actors = Actors(users, managers[manager_id])
            product = product_list[n % len(product_list)]
            bank = bank_list[n % len(bank_list)]
            try:
                item = G.create_application(_application_data(customer_id, product, bank, rng, guarantor_id),
                                            actors.manager)
                for stage in _stop_before(target):
                    _step(item.id, stage, actors, rng, today)
                if target in ("acceptance", "review") and ending is None:
                    pass  # the submission itself put them into the approval; it waits for the risk officer
                elif target == "risk" and ending is None:
                    G.save_risk_report(item.id, {"risk_points": "待补充", "mitigation": "待补充",
                                                 "risk_level": "medium", "opinion": "起草中"}, actors.risk)
                elif target == "committee" and ending is None:
                    G.submit_to_committee(item.id, actors.risk, "提交审保会审议。")
                if ending == "reject":
                    from app.services import approval

                    approval.act(_instance("guarantee.acceptance", item.id).id, actors.risk, "reject",
                                 "第一还款来源不足，反担保措施不落实，不予受理。")
                elif ending == "withdraw":
                    G.withdraw_application(item.id, actors.manager, "客户已通过其他渠道解决融资需求。")
                db.session.commit()
                made[f"{target}{'-' + ending if ending else ''}-{n}"] = item.code
                break
            except GuaranteeError as ex:  # e.g. a demo customer over a concentration limit: take the next one
                db.session.rollback()
                skipped += 1
                log.info("demo application for customer %s skipped: %s", customer_id, ex.message)
    return {"applications": len(made), "skipped": skipped}


def backfill_portfolio(users, products, banks, rng, today) -> int:
    """Guarantees in force before the system, through the backfill service (history marked as backfilled)."""
    from app.services import guarantee_backfill as GB
    from models.customers import Customer

    session = _session()
    manager_ids = [users["manager1"], users["manager2"]]
    pool = list(session.execute(select(Customer.id, Customer.manager_id).where(
        Customer.blacklisted.is_(False), Customer.manager_id.in_(manager_ids)).order_by(Customer.id.desc())
        .limit(BACKFILLED)).all())
    product_list, bank_list = list(products.values()), list(banks.values())
    rows = []
    for n, (customer_id, manager_id) in enumerate(pool):
        product, bank = product_list[n % len(product_list)], bank_list[(n // 2) % len(bank_list)]
        amount = Decimal(rng.choice(BACKFILL_AMOUNTS)) * 10_000
        amount = min(max(amount, product.amount_min), product.amount_max, bank.single_cap)
        term = max(product.term_min, min(product.term_max, rng.choice([12, 12, 24, 36])))
        loan_date = today - timedelta(days=rng.randrange(30, min(term * 30, 700)))
        loan_amount = amount
        repaid = Decimal(rng.choice([0, 0, 10, 20, 30, 50])) / 100
        record = {
            "code": None, "customer_id": customer_id, "product": product, "bank": bank, "amount": amount,
            "term_months": term, "fee_rate": ((product.fee_rate_min + product.fee_rate_max) / 2).quantize(
                Decimal("0.0001")),
            "purpose": rng.choice(PURPOSES), "repayment_method": rng.choice(REPAYMENTS),
            "loan_number": f"LS{loan_date:%Y%m}{n + 1:04d}", "loan_amount": loan_amount, "loan_date": loan_date,
            "due_date": None, "balance": (loan_amount * (1 - repaid)).quantize(Decimal("0.01")),
            "manager_id": manager_id,
        }
        GB.check_row(record, today)  # the same rules a file meets
        rows.append((n + 2, record))
    if not rows:
        return 0
    result = GB.BackfillResult(rows=len(rows))
    GB.store(rows, users["risk1"], result, note="系统上线前的在保业务（演示数据）")  # demo data: Chinese text is data here
    return result.imported


def load_demo_business(seed: int = 2026, appbuilder=None) -> dict:
    """Products, banks, applications at every stage and the backfilled portfolio (once)."""
    from app.extensions import db
    from app.services import business_date
    from app.services.guarantees import ensure_reference
    from models.business import Guarantee

    ensure_reference()  # numbering rules and default flows (normally done at start)
    products = ensure_products()
    banks = ensure_banks()
    db.session.commit()
    if db.session.execute(select(func.count(Guarantee.id)).where(
            Guarantee.product_id.in_([p.id for p in products.values()]))).scalar():
        return {"skipped": True}
    users = ensure_users(appbuilder)
    rng = random.Random(seed)
    today = business_date.today()
    backfilled = backfill_portfolio(users, products, banks, rng, today)
    db.session.commit()
    result = build_applications(users, products, banks, rng, today)
    return {"products": len(products), "banks": len(banks), "backfilled": backfilled, **result}
