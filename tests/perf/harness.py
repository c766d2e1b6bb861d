"""The benchmark harness (see /work/shared/PERF.md): named suites, named figures, one fresh database each.

    python -m tests.perf [SUITE ...] [--scale small|full] [--db sqlite|postgresql] [--json FILE]

A suite is a module ``tests/perf/suite_<name>.py`` that declares its figures and a ``run(ctx)`` with
the ``@suite`` decorator; the harness finds it by that file name, so a later issue adds a suite by
adding a module and nothing else::

    from tests.perf.harness import Figure, suite

    FIGURES = [Figure("todo_ms_median", "ms", "a user's to-do list, 100k items", ("<", 150))]

    @suite("business", "approvals and the to-do list", FIGURES)
    def run(ctx):
        ctx.bootstrap(PASSWORD)                      # migrate, roles, reference data, admin
        ...                                          # load data sized with ctx.size(100_000)
        timing = ctx.time_get(ctx.login("admin", PASSWORD), "/todo/", ctx.repeat(50))
        ctx.record("todo_ms_median", timing.median)

Each suite runs in a child process of its own (``python -m tests.perf --child ...``) on the fresh
databases the parent creates before and drops after, whatever happens in the child (``databases=2``
gives two, e.g. to time two data sizes side by side with ``ctx.use_database`` and
``ctx.time_interleaved``). A child process gives every suite a fresh application (the extension
objects are module-level singletons) and gives the parent the suite's peak memory from the OS
(``os.wait4`` rusage). The child sends its figures back as JSON; the parent prints one table per
suite and, with ``--json``, writes ``{"SUITE": {"FIGURE": value}}``.

Benchmarks report, they never fail a test run: a missed target is printed as such and the exit
status stays 0. The exit status is 1 only when a suite could not run at all (a crash is a bug).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import operator
import os
import pkgutil
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

# --------------------------------------------------------------------------------------------------
# Figures and suites
# --------------------------------------------------------------------------------------------------

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}
OP_SIGNS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "="}


@dataclass(frozen=True)
class Figure:
    """One named number a suite reports. ``target`` is ``(op, value)`` or None for an extra figure."""

    name: str
    unit: str
    meaning: str
    target: tuple[str, float] | None = None

    def met(self, value) -> bool | None:
        if self.target is None or value is None:
            return None
        op, bound = self.target
        return OPS[op](value, bound)

    def target_text(self) -> str:
        if self.target is None:
            return ""
        op, bound = self.target
        return f"{OP_SIGNS[op]} {_number(bound)}"


@dataclass
class Suite:
    name: str
    title: str
    figures: list[Figure]
    run: Callable[["Context"], None]
    databases: int = 1  # fresh databases the suite gets (several: to compare sizes side by side)

    def figure(self, name: str) -> Figure:
        for fig in self.figures:
            if fig.name == name:
                return fig
        raise KeyError(f"suite {self.name} declares no figure {name!r}")


REGISTRY: dict[str, Suite] = {}
# PERF.md's order; suites not listed here follow alphabetically.
ORDER = ("platform", "customers", "business", "ledger", "rating", "dayend", "stats")


def suite(name: str, title: str, figures: list[Figure], databases: int = 1):
    """Register ``run(ctx)`` as the suite ``name`` with its declared figures and number of databases."""

    def register(run):
        REGISTRY[name] = Suite(name, title, list(figures), run, databases)
        return run

    return register


def discover() -> dict[str, Suite]:
    """Import every ``tests/perf/suite_*.py``; each registers itself. Returns the registry in run order."""
    package_dir = os.path.dirname(os.path.abspath(__file__))
    for info in pkgutil.iter_modules([package_dir]):
        if info.name.startswith("suite_"):
            importlib.import_module(f"{__package__}.{info.name}")
    ranked = sorted(REGISTRY, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return {name: REGISTRY[name] for name in ranked}


# --------------------------------------------------------------------------------------------------
# Scales
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    name: str
    factor: float  # data sets are multiplied by this
    repeat_factor: float  # and repeated requests by this

    def size(self, full: int, minimum: int = 1) -> int:
        return max(minimum, int(round(full * self.factor)))

    def repeat(self, full: int, minimum: int = 3) -> int:
        return max(minimum, int(round(full * self.repeat_factor)))


SCALES = {
    "full": Scale("full", 1.0, 1.0),
    "small": Scale("small", 1 / 20, 1.0),
    # For the harness's own smoke test: seconds, numbers meaningless.
    "tiny": Scale("tiny", 1 / 500, 0.1),
}


# --------------------------------------------------------------------------------------------------
# Databases (created and dropped by the parent process)
# --------------------------------------------------------------------------------------------------

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/guarantee_perf"
DB_PREFIX = "guarantee_perf"


def _pg_server_url() -> str:
    """The PostgreSQL server to use: DATABASE_URL when it names one, else the local default."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://", "postgresql+")) else DEFAULT_PG


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    """A database of its own for one suite: a temp SQLite file or a new PostgreSQL database.

    On PostgreSQL the server and credentials come from DATABASE_URL (or the local default); the
    database itself is always a new one named ``guarantee_perf_<suite>_<random>_<n>``, never the one
    DATABASE_URL names, so a benchmark can never drop somebody's data.
    """

    def __init__(self, kind: str, suite_name: str, tag: str):
        self.kind = kind
        self.suite_name = suite_name
        self.tag = tag
        self.url: str = ""
        self.label: str = ""
        self._tmpdir: str | None = None
        self._admin_url = None
        self._name = ""

    def __enter__(self) -> "Database":
        if self.kind == "sqlite":
            self._tmpdir = tempfile.mkdtemp(prefix=f"{DB_PREFIX}_{self.suite_name}_{self.tag}_")
            path = os.path.join(self._tmpdir, "perf.db")
            self.url = "sqlite:///" + path
            self.label = f"SQLite, temporary file {path}"
            return self
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base = make_url(_sqlalchemy_url(_pg_server_url()))
        self._name = f"{DB_PREFIX}_{re.sub(r'[^a-z0-9_]', '_', self.suite_name.lower())}_{self.tag}"
        self._admin_url = base.set(database="postgres")
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self._name}" ENCODING \'UTF8\' TEMPLATE template0'))
                version = conn.execute(text("SHOW server_version")).scalar()
        finally:
            engine.dispose()
        self.url = base.set(database=self._name).render_as_string(hide_password=False)
        self.label = f"PostgreSQL {version}, database {self._name} on {base.host}:{base.port or 5432}"
        return self

    def __exit__(self, *exc) -> None:
        if self.kind == "sqlite":
            if self._tmpdir:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
        finally:
            engine.dispose()


