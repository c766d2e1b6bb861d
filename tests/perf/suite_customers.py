"""Suite `customers`: the Excel import of 10,000 customers, against adding the same rows one by one.

Two fresh databases, bootstrapped alike, each with the demo organisation and 10,000 existing demo
customers (so the duplicate check has something to look through). The import file is the template
filled the way a clerk fills it (dictionary columns by name, the account manager by login), 10,000 valid
customers none of which exists yet.

- import_10k_s: the whole upload through the app as the logged-in admin (test client POST of the file to
  /customerimport/upload with the CSRF token: reading, checking every row, numbering, the bulk insert,
  the operation-log entry, the commit and the result page), database 0.
- import_speedup: the same rows added one by one through the ORM in database 1, the way the customer
  screen saves one (its validators — validate_customer, assign_code, assign_manager — then add and commit
  per customer). Sampled: half of the sample before the import and half after it (so a change in machine
  load hits both), the mean per row extrapolated to all rows; the figure is that extrapolation ÷ the import.

related_depth3_ms (customer relations) is measured at the end of run().
"""
import io
import random
import re
import statistics
import time

from tests.perf.harness import Figure, suite

ADMIN_PASSWORD = "Perf@2026-admin"
IMPORT_ROWS = 10_000
EXISTING_CUSTOMERS = 10_000
ONE_BY_ONE_SAMPLE = 400
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
IMPORTED_RE = re.compile(r'id="rows-imported">(\d+)<')

FIGURES = [
    Figure("import_10k_s", "s", "Excel import of 10,000 customers through the upload screen (read, check every "
           "row, number, bulk insert, log, commit), seconds", ("<", 30)),
    Figure("import_speedup", "×", "one-by-one ORM adds of the same rows (the customer screen's validators, add, "
           "commit per row; sampled, mean per row × rows) ÷ the import, same run", (">=", 10)),
    Figure("import_rows", "rows", "customers in the import file (scaled)"),
    Figure("import_rows_per_s", "rows/s", "import throughput"),
    Figure("import_file_kb", "KB", "size of the uploaded .xlsx"),
    Figure("import_check_only_s", "s", "the same file refused (into the database that already holds the one-by-one "
           "sample): every row checked, nothing written, the error workbook built (service call)"),
    Figure("one_by_one_ms_per_row", "ms", "one-by-one ORM add, mean per customer over the sample"),
    Figure("one_by_one_sample", "rows", "rows added one by one (half before, half after the import)"),
    Figure("one_by_one_extrapolated_s", "s", "one-by-one mean per row × import rows"),
    Figure("related_depth3_ms", "ms", "related-party query, depth 3, 100k customers, 300k relations", ("<", 100)),
]


def _valid(row) -> bool:
    from stdnum.cn import ric, uscc

    return (ric if row["id_type"] == "RIC" else uscc).is_valid(row["id_number"])


def _rows(count: int, first: int, seed: int) -> list[dict]:
    """`count` valid customers from the demo generator's recipe, numbered from `first` (unique identities)."""
    from app.services.demo import _customer_rows

    out = []
    numbers = iter(range(first, first + count * 3))
    for row in _customer_rows(((n, None) for n in numbers), random.Random(seed), [(None, None)], []):
        if _valid(row):
            out.append(row)
            if len(out) == count:
                break
    return out


def _dict_names(type_code: str) -> dict[str, str]:
    from app.services.reference import dict_choices

    return dict(dict_choices(type_code))


def _fill_template(ctx, rows) -> bytes:
    """The template's first sheet filled as a clerk would: names for dictionary columns, login for manager."""
    import openpyxl
    import xlsxwriter

    from reports.customer_import import build_template

    with ctx.app.test_request_context():
        template = build_template()
        headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(template), read_only=True).worksheets[0][1]]
        from app.services import customer_import as CI
        from reports.customer_import import header_text

        fields = {header_text(c): c.field for c in CI.COLUMNS}
        kinds = {k: str(v) for k, v in CI.KIND_LABELS.items()}
        directs = {k: str(v) for k, v in CI.DIRECT_LABELS.items()}
        id_types, regions, industries = _dict_names("id_type"), _dict_names("region"), _dict_names("industry")
    order = [fields[h] for h in headers if h]
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("客户信息")
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header)
    value_of = {
        "kind": lambda r: kinds[r["kind"]], "id_type": lambda r: id_types[r["id_type"]],
        "region_code": lambda r: regions[r["region_code"]], "industry_code": lambda r: industries[r["industry_code"]],
        "direct": lambda r: directs[r["direct"]], "manager_id": lambda r: "manager1",
        "gender": lambda r: None, "birth_date": lambda r: None,
    }
    for number, row in enumerate(rows, start=1):
        for col, field in enumerate(order):
            value = value_of[field](row) if field in value_of else row.get(field)
            if value is not None:
                sheet.write_string(number, col, str(value))
    book.close()
    return out.getvalue()


def _prepare(ctx, index):
    with ctx.use_database(index):
        ctx.log(f"database {index}: bootstrap, demo organisation, {EXISTING_CUSTOMERS:,} existing customers")
        ctx.bootstrap(ADMIN_PASSWORD)
        from sqlalchemy import select

        from app.extensions import db
        from app.services.demo import ensure_demo_org, generate_customers
        from models.system import Employee

        with ctx.app.app_context():  # the demo organisation and customers only (not other modules' demo data)
            users = ensure_demo_org(ctx.app.appbuilder)
            managers = [(u.id, db.session.execute(select(Employee.department_id).where(Employee.user_id == u.id))
                         .scalar()) for name, u in users.items() if name.startswith("manager")]
            generate_customers(ctx.size(EXISTING_CUSTOMERS, minimum=200), managers=managers)
        ctx.analyze()


