"""RAT-1/2/4 through the real services and database: a corporate customer's statements through the default
model give the hand-computed score, breakdown and grade; missing data and division by zero score as the model
says; bad formulas are refused at save; an edited model in use becomes a new version; the review goes through
the approval engine (four eyes); a rating is valid one year and shows in the re-rating reminders."""
import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Forbidden, ValidationError
from app.services import approval, business_date, rating as R
from app.services import statements as S
from app.services.rating_reference import CORPORATE_CODE, INDIVIDUAL_CODE
from models.customers import Customer
from models.rating import Rating, RatingIndicator, RatingModel
from tests.conftest import ROLE_USERS

_seq = itertools.count(1)

CURRENT = {  # 2025: assets 1,000,000 = liabilities 400,000 + equity 600,000; net profit 187,500
    "cash": "200000", "accounts_receivable": "300000", "inventories": "100000",
    "fixed_assets_cost": "500000", "accumulated_depreciation": "100000",
    "short_term_loans": "250000", "accounts_payable": "150000", "paid_in_capital": "500000",
    "undistributed_profit": "100000",
    "revenue": "2000000", "cost_of_sales": "1500000", "admin_expenses": "200000", "finance_expenses": "50000",
    "income_tax": "62500",
}
PREVIOUS = {  # 2024: assets 900,000 = liabilities 400,000 + equity 500,000; revenue 1,600,000
    "cash": "200000", "accounts_receivable": "250000", "inventories": "100000",
    "fixed_assets_cost": "450000", "accumulated_depreciation": "100000",
    "short_term_loans": "250000", "accounts_payable": "150000", "paid_in_capital": "500000",
    "revenue": "1600000", "cost_of_sales": "1300000", "admin_expenses": "150000", "finance_expenses": "50000",
    "income_tax": "25000",
}
ANSWERS = {"management": 1, "outlook": 0, "credit_record": 0, "collateral": 1}


def _user_id(db, role):
    from flask_appbuilder.security.sqla.models import User

    return db.session.execute(select(User.id).where(User.username == ROLE_USERS[role])).scalar()


def corporate(db, manager_id=None, **fields):
    n = next(_seq)
    customer = Customer(kind="corporate", name=f"评级测试企业{n}{uuid.uuid4().hex[:4]}", id_type="USCC",
                        id_number=uuid.uuid4().hex[:18].upper(), code=f"RT{uuid.uuid4().hex[:12]}", direct="direct",
                        manager_id=manager_id, **fields)
    db.session.add(customer)
    db.session.flush()
    return customer


def statement(customer, year, values):
    S.save_statement(customer.id, S.StatementInput(period_end=date(year, 12, 31), period_type="annual",
                                                   values={k: Decimal(v) for k, v in values.items()}))


def default_model(db, code=CORPORATE_CODE):
    return db.session.execute(select(RatingModel).where(RatingModel.code == code, RatingModel.active.is_(True))
                              .order_by(RatingModel.version.desc())).scalars().first()


def _fresh_default(db):
    """A private copy of the default corporate model (other tests change versions of the shipped one)."""
    from app.services.rating_reference import build_corporate

    model = build_corporate()
    model.code = f"T{uuid.uuid4().hex[:8]}"
    db.session.add(model)
    db.session.flush()
    return model


