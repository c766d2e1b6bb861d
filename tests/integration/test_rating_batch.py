"""RAT-4: the batch rates every customer column-wise and gives each the identical score, grade and breakdown
the single rating gives (a few hundred generated customers: several years of statements, none, a division by
zero, individuals, carried-over answers); results replace current grades only when another user accepts."""
import random
import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from app import permissions as P
from app.errors import Conflict, Forbidden
from app.services import rating as R
from app.services import rating_batch as B
from app.services.demo_customers import _statement_figures
from app.services.statements import check_values
from models.customer_finance import FinancialStatement, FinancialStatementItem
from models.customers import Customer
from models.rating import Rating, RatingBatch
from tests.conftest import ROLE_USERS

CORPORATE, INDIVIDUAL = 300, 40


def _user_id(db, role):
    from flask_appbuilder.security.sqla.models import User

    return db.session.execute(select(User.id).where(User.username == ROLE_USERS[role])).scalar()


def _generate(db, seed=11):
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    customers = []
    for i in range(CORPORATE + INDIVIDUAL):
        kind = "corporate" if i < CORPORATE else "individual"
        customers.append(Customer(kind=kind, name=f"批量评级{tag}{i}", id_type="USCC" if kind == "corporate" else "RIC",
                                  id_number=f"{tag}{i:08d}", code=f"B{tag}{i:06d}", direct="direct",
                                  total_assets=Decimal(rng.randint(0, 5000000)) if kind == "individual" else None,
                                  total_liabilities=Decimal(rng.randint(0, 2000000)) if kind == "individual" else None))
    db.session.add_all(customers)
    db.session.flush()
    now = datetime.now()
    figures = {}
    for n, customer in enumerate(customers[:CORPORATE]):
        years = n % 4  # 0: no statement, 1: no earlier period, 2–3: growth and average equity computable
        scale = Decimal(rng.choice([300, 800, 1500, 3000])) * 10000
        for year in range(2025 - years + 1, 2026):
            scale = (scale * Decimal(rng.uniform(0.9, 1.2))).quantize(Decimal("1"))
            values = _statement_figures(rng, scale)
            if n % 37 == 5:  # no current liabilities: current and quick ratios divide by zero
                values["long_term_loans"] += values["short_term_loans"] + values["accounts_payable"]
                values["short_term_loans"] = values["accounts_payable"] = Decimal(0)
            figures[(customer.id, date(year, 12, 31))] = check_values(values, tol=Decimal(0))
        if n % 29 == 3:  # also a half-year statement on the same day: the annual one is preferred
            figures[(customer.id, date(2025, 6, 30), "half")] = check_values(
                _statement_figures(rng, scale), tol=Decimal(0))
    for key in figures:
        customer_id, day = key[0], key[1]
        kind = key[2] if len(key) == 3 else "annual"
        db.session.execute(insert(FinancialStatement.__table__).values(
            customer_id=customer_id, period_end=day, period_type=kind, audited=False, currency_unit="元",
            created_at=now, updated_at=now))
    ids = {(c, d, t): pk for pk, c, d, t in db.session.execute(
        select(FinancialStatement.id, FinancialStatement.customer_id, FinancialStatement.period_end,
               FinancialStatement.period_type).where(FinancialStatement.customer_id.in_([c.id for c in customers])))}
    db.session.execute(insert(FinancialStatementItem.__table__), [
        dict(statement_id=ids[(k[0], k[1], k[2] if len(k) == 3 else "annual")], item_code=code, amount=amount)
        for k, values in figures.items() for code, amount in values.items()])
    # a current rating with answers for some: the batch carries the answers over
    for n, customer in enumerate(customers):
        if n % 5 == 0:
            model = R.applicable_models(customer)[0]
            answers = {ind.code: rng.randrange(len(R.parse_options(ind.options)))
                       for ind in model.indicators if ind.kind == "qualitative"}
            rating = R.rate_customer(customer.id, model.id, answers, None)
            R.make_current([rating], date(2025, 1, 1))
    db.session.commit()
    return customers