def _one_by_one(ctx, rows) -> list[float]:
    """Add `rows` one by one as the customer screen saves one; seconds per row."""
    from app.audit import reset_actor, set_actor
    from app.extensions import db
    from models.customers import Customer
    from views.customers import CustomerView

    with ctx.app.app_context():
        admin = ctx.app.appbuilder.sm.find_user(username="admin")
        token = set_actor(admin.id, admin.username)
        manager = ctx.app.appbuilder.sm.find_user(username="manager1")
        columns = ("kind", "name", "id_type", "id_number", "phone", "region_code", "industry_code", "address",
                   "legal_representative", "registered_capital", "direct")
        times = []
        try:
            for row in rows:
                started = time.perf_counter()
                item = Customer(**{c: row[c] for c in columns})
                item.manager_id = manager.id
                for check in CustomerView.validators:
                    check(item)
                db.session.add(item)
                db.session.commit()
                times.append(time.perf_counter() - started)
        finally:
            reset_actor(token)
            db.session.remove()
    return times


@suite("customers", "customer import from Excel (and customer relations)", FIGURES, databases=2)
def run(ctx):
    rows_count = ctx.size(IMPORT_ROWS, minimum=200)
    sample = min(rows_count, ONE_BY_ONE_SAMPLE)
    ctx.note(f"two fresh databases bootstrapped alike, each with the demo organisation and "
             f"{ctx.size(EXISTING_CUSTOMERS, minimum=200):,} existing demo customers; the file holds {rows_count:,} "
             "new valid customers (demo-generator recipe, dictionary columns by name, manager by login)")
    for index in (0, 1):
        _prepare(ctx, index)

    with ctx.use_database(0), ctx.app.app_context():
        rows = _rows(rows_count, 5_000_000, seed=7)
        data = _fill_template(ctx, rows)
    ctx.record("import_rows", len(rows))
    ctx.record("import_file_kb", len(data) / 1024)

    # one by one, first half of the sample (database 1)
    half = sample // 2
    with ctx.use_database(1):
        ctx.log(f"one-by-one ORM adds, first {half} rows")
        before = _one_by_one(ctx, rows[:half])

    # the import through the screen (database 0)
    with ctx.use_database(0):
        browser = ctx.login("admin", ADMIN_PASSWORD)
        token = CSRF_RE.search(browser.get("/customerimport/").get_data(as_text=True)).group(1)
        ctx.log(f"import of {len(rows):,} customers through /customerimport/upload")
        started = time.perf_counter()
        response = browser.http.post("/customerimport/upload", content_type="multipart/form-data",
                                     data={"csrf_token": token, "file": (io.BytesIO(data), "customers.xlsx")})
        body = response.get_data(as_text=True)
        elapsed = time.perf_counter() - started
        imported = IMPORTED_RE.search(body)
        if response.status_code != 200 or not imported or int(imported.group(1)) != len(rows):
            raise RuntimeError(f"the import did not import every row (status {response.status_code})")
    ctx.record("import_10k_s", elapsed)
    ctx.record("import_rows_per_s", len(rows) / elapsed)
    ctx.note(f"import: {len(rows):,} rows in {elapsed:.2f} s (HTTP status {response.status_code})")

    # one by one, second half (database 1)
    with ctx.use_database(1):
        ctx.log(f"one-by-one ORM adds, next {sample - half} rows")
        after = _one_by_one(ctx, rows[half:sample])
    per_row = statistics.mean(before + after)
    extrapolated = per_row * len(rows)
    ctx.record("one_by_one_ms_per_row", per_row * 1000)
    ctx.record("one_by_one_sample", len(before) + len(after))
    ctx.record("one_by_one_extrapolated_s", extrapolated)
    ctx.record("import_speedup", extrapolated / elapsed)
    ctx.note(f"one by one: {len(before) + len(after)} rows, mean {per_row * 1000:.1f} ms per row (before the import "
             f"{statistics.mean(before) * 1000:.1f} ms, after {statistics.mean(after) * 1000:.1f} ms); "
             f"× {len(rows):,} rows = {extrapolated:.1f} s")

    # the refusal path: the same file where the one-by-one sample already exists (those rows are duplicates)
    with ctx.use_database(1), ctx.app.app_context():
        from app.extensions import db
        from app.services import customer_import

        bad = data
        with ctx.app.test_request_context():
            started = time.perf_counter()
            result = customer_import.import_customers(bad, "bad.xlsx")
            workbook = result.error_workbook()
            check_elapsed = time.perf_counter() - started
            db.session.rollback()
        if result.ok or not workbook:
            raise RuntimeError("the file with duplicates was not refused")
    ctx.record("import_check_only_s", check_elapsed)
    ctx.note(f"refusal path: {result.error_rows()} rows refused (the one-by-one sample already exists there), "
             f"nothing written, error workbook {len(workbook) / 1024:.0f} KB, {check_elapsed:.2f} s")

    # ---- related_depth3_ms (customer relations) -----------------------------------------------------------
    # database 0 topped up to 100k customers, 300k relations added in bulk; see tests/perf/related_bench.py
    from tests.perf.related_bench import measure_related_depth3

    with ctx.use_database(0):
        measure_related_depth3(ctx)
    # ---- end related_depth3_ms ----------------------------------------------------------------------------------------------
