"""Suite `stats`: portfolio statistics and the workbench over 200,000 guarantees (issue 8).

Load: 50,000 customers (app.services.demo.generate_customers, spread over 20 account managers in two
departments) and 200,000 guarantees bulk-inserted: 60 % in force, 20 % released, 20 % still in handling, over
five products and five banks, loan dates spread over 24 months. Then, through the whole app (logged in, Flask
test client): the statistics page (/statistics/, all the page's data: totals, growth, the product dimension,
13 months) as the administrator (scope: all), each other dimension once, the regulatory page (weighted balance
by the weight table, concentration, leverage), and the workbench (/) of an account manager (scope: own).
Then the monthly statistical report (/monthlyreport/, 融资担保机构主要数据月报表 of the current month, company-wide)
and the guarantee business ledger's page (台账, first 500 rows and the totals of the last 12 months).
"""
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.perf.harness import Figure, suite

ADMIN_PASSWORD = "Perf@2026-admin"
PASSWORD = "Perf@2026-user"
GUARANTEES = 200_000
CUSTOMERS = 50_000
MANAGERS = 20

FIGURES = [
    Figure("guarantees", "rows", "guarantees in the system (scaled)"),
    Figure("portfolio_s", "s", "portfolio statistics page (/statistics/), median", ("<", 3)),
    Figure("portfolio_dimensions_s", "s", "the slowest of the other dimensions (bank, industry, region, …)"),
    Figure("portfolio_sql_statements", "stmts", "SQL statements per statistics page"),
    Figure("regulatory_s", "s", "regulatory indicators page (/regulatory/), median"),
    Figure("monthly_report_s", "s", "monthly statistical report page (/monthlyreport/), median", ("<", 3)),
    Figure("ledger_page_s", "s", "guarantee business ledger page (12 months, 500 rows shown), median"),
    Figure("workbench_ms_median", "ms", "the workbench (/) of an account manager, median of 50", ("<", 300)),
    Figure("workbench_ms_p95", "ms", "same, p95"),
    Figure("workbench_sql_statements", "stmts", "SQL statements per workbench request"),
]


