"""Suite `dayend`: the day-end batch over 200,000 guarantees in force with 2,000,000 repayment-plan rows (PERF.md).

Two fresh databases, bootstrapped alike: the large one holds the suite's portfolio (200,000 guarantees in force,
10 instalments each; 1/20 of that at --scale small), the other a tenth of it. Each gets a portfolio shaped like
a real one: maturities spread over the coming year (some within the 30-day warning horizon), about 3 % of the
guarantees with an instalment unpaid past its due date, an inspection scheduled for 95 % of them (some late),
the others waiting for their first. The business date is set, then ``app.services.dayend.run()`` runs every
registered step (post-guarantee inspections and warnings, and whatever other modules registered), exactly as
the CLI and the Celery beat task do.

- dayend_s: wall time of the whole run on the large portfolio.
- queries_growth: SQL statements of the run on the large portfolio ÷ on the one ten times smaller (set-based
  SQL: the statements do not depend on the number of guarantees, so ≈ 1).
"""
import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.perf.harness import Figure, suite

ADMIN_PASSWORD = "Perf@2026-admin"
GUARANTEES = 200_000
INSTALMENTS = 10
BUSINESS_DAY = date(2030, 6, 30)

FIGURES = [
    Figure("dayend_s", "s", "day-end batch, 200,000 guarantees in force, 2,000,000 plan rows", ("<", 60)),
    Figure("queries_growth", "×", "SQL statements of the run at that size ÷ at a tenth of it", ("<=", 1.1)),
    Figure("guarantees", "guarantees", "guarantees in force of the large portfolio (scaled)"),
    Figure("plan_rows", "rows", "repayment-plan rows of the large portfolio"),
    Figure("statements_large", "statements", "SQL statements of the run, large portfolio"),
    Figure("statements_small", "statements", "SQL statements of the run, small portfolio"),
    Figure("dayend_small_s", "s", "day-end batch on the small portfolio"),
    Figure("warnings_raised", "warnings", "warnings raised by the run, large portfolio"),
    Figure("inspections_scheduled", "inspections", "first inspections scheduled by the run, large portfolio"),
]


