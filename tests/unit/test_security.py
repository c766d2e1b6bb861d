"""Platform security (SYS-4, SYS-5): lockout, login log, CSRF, GET without effects, idle timeout,
password complexity, safe redirects, cookies, login rate limit, no data without a login.

Everything goes through the real stack (HTTP client, FAB, the database). Settings a test changes are
put back by the `policy` fixture; users that get locked or change passwords are fresh (`new_user`).
"""
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, inspect, select, text, update
from stdnum.cn import ric

from app import permissions as P
from tests.conftest import ROLE_USERS, TEST_PASSWORD, WebClient, api_token, unique

DB_WORDS = ("sqlalchemy", "psycopg", "sqlite3", "integrityerror", "traceback", "operationalerror")
EVIL = "http://evil.example/steal"


# --- helpers ---------------------------------------------------------------------------------------

def tr(app, msgid, **kw) -> str:
    """The message as a Chinese user reads it (the catalogue's translation, or the msgid until then)."""
    with app.test_request_context(), force_locale("zh"):
        return gettext(msgid, **kw)


def assert_message(html: str, message: str):
    assert str(escape(message)) in html, message
    lowered = html.lower()
    assert not any(word in lowered for word in DB_WORDS)


def login_events(app, username):
    from app.extensions import db
    from models.system import LoginLog

    with app.app_context():
        rows = db.session.execute(
            select(LoginLog.event, LoginLog.channel).where(LoginLog.username == username.lower())
            .order_by(LoginLog.id)
        ).all()
        db.session.remove()
        return [tuple(r) for r in rows]


def shift_login_log(app, username, minutes):
    """Let time pass for the lockout: move the user's log rows `minutes` into the past."""
    from app.extensions import db
    from models.system import LoginLog

    with app.app_context():
        rows = db.session.execute(select(LoginLog).where(LoginLog.username == username.lower())).scalars()
        for row in rows:
            row.at = row.at - timedelta(minutes=minutes)
        db.session.commit()
        db.session.remove()


def last_failure_at(app, username):
    from app.extensions import db
    from models.system import LoginLog

    with app.app_context():
        at = db.session.execute(select(func.max(LoginLog.at)).where(
            LoginLog.username == username.lower(), LoginLog.event == "failed")).scalar()
        db.session.remove()
        return at


def setting_pk(app, key):
    from app.extensions import db
    from models.system import SystemSetting

    with app.app_context():
        pk = db.session.execute(select(SystemSetting.id).where(SystemSetting.key == key)).scalar()
        db.session.remove()
        return pk


def setting_value(app, key):
    from app.extensions import db
    from models.system import SystemSetting

    with app.app_context():
        value = db.session.execute(select(SystemSetting.value).where(SystemSetting.key == key)).scalar()
        db.session.remove()
        return value


def count(app, model, *where):
    from app.extensions import db

    with app.app_context():
        n = db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()
        db.session.remove()
        return n


def is_logged_in(client) -> bool:
    response = client.get("/users/userinfo/")
    return response.status_code == 200


def admin_sets(admin_web, key, value):
    """The administrator changes a setting in the 系统设置 screen."""
    pk = setting_pk(admin_web.app, key)
    return admin_web.post_form(f"/systemsettingview/edit/{pk}", {"value": str(value)})


@pytest.fixture
def policy(app):
    """Change system settings for one test; the previous values come back afterwards."""
    from app.extensions import db
    from app.services import settings

    saved = {}

    def remember(*keys):
        for key in keys:
            saved.setdefault(key, setting_value(app, key))

    def set_values(**values):
        remember(*values)
        with app.app_context():
            for key, value in values.items():
                settings.set_value(key, value)
            db.session.commit()
            db.session.remove()

    set_values.remember = remember
    yield set_values
    with app.app_context():
        from models.system import SystemSetting

        for key, value in saved.items():
            db.session.execute(update(SystemSetting).where(SystemSetting.key == key).values(value=value))
        db.session.commit()
        db.session.remove()


def new_ric() -> str:
    birth = date(1960, 1, 1) + timedelta(days=random.randrange(0, 365 * 40))
    body = f"110101{birth:%Y%m%d}{random.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body + "0")  # the function expects a placeholder check digit


def on_site(location: str) -> bool:
    """Where a browser goes with this Location, seen from a page of ours."""
    target = urlsplit(urljoin("http://localhost/login/", location))
    return target.scheme == "http" and target.netloc == "localhost"


