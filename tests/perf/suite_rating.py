"""Suite `rating`: batch re-rating of 100,000 customers against rating them one by one (PERF.md).

One fresh database: the demo organisation, 100,000 demo customers (the generator's mix: about 40 % corporate,
60 % individual) and two annual statements (2024, 2025; ~50 items each, every one passing the statement
checks) for every corporate customer. Every customer is rated through the default models.

- batch_100k_s: wall time of the batch task body (app/services/rating_batch.run): loading every customer,
  statement and figure, the column-wise scoring, storing 100,000 ratings (status "batch") with their breakdowns,
  the progress commits. In-process (the Celery task runs it the same way).
- batch_speedup: the single-rating path — the customer, its model, rating.score_customer (statements read
  through statements.statement_history), the Rating row added and committed — timed on a sample of customers
  (half before the batch, half after, so machine load hits both), the mean per customer × all customers,
  ÷ the batch time. Extrapolated from the sample, as PERF.md allows; the sample size is printed.
"""
import os
import random
import statistics
import sys
import time
from datetime import date, datetime
from decimal import Decimal

from tests.perf.harness import Figure, suite

ADMIN_PASSWORD = "Perf@2026-admin"
CUSTOMERS = 100_000
SAMPLE = 200
FIGURE_POOL = 400  # distinct statement figure sets, reused (check_values is the slow part of generating them)

FIGURES = [
    Figure("batch_100k_s", "s", "batch rating of all customers (load, column-wise scoring, store, commit)", ("<", 15)),
    Figure("batch_speedup", "×", "one-by-one single-rating path (sampled, mean × customers) ÷ the batch, same run",
           (">=", 20)),
    Figure("batch_customers", "customers", "customers rated by the batch (scaled)"),
    Figure("batch_compute_s", "s", "of the batch: loading and scoring only (before storing)"),
    Figure("batch_per_s", "customers/s", "batch throughput"),
    Figure("single_ms_per_customer", "ms", "single-rating path, mean per customer over the sample"),
    Figure("single_sample", "customers", "customers rated one by one (half before, half after the batch)"),
    Figure("single_extrapolated_s", "s", "single path mean × customers"),
]


def _load(ctx, count):
    from sqlalchemy import select

    from app.services.demo import bulk_insert, ensure_demo_org, generate_customers
    from app.services.demo_customers import _statement_figures
    from app.services.statements import check_values
    from app.extensions import db
    from models.customer_finance import FinancialStatement, FinancialStatementItem
    from models.customers import Customer

    ensure_demo_org(ctx.app.appbuilder)
    generate_customers(count)
    session = db.session
    rng = random.Random(6)
    pool = []
    for _ in range(FIGURE_POOL):
        scale = Decimal(rng.choice([300, 800, 1500, 3000, 6000])) * 10000
        pool.append((check_values(_statement_figures(rng, scale), tol=Decimal(0)),
                     check_values(_statement_figures(rng, (scale * Decimal("1.1")).quantize(Decimal(1))),
                                  tol=Decimal(0))))
    corporate = session.execute(select(Customer.id).where(Customer.kind == "corporate")).scalars().all()
    now = datetime.now()
    bulk_insert(session, FinancialStatement.__table__, (
        dict(customer_id=cid, period_end=date(year, 12, 31), period_type="annual", audited=False, auditor=None,
             currency_unit="元", note=None, created_at=now, updated_at=now, created_by_id=None, updated_by_id=None)
        for cid in corporate for year in (2024, 2025)))
    ids = {(c, d.year): pk for pk, c, d in session.execute(
        select(FinancialStatement.id, FinancialStatement.customer_id, FinancialStatement.period_end))}
    choice = {cid: rng.randrange(FIGURE_POOL) for cid in corporate}
    bulk_insert(session, FinancialStatementItem.__table__, (
        dict(statement_id=ids[(cid, year)], item_code=code, amount=amount)
        for cid in corporate for year, values in ((2024, pool[choice[cid]][0]), (2025, pool[choice[cid]][1]))
        for code, amount in values.items()), batch=20000)
    session.commit()
    return len(corporate)


def _single(customer_id):
    """The single-rating path, as the rating page saves one (without the qualitative answers check)."""
    from app.extensions import db
    from app.services import rating as R
    from models.customers import Customer
    from models.rating import Rating

    session = db.session
    customer = session.get(Customer, customer_id)
    model = R.applicable_models(customer)[0]
    result = R.score_customer(customer, model)
    session.add(Rating(customer_id=customer.id, model_id=model.id, status="draft", score=result.score,
                       grade=result.grade, breakdown=[line.compact() for line in result.lines], answers=result.answers,
                       statement_id=result.statement_id, period_end=result.period_end, net_assets=result.net_assets,
                       rated_on=R._today(), is_current=False))
    session.commit()


@suite("rating", "batch re-rating against the single-rating path", FIGURES)
def run(ctx):
    from sqlalchemy import select

    from app.extensions import db
    from app.services import rating_batch as B
    from models.customers import Customer
    from models.rating import RatingBatch

    # PERF_RATING_CUSTOMERS: a developer's knob to time another size; PERF_RATING_PROFILE=1 prints a profile
    count = int(os.environ.get("PERF_RATING_CUSTOMERS") or ctx.size(CUSTOMERS, minimum=500))
    ctx.bootstrap(ADMIN_PASSWORD)
    with ctx.app.app_context():
        ctx.log(f"{count:,} customers and two annual statements per corporate customer")
        corporate = _load(ctx, count)
    ctx.analyze()
    ctx.note(f"{count:,} demo customers ({corporate:,} corporate with two annual statements each)")
    with ctx.app.app_context():
        ids = db.session.execute(select(Customer.id)).scalars().all()
        sample = random.Random(3).sample(ids, min(SAMPLE, len(ids)))
        times = []

        def one_by_one(part):
            for cid in part:
                start = time.perf_counter()
                _single(cid)
                times.append(time.perf_counter() - start)

        half = len(sample) // 2
        ctx.log(f"single path, {half} customers")
        one_by_one(sample[:half])
        batch = RatingBatch(scope="all", status="running", total=0, done=0, rated=0, started_at=datetime.now())
        db.session.add(batch)
        db.session.commit()
        ctx.log("batch")
        start = time.perf_counter()
        if os.environ.get("PERF_RATING_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            rows = profiler.runcall(B.compute)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
        else:
            rows = B.compute()
        compute_s = time.perf_counter() - start
        db.session.rollback()
        start = time.perf_counter()
        B.run(batch.id)
        batch_s = time.perf_counter() - start
        batch = db.session.get(RatingBatch, batch.id)
        ctx.log(f"single path, {len(sample) - half} more customers")
        one_by_one(sample[half:])
        rated = batch.rated
    per_customer = statistics.mean(times)
    ctx.record("batch_100k_s", batch_s)
    ctx.record("batch_customers", rated)
    ctx.record("batch_compute_s", compute_s)
    ctx.record("batch_per_s", rated / batch_s)
    ctx.record("single_ms_per_customer", per_customer * 1000)
    ctx.record("single_sample", len(times))
    ctx.record("single_extrapolated_s", per_customer * rated)
    ctx.record("batch_speedup", per_customer * rated / batch_s)
    ctx.note(f"batch status {batch.status}: {rated:,} ratings in {batch_s:.2f} s (compute only, a separate run: "
             f"{compute_s:.2f} s for {len(rows):,}); single path {per_customer * 1000:.2f} ms per customer over "
             f"{len(times)} sampled customers, extrapolated to {per_customer * rated:.1f} s for {rated:,}")