def _load(ctx, count: int, seed: int) -> int:
    from sqlalchemy import select

    from app.extensions import db
    from app.services.demo import bulk_insert, ensure_demo_org, generate_customers
    from models.business import Guarantee
    from models.customers import Customer
    from models.post_guarantee import Inspection, RepaymentPlanRow
    from models.products import CooperatingBank, Product

    ensure_demo_org(ctx.app.appbuilder)
    generate_customers(max(count // 10, 10), seed=seed)
    session = db.session
    product = Product(code="PERF", name="性能测试品种", guarantee_kind="loan", amount_min=Decimal("10000"),
                      amount_max=Decimal("50000000"), term_min=1, term_max=60, fee_rate_min=Decimal("0.005"),
                      fee_rate_max=Decimal("0.05"), counter_kinds=[], active=True)
    bank = CooperatingBank(code="PERF", name="性能测试银行", total_line=Decimal("1e12"), single_cap=Decimal("1e10"),
                           margin_ratio=Decimal("0.1"), risk_share_ratio=Decimal("0.2"), valid_from=date(2020, 1, 1),
                           valid_to=date(2099, 12, 31), active=True)
    session.add_all([product, bank])
    session.flush()
    customers = session.execute(select(Customer.id, Customer.manager_id)).all()
    rng = random.Random(seed)
    now = datetime.now()
    specs = []
    for i in range(count):
        cid, manager = customers[i % len(customers)]
        loan = BUSINESS_DAY - timedelta(days=rng.randint(30, 330))
        specs.append((i + 1, cid, manager, loan, loan + timedelta(days=365), rng.random() < 0.03))
    amount = Decimal("1000000.00")
    bulk_insert(session, Guarantee.__table__, (
        dict(code=f"PERF{n:07d}", customer_id=cid, product_id=product.id, bank_id=bank.id, amount=amount,
             term_months=12, fee_rate=Decimal("0.02"), green_channel=False, stage="in_force", status="active",
             approval_status="approved", contract_status="signed", apply_date=loan, loan_amount=amount,
             loan_date=loan, due_date=due, balance=amount, backfilled=False, manager_id=manager, owner_id=manager,
             created_at=now, updated_at=now)
        for n, cid, manager, loan, due, _late in specs), batch=20000)
    ids = dict(session.execute(select(Guarantee.code, Guarantee.id).where(Guarantee.code.like("PERF%"))).all())
    principal = amount / INSTALMENTS

    def plan_rows():
        for n, _cid, _manager, loan, _due, late in specs:
            gid = ids[f"PERF{n:07d}"]
            for k in range(1, INSTALMENTS + 1):
                due = loan + timedelta(days=36 * k)
                paid = due < BUSINESS_DAY and not (late and k == 1)
                yield dict(guarantee_id=gid, seq=k, due_date=due, effective_due=due, principal=principal,
                           interest=Decimal("4000.00"), paid_principal=principal if paid else Decimal(0),
                           paid_interest=Decimal("4000.00") if paid else Decimal(0), settled=paid,
                           settled_on=due if paid else None, method="equal_principal", source="generated",
                           created_at=now, updated_at=now)

    rows = bulk_insert(session, RepaymentPlanRow.__table__, plan_rows(), batch=50000)
    bulk_insert(session, Inspection.__table__, (
        dict(guarantee_id=ids[f"PERF{n:07d}"], kind="first", status="scheduled",
             due_date=BUSINESS_DAY + timedelta(days=rng.randint(-20, 150)), created_at=now, updated_at=now)
        for n, *_rest in specs if n % 20), batch=20000)
    session.commit()
    return rows


def _run_dayend(ctx):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.services import business_date, dayend
    from models.post_guarantee import Inspection, PostWarning

    with ctx.app.app_context():
        business_date.set_date(BUSINESS_DAY)
        db.session.commit()
        before_w = db.session.execute(select(func.count()).select_from(PostWarning)).scalar()
        before_i = db.session.execute(select(func.count()).select_from(Inspection)).scalar()
        db.session.remove()
    with ctx.app.app_context():
        ctx.sql.reset()
        started = time.perf_counter()
        result = dayend.run("perf")
        seconds = time.perf_counter() - started
        statements = ctx.sql.count
        status = result.status
        raised = db.session.execute(select(func.count()).select_from(PostWarning)).scalar() - before_w
        scheduled = db.session.execute(select(func.count()).select_from(Inspection)).scalar() - before_i
        db.session.remove()
    if status != "success":
        raise RuntimeError(f"the day-end run ended {status}")
    return seconds, statements, raised, scheduled


@suite("dayend", "the day-end batch over the portfolio in force", FIGURES, databases=2)
def run(ctx):
    large = ctx.size(GUARANTEES, minimum=1000)
    small = max(large // 10, 100)
    for index, count, seed in ((1, small, 7), (0, large, 8)):
        with ctx.use_database(index):
            ctx.bootstrap(ADMIN_PASSWORD)
            ctx.log(f"loading {count} guarantees into database {index}")
            with ctx.app.app_context():
                rows = _load(ctx, count, seed)
            ctx.analyze()
            if index == 0:
                ctx.record("guarantees", count)
                ctx.record("plan_rows", rows)
    with ctx.use_database(1):
        small_s, small_statements, _r, _i = _run_dayend(ctx)
    with ctx.use_database(0):
        seconds, statements, raised, scheduled = _run_dayend(ctx)
    ctx.record("dayend_s", seconds)
    ctx.record("dayend_small_s", small_s)
    ctx.record("statements_large", statements)
    ctx.record("statements_small", small_statements)
    ctx.record("queries_growth", statements / max(small_statements, 1))
    ctx.record("warnings_raised", raised)
    ctx.record("inspections_scheduled", scheduled)
