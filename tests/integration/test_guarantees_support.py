"""Helpers of the guarantee business tests: products, banks, customers, committee members, and a driver
that takes an application through the stages with the real services and the real approval engine."""
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app import permissions as P
from tests.conftest import ROLE_USERS, TEST_PASSWORD, unique


def user_id(username_or_role) -> int:
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import User

    username = ROLE_USERS.get(username_or_role, username_or_role)
    return db.session.execute(select(User.id).where(User.username == username)).scalar_one()


def make_product(db, **over):
    from models.products import Product

    code = unique("P")
    values = dict(code=code, name=f"测试品种{code}", guarantee_kind="loan", amount_min=Decimal("10000"),
                  amount_max=Decimal("50000000"), term_min=1, term_max=60, fee_rate_min=Decimal("0.005"),
                  fee_rate_max=Decimal("0.05"), counter_kinds=[], active=True)
    values.update(over)
    product = Product(**values)
    db.session.add(product)
    db.session.flush()
    return product


def make_bank(db, **over):
    from models.products import CooperatingBank

    code = unique("B")
    values = dict(code=code, name=f"测试银行{code}", total_line=Decimal("100000000"), single_cap=Decimal("20000000"),
                  margin_ratio=Decimal("0.1"), risk_share_ratio=Decimal("0.2"), valid_from=date(2020, 1, 1),
                  valid_to=date(2099, 12, 31), active=True)
    values.update(over)
    bank = CooperatingBank(**values)
    db.session.add(bank)
    db.session.flush()
    return bank


def make_customer(db, manager_id=None, **over):
    from models.customers import Customer

    code = unique("C")
    values = dict(code=code, kind="corporate", name=f"测试企业{code}", id_type="USCC", id_number=unique("91"),
                  address="测试市测试路1号", legal_representative="张三", manager_id=manager_id, owner_id=manager_id)
    values.update(over)
    customer = Customer(**values)
    db.session.add(customer)
    db.session.flush()
    return customer


def committee_members(app, count=3) -> list[int]:
    """Extra 审保会委员 users (conftest has one user per role; the default committee step needs a quorum of 3)."""
    from app.extensions import db

    with app.app_context():
        sm = app.appbuilder.sm
        ids = []
        for _ in range(count):
            username = unique("cm")
            user = sm.add_user(username, "委员", username[-4:], f"{username}@test.local",
                               [sm.find_role(P.COMMITTEE_MEMBER)], TEST_PASSWORD)
            ids.append(user.id)
        db.session.commit()
        return ids


def application_data(customer, product, bank, **over) -> dict:
    data = {
        "customer_id": customer.id, "product_id": product.id, "bank_id": bank.id, "amount": "1000000.00",
        "term_months": 12, "fee_rate": "0.02", "purpose": "流动资金周转", "repayment_method": "lump_sum",
        "green_channel": False,
        "measures": [{"kind": "mortgage", "description": "房产一套 (测试路1号)", "value": "1500000"}],
        "fee_items": [{"fee_type": "guarantee", "basis": "ratio", "rate": "0.02", "frequency": "one_off"},
                      {"fee_type": "service", "basis": "fixed", "amount": "2000", "frequency": "one_off"}],
    }
    data.update(over)
    return data


def approve(db, kind, guarantee, role_or_user):
    from app.services import approval

    inst = approval.open_instance(kind, guarantee.id)
    assert inst is not None, f"no open {kind}"
    approval.act(inst.id, user_id(role_or_user), "approve", "同意")
    db.session.commit()


def committee_pass(db, guarantee, members):
    from app.services import approval

    inst = approval.open_instance("guarantee.committee", guarantee.id)
    approval.open_meeting(inst.id, members[0], date.today(), members, chair_id=members[0])
    for m in members:
        approval.vote(inst.id, m, "agree", "同意")
    db.session.commit()
    approve(db, "guarantee.committee", guarantee, P.GENERAL_MANAGER)


def to_stage(db, guarantee_id, target, members=None):
    """Drive an application (created by the account manager) up to `target` with the right person at each step."""
    from app.services import guarantees as svc
    from models.business import STAGES

    am, risk, cashier = user_id(P.ACCOUNT_MANAGER), user_id(P.RISK_OFFICER), user_id(P.CASHIER)
    while True:
        g = svc.get(guarantee_id)
        if STAGES.index(g.stage) >= STAGES.index(target):
            return g
        stage = g.stage
        if stage == "draft":
            svc.submit_application(g.id, am)
        elif stage == "investigation":
            svc.save_investigation_report(g.id, {"financial_analysis": "财务稳健", "repayment_source": "经营收入",
                                                 "conclusion": "同意受理", "recommendation": "recommend"}, am)
            svc.submit_for_acceptance(g.id, am)
        elif stage == "acceptance":
            db.session.commit()
            approve(db, "guarantee.acceptance", g, P.RISK_OFFICER)
            continue
        elif stage == "intention":
            svc.issue_intention_letter(g.id, am)
        elif stage == "review":
            db.session.commit()
            approve(db, "guarantee.review", g, P.RISK_OFFICER)
            continue
        elif stage == "risk":
            svc.save_risk_report(g.id, {"risk_points": "行业波动", "mitigation": "抵押足值", "risk_level": "low",
                                        "opinion": "风险可控"}, risk)
            svc.submit_risk_approval(g.id, risk)
            db.session.commit()
            approve(db, "guarantee.risk", g, P.GENERAL_MANAGER)
            continue
        elif stage == "committee":
            svc.submit_to_committee(g.id, risk)
            db.session.commit()
            committee_pass(db, g, members)
            continue
        elif stage == "confirmation":
            svc.issue_confirmation_letter(g.id, am)
        elif stage == "fee_registration":
            svc.register_fees(g.id, am)
        elif stage == "contract":
            for c in g.contracts:
                if c.kind == "counter":
                    svc.review_contract(c.id, risk, "条款完备")
                svc.sign_contract(c.id, am)
            for m in g.measures:
                if m.kind in svc.REGISTERED_MEASURES:
                    svc.register_measure(m.id, am)
            svc.complete_contracts(g.id, am)
        elif stage == "fee_collection":
            for row in g.schedule:
                if row.received < row.amount and row in svc.fees_due_unpaid(g):
                    svc.collect_fee(g.id, cashier, row.id, row.amount - row.received, reference="YH001")
            svc.finish_fee_collection(g.id, cashier)
        elif stage == "loan_notice":
            svc.issue_loan_notice(g.id, am)
        elif stage == "loan_confirmation":
            svc.confirm_loan(g.id, cashier, "JK" + unique(""), g.amount)
        db.session.commit()