def web_client(app, ip=None) -> WebClient:
    client = WebClient(app)
    if ip:
        client.http.environ_base["REMOTE_ADDR"] = ip
    return client


# --- lockout (SYS-4) -----------------------------------------------------------------------------------

def test_lockout_after_n_failures_for_m_minutes(app, admin_web, policy, new_user):
    policy.remember("login_max_failures", "login_lock_minutes")
    assert admin_sets(admin_web, "login_max_failures", 3).status_code == 302
    assert admin_sets(admin_web, "login_lock_minutes", 10).status_code == 302
    assert setting_value(app, "login_max_failures") == "3"

    username = new_user()
    client = WebClient(app)
    for _ in range(3):
        assert client.login(username, "Wrong#Pass1").headers["Location"].startswith("/login/")
    # Locked now: the right password is refused too, with a message that says until when.
    assert client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    until = last_failure_at(app, username) + timedelta(minutes=10)
    page = client.get("/login/").get_data(as_text=True)
    assert_message(page, tr(app, "Too many failed logins: the account is locked until %(time)s.",
                            time=until.strftime("%H:%M")))
    assert str(escape(tr(app, "Invalid login. Please try again."))) not in page  # the lock says why, alone
    assert not is_logged_in(client)
    assert login_events(app, username) == [("failed", "web")] * 3 + [("locked", "web")]

    # Nine minutes later it is still locked; after the ten minutes the right password works again.
    shift_login_log(app, username, 9)
    assert client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    shift_login_log(app, username, 2)
    response = client.login(username, TEST_PASSWORD)
    assert not response.headers["Location"].startswith("/login/")
    assert is_logged_in(client)
    assert login_events(app, username)[-1] == ("login", "web")


def test_lockout_settings_changed_by_admin_take_effect(app, admin_web, policy, new_user):
    policy.remember("login_max_failures", "login_lock_minutes")
    admin_sets(admin_web, "login_max_failures", 2)
    username = new_user()
    client = WebClient(app)
    client.login(username, "Wrong#Pass1")
    client.login(username, "Wrong#Pass1")
    assert client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    # The administrator allows more attempts: the same history no longer locks the account.
    admin_sets(admin_web, "login_max_failures", 5)
    assert not client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")

    # A shorter lock: two failures lock for one minute only.
    client.get("/logout/")
    admin_sets(admin_web, "login_max_failures", 2)
    admin_sets(admin_web, "login_lock_minutes", 1)
    client.login(username, "Wrong#Pass1")
    client.login(username, "Wrong#Pass1")
    assert client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    shift_login_log(app, username, 2)
    assert not client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")


def test_success_resets_the_failure_count(app, policy, new_user):
    policy(login_max_failures=3, login_lock_minutes=15)
    username = new_user()
    client = WebClient(app)
    for _ in range(2):
        client.login(username, "Wrong#Pass1")
    assert not client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    client.get("/logout/")
    for _ in range(2):
        client.login(username, "Wrong#Pass1")
    assert not client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")


def test_failures_count_per_account_whatever_name_form_is_typed(app, policy, new_user):
    """User name in another case, or the e-mail address, count against the same account."""
    policy(login_max_failures=3, login_lock_minutes=15)
    username = new_user()
    client = WebClient(app)
    client.login(username.upper(), "Wrong#Pass1")
    client.login(f"{username}@test.local", "Wrong#Pass1")
    client.login(username, "Wrong#Pass1")
    assert client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    assert login_events(app, username)[-1] == ("locked", "web")


def test_api_login_obeys_the_same_lockout(app, policy, new_user):
    policy(login_max_failures=3, login_lock_minutes=15)
    username = new_user()
    http = app.test_client()

    def api_login(password):
        return http.post("/api/v1/security/login", json={"username": username, "password": password,
                                                         "provider": "db", "refresh": False})

    for _ in range(3):
        response = api_login("Wrong#Pass1")
        assert response.status_code == 401
        assert response.get_json()["message"] == tr(app, "Invalid login. Please try again.")
    response = api_login(TEST_PASSWORD)
    assert response.status_code == 401 and "access_token" not in response.get_json()
    until = last_failure_at(app, username) + timedelta(minutes=15)
    assert response.get_json()["message"] == tr(
        app, "Too many failed logins: the account is locked until %(time)s.", time=until.strftime("%H:%M"))
    assert login_events(app, username) == [("failed", "api")] * 3 + [("locked", "api")]
    # The lock is the account's, whichever door is used.
    assert WebClient(app).login(username).headers["Location"].startswith("/login/")
    shift_login_log(app, username, 16)
    assert api_login(TEST_PASSWORD).status_code == 200