def test_hand_computed_corporate_rating(db):
    customer = corporate(db)
    statement(customer, 2024, PREVIOUS)
    statement(customer, 2025, CURRENT)
    model = _fresh_default(db)
    result = R.score_customer(customer, model, ANSWERS)
    lines = {line.code: line for line in result.lines}
    # 资产负债率 400,000 / 1,000,000 = 0.4: on the edge, the band 0.4~0.55 → 80 points × 15% = 12
    assert lines["debt_ratio"].value == 0.4 and lines["debt_ratio"].points == 80 and lines["debt_ratio"].contribution == 12
    # 流动比率 600,000 / 400,000 = 1.5: linear 0.8…2 → (1.5 − 0.8) / 1.2 × 100 = 58.333… × 10%
    assert lines["current_ratio"].value == 1.5
    assert lines["current_ratio"].points == pytest.approx(58.3333333333, abs=1e-9)
    # 速动比率 (600,000 − 100,000) / 400,000 = 1.25 → band 1~ → 100 × 10% = 10
    assert lines["quick_ratio"].value == 1.25 and lines["quick_ratio"].contribution == 10
    # 净资产收益率 187,500 / avg(600,000, 500,000) = 0.3409 → linear 0…0.2, capped at 100 → 10
    assert lines["roe"].value == pytest.approx(187500 / 550000) and lines["roe"].points == 100
    # 营业收入增长率 2,000,000 / 1,600,000 − 1 = 0.25 → band 0.2~ → 100 × 10% = 10
    assert lines["revenue_growth"].value == pytest.approx(0.25) and lines["revenue_growth"].points == 100
    # 销售净利率 187,500 / 2,000,000 = 0.09375 → 62.5 points × 5% = 3.125
    assert lines["net_margin"].points == pytest.approx(62.5) and lines["net_margin"].contribution == pytest.approx(3.125)
    # qualitative: 75 × 10% + 100 × 10% + 100 × 10% + 60 × 10% = 33.5
    assert [lines[c].points for c in ANSWERS] == [75, 100, 100, 60]
    # total 12 + 5.8333 + 10 + 10 + 10 + 3.125 + 33.5 = 84.4583 → 84.46 → AA (80 and above)
    assert result.score == Decimal("84.46") and result.grade == "AA"
    assert result.net_assets == Decimal("600000.00")
    assert all(line.reason is None for line in result.lines)

    rating = R.rate_customer(customer.id, model.id, ANSWERS, None)
    assert rating.status == "draft" and rating.score == Decimal("84.46") and rating.grade == "AA"
    # AA: 0.8 × net assets 600,000 = 480,000 (cap 30,000,000)
    assert R.proposed_limit(rating) == Decimal("480000.00")
    assert rating.breakdown[0] == [0.4, 80.0, None, None] and rating.breakdown[6] == [None, 75.0, None, 1]
    shown = R.breakdown_lines(rating)
    assert [(line.code, line.points, line.contribution) for line in shown] == \
        [(line.code, line.points, line.contribution) for line in result.lines]
    assert shown[6].answer_text == "5至10年"


def test_missing_data_scores_zero_or_the_default(db):
    customer = corporate(db)  # no statements at all
    model = _fresh_default(db)
    result = R.score_customer(customer, model, ANSWERS)
    quantitative = [line for line in result.lines if line.kind == "quantitative"]
    assert all(line.reason == "missing" and line.points == 0 for line in quantitative)
    assert result.score == Decimal("33.50") and result.grade == "CCC"

    model.missing_policy, model.missing_points = "default", Decimal("50")
    R.validate_model(model)
    result = R.score_customer(customer, model, ANSWERS)
    assert all(line.points == 50 for line in result.lines if line.kind == "quantitative")
    assert result.score == Decimal("63.50") and result.grade == "BBB"  # 33.5 + 60% × 50

    # only last year's statement: the growth rate and ROE lack the earlier period
    statement(customer, 2025, CURRENT)
    result = R.score_customer(customer, model, ANSWERS)
    reasons = {line.code: line.reason for line in result.lines}
    assert reasons["revenue_growth"] == "missing" and reasons["roe"] == "missing"
    assert reasons["debt_ratio"] is None


def test_division_by_zero_is_scored_and_said(db):
    customer = corporate(db)
    no_current_liabilities = dict(CURRENT, short_term_loans="0", accounts_payable="0", long_term_loans="400000")
    statement(customer, 2025, no_current_liabilities)
    model = _fresh_default(db)
    result = R.score_customer(customer, model, ANSWERS)
    lines = {line.code: line for line in result.lines}
    assert lines["current_ratio"].reason == "div0" and lines["current_ratio"].points == 0
    assert lines["quick_ratio"].reason == "div0"
    assert lines["debt_ratio"].reason is None


def test_bad_formula_refused_at_save(db):
    model = _fresh_default(db)
    for formula, named in (("revenue / turnover", "turnover"), ("__import__('os')", "__import__"),
                           ("revenue ** 2", "Pow"), ("prev.nothing + 1", "prev.nothing")):
        item = RatingIndicator(model=model, code="bad", name="坏指标", kind="quantitative", weight=Decimal(5),
                               formula=formula, rule="bands", direction="higher", bands="~=1")
        with pytest.raises(ValidationError) as err:
            R.validate_indicator(item)
        assert named in err.value.message and err.value.field == "formula"
        model.indicators.remove(item)


