"""Shared fixtures: one app per database (SQLite by default; PostgreSQL when TEST_DATABASE_URL is set),
a user per role, and logged-in clients for screens and the API. Tests go through the real stack."""
import os
import re
import tempfile
import uuid

import pytest
from sqlalchemy import create_engine, text

from app import permissions as P

TEST_PASSWORD = "Test@12345"
ROLE_USERS = {role: f"t_{i}" for i, role in enumerate(P.ROLE_GRANTS)}  # role -> username
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _database_url(tmpdir: str) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(tmpdir, "test.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    _reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def app():
    tmpdir = tempfile.mkdtemp(prefix="guarantee-test-")
    from app import create_app

    app = create_app(
        SQLALCHEMY_DATABASE_URI=_database_url(tmpdir),
        EXPORT_DIR=os.path.join(tmpdir, "exports"),
        UPLOAD_FOLDER=os.path.join(tmpdir, "uploads"),
        TESTING=True,
        AUTH_RATE_LIMIT="1000 per minute",
        SERVER_NAME=None,
        # The suite logs in thousands of times: a cheap work factor for the test users' hashes (scrypt costs
        # ~0.2 s a login); production keeps FAB's scrypt default. The check reads the method from the hash.
        FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
    )
    from app.bootstrap import bootstrap

    with app.app_context():
        bootstrap(app.appbuilder)
        sm = app.appbuilder.sm
        for role, username in ROLE_USERS.items():
            if sm.find_user(username=username) is None:
                sm.add_user(username, "测试", role, f"{username}@test.local", [sm.find_role(role)], TEST_PASSWORD)
    # While a test holds an app context (the `db` fixture), Flask reuses it for the test client's
    # requests, and with it `g` (Flask-Login's cached user, per-request caches). Production gets a
    # fresh `g` per request; give the tests the same.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    yield app


def _fresh_request_globals():
    from flask import g

    g.__dict__.clear()


@pytest.fixture(autouse=True)
def _business_date_restored(request):
    """Tests move the business date into the years they own; whatever a test leaves behind is put back, so a
    later test's "not after the business date" checks see the date they expect."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from sqlalchemy import select

    from app.extensions import db
    from models.system import SystemSetting

    def current():
        with app.app_context():
            row = db.session.execute(select(SystemSetting.value).where(SystemSetting.key == "business_date")).first()
            db.session.remove()
            return row[0] if row else None

    before = current()
    yield
    if current() != before:
        with app.app_context():
            db.session.rollback()
            row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
            if row is not None:
                row.value = before if before is not None else ""
                db.session.commit()
            db.session.remove()


@pytest.fixture
def db(app):
    from app.extensions import db

    with app.app_context():
        yield db
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="session")
def dialect(app):
    return "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite"


def unique(prefix="x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class WebClient:
    """A browser-like client: logs in through the real form and sends CSRF tokens like a page would."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def csrf(self, page="/login/") -> str:
        html = self.http.get(page).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no csrf token on {page}"
        return match.group(1)

    def login(self, username, password=TEST_PASSWORD):
        token = self.csrf("/login/")
        return self.http.post("/login/", data={"username": username, "password": password, "csrf_token": token},
                              follow_redirects=False)

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def post_form(self, url, data, form_page=None, **kw):
        """POST like the page at `form_page` (default: the same URL) would, with its CSRF token."""
        token = self.csrf(form_page or url)
        return self.http.post(url, data={**data, "csrf_token": token}, **kw)

    def post(self, url, **kw):
        return self.http.post(url, **kw)


@pytest.fixture
def web(app):
    return WebClient(app)


@pytest.fixture
def login_as(app):
    def make(role_or_username, password=TEST_PASSWORD):
        client = WebClient(app)
        username = ROLE_USERS.get(role_or_username, role_or_username)
        response = client.login(username, password)
        assert response.status_code == 302 and "/login" not in response.headers["Location"], "login failed"
        return client

    return make


@pytest.fixture
def admin_web(login_as):
    return login_as(P.ADMIN)


class ApiClient:
    def __init__(self, app, token):
        self.http = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url, **kw):
        return self.http.get(url, headers=self.headers, **kw)

    def post(self, url, json=None, **kw):
        return self.http.post(url, headers=self.headers, json=json, **kw)

    def put(self, url, json=None, **kw):
        return self.http.put(url, headers=self.headers, json=json, **kw)

    def delete(self, url, **kw):
        return self.http.delete(url, headers=self.headers, **kw)


def api_token(app, username, password=TEST_PASSWORD):
    response = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db", "refresh": False})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


@pytest.fixture
def api_as(app):
    def make(role_or_username, password=TEST_PASSWORD):
        return ApiClient(app, api_token(app, ROLE_USERS.get(role_or_username, role_or_username), password))

    return make


@pytest.fixture
def new_user(app):
    """Create a fresh user with the given role (for tests that change a user's state, e.g. lockout)."""

    def make(role=P.ACCOUNT_MANAGER, password=TEST_PASSWORD):
        with app.app_context():
            sm = app.appbuilder.sm
            username = unique("u")
            user = sm.add_user(username, "新", "用户", f"{username}@test.local", [sm.find_role(role)], password)
            assert user
            return username

    return make


def pytest_collection_modifyitems(session, config, items):
    """The API fuzzer runs last: it changes data inside transactions it rolls back, but anything outside
    them (a cache, a lockout counter, a sequence) must not be what the next tests start from."""
    items.sort(key=lambda item: item.nodeid.split("::")[0].endswith("test_api_fuzz.py"))