# --- login log (SYS-5) -----------------------------------------------------------------------------------

def test_login_log_records_login_logout_and_failure(app, new_user):
    username = new_user()
    client = WebClient(app)
    client.login(username, "Wrong#Pass1")
    client.login(username)
    client.get("/logout/")
    api_token(app, username)
    assert login_events(app, username) == [("failed", "web"), ("login", "web"), ("logout", "web"),
                                           ("login", "api")]
    from app.extensions import db
    from models.system import LoginLog

    with app.app_context():
        row = db.session.execute(select(LoginLog).where(LoginLog.username == username, LoginLog.event == "login")
                                 .order_by(LoginLog.id)).scalars().first()
        assert row.ip == "127.0.0.1" and row.user_id is not None and row.at is not None
        db.session.remove()


def test_admin_reads_the_login_log_and_nobody_changes_it(app, admin_web, login_as, api_as, new_user):
    from models.system import LoginLog, OperationLog

    username = new_user()
    WebClient(app).login(username, "Wrong#Pass1")
    with app.app_context():
        from app.extensions import db

        pk = db.session.execute(select(LoginLog.id).where(LoginLog.username == username)).scalar()
        op_pk = db.session.execute(select(func.max(OperationLog.id))).scalar() or 1
        db.session.remove()
    with app.test_request_context(), force_locale("zh"):
        view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "LoginLogView")
        event_label = str((view.formatters_columns or {}).get("event", str)("failed"))
    html = admin_web.get(f"/loginlogview/list/?_flt_0_username={username}").get_data(as_text=True)
    assert f"/loginlogview/show/{pk}" in html
    html = admin_web.get(f"/loginlogview/show/{pk}").get_data(as_text=True)
    assert username in html and event_label in html
    for role in P.ROLE_GRANTS:
        client = admin_web if role == P.ADMIN else login_as(role)
        token = client.csrf("/users/userinfo/")
        for base, row in (("/loginlogview", pk), ("/operationlogview", op_pk)):
            assert client.get(f"{base}/edit/{row}").status_code == 403, (role, base)
            assert client.get(f"{base}/add").status_code == 403, (role, base)
            response = client.post(f"{base}/edit/{row}", data={"csrf_token": token, "event": "login"})
            assert response.status_code == 403, (role, base)
            response = client.post(f"{base}/delete/{row}", data={"csrf_token": token})
            assert response.status_code == 403, (role, base)
        api = api_as(role)
        for base, row in (("/api/v1/login_log", pk), ("/api/v1/operation_log", op_pk)):
            assert api.put(f"{base}/{row}", json={"event": "login"}).status_code in (403, 404, 405), role
            assert api.delete(f"{base}/{row}").status_code in (403, 404, 405), role
            assert api.post(f"{base}/", json={"event": "login"}).status_code in (403, 404, 405), role
    assert count(app, LoginLog, LoginLog.id == pk) == 1
    assert login_events(app, username) == [("failed", "web")]


# --- CSRF ---------------------------------------------------------------------------------------------------

def _customer_form(admin_web):
    return {"kind": "individual", "name": unique("客户"), "id_type": "RIC", "id_number": new_ric(),
            "direct": "direct", "phone": "13800138000"}


def test_add_customer_without_csrf_token_is_refused(app, admin_web):
    from models.customers import Customer

    data = _customer_form(admin_web)
    before = count(app, Customer)
    response = admin_web.post("/customerview/add", data=data, headers={"Referer": "http://localhost/customerview/add"})
    assert response.status_code == 302
    assert count(app, Customer) == before
    page = admin_web.get(response.headers["Location"]).get_data(as_text=True)
    assert_message(page, tr(app, "The form has expired or was not sent from this site. "
                                 "Please reload the page and try again."))
    # A stale or forged token is no better than none.
    admin_web.post("/customerview/add", data={**data, "csrf_token": "forged"})
    assert count(app, Customer) == before
    # The same form with the page's token is accepted: the refusal was the token's doing.
    response = admin_web.post_form("/customerview/add", data)
    assert response.status_code == 302
    assert count(app, Customer, Customer.name == data["name"]) == 1