def _load(ctx, customers, guarantees):
    from sqlalchemy import select

    from app import permissions as P
    from app.extensions import db
    from app.services.demo import bulk_insert, ensure_demo_org, generate_customers
    from app.services.demo_business import ensure_banks, ensure_products
    from models.business import Guarantee
    from models.customers import Customer
    from models.system import Department, Employee

    sm = ctx.app.appbuilder.sm
    with ctx.app.app_context():
        ensure_demo_org(ctx.app.appbuilder)
        departments = {d.code: d.id for d in db.session.execute(select(Department)).scalars()}
        role = sm.find_role(P.ACCOUNT_MANAGER)
        managers = []
        for k in range(MANAGERS):
            dep = departments["BIZ1" if k % 2 == 0 else "BIZ2"]
            user = sm.add_user(f"am{k}", "客户", f"经理{k}", f"am{k}@perf.local", [role], PASSWORD)
            db.session.add(Employee(code=f"P{k:04d}", name=f"客户经理{k}", department_id=dep, user_id=user.id))
            managers.append((user.id, dep))
        db.session.commit()
        generate_customers(customers, managers=managers)
        products = [p.id for p in ensure_products().values()]
        banks = [b.id for b in ensure_banks().values()]
        db.session.commit()
        owners = {cid: (mid, dep) for cid, mid, dep in db.session.execute(
            select(Customer.id, Customer.manager_id, Customer.department_id))}
        ids = list(owners)
        rng = random.Random(8)
        now = datetime.now()
        today = date.today()
        handling = ["investigation", "review", "committee", "contract", "loan_notice"]

        def rows():
            for n in range(guarantees):
                cid = ids[n % len(ids)]
                manager_id, dep = owners[cid]
                amount = Decimal(rng.choice([50, 100, 200, 300, 500, 800, 1000])) * 10000
                kind = n % 10
                loan_date = today - timedelta(days=rng.randrange(0, 730))
                stage, status = ("in_force", "active") if kind < 6 else (("released", "released") if kind < 8
                                                                        else (rng.choice(handling), "active"))
                lent = stage in ("in_force", "released")
                yield dict(code=f"PERF{n:08d}", customer_id=cid, product_id=products[n % len(products)],
                           bank_id=banks[(n // 7) % len(banks)], amount=amount, term_months=12,
                           fee_rate=Decimal("0.02"), purpose=None, repayment_method="lump_sum", green_channel=False,
                           stage=stage, status=status, approval_status="approved" if lent else "none",
                           contract_status="signed" if lent else "none", apply_date=loan_date - timedelta(days=20),
                           submitted_at=now, stage_changed_at=datetime.combine(
                               loan_date + timedelta(days=300), datetime.min.time()) if stage == "released" else now,
                           loan_number=None, loan_amount=amount if lent else None,
                           loan_date=loan_date if lent else None,
                           due_date=loan_date + timedelta(days=365) if lent else None,
                           balance=amount if stage == "in_force" else Decimal(0), backfilled=False, note=None,
                           manager_id=manager_id, owner_id=manager_id, department_id=dep, created_at=now,
                           updated_at=now, created_by_id=None, updated_by_id=None)

        bulk_insert(db.session, Guarantee.__table__, rows(), batch=10_000)
        db.session.commit()


@suite("stats", "portfolio statistics, regulatory indicators and the workbench", FIGURES)
def run(ctx):
    guarantees = ctx.size(GUARANTEES, minimum=2_000)
    customers = ctx.size(CUSTOMERS, minimum=500)
    repeat, warmup = ctx.repeat(50), ctx.repeat(5, minimum=2)
    slow_repeat = ctx.repeat(5, minimum=3)
    ctx.log("bootstrap (migrate, roles, reference data, admin)")
    ctx.bootstrap(ADMIN_PASSWORD)
    ctx.log(f"bulk load: {customers:,} customers, {guarantees:,} guarantees")
    _load(ctx, customers, guarantees)
    ctx.analyze()
    ctx.record("guarantees", guarantees)
    today = date.today()
    since = today.replace(day=1) - timedelta(days=365)
    admin = ctx.login("admin", ADMIN_PASSWORD)
    url = f"/statistics/?dimension=product&date_from={since.replace(day=1)}&date_to={today}"
    page = ctx.time_get(admin, url, slow_repeat, 1, check=lambda html: 'id="stats-table"' in html)
    ctx.record("portfolio_s", page.median / 1000)
    ctx.record("portfolio_sql_statements", int(page.statements_median))
    ctx.note(f"GET {url}: {page.summary()}")
    slowest = 0.0
    for dim in ("bank", "industry", "region", "department", "manager", "month"):
        t = ctx.time_get(admin, url.replace("dimension=product", f"dimension={dim}"), 1, 0,
                         check=lambda html: 'id="stats-table"' in html)
        slowest = max(slowest, t.median / 1000)
    ctx.record("portfolio_dimensions_s", slowest)
    reg = ctx.time_get(admin, "/regulatory/", slow_repeat, 1, check=lambda html: 'id="reg-weighted"' in html)
    ctx.record("regulatory_s", reg.median / 1000)
    ctx.note(f"GET /regulatory/: {reg.summary()}")
    month_url = f"/monthlyreport/?month={today:%Y-%m}"
    monthly = ctx.time_get(admin, month_url, slow_repeat, 1, check=lambda html: 'id="monthly-table"' in html)
    ctx.record("monthly_report_s", monthly.median / 1000)
    ctx.note(f"GET {month_url}: {monthly.summary()}")
    ledger_url = f"/businessledger/guarantee?date_from={since}&date_to={today}"
    ledger = ctx.time_get(admin, ledger_url, slow_repeat, 1, check=lambda html: 'id="ledger-table"' in html)
    ctx.record("ledger_page_s", ledger.median / 1000)
    ctx.note(f"GET {ledger_url}: {ledger.summary()}")
    manager = ctx.login("am0", PASSWORD)
    wb = ctx.time_get(manager, "/", repeat, warmup, check=lambda html: 'id="wb-customers"' in html)
    ctx.record("workbench_ms_median", wb.median)
    ctx.record("workbench_ms_p95", wb.p95)
    ctx.record("workbench_sql_statements", int(wb.statements_median))
    ctx.note(f"GET / as an account manager ({guarantees // MANAGERS:,} guarantees of his own): {wb.summary()}")
    ctx.explain(manager, "/", "workbench")
