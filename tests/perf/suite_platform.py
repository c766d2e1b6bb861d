"""Suite `platform`: the demo-data generator and the customer list screen at 1k and 100k customers.

Two fresh databases, bootstrapped alike; the demo-data generator fills one with 1k customers and the
other with 100k (that load is timed: demo_rows_per_s). Then every screen is requested at both sizes in
turn, round after round, from one process and one logged-in session, so the 1k and 100k figures see
the same machine load and their ratio is fair on a noisy shared machine.
"""
import json
import time
from datetime import date

from tests.perf.harness import Figure, Probe, suite

ADMIN_PASSWORD = "Perf@2026-admin"
BASE_CUSTOMERS = 1_000
FULL_CUSTOMERS = 100_000
REQUESTS = 50
WARMUP = 5

LIST_URL = "/customerview/list/"
# FAB filter args are _flt_<index of the filter in the column type's list>_<column>:
# for a string column 0 = starts with, 2 = contains (ILIKE %v%), 3 = equal.
NAME_FILTER_URL = "/customerview/list/?_flt_2_name=%E5%BC%A0"  # name contains 张
KIND_FILTER_URL = "/customerview/list/?_flt_3_kind=corporate"  # kind equal to corporate
API_LIST_URL = "/api/v1/customer/"
DEEP_PAGE_URL = "/customerview/list/?page_CustomerView={page}"  # FAB pages from 0: LIMIT 20 OFFSET page*20
PAGE_SIZE = 20  # CustomerView.page_size

FIGURES = [
    Figure("rows_at_1k", "rows", "customers in the database for the 1k measurements (scaled)"),
    Figure("rows_at_100k", "rows", "customers in the database for the 100k measurements (scaled)"),
    Figure("demo_rows_per_s", "rows/s", "demo-data generator (load_demo, as `flask demo-data`), customers "
           "inserted per second, loading the 100k database", (">=", 5_000)),
    Figure("demo_s", "s", "wall time of that generator run"),
    Figure("list_ms_median", "ms", "customer list screen, first page, 100k customers, median of 50", ("<", 150)),
    Figure("list_ms_p95", "ms", "same, p95 of 50 requests", ("<", 300)),
    Figure("list_1k_ms_median", "ms", "customer list screen, first page, 1k customers, median of 50"),
    Figure("list_scale_ratio", "×", "list median at 100k ÷ at 1k customers, same run", ("<", 2)),
    Figure("list_sql_statements", "stmts", "SQL statements per list request at 100k (N+1 shows here)"),
    Figure("list_sql_ms_median", "ms", "time inside SQL per list request at 100k, median"),
    Figure("list_permission_checks", "stmts", "of those statements, FAB permission checks (menu, buttons)"),
    Figure("list_deep_ms_median", "ms", "customer list, the middle page (OFFSET 50k), 100k customers, median"),
    Figure("list_deep_1k_ms_median", "ms", "customer list, the middle page (OFFSET 500), 1k customers, median"),
    Figure("list_filtered_ms_median", "ms", "list filtered by name contains 张, 100k customers, median"),
    Figure("list_filtered_ms_p95", "ms", "same, p95"),
    Figure("list_filtered_1k_ms_median", "ms", "list filtered by name contains 张, 1k customers, median"),
    Figure("list_filtered_scale_ratio", "×", "filtered median at 100k ÷ at 1k"),
    Figure("list_kind_ms_median", "ms", "list filtered by kind = corporate, 100k customers, median"),
    Figure("list_kind_1k_ms_median", "ms", "list filtered by kind = corporate, 1k customers, median"),
    Figure("api_list_ms_median", "ms", "REST API /api/v1/customer/ first page, 100k customers, median"),
    Figure("api_list_1k_ms_median", "ms", "REST API /api/v1/customer/ first page, 1k customers, median"),
]


def _load(ctx, customers: int) -> tuple[int, float]:
    """The demo-data generator, exactly as `flask demo-data --customers N` runs it; timed."""
    from app.services.demo import load_demo

    app = ctx.app
    with app.app_context():
        started = time.perf_counter()
        result = load_demo(app.appbuilder, customers=customers)
        elapsed = time.perf_counter() - started
    return result["customers"], elapsed


def _count_customers(ctx) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from models.customers import Customer

    with ctx.app.app_context():
        return db.session.execute(select(func.count(Customer.id))).scalar()


def _shows(code: str):
    return lambda html: code in html


def _code(n: int) -> str:
    """The customer no. the demo generator gives the n-th customer of a fresh database
    (numbering rule "customer": KH + year of the business date, a new database's today, + 6 digits)."""
    return f"KH{date.today():%Y}{n:06d}"


def _counts(rows: int):
    return lambda body: json.loads(body)["count"] == rows


