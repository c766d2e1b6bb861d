"""The related-party benchmark of suite `customers` (PERF.md: related_depth3_ms < 100 ms on PostgreSQL).

`measure_related_depth3(ctx)` runs in the suite's (bootstrapped) database: it loads 100k customers with the
demo-data generator if the database has fewer, adds 300k relations in one bulk insert (COPY on PostgreSQL;
app.services.relations.generate_relations: mostly between customers near each other in id order, like groups
and families, so walks go several steps deep and meet cycles), and then times the service call the
guarantee module makes, `related_parties(customer, depth=3)` (the recursive CTE plus the shortest paths), from
different start customers: median and p95 of wall time, in-process (no HTTP).

The suite declares RELATED_FIGURES (the extra figures are recorded only when declared).
"""
import random
import statistics
import time

from tests.perf.harness import Figure, percentile

CUSTOMERS = 100_000
RELATIONS_PER_CUSTOMER = 3
QUERIES = 200
WARMUP = 10

RELATED_FIGURES = [
    Figure("related_depth3_ms", "ms", "related-party query (related_parties, recursive CTE), depth 3, "
           "100k customers, 300k relations; median over different start customers", ("<", 100)),
    Figure("related_depth3_p95_ms", "ms", "same, p95"),
    Figure("related_depth3_ids_ms", "ms", "related_customer_ids (ids only, the concentration check), depth 3, "
           "median"),
    Figure("related_depth3_found", "rows", "related customers found within 3 steps, median per start customer"),
    Figure("related_relations_load_s", "s", "bulk insert of the 300k relations (generate_relations)"),
]


def _record(ctx, name, value):
    try:
        ctx.record(name, value)
    except KeyError:
        ctx.note(f"{name} = {value:.3f}")


def measure_related_depth3(ctx, customers: int | None = None) -> None:
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.services import relations
    from app.services.demo import ensure_demo_org, generate_customers
    from models.system import Employee
    from models.customer_relations import CustomerRelation
    from models.customers import Customer

    customers = customers or ctx.size(CUSTOMERS, minimum=500)
    wanted_relations = customers * RELATIONS_PER_CUSTOMER
    repeat, warmup = ctx.repeat(QUERIES, minimum=20), ctx.repeat(WARMUP, minimum=3)
    app = ctx.app
    with app.app_context():
        have = db.session.execute(select(func.count(Customer.id))).scalar()
        if have < customers:
            ctx.log(f"related: demo data, {customers - have:,} more customers (generate_customers)")
            users = ensure_demo_org(app.appbuilder)
            managers = [(u.id, db.session.execute(select(Employee.department_id).where(Employee.user_id == u.id))
                         .scalar()) for name, u in users.items() if name.startswith("manager")]
            generate_customers(customers - have, seed=11, managers=managers)
        present = db.session.execute(select(func.count(CustomerRelation.id))).scalar()
        ctx.log(f"related: {wanted_relations - present:,} relations, set-based")
        started = time.perf_counter()
        made = relations.generate_relations(wanted_relations - present, seed=7)
        elapsed = time.perf_counter() - started
        _record(ctx, "related_relations_load_s", elapsed)
        total = db.session.execute(select(func.count(CustomerRelation.id))).scalar()
        n_customers = db.session.execute(select(func.count(Customer.id))).scalar()
        ctx.note(f"related: {n_customers:,} customers, {total:,} relations ({made:,} inserted in {elapsed:.1f} s)")
    ctx.analyze()

    with app.app_context():
        ids = [i for i, in db.session.execute(select(Customer.id))]
        rng = random.Random(2026)
        starts = [rng.choice(ids) for _ in range(warmup + repeat)]
        as_of = None  # as the service is called: in force on the business date (read once per call)
        for cid in starts[:warmup]:
            relations.related_parties(cid, 3, as_of)
        times, found, id_times = [], [], []
        for cid in starts[warmup:]:
            t0 = time.perf_counter()
            parties = relations.related_parties(cid, 3, as_of)
            times.append((time.perf_counter() - t0) * 1000)
            found.append(len(parties))
            db.session.rollback()
        for cid in starts[warmup:]:
            t0 = time.perf_counter()
            relations.related_customer_ids(cid, 3, as_of)
            id_times.append((time.perf_counter() - t0) * 1000)
            db.session.rollback()
        _record(ctx, "related_depth3_ms", statistics.median(times))
        _record(ctx, "related_depth3_p95_ms", percentile(times, 95))
        _record(ctx, "related_depth3_ids_ms", statistics.median(id_times))
        _record(ctx, "related_depth3_found", int(statistics.median(found)))
        ctx.note(f"related: {repeat} start customers drawn at random ({warmup} warm-up); related found per start: "
                 f"median {statistics.median(found):.0f}, max {max(found)}; related_parties median "
                 f"{statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms, max {max(times):.1f} ms")
        if ctx.db_kind == "postgresql":
            from datetime import date

            stmt = relations.walk_statement(starts[-1], 3, date.today())
            compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
            ctx.note("related: EXPLAIN ANALYZE of the walk from one start customer:\n    " + "\n    ".join(plan[:30]))