# --------------------------------------------------------------------------------------------------
# Measuring (child process)
# --------------------------------------------------------------------------------------------------


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 50 samples is the 48th smallest)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Timing:
    """Repeated requests: wall milliseconds, and SQL statements / SQL milliseconds per request."""

    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # CPU time of this process (excludes the DB server)
    statements: list[int] = field(default_factory=list)
    permission_checks: list[int] = field(default_factory=list)  # statements on FAB's permission tables
    sql_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)

    @property
    def statements_median(self) -> float:
        return statistics.median(self.statements)

    @property
    def sql_ms_median(self) -> float:
        return statistics.median(self.sql_ms)

    @property
    def permission_checks_median(self) -> float:
        return statistics.median(self.permission_checks)

    def summary(self) -> str:
        return (f"median {self.median:.1f} ms, p95 {self.p95:.1f} ms, min {min(self.ms):.1f} ms "
                f"over {len(self.ms)}; medians per request: {self.statements_median:.0f} SQL statements "
                f"({self.permission_checks_median:.0f} of them permission checks), "
                f"{self.sql_ms_median:.1f} ms in SQL, {statistics.median(self.cpu_ms):.1f} ms CPU in this process")


class SqlCounter:
    """Counts statements and the time spent executing them, on every engine of the process."""

    PERMISSION_TABLE = "ab_permission_view"

    def __init__(self):
        self.count = 0
        self.permission_checks = 0
        self.seconds = 0.0
        self.statements: list[str] | None = None  # set to a list to capture the SQL text
        self._started: list[float] = []

    def install(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.append(time.perf_counter())
        if self.statements is not None:
            self.statements.append((statement, parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.seconds += time.perf_counter() - self._started.pop()
        if self.PERMISSION_TABLE in statement:
            self.permission_checks += 1

    def reset(self):
        self.count, self.permission_checks, self.seconds = 0, 0, 0.0
        self._started.clear()  # a statement that failed never reached after_cursor_execute


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A logged-in browser session on the Flask test client (in-process: no HTTP server, no network)."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def login(self, username: str, password: str) -> "Browser":
        html = self.http.get("/login/").get_data(as_text=True)
        match = CSRF_RE.search(html)
        if not match:
            raise RuntimeError("no CSRF token on /login/")
        response = self.http.post("/login/", data={"username": username, "password": password,
                                                   "csrf_token": match.group(1)})
        if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
            raise RuntimeError(f"login as {username} failed ({response.status_code})")
        return self

    def get(self, url: str):
        return self.http.get(url)


@dataclass
class Probe:
    """One request to time: which of the suite's databases, which URL, and what the page must show."""

    database: int
    url: str
    check: Callable[[str], bool] | None = None


class Context:
    """What a suite's ``run(ctx)`` works with, in the child process."""

    def __init__(self, suite_obj: Suite, scale: Scale, db_kind: str, database_urls: list[str], workdir: str):
        self.suite = suite_obj
        self.scale = scale
        self.db_kind = db_kind
        self.database_urls = database_urls
        self.database_index = 0  # the database the app talks to now (see use_database)
        self.workdir = workdir
        self.results: dict[str, float] = {}
        self.notes: list[str] = []
        self.sql = SqlCounter()
        self.explain_enabled = False
        self._app = None
        self._engines: dict[int, object] = {}

    # sizes ---------------------------------------------------------------------------------------
    def size(self, full: int, minimum: int = 1) -> int:
        return self.scale.size(full, minimum)

    def repeat(self, full: int, minimum: int = 3) -> int:
        return self.scale.repeat(full, minimum)

    # reporting -----------------------------------------------------------------------------------
    def record(self, name: str, value: float) -> None:
        self.suite.figure(name)  # a typo in a figure name fails loudly
        self.results[name] = value if isinstance(value, int) else round(float(value), 3)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def log(self, text: str) -> None:
        print(f"[{self.suite.name} {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    # the application ---------------------------------------------------------------------------
    @property
    def app(self):
        if self._app is None:
            self._app = self._make_app()
        return self._app

    def _make_app(self):
        from app import create_app

        self.sql.install()
        return create_app(
            SQLALCHEMY_DATABASE_URI=_sqlalchemy_url(self.database_urls[0]),
            EXPORT_DIR=os.path.join(self.workdir, "exports"),
            UPLOAD_FOLDER=os.path.join(self.workdir, "uploads"),
            AUTH_RATE_LIMIT="1000 per minute",
        )

    @property
    def database_url(self) -> str:
        return self.database_urls[self.database_index]

    @contextlib.contextmanager
    def use_database(self, index: int):
        """Point the app at database ``index`` (of the suite's fresh databases) inside the block.

        One process, one app, several databases: Flask-SQLAlchemy looks its default engine up on every
        session bind, so swapping that engine between requests sends the next request to another
        database. This lets a suite alternate requests between, say, 1k and 100k customers, so both
        sizes see the same machine load (PERF.md: ratios are compared side by side). Every database
        must be bootstrapped the same way, so the logged-in user is the same row in each.
        """
        from sqlalchemy import create_engine

        from app.extensions import db

        app = self.app
        engines = db._app_engines[app]  # Flask-SQLAlchemy 3: {bind key: engine} for this app
        if 0 not in self._engines:
            self._engines[0] = engines[None]
        if index not in self._engines:
            self._engines[index] = create_engine(_sqlalchemy_url(self.database_urls[index]),
                                                 **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        previous = self.database_index
        engines[None], self.database_index = self._engines[index], index
        try:
            yield
        finally:
            engines[None], self.database_index = self._engines[previous], previous

    def bootstrap(self, admin_password: str) -> None:
        """Migrate, roles, reference data and the admin, exactly as a deployment does."""
        from app.bootstrap import bootstrap

        os.environ["ADMIN_PASSWORD"] = admin_password
        with self.app.app_context():
            bootstrap(self.app.appbuilder)

    def login(self, username: str, password: str) -> Browser:
        return Browser(self.app).login(username, password)

    def analyze(self) -> None:
        """Refresh planner statistics on PostgreSQL, as autovacuum would shortly after a bulk load."""
        if self.db_kind != "postgresql":
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(_sqlalchemy_url(self.database_url), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
        finally:
            engine.dispose()

    def time_get(self, browser: Browser, url: str, repeat: int, warmup: int = 5,
                 check: Callable[[str], bool] | None = None) -> Timing:
        """GET ``url`` ``warmup`` times untimed, then ``repeat`` times timed (wall time of the whole
        request through the app: routing, security, queries, template rendering)."""
        return self.time_interleaved(browser, [Probe(self.database_index, url, check)], repeat, warmup)[0]

    def time_interleaved(self, browser: Browser, probes: list["Probe"], repeat: int, warmup: int = 5) -> list[Timing]:
        """Time several requests side by side: round after round, one request of each probe (each on its
        own database), so a change in machine load hits all of them alike. Returns a Timing per probe."""
        for _ in range(warmup):
            for probe in probes:
                with self.use_database(probe.database):
                    self._check(probe.url, browser.get(probe.url), probe.check)
        timings = [Timing() for _ in probes]
        for _ in range(repeat):
            for probe, timing in zip(probes, timings):
                with self.use_database(probe.database):
                    self._timed_get(browser, probe, timing)
        for probe in probes:
            with self.use_database(probe.database):
                self._check(probe.url, browser.get(probe.url), probe.check)
        return timings

    def _timed_get(self, browser: Browser, probe: "Probe", timing: Timing) -> None:
        self.sql.reset()
        cpu_started, started = time.process_time(), time.perf_counter()
        response = browser.get(probe.url)
        body = response.get_data()
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or not body:
            raise RuntimeError(f"GET {probe.url} answered {response.status_code}")
        timing.ms.append(elapsed * 1000)
        timing.cpu_ms.append((time.process_time() - cpu_started) * 1000)
        timing.statements.append(self.sql.count)
        timing.permission_checks.append(self.sql.permission_checks)
        timing.sql_ms.append(self.sql.seconds * 1000)

    @staticmethod
    def _check(url, response, check):
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        if check is not None and not check(response.get_data(as_text=True)):
            raise RuntimeError(f"GET {url} did not show what was expected")

    def explain(self, browser: Browser, url: str, label: str = "") -> None:
        """With --explain: print every SELECT one GET of ``url`` issues, with its plan, to stderr."""
        if not self.explain_enabled:
            return
        statements = self.capture_sql(browser, url)
        print(f"\n---- {label or url}: {len(statements)} SQL statements for GET {url} "
              f"(database {self.database_index})", file=sys.stderr)
        with self.app.app_context():
            from app.extensions import db

            with self._engines.get(self.database_index, db.engine).connect() as conn:
                for n, (statement, parameters) in enumerate(statements, start=1):
                    print(f"\n[{n}] {statement}\n    params: {parameters}", file=sys.stderr)
                    if statement.lstrip().upper().startswith("SELECT"):
                        plan = _explain_statement(conn, db.engine.dialect.name, statement, parameters)
                        print("    " + plan.replace("\n", "\n    "), file=sys.stderr)
                conn.rollback()
        sys.stderr.flush()

    def capture_sql(self, browser: Browser, url: str) -> list[tuple[str, object]]:
        """The SQL statements one GET of ``url`` issues (for EXPLAIN and N+1 hunting)."""
        self.sql.statements = []
        try:
            browser.get(url)
            return list(self.sql.statements)
        finally:
            self.sql.statements = None


def _explain_statement(conn, dialect: str, statement: str, parameters) -> str:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    rows = conn.exec_driver_sql(prefix + statement, parameters or ()).fetchall()
    return "\n".join(" | ".join(str(c) for c in row) for row in rows)


def run_child(suite_name: str, scale_name: str, db_kind: str, database_urls: list[str], out_path: str,
              explain: bool = False) -> int:
    """The child process: run one suite against the databases the parent made, write its figures."""
    suites = discover()
    suite_obj = suites[suite_name]
    workdir = tempfile.mkdtemp(prefix=f"guarantee_perf_{suite_name}_work_")
    ctx = Context(suite_obj, SCALES[scale_name], db_kind, database_urls, workdir)
    ctx.explain_enabled = explain
    error = None
    try:
        suite_obj.run(ctx)
    except Exception as ex:  # report what was measured before the failure, and the failure
        import traceback

        traceback.print_exc()
        error = f"{type(ex).__name__}: {ex}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with open(out_path, "w") as fh:
        json.dump({"figures": ctx.results, "notes": ctx.notes, "error": error}, fh, ensure_ascii=False)
    return 0 if error is None else 1


# --------------------------------------------------------------------------------------------------
# The parent: run suites in children, print tables, write JSON
# --------------------------------------------------------------------------------------------------


def _number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return f"{int(value):,}"


def format_table(suite_obj: Suite, figures: dict, header: str, notes: list[str], error: str | None) -> str:
    rows = [("figure", "value", "unit", "target", "met")]
    for fig in suite_obj.figures:
        value = figures.get(fig.name)
        met = fig.met(value)
        rows.append((fig.name, _number(value), fig.unit, fig.target_text(),
                     "" if fig.target is None else ("—" if met is None else ("yes" if met else "NO"))))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [header, ""]
    for i, row in enumerate(rows):
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                                row[3].ljust(widths[3]), row[4]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    meanings = [f"  {fig.name}: {fig.meaning}" for fig in suite_obj.figures]
    lines += ["", "figures:"] + meanings
    if notes:
        lines += ["", "notes:"] + [f"  - {n}" for n in notes]
    if error:
        lines += ["", f"SUITE FAILED: {error}"]
    return "\n".join(lines)


def run_suite_in_child(suite_obj: Suite, scale: str, db_kind: str,
                       explain: bool = False) -> tuple[dict, list[str], str | None, str]:
    run_id = secrets.token_hex(3)
    with contextlib.ExitStack() as stack:
        databases = [stack.enter_context(Database(db_kind, suite_obj.name, f"{run_id}_{n}"))
                     for n in range(suite_obj.databases)]
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="guarantee_perf_"))
        out_path = os.path.join(tmp, "result.json")
        env = dict(os.environ)
        # URLs travel in the environment, not argv, so a password never shows in the process list
        env.update(DATABASE_URL=databases[0].url, PERF_DATABASE_URLS="\n".join(d.url for d in databases),
                   INSTANCE_DIR=tmp, SECRET_KEY=secrets.token_hex(16), PYTHONUNBUFFERED="1")
        env.pop("REDIS_URL", None)  # background work runs in-process: the benchmark measures the app
        cmd = [sys.executable, "-m", __package__, "--child", suite_obj.name, "--scale", scale, "--db", db_kind,
               "--out", out_path] + (["--explain"] if explain else [])
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=root, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
        result = {"figures": {}, "notes": [], "error": f"child exited with status {proc.returncode}"}
        if os.path.exists(out_path):
            with open(out_path) as fh:
                result = json.load(fh)
        cpu = usage.ru_utime + usage.ru_stime
        footer = ("; ".join(d.label for d in databases) + " (created and dropped by the harness)\n"
                  f"suite process: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak_mb:.0f} MB (getrusage of "
                  f"the child process); machine load average {load_before:.1f} before, "
                  f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} CPUs)")
        return result["figures"], result["notes"], result.get("error"), footer


@dataclass
class RunResult:
    figures: dict[str, dict[str, float]]  # {suite: {figure: value}}, as written to --json
    failed: list[str]  # suites that could not complete


def run(names: list[str] | None = None, scale: str = "full", db: str = "postgresql",
        json_path: str | None = None, out=None, explain: bool = False) -> RunResult:
    """Run suites (all when ``names`` is empty) in child processes; print their tables."""
    out = out or sys.stdout
    suites = discover()
    names = list(names or suites)
    unknown = [n for n in names if n not in suites]
    if unknown:
        raise SystemExit(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(suites)}")
    results: dict[str, dict] = {}
    failed = []
    for name in names:
        suite_obj = suites[name]
        print(f"running suite {name} (scale {scale}, {db}) ...", file=sys.stderr, flush=True)
        try:
            figures, notes, error, footer = run_suite_in_child(suite_obj, scale, db, explain)
        except Exception as ex:  # e.g. no PostgreSQL server: say so, go on with the next suite
            server = "" if db == "sqlite" else f" (server {_masked(_pg_server_url())}; try --db sqlite or set DATABASE_URL)"
            figures, notes, footer = {}, [], "no database"
            error = f"could not set up the database{server}: {type(ex).__name__}: {ex}"
        results[name] = figures
        if error:
            failed.append(name)
        target_db = "" if db == "postgresql" else " — targets are set for PostgreSQL"
        header = (f"== {name}: {suite_obj.title} ==\n"
                  f"scale {scale}, database {db}{target_db}\n{footer}")
        print("\n" + format_table(suite_obj, figures, header, notes, error) + "\n", file=out, flush=True)
        if json_path:  # written after every suite, so a later crash keeps the earlier figures
            _write_json(json_path, results)
    if failed:
        print(f"suites that did not complete: {', '.join(failed)}", file=out, flush=True)
    return RunResult(results, failed)


def _write_json(path: str, results: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(results, fh, indent=2, ensure_ascii=False)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf", description=(
        "Benchmarks (see PERF.md). Prints a table per suite; never fails on a missed target."))
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help="suites to run (default: all): " + ", ".join(discover()))
    parser.add_argument("--scale", choices=list(SCALES), default="full",
                        help="full (default): the sizes in PERF.md; small: about 1/20; tiny: smoke test only")
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql",
                        help="postgresql (default; server from DATABASE_URL or 127.0.0.1:5432) or a temp SQLite file")
    parser.add_argument("--json", metavar="FILE", help='write {"SUITE": {"FIGURE": value}} to FILE')
    parser.add_argument("--explain", action="store_true",
                        help="also print the query plans of the SQL the measured screens issue (to stderr)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        urls = os.environ["PERF_DATABASE_URLS"].split("\n")
        return run_child(args.child, args.scale, args.db, urls, args.out, args.explain)
    result = run(args.suites, scale=args.scale, db=args.db, json_path=args.json, explain=args.explain)
    return 1 if result.failed else 0