def _middle_page(rows: int) -> int:
    return rows // 2 // PAGE_SIZE


SCREENS = [  # key, URL for N customers, what the page must show (codes follow ids; the list is id desc)
    ("list", lambda rows: LIST_URL, lambda rows: _shows(_code(rows))),
    ("deep", lambda rows: DEEP_PAGE_URL.format(page=_middle_page(rows)),
     lambda rows: _shows(_code(rows - _middle_page(rows) * PAGE_SIZE))),
    ("name", lambda rows: NAME_FILTER_URL, lambda rows: None),
    ("kind", lambda rows: KIND_FILTER_URL, lambda rows: None),
    ("api", lambda rows: API_LIST_URL, _counts),
]


@suite("platform", "demo-data generator and the customer list screen", FIGURES, databases=2)
def run(ctx):
    sizes = {0: ctx.size(BASE_CUSTOMERS, minimum=20), 1: ctx.size(FULL_CUSTOMERS, minimum=200)}
    repeat, warmup = ctx.repeat(REQUESTS), ctx.repeat(WARMUP, minimum=2)
    ctx.note("two fresh databases, bootstrapped alike (migrate, roles, reference data, admin): one with "
             f"{sizes[0]:,} customers, one with {sizes[1]:,}; data from the demo-data generator")
    ctx.note("requests go through the whole app in-process with the Flask test client (no HTTP server, "
             f"no network), as the logged-in admin (login form + CSRF, session cookie); {warmup} warm-up "
             f"rounds, then {repeat} timed rounds; each round requests every screen at both sizes in turn "
             "(side by side, so machine load hits both sizes alike); median and nearest-rank p95 of wall time")
    if ctx.db_kind == "postgresql":
        ctx.note("VACUUM ANALYZE after each bulk load (what autovacuum does shortly after one)")

    rows = {}
    for index in (0, 1):
        with ctx.use_database(index):
            ctx.log(f"database {index}: bootstrap (migrate, roles, reference data, admin)")
            ctx.bootstrap(ADMIN_PASSWORD)
            _load(ctx, 0)  # the demo organisation and users only
            ctx.log(f"database {index}: demo data, {sizes[index]:,} customers")
            created, elapsed = _load(ctx, sizes[index])
            if index == 1:  # the larger load is the one timed
                ctx.record("demo_rows_per_s", created / elapsed)
                ctx.record("demo_s", elapsed)
                ctx.note(f"generator: {created:,} customers in {elapsed:.2f} s")
            ctx.analyze()
            rows[index] = _count_customers(ctx)
    ctx.record("rows_at_1k", rows[0])
    ctx.record("rows_at_100k", rows[1])

    browser = ctx.login("admin", ADMIN_PASSWORD)  # the same admin row in both databases
    ctx.log(f"timing {len(SCREENS)} screens at {rows[0]:,} and {rows[1]:,} customers, side by side")
    probes = [Probe(index, url(rows[index]), check(rows[index])) for _, url, check in SCREENS for index in (0, 1)]
    timings = iter(ctx.time_interleaved(browser, probes, repeat, warmup))
    small, large = {}, {}
    for key, url, _ in SCREENS:
        small[key], large[key] = next(timings), next(timings)
        for index, timing in ((0, small[key]), (1, large[key])):
            ctx.note(f"{rows[index]:,} customers, GET {url(rows[index])}: {timing.summary()}")
            with ctx.use_database(index):
                ctx.explain(browser, url(rows[index]), f"{rows[index]:,} customers")

    ctx.record("list_ms_median", large["list"].median)
    ctx.record("list_ms_p95", large["list"].p95)
    ctx.record("list_1k_ms_median", small["list"].median)
    ctx.record("list_scale_ratio", large["list"].median / small["list"].median)
    ctx.record("list_sql_statements", int(large["list"].statements_median))
    ctx.record("list_sql_ms_median", large["list"].sql_ms_median)
    ctx.record("list_permission_checks", int(large["list"].permission_checks_median))
    ctx.record("list_deep_ms_median", large["deep"].median)
    ctx.record("list_deep_1k_ms_median", small["deep"].median)
    ctx.record("list_filtered_ms_median", large["name"].median)
    ctx.record("list_filtered_ms_p95", large["name"].p95)
    ctx.record("list_filtered_1k_ms_median", small["name"].median)
    ctx.record("list_filtered_scale_ratio", large["name"].median / small["name"].median)
    ctx.record("list_kind_ms_median", large["kind"].median)
    ctx.record("list_kind_1k_ms_median", small["kind"].median)
    ctx.record("api_list_ms_median", large["api"].median)
    ctx.record("api_list_1k_ms_median", small["api"].median)
