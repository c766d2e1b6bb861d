"""SYS-13: property-based fuzzing of the whole REST API from its own OpenAPI document (schemathesis).

The document is fetched in-process (WSGI) with the administrator's JWT, so every operation the app
publishes is exercised: the entity APIs, FAB's security APIs (users, roles, permissions …), the
menu and the OpenAPI endpoint itself. Positive and negative (wrong type, missing, over-long …) inputs
are generated; whatever they are, the answer must never be a server error, and an error answer must
be a JSON message that does not leak the database's text.

Every generated request runs inside a database transaction that is rolled back afterwards (the
application's own commits become savepoints), so the fuzzer may delete roles, deactivate users or
change settings without disturbing the next example or the rest of the test session, and each example
starts from the same data: the run is deterministic (hypothesis is derandomized).

No operation is excluded: POST /api/v1/security/refresh answers 401 to an access token, and the login
endpoint only records failed logins, which the rollback removes again (the in-memory login rate limit
of the test configuration is far above the few logins generated).
"""
from contextlib import contextmanager

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from app import permissions as P

MAX_EXAMPLES = 6  # per operation; every entity API is fuzzed (about 150 operations), so the run grows with the product
LEAK_MARKERS = ("sqlite", "psycopg", "integrityerror", "dataerror", "operationalerror", "programmingerror",
                "constraint", "violates", "traceback", "sqlalchemy", "[sql:", "background on this error",
                "fatal error", "database exception")


# Random (property-based) generation for every operation, positive and negative; on top, for the
# operations that create records, schemathesis' deterministic coverage cases (boundary lengths and
# values, missing and extra fields, wrong types). Coverage cases for every operation would quadruple
# the run time and mostly repeat what test_api.py checks case by case.
FUZZ_CONFIG = schemathesis.Config.from_dict({
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "operations": [{"include-method": "POST", "phases": {"coverage": {"enabled": True}}}],
})


@pytest.fixture
def admin_headers(api_as):
    return dict(api_as(P.ADMIN).headers)


@pytest.fixture
def api_schema(app, admin_headers):
    return schemathesis.openapi.from_wsgi("/api/v1/_openapi", app, headers=admin_headers, config=FUZZ_CONFIG)


class RolledBack:
    """Each `with` block's requests run in one outer transaction that is rolled back afterwards.

    Flask-SQLAlchemy picks its bind from `db.engines`; pointing the default bind at one open connection
    (and making the sessions join it with savepoints) lets every request commit as usual while nothing
    outlives the block. Requests still get their own app context and session, as in production. One
    connection serves every block (a pool checkout with pre-ping per example would cost more than
    many requests).
    """

    def __init__(self, app):
        from app.extensions import db

        self.db = db
        with app.app_context():
            self.engines = db.engines
            self.engine = self.engines[None]
            db.session.remove()
        self.conn = None

    @contextmanager
    def __call__(self):
        if self.conn is None or self.conn.closed or self.conn.invalidated:
            self.conn = self.engine.connect()
            self.conn.name = self.engine.name  # FAB asks the bind for the dialect name (`get_bind().name`)
        conn = self.conn
        outer = conn.begin()
        if conn.dialect.name == "sqlite":
            # pysqlite defers BEGIN to the first DML statement: a SAVEPOINT alone would open the
            # transaction and its RELEASE would commit for real. Start the transaction explicitly.
            conn.exec_driver_sql("BEGIN")
        factory = self.db.session.session_factory
        self.engines[None] = conn
        factory.configure(join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            factory.kw.pop("join_transaction_mode", None)
            self.engines[None] = self.engine
            outer.rollback()

    def close(self):
        if self.conn is not None:
            self.conn.close()


@pytest.fixture
def rolled_back(app):
    isolation = RolledBack(app)
    yield isolation
    isolation.close()


def json_error_message(ctx, response, case):
    """An error answer is JSON with a readable message, never the database's or Python's text."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - any non-JSON error body is a failure
        raise AssertionError(f"{response.status_code} answer is not JSON: {response.text[:200]!r}")
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], f"no message: {body!r}"
    text = str(body).lower()
    leaked = [m for m in LEAK_MARKERS if m in text]
    assert not leaked, f"internal error text {leaked} in {body!r}"
    return None


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), print_blob=True)
def test_api_never_answers_a_server_error(case, rolled_back, admin_headers):
    with rolled_back():
        response = case.call(headers=admin_headers)
    case.validate_response(response, checks=[not_a_server_error, json_error_message])