def test_editing_a_model_in_use_makes_a_new_version(db):
    customer = corporate(db)
    statement(customer, 2025, CURRENT)
    model = _fresh_default(db)
    rating = R.rate_customer(customer.id, model.id, ANSWERS, None)
    db.session.commit()
    old_id, old_count = model.id, len(model.indicators)

    debt = next(i for i in model.indicators if i.code == "debt_ratio")
    debt.weight = Decimal("20")
    R.validate_indicator(debt)
    db.session.commit()
    db.session.expire_all()
    old = db.session.get(RatingModel, old_id)
    assert not old.active and next(i for i in old.indicators if i.code == "debt_ratio").weight == Decimal("15")
    new = default_model(db, old.code)
    assert new.version == old.version + 1 and new.active and len(new.indicators) == old_count
    assert next(i for i in new.indicators if i.code == "debt_ratio").weight == Decimal("20")
    assert db.session.get(Rating, rating.id).model_id == old_id  # the rating keeps its version

    # the new version is not rated yet: an indicator added to it stays on it
    added = RatingIndicator(model=new, code="assets", name="资产规模", kind="quantitative", weight=Decimal(5),
                            formula="total_assets / 10000", rule="linear", direction="higher",
                            lower=Decimal(0), upper=Decimal(5000))
    R.validate_indicator(added)
    db.session.add(added)
    db.session.commit()
    assert added.model_id == new.id and new.version == old.version + 1


def test_review_through_the_approval_engine(db):
    clerk, risk = _user_id(db, P.ACCOUNT_MANAGER), _user_id(db, P.RISK_OFFICER)
    customer = corporate(db, manager_id=clerk)
    statement(customer, 2024, PREVIOUS)
    statement(customer, 2025, CURRENT)
    model = default_model(db)
    rating = R.rate_customer(customer.id, model.id, ANSWERS, clerk)
    db.session.commit()
    instance = R.submit_rating(rating.id, clerk)
    db.session.commit()
    assert rating.status == "pending" and instance.kind == "rating"
    with pytest.raises(Forbidden):
        approval.act(instance.id, clerk, "approve")  # the submitter never approves
    db.session.rollback()
    approval.act(instance.id, risk, "approve", "同意")
    db.session.commit()
    db.session.refresh(rating)
    today = business_date.today()
    assert rating.status == "approved" and rating.is_current
    assert rating.valid_from == today and rating.valid_to == R.valid_until(today)
    assert R.current_rating(customer.id).id == rating.id

    # a second approved rating replaces the first as current
    second = R.rate_customer(customer.id, model.id, dict(ANSWERS, outlook=2), clerk)
    R.make_current([second], today)
    db.session.commit()
    db.session.refresh(rating)
    assert not rating.is_current and R.current_rating(customer.id).id == second.id
    assert [r.id for r in R.history(customer.id)][:2] == [second.id, rating.id]

    # reminders: valid to within 30 days
    assert second.id not in [r.id for r in R.due_for_rerating()]
    assert second.id in [r.id for r in R.due_for_rerating(on=today + timedelta(days=340))]


def test_unanswered_questions_refused(db):
    customer = corporate(db)
    with pytest.raises(ValidationError) as err:
        R.rate_customer(customer.id, default_model(db).id, {"management": 0}, None)
    assert "行业前景" in err.value.message


def test_model_must_apply_to_the_customer(db):
    customer = corporate(db)
    with pytest.raises(ValidationError):
        R.rate_customer(customer.id, default_model(db, INDIVIDUAL_CODE).id, {}, None)


def test_industry_specific_model_is_preferred(db):
    model = _fresh_default(db)
    model.industry_codes = "C"
    R.validate_model(model)
    db.session.flush()
    manufacturer, trader = corporate(db, industry_code="C"), corporate(db, industry_code="F")
    assert R.applicable_models(manufacturer)[0].id == model.id
    assert model.id not in [m.id for m in R.applicable_models(trader)]
    model.active = False
    db.session.flush()


def test_duplicate_indicator_code_and_grade_refused(db):
    from models.rating import RatingGrade

    model = _fresh_default(db)
    db.session.commit()
    twin = RatingIndicator(model=model, code="debt_ratio", name="重复", kind="quantitative", weight=Decimal(5),
                           formula="total_assets", rule="bands", direction="higher", bands="~=1")
    with pytest.raises(ValidationError) as err:
        R.validate_indicator(twin)
    assert "debt_ratio" in err.value.message
    db.session.rollback()
    grade = RatingGrade(model=db.session.get(RatingModel, model.id), grade="aa", min_score=Decimal(85),
                        limit_basis="none")
    with pytest.raises(ValidationError) as err:
        R.validate_grade(grade)
    assert "AA" in err.value.message
    db.session.rollback()