def test_edit_setting_without_csrf_token_is_refused(app, admin_web):
    pk = setting_pk(app, "default_page_size")
    before = setting_value(app, "default_page_size")
    admin_web.post(f"/systemsettingview/edit/{pk}", data={"value": "77"})
    assert setting_value(app, "default_page_size") == before


def test_delete_without_csrf_token_and_delete_by_get_are_refused(app, admin_web):
    from app.extensions import db
    from models.system import DictType

    with app.app_context():
        item = DictType(code=unique("t"), name="临时字典", builtin=False)
        db.session.add(item)
        db.session.commit()
        pk = item.id
        db.session.remove()
    admin_web.post(f"/dicttypeview/delete/{pk}", data={})
    assert count(app, DictType, DictType.id == pk) == 1
    admin_web.get(f"/dicttypeview/delete/{pk}")  # FAB's delete link works by GET only without CSRF
    assert count(app, DictType, DictType.id == pk) == 1
    admin_web.post_form(f"/dicttypeview/delete/{pk}", {}, form_page="/dicttypeview/list/")
    assert count(app, DictType, DictType.id == pk) == 0


def test_dayend_run_without_csrf_token_or_by_get_is_refused(app, admin_web):
    from app.services import business_date
    from models.system import DayEndRun

    with app.app_context():
        day = business_date.today()
    before = count(app, DayEndRun)
    admin_web.post("/dayendrunview/run/", data={})
    assert admin_web.get("/dayendrunview/run/").status_code == 405
    assert count(app, DayEndRun) == before
    with app.app_context():
        assert business_date.today() == day


def test_login_form_without_csrf_token_is_refused(app, new_user):
    username = new_user()
    client = WebClient(app)
    client.http.get("/login/")
    client.http.post("/login/", data={"username": username, "password": TEST_PASSWORD})
    assert not is_logged_in(client)


