"""Suite `ledger`: books and month-end close over 1,000,000 voucher lines (GL-4, GL-5).

One fresh database: the chart of accounts from the bootstrap, a year (2025) of twelve periods and
500,000 posted two-line vouchers (1,000,000 lines, spread evenly over the months and over 24 leaf
accounts, profit-and-loss ones included), loaded set-based (COPY on PostgreSQL, as the demo-data
generator's bulk_insert). January to October are marked closed (history); November is closed first,
untimed (the process compiles its statements once, as a running server has), then December is timed.

- trial_balance_s: trial_balance(2025-12) — the month's movements plus the opening balance over the
  eleven months before (every line is read); median of 3 after one warm-up.
- close_ratio: close_period(2025-12) (accruals, carry forward, year-end, one transaction) ÷ the median of
  a bare `SELECT account_id, sum(debit), sum(credit) … WHERE period_id = Dec GROUP BY account_id` over the
  same lines, timed in the same run right before the close.
- export_s / export_peak_mb: the subsidiary ledger (明细账) of every account for the year — every line with
  its running balance, monthly and yearly totals — to Excel, in a child process of its own (peak RSS of
  that process from getrusage(RUSAGE_CHILDREN), so the load above does not count).
- export_ratio: that export ÷ plain xlsxwriter writing the same number of rows of the same cell types and
  formats (cells taken from the book's first rows, repeated), in another child process, same run.
"""
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from decimal import Decimal

from tests.perf.harness import Figure, suite

ADMIN_PASSWORD = "Perf@2026-admin"
YEAR = 2025
FULL_LINES = 1_000_000

FIGURES = [
    Figure("lines", "rows", "posted voucher lines in the database (scaled)"),
    Figure("load_s", "s", "set-based load of the vouchers and lines"),
    Figure("trial_balance_s", "s", "one month's trial balance (with opening) over all the lines, median of 3",
           ("<", 2)),
    Figure("groupby_s", "s", "bare SQL GROUP BY of the month's lines by account, median of 3"),
    Figure("close_s", "s", "month-end close of December (accruals, carry forward, year end), one transaction"),
    Figure("close_ratio", "×", "close ÷ bare GROUP BY over the same lines, same run", ("<", 3)),
    Figure("export_rows", "rows", "rows of the exported subsidiary ledger (lines + openings + totals)"),
    Figure("export_s", "s", "subsidiary ledger of every account for the year to Excel", ("<", 60)),
    Figure("export_peak_mb", "MB", "peak RSS of the export's own process (getrusage of the child)", ("<", 500)),
    Figure("plain_xlsx_s", "s", "plain xlsxwriter writing the same number of rows and cell types"),
    Figure("export_ratio", "×", "export ÷ plain xlsxwriter, same run", ("<", 1.5)),
]

ACCOUNTS = ["1001", "1012", "1031", "1101", "122102", "1123", "1601", "2001", "2202", "221101", "222101",
            "224102", "4001", "4002", "6051", "6111", "6301", "6403", "660205", "660206", "660302",
            "6711", "6801"]