def test_single_and_batch_give_identical_results(db):
    customers = _generate(db)
    rows = {row["customer_id"]: row for row in B.compute([c.id for c in customers])}
    assert len(rows) == len(customers)
    seen_reasons = set()
    for customer in customers:
        model = R.applicable_models(customer)[0]
        single = R.score_customer(customer, model)
        row = rows[customer.id]
        assert row["model_id"] == model.id
        assert (row["score"], row["grade"]) == (single.score, single.grade), customer.id
        assert row["statement_id"] == single.statement_id and row["net_assets"] == single.net_assets
        assert [list(entry) for entry in row["breakdown"]] == [line.compact() for line in single.lines]
        assert row["answers"] == single.answers
        seen_reasons |= {line.reason for line in single.lines}
    assert {None, "missing", "div0", "unanswered"} <= seen_reasons
    assert len({row["grade"] for row in rows.values()}) >= 3


def test_batch_is_reviewed_before_it_replaces_grades(app, db):
    risk, manager = _user_id(db, P.RISK_OFFICER), _user_id(db, P.GENERAL_MANAGER)
    customers = _generate(db, seed=12)
    before = {c.id: R.current_rating(c.id) for c in customers}
    batch = B.start("all", risk)  # Celery runs eagerly in the tests
    db.session.expire_all()
    batch = db.session.get(RatingBatch, batch.id)
    assert batch.status == "pending" and batch.total >= len(customers) and batch.done == batch.total
    with pytest.raises(Conflict):
        B.start("all", risk)  # one batch at a time
    # nothing replaced yet
    assert all((R.current_rating(c.id) or None) == before[c.id] for c in customers)
    with pytest.raises(Forbidden):
        B.accept(batch.id, risk)  # whoever started it does not accept it
    db.session.rollback()
    B.accept(batch.id, manager)
    for customer in customers:
        current = R.current_rating(customer.id)
        assert current.batch_id == batch.id and current.status == "approved" and current.valid_to is not None
    assert db.session.get(RatingBatch, batch.id).status == "accepted"
    with pytest.raises(Conflict):
        B.accept(batch.id, manager)

    # "changed": only customers whose statements changed after their current rating (none now)
    second = B.start("changed", risk)
    db.session.expire_all()
    second = db.session.get(RatingBatch, second.id)
    assert second.status == "pending"
    assert not set(db.session.execute(select(Rating.customer_id).where(Rating.batch_id == second.id)).scalars()) \
        & {c.id for c in customers}
    B.discard(second.id, manager)
    assert db.session.get(RatingBatch, second.id).status == "discarded"


def test_a_batch_orphaned_by_a_dead_worker_does_not_block_the_next(app, db):
    """A worker killed mid-run leaves its batch "running"; once that is older than the stale limit, the next
    start discards it (and its partial results) and runs."""
    from datetime import datetime, timedelta

    risk = _user_id(db, P.RISK_OFFICER)
    customer = _generate(db, seed=31)[0]
    orphan = RatingBatch(scope="all", status="running", total=10, done=3, rated=3, started_by_id=risk,
                         started_at=datetime.now() - timedelta(minutes=5))
    db.session.add(orphan)
    db.session.commit()
    with pytest.raises(Conflict):  # recent: maybe still working
        B.start("all", risk)
    db.session.rollback()
    orphan = db.session.get(RatingBatch, orphan.id)
    orphan.started_at = datetime.now() - timedelta(minutes=app.config["RATING_BATCH_STALE_MINUTES"] + 1)
    model_id = db.session.execute(select(Rating.model_id).limit(1)).scalar()
    partial = Rating(customer_id=customer.id, model_id=model_id, batch_id=orphan.id, status="batch",
                     score=1, grade="C", breakdown=[], rated_on=datetime.now().date())
    db.session.add(partial)
    db.session.commit()
    partial_id = partial.id

    batch = B.start("all", risk)
    db.session.expire_all()
    orphan = db.session.get(RatingBatch, orphan.id)
    assert orphan.status == "failed" and orphan.error
    assert db.session.get(Rating, partial_id) is None
    assert db.session.get(RatingBatch, batch.id).status == "pending"
    B.discard(batch.id, _user_id(db, P.GENERAL_MANAGER))