def test_cookie_session_api_writes_need_the_csrf_header(app, admin_web):
    from models.system import Department

    code = unique("D")
    body = {"code": code, "name": "CSRF测试部", "sort_order": 1, "active": True}
    response = admin_web.http.post("/api/v1/department/", json=body)
    assert response.status_code == 400
    assert response.get_json()["message"] == tr(
        app, "The form has expired or was not sent from this site. Please reload the page and try again.")
    # A made-up bearer header does not turn a cookie session into a token call.
    response = admin_web.http.post("/api/v1/department/", json=body, headers={"Authorization": "Bearer made-up"})
    assert response.status_code in (400, 401)
    assert count(app, Department, Department.code == code) == 0

    token = admin_web.csrf("/departmentview/list/")
    response = admin_web.http.post("/api/v1/department/", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_data(as_text=True)
    pk = response.get_json()["id"]
    assert admin_web.http.put(f"/api/v1/department/{pk}", json={"name": "改名"}).status_code == 400
    assert admin_web.http.delete(f"/api/v1/department/{pk}").status_code == 400
    assert count(app, Department, Department.id == pk) == 1
    assert admin_web.http.delete(f"/api/v1/department/{pk}", headers={"X-CSRFToken": token}).status_code == 200


def test_bearer_api_calls_need_no_csrf_token(app, api_as):
    from app.extensions import db
    from models.system import Department, OperationLog

    api = api_as(P.ADMIN)
    code = unique("D")
    response = api.post("/api/v1/department/", json={"code": code, "name": "令牌部", "sort_order": 1, "active": True})
    assert response.status_code == 201, response.get_data(as_text=True)
    pk = response.get_json()["id"]
    assert api.put(f"/api/v1/department/{pk}", json={"name": "令牌部2"}).status_code == 200
    # The operation log names the token's user, not "anonymous".
    with app.app_context():
        who = db.session.execute(select(OperationLog.username).where(
            OperationLog.table_name == Department.__tablename__, OperationLog.record_id == str(pk))
            .order_by(OperationLog.id)).scalars().all()
        db.session.remove()
    assert who and set(who) == {ROLE_USERS[P.ADMIN]}
    assert api.delete(f"/api/v1/department/{pk}").status_code == 200
    assert count(app, Department, Department.id == pk) == 0


# --- GET never changes data --------------------------------------------------------------------------------------

def _table_counts(app, skip=()):
    from app.extensions import db

    with app.app_context():
        names = [n for n in inspect(db.engine).get_table_names() if n not in skip and n != "alembic_version"]
        counts = {n: db.session.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar() for n in names}
        db.session.remove()
        return counts


def _get_urls(app):
    """Every GET route of the application, with a missing id where the route takes one."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "appbuilder.static"):
            continue
        values = {}
        for arg in rule.arguments:
            converter = rule._converters[arg].__class__.__name__
            values[arg] = 987654321 if "Integer" in converter else "987654321"
        try:
            urls.append(app.url_map.bind("localhost").build(rule.endpoint, values))
        except Exception:
            continue
    return sorted(set(urls))


def test_no_get_request_changes_data(app, admin_web):
    """The administrator opens every GET route there is; no table changes (the export jobs a list's
    Excel download records are the one bookkeeping row a GET writes)."""
    skip = {"sys_export_job", "sys_login_log"}
    urls = [u for u in _get_urls(app) if not u.startswith(("/logout", "/lang/"))]
    before = _table_counts(app, skip)
    statuses = {}
    for url in urls:
        statuses[url] = admin_web.get(url).status_code
    assert _table_counts(app, skip) == before
    assert not [u for u, s in statuses.items() if s >= 500], statuses
    assert is_logged_in(admin_web)


# --- idle session timeout -------------------------------------------------------------------------------------

def test_idle_session_times_out(app, policy, new_user):
    policy(session_timeout_minutes=5)
    username = new_user()
    client = WebClient(app)
    client.login(username)
    with client.http.session_transaction() as session:
        session["_last_seen"] = int(time.time()) - 4 * 60
    assert client.get("/customerview/list/").status_code == 200
    with client.http.session_transaction() as session:
        session["_last_seen"] = int(time.time()) - 6 * 60
    response = client.get("/customerview/list/?page_customer=0")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login/")
    assert parse_qs(urlsplit(location).query)["next"] == ["/customerview/list/?page_customer=0"]
    page = client.get(location).get_data(as_text=True)
    assert_message(page, tr(app, "Your session timed out. Please log in again."))
    assert not is_logged_in(client)
    assert login_events(app, username)[-1] == ("timeout", "web")


def test_idle_cookie_session_on_the_api_answers_401(app, policy, new_user):
    policy(session_timeout_minutes=5)
    username = new_user()
    client = WebClient(app)
    client.login(username)
    assert client.get("/api/v1/customer/").status_code == 200
    with client.http.session_transaction() as session:
        session["_last_seen"] = int(time.time()) - 6 * 60
    assert client.get("/api/v1/customer/").status_code == 401
    assert login_events(app, username)[-1] == ("timeout", "api")


def test_a_fresh_login_restarts_the_idle_clock(app, policy, new_user):
    """A browser whose cookie still holds an old `_last_seen` is not thrown out right after logging in."""
    policy(session_timeout_minutes=5)
    username = new_user()
    client = WebClient(app)
    client.login(username)
    client.get("/logout/")
    with client.http.session_transaction() as session:
        session["_last_seen"] = int(time.time()) - 3600
    client.login(username)
    assert client.get("/customerview/list/").status_code == 200


def test_bearer_calls_have_no_idle_timeout(app, policy, api_as):
    policy(session_timeout_minutes=1)
    api = api_as(P.ACCOUNT_MANAGER)
    assert api.get("/api/v1/customer/").status_code == 200


# --- password complexity ----------------------------------------------------------------------------------------

WEAK = [("Ab1!x", "The password must have at least %(n)s characters."),
        ("abcdefgh123", "The password must mix at least three of: lower case, upper case, digits, symbols.")]


def _user_form(username, password, role_id):
    return {"first_name": "新", "last_name": "员工", "username": username, "email": f"{username}@test.local",
            "active": "y", "roles": str(role_id), "password": password, "conf_password": password}


def _role_id(app, role):
    with app.app_context():
        return app.appbuilder.sm.find_role(role).id


def test_admin_cannot_create_a_user_with_a_weak_password(app, admin_web):
    role_id = _role_id(app, P.CASHIER)
    for password, msgid in WEAK:
        username = unique("w")
        response = admin_web.post_form("/users/add", _user_form(username, password, role_id))
        assert response.status_code == 200
        assert_message(response.get_data(as_text=True), tr(app, msgid, n=8))
        with app.app_context():
            assert app.appbuilder.sm.find_user(username=username) is None
    username = unique("w")
    response = admin_web.post_form("/users/add", _user_form(username, "Strong#Pass9", role_id))
    assert response.status_code == 302
    assert WebClient(app).login(username, "Strong#Pass9").headers["Location"] != "/login/"


def test_weak_password_refused_by_the_user_api(app, api_as):
    api = api_as(P.ADMIN)
    username = unique("w")
    response = api.post("/api/v1/security/users/", json={
        "first_name": "新", "last_name": "员工", "username": username, "email": f"{username}@test.local",
        "active": True, "roles": [_role_id(app, P.CASHIER)], "password": "abcdefgh123"})
    assert response.status_code == 400
    with app.app_context():
        assert app.appbuilder.sm.find_user(username=username) is None


def test_user_cannot_reset_own_password_to_a_weak_one(app, new_user):
    username = new_user(P.AUDITOR)
    client = WebClient(app)
    client.login(username)
    for password, msgid in WEAK:
        response = client.post_form("/resetmypassword/form", {"password": password, "conf_password": password})
        assert response.status_code == 200
        assert_message(response.get_data(as_text=True), tr(app, msgid, n=8))
    client.get("/logout/")
    assert not client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")


def test_admin_cannot_reset_someone_elses_password_to_a_weak_one(app, admin_web, new_user):
    username = new_user()
    with app.app_context():
        pk = app.appbuilder.sm.find_user(username=username).id
    url = f"/resetpassword/form?pk={pk}"
    response = admin_web.post_form(url, {"password": "abcdefgh123", "conf_password": "abcdefgh123"})
    assert response.status_code == 200
    assert_message(response.get_data(as_text=True), tr(app, WEAK[1][1]))
    assert WebClient(app).login(username).headers["Location"] != "/login/"


def test_minimum_length_set_in_system_settings_applies(app, admin_web, policy, new_user):
    policy.remember("password_min_length")
    # The settings screen refuses a value outside its range and says why.
    response = admin_sets(admin_web, "password_min_length", 3)
    assert setting_value(app, "password_min_length") != "3"
    page = admin_web.get(response.headers["Location"]).get_data(as_text=True) if response.status_code == 302 \
        else response.get_data(as_text=True)
    assert_message(page, tr(app, "%(label)s must be between %(min)s and %(max)s.",
                            label=tr(app, "Minimum password length"), min=6, max=64))
    assert admin_sets(admin_web, "password_min_length", 12).status_code == 302
    username = new_user()
    client = WebClient(app)
    client.login(username)
    response = client.post_form("/resetmypassword/form", {"password": "Abcdef12!", "conf_password": "Abcdef12!"})
    assert_message(response.get_data(as_text=True),
                   tr(app, "The password must have at least %(n)s characters.", n=12))
    response = client.post_form("/resetmypassword/form",
                                {"password": "Abcdef12!xyz", "conf_password": "Abcdef12!xyz"})
    assert response.status_code == 302


# --- redirects, cookies ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [EVIL, "//evil.example/x", "https:/evil.example", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, new_user, target):
    username = new_user()
    client = WebClient(app)
    token = client.csrf("/login/")
    response = client.http.post("/login/", query_string={"next": target},
                                data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert on_site(response.headers["Location"])
    # Already logged in, /login/?next=... goes home too.
    assert on_site(client.get("/login/", query_string={"next": target}).headers["Location"])


def test_login_keeps_a_local_next(app, new_user):
    username = new_user()
    client = WebClient(app)
    token = client.csrf("/login/")
    response = client.http.post("/login/?next=/customerview/list/",
                                data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/customerview/list/")


def test_csrf_refusal_does_not_redirect_to_a_foreign_referrer(admin_web):
    response = admin_web.post("/customerview/add", data={"name": "x"}, headers={"Referer": EVIL})
    assert response.status_code == 302 and on_site(response.headers["Location"])


def test_session_cookie_is_httponly_and_samesite(app, new_user):
    username = new_user()
    client = WebClient(app)
    response = client.login(username)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith(app.config.get("SESSION_COOKIE_NAME", "session") + "=")]
    assert session_cookie, cookies
    assert "HttpOnly" in session_cookie[0] and "SameSite=Lax" in session_cookie[0]
    assert not [c for c in cookies if c.startswith("remember_token=")]
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True


def test_secure_cookies_behind_https():
    """SESSION_COOKIE_SECURE=1 (documented for HTTPS deployments) marks both cookies Secure."""
    root = Path(__file__).resolve().parents[2]
    code = ("import config; c = config.Config; "
            "print(c.SESSION_COOKIE_SECURE, c.REMEMBER_COOKIE_SECURE, c.SESSION_COOKIE_HTTPONLY)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "SESSION_COOKIE_SECURE": "1", "SECRET_KEY": "x" * 32,
                              "INSTANCE_DIR": "/tmp/guarantee-cookie-test"})
    assert out.stdout.split() == ["True", "True", "True"]


# --- login rate limit --------------------------------------------------------------------------------------------------

def test_login_is_rate_limited(app, monkeypatch):
    """AUTH_RATE_LIMIT is read on every request, so the test lowers it on the running app (a second
    create_app() in one process would share the FAB singletons of app/extensions.py). Each test uses
    its own client address, so the counter starts from zero even on a shared Redis."""
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", "3 per minute")
    ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    client = web_client(app, ip)
    token = client.csrf("/login/")
    statuses = [client.http.post("/login/", data={"username": unique("nobody"), "password": "x",
                                                  "csrf_token": token}).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    response = client.http.post("/login/", data={"username": "x", "password": "x", "csrf_token": token})
    assert response.status_code == 429
    assert_message(response.get_data(as_text=True), tr(app, "Too many requests. Please wait a moment and try again."))
    assert client.http.get("/login/").status_code == 200  # reading the form is not limited

    api = app.test_client()
    api.environ_base["REMOTE_ADDR"] = ip + "1" if len(ip) < 15 else ip[:-1]
    statuses = [api.post("/api/v1/security/login", json={"username": unique("nobody"), "password": "x",
                                                         "provider": "db"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_other_clients_are_not_limited_by_someone_elses_attempts(app, monkeypatch, new_user):
    monkeypatch.setitem(app.config, "AUTH_RATE_LIMIT", "2 per minute")
    attacker = web_client(app, f"10.200.{random.randrange(256)}.{random.randrange(1, 255)}")
    token = attacker.csrf("/login/")
    for _ in range(3):
        attacker.http.post("/login/", data={"username": "x", "password": "x", "csrf_token": token})
    username = new_user()
    user = web_client(app, f"10.201.{random.randrange(256)}.{random.randrange(1, 255)}")
    assert not user.login(username).headers["Location"].startswith("/login/")


# --- nothing without a login -------------------------------------------------------------------------------------------

PUBLIC = ("/login/", "/logout/", "/lang/", "/static/", "/appbuilder/", "/api/v1/security/login",
          "/api/v1/security/refresh", "/portal/login", "/portal/register", "/portal/logout")


def test_nothing_answers_data_without_a_login(app):
    anonymous = WebClient(app)
    token = anonymous.csrf("/login/")
    problems = []
    for rule in app.url_map.iter_rules():
        values = {arg: ("1" if "Integer" not in rule._converters[arg].__class__.__name__ else 1)
                  for arg in rule.arguments}
        try:
            url = app.url_map.bind("localhost").build(rule.endpoint, values)
        except Exception:
            continue
        if url == "/" or url.startswith(PUBLIC):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if url.startswith("/api/"):
                response = anonymous.http.open(url, method=method, json={})
                ok = response.status_code == 401
            else:
                data = {"csrf_token": token} if method != "GET" else None
                response = anonymous.http.open(url, method=method, data=data)
                location = response.headers.get("Location", "")
                # The enterprise portal (views/portal.py) sends visitors to its own login page.
                login_page = "/portal/login" if url.startswith("/portal/") else "/login/"
                ok = response.status_code == 302 and location.startswith(login_page)
            if not ok:
                problems.append(f"{method} {url}: {response.status_code} {response.headers.get('Location', '')}")
    assert not problems, "\n".join(problems)
    # The home page sends a visitor to the login form.
    assert anonymous.get("/").headers["Location"].startswith("/login/")


def test_api_401_is_translated_and_says_nothing_else(app):
    response = app.test_client().get("/api/v1/customer/")
    assert response.status_code == 401
    assert response.get_json() == {"message": tr(app, "Please log in.")}
    response = app.test_client().get("/api/v1/customer/", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.get_json() == {"message": tr(app, "Please log in.")}