def _load(ctx, lines: int):
    from sqlalchemy import select, text

    from app.extensions import db
    from app.services.demo import bulk_insert
    from models.ledger import Account, Period, Voucher, VoucherLine

    app = ctx.app
    with app.app_context():
        session = db.session
        admin = app.appbuilder.sm.find_user(username="admin")
        codes = dict(session.execute(select(Account.code, Account.id).where(Account.code.in_(ACCOUNTS))).all())
        account_ids = [codes[c] for c in ACCOUNTS]
        # 6001 needs a customer on its lines by the chart; the bulk history leaves it out (no customers here)
        now = datetime.now()
        periods = []
        import calendar

        for month in range(1, 13):
            last = calendar.monthrange(YEAR, month)[1]
            p = Period(year=YEAR, month=month, start_date=date(YEAR, month, 1), end_date=date(YEAR, month, last),
                       status="closed" if month < 11 else "open", closed_at=now if month < 11 else None)
            session.add(p)
            periods.append(p)
        session.commit()
        period_of = {p.month: (p.id, p.end_date) for p in periods}
        vouchers = lines // 2
        per_month = vouchers // 12
        first_voucher = (session.execute(select(db.func.max(Voucher.id))).scalar() or 0) + 1
        first_line = (session.execute(select(db.func.max(VoucherLine.id))).scalar() or 0) + 1
        started = time.perf_counter()

        def month_of(i):
            return min(12, i // per_month + 1)

        def voucher_rows():
            for i in range(vouchers):
                m = month_of(i)
                pid, end = period_of[m]
                day = date(YEAR, m, 1 + (i % (end.day)))
                amount = Decimal(100 + (i * 7919) % 900000) / 100
                yield {"id": first_voucher + i, "period_id": pid, "voucher_type": "ji", "number": i + 1,
                       "voucher_date": day, "summary": f"业务凭证{i}", "attachment_count": 0, "status": "posted",
                       "total_debit": amount, "total_credit": amount, "maker_id": admin.id, "poster_id": admin.id,
                       "posted_at": now, "source": "manual", "version_id": 1, "created_at": now, "updated_at": now}

        def line_rows():
            n = len(account_ids)
            for i in range(vouchers):
                m = month_of(i)
                pid, end = period_of[m]
                day = date(YEAR, m, 1 + (i % (end.day)))
                amount = Decimal(100 + (i * 7919) % 900000) / 100
                a, b = account_ids[i % n], account_ids[(i * 5 + 3) % n]
                if a == b:
                    b = account_ids[(i + 1) % n]
                for no, (acc, d, c) in enumerate(((a, amount, Decimal(0)), (b, Decimal(0), amount)), 1):
                    yield {"id": first_line + 2 * i + no - 1, "voucher_id": first_voucher + i, "line_no": no,
                           "summary": f"摘要{i}", "account_id": acc, "debit": d, "credit": c, "period_id": pid,
                           "voucher_date": day, "posted": True}

        bulk_insert(session, Voucher.__table__, voucher_rows())
        bulk_insert(session, VoucherLine.__table__, line_rows())
        if ctx.db_kind == "postgresql":
            for table in ("gl_voucher", "gl_voucher_line"):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
        session.commit()
        return vouchers * 2, time.perf_counter() - started, period_of[12][0]


def period_of_november(db):
    from sqlalchemy import select

    from models.ledger import Period

    return db.session.execute(select(Period.id).where(Period.year == YEAR, Period.month == 11)).scalar_one()


def _median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def _time(fn, repeat=3, warmup=1):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return _median(samples)


EXPORT_SCRIPT = r"""
import json, sys, time
from app import create_app
app = create_app(SQLALCHEMY_DATABASE_URI=sys.argv[1], EXPORT_DIR=sys.argv[3])
with app.app_context():
    from reports import ledger_excel
    t = time.perf_counter()
    rows = ledger_excel.build({"book": "detail_ledger", "start": "%(year)s-01", "end": "%(year)s-12"}, sys.argv[2])
    print(json.dumps({"seconds": time.perf_counter() - t, "rows": rows}))
"""

PLAIN_SCRIPT = r"""
import json, sys, time
from datetime import datetime
import xlsxwriter
rows, sample_path, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sample = [tuple(r) for r in json.load(open(sample_path))]
sample = [(a, b, datetime.fromisoformat(c), d, e, f, g, h, i) for a, b, c, d, e, f, g, h, i in sample]
t = time.perf_counter()
wb = xlsxwriter.Workbook(out, {"constant_memory": True})
ws = wb.add_worksheet("ledger")
money, day = wb.add_format({"num_format": "#,##0.00"}), wb.add_format({"num_format": "yyyy-mm-dd"})
n = len(sample)
for r in range(rows):
    a, b, c, d, e, f, g, h, i = sample[r % n]
    ws.write_string(r, 0, a); ws.write_string(r, 1, b); ws.write_datetime(r, 2, c, day)
    ws.write_string(r, 3, d); ws.write_string(r, 4, e); ws.write_number(r, 5, f, money)
    ws.write_number(r, 6, g, money); ws.write_string(r, 7, h); ws.write_number(r, 8, i, money)
wb.close()
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def _child(args):
    """Run a child Python process; its JSON answer and its peak RSS in MB (getrusage of the children;
    each child is waited for before the next starts, and the suite starts no other children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=os.getcwd(),
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(out.stdout.strip().splitlines()[-1]), max(peak, before) / 1024


class _StatementTrace:
    """PERF_TRACE=1: the slowest statements of the timed close, to stderr (for tuning, not a figure);
    PERF_TRACE=all: every statement, in order."""

    def __init__(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.rows, self._t = [], []
        event.listen(Engine, "before_cursor_execute", lambda *a: self._t.append(time.perf_counter()))
        event.listen(Engine, "after_cursor_execute",
                     lambda c, cur, stmt, *a: self.rows.append((time.perf_counter() - self._t.pop(), stmt)))

    def report(self):
        rows = self.rows if os.environ.get("PERF_TRACE") == "all" else sorted(self.rows, key=lambda r: -r[0])[:12]
        for seconds, stmt in rows:
            print(f"{seconds * 1000:8.2f} ms  {' '.join(stmt.split())[:160]}", file=sys.stderr)


@suite("ledger", "books and month-end close over 1,000,000 voucher lines", FIGURES)
def run(ctx):
    from sqlalchemy import func, select

    lines = ctx.size(FULL_LINES, minimum=2000)
    ctx.log("bootstrap (migrate, roles, reference data, admin)")
    ctx.bootstrap(ADMIN_PASSWORD)
    ctx.log(f"loading {lines:,} voucher lines")
    count, load_s, december = _load(ctx, lines)
    ctx.analyze()
    ctx.record("lines", count)
    ctx.record("load_s", load_s)
    ctx.note(f"{count:,} posted lines in {count // 2:,} two-line vouchers over 12 months of {YEAR} and "
             f"{len(ACCOUNTS)} accounts; January-October marked closed; November closed untimed first (warm-up); load {load_s:.1f} s")

    app = ctx.app
    with app.app_context():
        from app.extensions import db
        from app.services import ledger_books, ledger_close
        from models.ledger import VoucherLine as L

        tb = _time(lambda: ledger_books.trial_balance((YEAR, 12)))
        ctx.record("trial_balance_s", tb)

        def bare():
            db.session.execute(select(L.account_id, func.sum(L.debit), func.sum(L.credit))
                               .where(L.period_id == december, L.posted.is_(True)).group_by(L.account_id)).all()

        groupby = _time(bare)
        db.session.rollback()
        admin = app.appbuilder.sm.find_user(username="admin")
        from app.services import settings

        settings.set_value("gl_guarantee_balance", Decimal("100000000"))
        db.session.commit()
        ledger_close.close_period(period_of_november(db), admin)  # warm-up: statements compiled once per process
        ctx.sql.reset()
        trace = _StatementTrace() if os.environ.get("PERF_TRACE") else None
        t = time.perf_counter()
        result = ledger_close.close_period(december, admin)
        close_s = time.perf_counter() - t
        close_statements, close_sql_s = ctx.sql.count, ctx.sql.seconds
        if trace:
            trace.report()
        ctx.record("groupby_s", groupby)
        ctx.record("close_s", close_s)
        ctx.record("close_ratio", close_s / groupby)
        ctx.note(f"close made {len(result.vouchers)} vouchers; trial balance {tb:.3f} s, GROUP BY {groupby:.3f} s, "
                 f"close {close_s:.3f} s ({close_statements} SQL statements, {close_sql_s:.3f} s in SQL)")
        # a sample of the book's rows for the plain-xlsxwriter baseline
        sample = []
        for r in ledger_books.detail_ledger((YEAR, 1), (YEAR, 1)):
            if r.kind == "line":
                sample.append([r.code, r.name, datetime(r.voucher_date.year, r.voucher_date.month,
                                                        r.voucher_date.day).isoformat(), r.voucher, r.summary,
                               float(r.debit), float(r.credit), "借", float(abs(r.balance))])
            if len(sample) >= 2000:
                break
        db.session.rollback()

    workdir = ctx.workdir
    os.makedirs(os.path.join(workdir, "exports"), exist_ok=True)
    sample_path = os.path.join(workdir, "sample.json")
    with open(sample_path, "w") as fh:
        json.dump(sample, fh, ensure_ascii=False)
    from tests.perf.harness import _sqlalchemy_url

    ctx.log("export: subsidiary ledger of the year, in a child process")
    answer, peak = _child(["-c", EXPORT_SCRIPT % {"year": YEAR}, _sqlalchemy_url(ctx.database_url),
                           os.path.join(workdir, "ledger.xlsx"), os.path.join(workdir, "exports")])
    ctx.record("export_rows", answer["rows"])
    ctx.record("export_s", answer["seconds"])
    ctx.record("export_peak_mb", peak)
    ctx.log("plain xlsxwriter, same rows, in a child process")
    plain, _ = _child(["-c", PLAIN_SCRIPT, str(answer["rows"]), sample_path, os.path.join(workdir, "plain.xlsx")])
    ctx.record("plain_xlsx_s", plain["seconds"])
    ctx.record("export_ratio", answer["seconds"] / plain["seconds"])
    size_mb = os.path.getsize(os.path.join(workdir, "ledger.xlsx")) / 1e6
    ctx.note(f"export {answer['rows']:,} rows in {answer['seconds']:.1f} s ({size_mb:.0f} MB file), peak RSS "
             f"{peak:.0f} MB of the export process (app start included); plain xlsxwriter {plain['seconds']:.1f} s")
