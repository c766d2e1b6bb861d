"""SYS-13: the REST API under /api/v1/ — JWT login, every entity API, the screens' permissions and
validators, and bad input answered with 4xx and a translated message (never a 500, never the
database's text) on SQLite and PostgreSQL alike."""
import random
import uuid
from datetime import date, timedelta

import pytest
from flask_babel import gettext
from sqlalchemy import func, select
from stdnum.cn import ric

from app import permissions as P
from models.customers import Customer
from models.system import ApprovalPost, Department, DictItem, DictType, Employee, NumberingRule, SystemSetting

API = "/api/v1"
ENTITY_APIS = {  # resource name -> the screen's permission resource
    "customer": P.CUSTOMER, "department": P.DEPARTMENT, "employee": P.EMPLOYEE, "approval_post": P.APPROVAL_POST,
    "dict_type": P.DICTIONARY, "dict_item": P.DICTIONARY, "setting": P.SETTING, "numbering_rule": P.NUMBERING,
    "operation_log": P.OPERATION_LOG, "login_log": P.LOGIN_LOG,
}
NO_SUCH_ID = 2_000_000_000  # a valid integer no test record reaches
LEAKS = ("sqlite", "psycopg", "integrity", "constraint", "violates", "unique", "foreign key", "not null",
         "[sql", "traceback", "fatal error", "database exception", "not a valid rison", "request is not json")


# --- helpers ----------------------------------------------------------------------------------------

def uid(prefix="t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def make_ric() -> str:
    """A valid, random resident ID number (Beijing Dongcheng, born 1950–1999)."""
    born = date(1950, 1, 1) + timedelta(days=random.randrange(365 * 50))
    body = f"110101{born:%Y%m%d}{random.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def customer_payload(**extra) -> dict:
    return {"kind": "individual", "name": uid("客户"), "id_type": "RIC", "id_number": make_ric(),
            "phone": "13800138000", **extra}


def translated(app, text, **kw) -> str:
    """What the API must answer: the msgid in the default locale (zh)."""
    with app.test_request_context():
        return gettext(text, **kw)


def count(app, model, *where) -> int:
    """Rows in the database, read in a fresh app context (never the request's session)."""
    from app.extensions import db

    with app.app_context():
        try:
            return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        finally:
            db.session.remove()


def row_id(app, model, *where):
    from app.extensions import db

    with app.app_context():
        try:
            return db.session.execute(select(model.id).where(*where)).scalars().first()
        finally:
            db.session.remove()


def error(response, status) -> str:
    """The answer is `status` with a JSON message free of internal text; returns the message."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    message = body.get("message")
    assert isinstance(message, str) and message.strip(), body
    lowered = str(body).lower()
    assert not [leak for leak in LEAKS if leak in lowered], body
    return message


@pytest.fixture
def admin(api_as):
    return api_as(P.ADMIN)


@pytest.fixture
def department(admin):
    response = admin.post(f"{API}/department/", json={"code": uid("D"), "name": uid("部门")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


# --- login, tokens, the OpenAPI document ---------------------------------------------------------------

def test_jwt_login_gives_a_token_that_opens_the_api(app):
    from tests.conftest import ROLE_USERS, TEST_PASSWORD

    http = app.test_client()
    response = http.post(f"{API}/security/login", json={"username": ROLE_USERS[P.ADMIN], "password": TEST_PASSWORD,
                                                        "provider": "db", "refresh": True})
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["access_token"] and tokens["refresh_token"]
    listed = http.get(f"{API}/customer/", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert listed.status_code == 200 and "result" in listed.get_json()


def test_jwt_login_refuses_a_wrong_password_and_malformed_requests(app, new_user):
    http = app.test_client()
    username = new_user(P.ACCOUNT_MANAGER)
    error(http.post(f"{API}/security/login", json={"username": username, "password": "wrong", "provider": "db"}), 401)
    assert http.post(f"{API}/security/login", data="username=x").status_code == 400
    assert http.post(f"{API}/security/login", json=["x"]).status_code == 400


def test_no_api_endpoint_answers_without_a_login(app):
    """Every /api/ route and method, called without a token, says 401 (login is the only way in)."""
    http = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in ("/api/v1/security/login",):
            continue
        url = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = http.open(url, method=method, json={} if method in ("POST", "PUT") else None)
            assert response.status_code == 401, (method, url, response.status_code)
            assert "result" not in (response.get_json(silent=True) or {}), (method, url)
            checked += 1
    assert checked > 60


def _fill(rule) -> str:
    """A concrete URL for a rule: every variable becomes 1 (the API version v1)."""
    values = {name: ("v1" if name == "version" else 1) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_a_forged_token_is_refused(app):
    http = app.test_client()
    for token in ("garbage", "a.b.c", ""):
        response = http.get(f"{API}/customer/", headers={"Authorization": f"Bearer {token}"})
        assert error(response, 401) == translated(app, "Please log in.")


def test_openapi_document_needs_a_login_and_lists_every_entity_api(app, admin):
    assert app.test_client().get(f"{API}/_openapi").status_code == 401
    swagger = app.test_client().get("/swagger/v1")
    assert swagger.status_code in (302, 401, 403) and "swagger-ui" not in swagger.get_data(as_text=True)
    response = admin.get(f"{API}/_openapi")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    for resource in ENTITY_APIS:
        assert f"{API}/{resource}/" in paths
        assert f"{API}/{resource}/{{pk}}" in paths


# --- the same permissions and validators as the screens ------------------------------------------------

def _entity_apis(app):
    from views.base import BaseApi

    return {view.resource_name: view for view in app.appbuilder.baseviews if isinstance(view, BaseApi)}


def test_each_api_shares_permission_resource_verbs_and_validators_with_its_screen(app):
    from views.base import API_METHODS, BaseModelView

    apis = _entity_apis(app)
    assert set(ENTITY_APIS) <= set(apis)
    screens = [view for view in app.appbuilder.baseviews if isinstance(view, BaseModelView)]
    for name, api in apis.items():
        assert api.class_permission_name == ENTITY_APIS.get(name, api.class_permission_name)
        # CRUD routes map as API_METHODS; an extra read-only endpoint (completeness) maps to a known verb
        assert api.method_permission_name.items() >= API_METHODS.items(), name
        assert set(api.method_permission_name.values()) <= set(P.ALL_VERBS), name
        screen = next((s for s in screens if s.datamodel.obj is api.datamodel.obj), None)
        if screen is None:  # a record shown by a custom page (ratings): its API only reads
            assert set(api.include_route_methods or ()) <= {"get", "get_list", "info"}, name
            assert api.class_permission_name in P.RESOURCE_NAMES, name
            continue
        assert screen.class_permission_name == api.class_permission_name, name
        assert tuple(screen.validators) == tuple(api.validators), name
        # the API grants no verb the screens do not know
        assert {p.removeprefix("can_") for p in api.base_permissions} <= set(P.ALL_VERBS), name


def _expected(role, resource, verb) -> bool:
    return role == P.ADMIN or verb in P.ROLE_GRANTS[role].get(resource, ())


@pytest.mark.parametrize("role", list(P.ROLE_GRANTS))
def test_api_permissions_follow_the_role_grants(app, api_as, role):
    """For every role and entity API: reading, adding, editing and deleting are allowed exactly when the
    role holds the verb on the screen's resource (refused with 403 otherwise). Nothing is written: the
    probes post an empty body and address an id that does not exist."""
    client = api_as(role)
    apis = _entity_apis(app)
    before = count(app, Customer)
    for name, resource in ENTITY_APIS.items():
        routes = apis[name].include_route_methods or {"get", "get_list", "info", "post", "put", "delete"}
        base = f"{API}/{name}"

        def check(response, verb, allowed_status, route=None):
            if route is not None and route not in routes:
                assert response.status_code == 405, (role, name, verb, response.status_code)
            elif _expected(role, resource, verb):
                assert response.status_code in allowed_status, (role, name, verb, response.status_code)
            else:
                assert error(response, 403), (role, name, verb)

        check(client.get(f"{base}/"), P.READ, (200,))
        check(client.get(f"{base}/_info"), P.READ, (200,))
        check(client.get(f"{base}/{NO_SUCH_ID}"), P.READ, (404,))
        check(client.post(f"{base}/", json={}), P.ADD, (400, 422), "post")
        check(client.put(f"{base}/{NO_SUCH_ID}", json={}), P.EDIT, (404,), "put")
        check(client.delete(f"{base}/{NO_SUCH_ID}"), P.DELETE, (404,), "delete")
    assert count(app, Customer) == before


def test_account_manager_reads_and_adds_customers_but_not_departments(app, api_as):
    manager = api_as(P.ACCOUNT_MANAGER)
    assert manager.get(f"{API}/customer/").status_code == 200
    assert manager.post(f"{API}/customer/", json=customer_payload()).status_code == 201
    code = uid("D")
    assert error(manager.post(f"{API}/department/", json={"code": code, "name": "x"}), 403) == translated(
        app, "You do not have permission to do this.")
    assert count(app, Department, Department.code == code) == 0
    assert manager.get(f"{API}/department/").status_code == 200
    error(manager.get(f"{API}/operation_log/"), 403)
    error(manager.get(f"{API}/security/users/"), 403)


def test_auditor_reads_but_writes_nothing(app, api_as, admin):
    auditor = api_as(P.AUDITOR)
    created = admin.post(f"{API}/approval_post/", json={"code": uid("A"), "name": uid("岗")}).get_json()["id"]
    for name in ENTITY_APIS:
        assert auditor.get(f"{API}/{name}/").status_code == 200, name
    assert auditor.get(f"{API}/approval_post/{created}").status_code == 200
    payload = customer_payload()
    error(auditor.post(f"{API}/customer/", json=payload), 403)
    error(auditor.put(f"{API}/approval_post/{created}", json={"name": "改"}), 403)
    error(auditor.delete(f"{API}/approval_post/{created}"), 403)
    setting = row_id(app, SystemSetting, SystemSetting.key == "login_lock_minutes")
    error(auditor.put(f"{API}/setting/{setting}", json={"value": "50"}), 403)
    assert count(app, Customer, Customer.name == payload["name"]) == 0
    assert admin.get(f"{API}/approval_post/{created}").get_json()["result"]["name"] != "改"


# --- happy paths, entity by entity ---------------------------------------------------------------------

def test_customer_crud(app, admin):
    payload = customer_payload(birth_date=None)
    response = admin.post(f"{API}/customer/", json=payload)
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    got = admin.get(f"{API}/customer/{pk}").get_json()["result"]
    assert got["code"].startswith("KH") and got["id_number"] == payload["id_number"]
    assert got["gender"] in ("M", "F") and got["birth_date"] == f"{payload['id_number'][6:10]}-" \
        f"{payload['id_number'][10:12]}-{payload['id_number'][12:14]}"  # both filled from the ID number

    listed = admin.get(f"{API}/customer/", query_string={"q": f"(filters:!((col:name,opr:eq,value:'{payload['name']}')))"})
    assert listed.get_json()["ids"] == [pk]

    assert admin.put(f"{API}/customer/{pk}", json={"phone": "13900139000"}).status_code == 200
    assert admin.get(f"{API}/customer/{pk}").get_json()["result"]["phone"] == "13900139000"
    message = error(admin.put(f"{API}/customer/{pk}", json={"phone": "12345"}), 422)
    assert message == translated(app, "The mobile phone number must have 11 digits starting with 1.")
    assert admin.get(f"{API}/customer/{pk}").get_json()["result"]["phone"] == "13900139000"

    assert admin.delete(f"{API}/customer/{pk}").status_code == 200
    error(admin.get(f"{API}/customer/{pk}"), 404)


def test_a_duplicate_customer_identity_names_the_existing_customer(app, admin):
    first = customer_payload()
    pk = admin.post(f"{API}/customer/", json=first).get_json()["id"]
    code = admin.get(f"{API}/customer/{pk}").get_json()["result"]["code"]
    second = customer_payload(id_number=first["id_number"].lower())
    message = error(admin.post(f"{API}/customer/", json=second), 422)
    assert first["name"] in message and code in message
    assert count(app, Customer, Customer.name == second["name"]) == 0
    # editing another customer onto the same identity is refused the same way
    other = admin.post(f"{API}/customer/", json=customer_payload()).get_json()["id"]
    message = error(admin.put(f"{API}/customer/{other}", json={"id_number": first["id_number"], "birth_date": None,
                                                                       "gender": None}), 422)
    assert first["name"] in message


def test_department_crud_and_tree_rules(app, admin, department):
    child = admin.post(f"{API}/department/", json={"code": uid("D"), "name": "子部门", "parent": department})
    assert child.status_code == 201
    child_id = child.get_json()["id"]
    assert admin.get(f"{API}/department/{child_id}").get_json()["result"]["parent_id"] == department
    message = error(admin.put(f"{API}/department/{department}", json={"parent": child_id}), 422)
    assert message == translated(app, "A department cannot be placed under itself or its own sub-departments.")
    assert admin.put(f"{API}/department/{child_id}", json={"name": "改名", "sort_order": 3}).status_code == 200
    assert admin.get(f"{API}/department/{child_id}").get_json()["result"]["name"] == "改名"
    assert admin.delete(f"{API}/department/{child_id}").status_code == 200
    assert count(app, Department, Department.id == child_id) == 0


def test_a_department_in_use_is_not_deleted(app, admin, department):
    employee = admin.post(f"{API}/employee/", json={"code": uid("E"), "name": "李四", "department": department})
    assert employee.status_code == 201, employee.get_json()
    message = error(admin.delete(f"{API}/department/{department}"), 409)
    assert message == translated(app, "This record is used by other records and cannot be removed or changed this way.")
    assert count(app, Department, Department.id == department) == 1


def test_employee_crud(app, admin, department):
    payload = {"code": uid("E"), "name": "王五", "department": department, "hired_on": "2024-03-01",
               "email": "w@example.com"}
    pk = admin.post(f"{API}/employee/", json=payload).get_json()["id"]
    got = admin.get(f"{API}/employee/{pk}").get_json()["result"]
    assert got["department_id"] == department and got["hired_on"] == "2024-03-01"
    assert admin.put(f"{API}/employee/{pk}", json={"title": "经理"}).status_code == 200
    assert admin.get(f"{API}/employee/{pk}").get_json()["result"]["title"] == "经理"
    error(admin.put(f"{API}/employee/{pk}", json={"hired_on": "2024-13-01"}), 422)
    assert admin.delete(f"{API}/employee/{pk}").status_code == 200
    assert count(app, Employee, Employee.id == pk) == 0


def test_approval_post_crud_and_duplicate_code(app, admin):
    code = uid("P")
    pk = admin.post(f"{API}/approval_post/", json={"code": code, "name": uid("岗位")}).get_json()["id"]
    assert admin.put(f"{API}/approval_post/{pk}", json={"description": "说明"}).status_code == 200
    message = error(admin.post(f"{API}/approval_post/", json={"code": code, "name": uid("岗位")}), 409)
    assert message == translated(app, "A record with the same unique value already exists.")
    assert count(app, ApprovalPost, ApprovalPost.code == code) == 1
    assert admin.delete(f"{API}/approval_post/{pk}").status_code == 200


def test_dictionaries_crud_and_builtin_protection(app, admin):
    type_id = admin.post(f"{API}/dict_type/", json={"code": uid("dt"), "name": "测试字典"}).get_json()["id"]
    item = admin.post(f"{API}/dict_item/", json={"dict_type": type_id, "code": "A", "name": "甲"})
    assert item.status_code == 201, item.get_json()
    item_id = item.get_json()["id"]
    assert admin.put(f"{API}/dict_item/{item_id}", json={"name": "乙", "sort_order": 2}).status_code == 200
    other_type = row_id(app, DictType, DictType.code == "gender")
    foreign_parent = row_id(app, DictItem, DictItem.type_id == other_type)
    message = error(admin.put(f"{API}/dict_item/{item_id}", json={"parent": foreign_parent}), 422)
    assert message == translated(app, "The parent entry must belong to the same dictionary.")
    assert admin.delete(f"{API}/dict_item/{item_id}").status_code == 200
    assert admin.delete(f"{API}/dict_type/{type_id}").status_code == 200

    builtin = row_id(app, DictType, DictType.builtin.is_(True))
    message = error(admin.delete(f"{API}/dict_type/{builtin}"), 422)
    assert message == translated(app, "Built-in dictionaries are used by the system and cannot be deleted.")
    assert count(app, DictType, DictType.id == builtin) == 1


def test_settings_are_read_and_edited_but_never_added_or_deleted(app, admin):
    pk = row_id(app, SystemSetting, SystemSetting.key == "login_lock_minutes")
    original = admin.get(f"{API}/setting/{pk}").get_json()["result"]["value"]
    try:
        changed = "16" if original != "16" else "17"
        assert admin.put(f"{API}/setting/{pk}", json={"value": changed}).status_code == 200
        assert admin.get(f"{API}/setting/{pk}").get_json()["result"]["value"] == changed
        message = error(admin.put(f"{API}/setting/{pk}", json={"value": "many"}), 422)
        assert message == translated(app, "%(label)s must be a whole number.",
                                     label=translated(app, "Lockout duration (minutes)"))
        error(admin.put(f"{API}/setting/{pk}", json={"key": "other"}), 422)  # the key is not editable
    finally:
        admin.put(f"{API}/setting/{pk}", json={"value": original})
    assert admin.get(f"{API}/setting/{pk}").get_json()["result"]["value"] == original
    error(admin.post(f"{API}/setting/", json={"key": "x", "value": "1"}), 405)
    error(admin.delete(f"{API}/setting/{pk}"), 405)


def test_numbering_rule_crud_and_validation(app, admin):
    kind = uid("k")
    pk = admin.post(f"{API}/numbering_rule/", json={"kind": kind, "name": "测试编号", "prefix": "T",
                                                    "date_format": "yyyy", "seq_width": 4}).get_json()["id"]
    message = error(admin.put(f"{API}/numbering_rule/{pk}", json={"date_format": "weekly"}), 422)
    assert message == translated(app, "Unknown date part: choose none, yyyy, yyyymm or yyyymmdd.")
    error(admin.put(f"{API}/numbering_rule/{pk}", json={"seq_width": 40}), 422)
    assert admin.get(f"{API}/numbering_rule/{pk}").get_json()["result"]["date_format"] == "yyyy"
    assert admin.delete(f"{API}/numbering_rule/{pk}").status_code == 200
    assert count(app, NumberingRule, NumberingRule.kind == kind) == 0


@pytest.mark.parametrize("log", ["operation_log", "login_log"])
def test_logs_are_read_only(app, admin, log):
    listed = admin.get(f"{API}/{log}/").get_json()
    assert listed["count"] >= 1
    pk = listed["ids"][0]
    assert admin.get(f"{API}/{log}/{pk}").status_code == 200
    error(admin.post(f"{API}/{log}/", json={"username": "x"}), 405)
    error(admin.put(f"{API}/{log}/{pk}", json={"username": "x"}), 405)
    error(admin.delete(f"{API}/{log}/{pk}"), 405)
    assert admin.get(f"{API}/{log}/{pk}").status_code == 200


def test_api_writes_reach_the_operation_log_and_api_logins_the_login_log(app, admin):
    from tests.conftest import ROLE_USERS

    pk = admin.post(f"{API}/customer/", json=customer_payload()).get_json()["id"]
    query = f"(filters:!((col:table_name,opr:eq,value:cus_customer),(col:record_id,opr:eq,value:'{pk}')))"
    entries = admin.get(f"{API}/operation_log/", query_string={"q": query}).get_json()["result"]
    assert [e["action"] for e in entries] == ["insert"] and entries[0]["username"] == ROLE_USERS[P.ADMIN]
    query = f"(filters:!((col:username,opr:eq,value:{ROLE_USERS[P.ADMIN]}),(col:event,opr:eq,value:login)))"
    logins = admin.get(f"{API}/login_log/", query_string={"q": query}).get_json()["result"]
    assert any(entry["channel"] == "api" for entry in logins)


# --- bad input: always 4xx with a message, nothing written ---------------------------------------------

BAD_QUERIES = [
    "(((", "!(1,2)", "[null, null]", '{"page": "x"}', "(page:-1)", "(page:abc)", "(page_size:1.5)",
    "(page:99999999999999999999)", "(page:100000000,page_size:100)", "(filters:x)", "(filters:!(x))",
    "(filters:!((col:nope,opr:eq,value:1)))", "(filters:!((col:name,opr:zz,value:1)))",
    "(filters:!((col:name,opr:sw,value:!(1))))", "(filters:!((col:name,opr:eq,value:(a:1))))",
    "(filters:!((col:name)))", "(order_column:nope)", "(order_direction:up)", "(columns:x)",
    "(keys:!(nope))", "(columns:!(name),select_columns:!(name))", '{"filters": [{"col": "name", "opr": "ct", "value": "a\\u0000"}]}',
    '{"filters": [{"col": "name", "opr": "eq", "value": "\\ud800"}]}',
]


@pytest.mark.parametrize("q", BAD_QUERIES)
def test_malformed_list_queries_answer_400(admin, q):
    error(admin.get(f"{API}/customer/", query_string={"q": q}), 400)


@pytest.mark.parametrize("q", [
    "(filters:!((col:sort_order,opr:eq,value:abc)))", "(filters:!((col:sort_order,opr:gt,value:99999999999)))",
    "(filters:!((col:active,opr:eq,value:maybe)))", "(filters:!((col:code,opr:in,value:x)))",
])
def test_filter_values_of_the_wrong_type_answer_400(admin, q):
    error(admin.get(f"{API}/dict_item/", query_string={"q": q}), 400)


def test_filters_of_each_type_work(app, admin):
    active = admin.post(f"{API}/department/", json={"code": uid("D"), "name": "启用", "active": True}).get_json()["id"]
    inactive = admin.post(f"{API}/department/", json={"code": uid("D"), "name": "停用", "active": False}).get_json()["id"]

    def ids(q):
        response = admin.get(f"{API}/department/", query_string={"q": q + ",page_size:100)"})
        assert response.status_code == 200, response.get_json()
        return set(response.get_json()["ids"])

    assert active in ids("(filters:!((col:active,opr:eq,value:!t))") and inactive not in ids(
        "(filters:!((col:active,opr:eq,value:!t))")
    assert inactive in ids("(filters:!((col:active,opr:eq,value:!f))") and active not in ids(
        "(filters:!((col:active,opr:eq,value:!f))")
    assert inactive in ids("(filters:!((col:active,opr:neq,value:!t))")
    today = date.today().isoformat()
    response = admin.get(f"{API}/operation_log/", query_string={"q": f"(filters:!((col:at,opr:gt,value:'{today}')))"})
    assert response.status_code == 200 and response.get_json()["count"] >= 1
    error(admin.get(f"{API}/operation_log/", query_string={"q": "(filters:!((col:at,opr:gt,value:yesterday)))"}), 400)
    error(admin.get(f"{API}/operation_log/", query_string={"q": "(filters:!((col:at,opr:gt,value:5)))"}), 400)


def test_malformed_info_and_item_queries_answer_400(admin, department):
    error(admin.get(f"{API}/department/_info", query_string={"q": "(add_columns:(parent:(page:-1)))"}), 400)
    error(admin.get(f"{API}/department/_info", query_string={"q": "(keys:!(nope))"}), 400)
    error(admin.get(f"{API}/department/{department}", query_string={"q": "!(1)"}), 400)
    info = admin.get(f"{API}/department/_info").get_json()
    assert all(field["description"] == "" or "Project-Id-Version" not in field["description"]
               for field in info["add_columns"])


@pytest.mark.parametrize("pk", ["abc", "1e5", "-1", "99999999999999999999", "2147483648", "1.5", "%00"])
def test_impossible_ids_answer_4xx(admin, pk):
    """Out of range: no such record (404). Not an integer: no GET route takes it (FAB's item route has an
    int converter, so the router answers 405 for GET), and PUT / DELETE find no such record (404)."""
    error(admin.get(f"{API}/customer/{pk}"), 404 if pk.isdigit() else 405)
    error(admin.put(f"{API}/customer/{pk}", json={"phone": "13800138000"}), 404)
    error(admin.delete(f"{API}/customer/{pk}"), 404)


def test_bodies_that_are_not_a_json_object_answer_400(app, admin):
    expected = translated(app, "The request body must be a JSON object.")
    pk = admin.post(f"{API}/approval_post/", json={"code": uid("A"), "name": uid("岗")}).get_json()["id"]
    for body in ([1, 2], "x", 5, None):
        assert error(admin.post(f"{API}/approval_post/", json=body), 400) == expected
        assert error(admin.put(f"{API}/approval_post/{pk}", json=body), 400) == expected
    for kwargs in ({"data": "code=x"}, {"data": "{not json", "content_type": "application/json"}):
        error(admin.http.post(f"{API}/approval_post/", headers=admin.headers, **kwargs), 400)
        error(admin.http.put(f"{API}/approval_post/{pk}", headers=admin.headers, **kwargs), 400)


@pytest.mark.parametrize("field, value", [
    ("name", "名" * 201),                  # String(200)
    ("address", "地" * 301),               # String(300)
    ("id_number", "1" * 31),               # String(30)
    ("name", "bad\x00name"),               # NUL: PostgreSQL cannot store it, SQLite would
    ("name", "\ud800"),                    # a lone surrogate is not UTF-8
    ("name", 12345),                       # wrong types
    ("birth_date", "1990-02-30"),
    ("birth_date", 19900101),
    ("kind", None),
    ("unknown_field", "x"),
    ("manager_id", 1),                     # not an editable column
])
def test_bad_customer_fields_answer_422_and_write_nothing(app, admin, field, value):
    payload = customer_payload(**{field: value})
    body = error(admin.post(f"{API}/customer/", json=payload), 422)
    assert body.startswith(translated(app, "The input is not valid."))
    response = admin.post(f"{API}/customer/", json=payload)
    assert field in response.get_json()["errors"]
    assert count(app, Customer, Customer.id_number == payload["id_number"]) == 0


def test_over_long_strings_are_refused_on_edit_too(app, admin):
    payload = customer_payload()
    pk = admin.post(f"{API}/customer/", json=payload).get_json()["id"]
    response = admin.put(f"{API}/customer/{pk}", json={"name": "名" * 201})
    error(response, 422)
    assert response.get_json()["errors"]["name"] == [translated(app, "At most %(max)s characters.", max=200)]
    assert admin.get(f"{API}/customer/{pk}").get_json()["result"]["name"] == payload["name"]


@pytest.mark.parametrize("patch", [
    {"sort_order": "abc"}, {"sort_order": 2**40}, {"sort_order": 1.5}, {"sort_order": True},
    {"active": "maybe"}, {"code": "C" * 31}, {"parent": NO_SUCH_ID}, {"parent": "abc"}, {"parent": 10**30},
    {"parent": {"id": NO_SUCH_ID, "code": "X", "name": "Y"}}, {"parent": [1]},
])
def test_bad_department_fields_answer_422_and_write_nothing(app, admin, patch):
    code = uid("D")
    response = admin.post(f"{API}/department/", json={"code": code, "name": "部门", **patch})
    error(response, 422)
    assert set(response.get_json()["errors"]) == set(patch)
    assert count(app, Department, Department.code == code) == 0
    # a related "object" in the body never creates the related row
    assert count(app, Department, Department.code == "X") == 0


def test_a_missing_related_record_is_named_in_the_answer(app, admin):
    response = admin.post(f"{API}/employee/", json={"code": uid("E"), "name": "赵六", "department": NO_SUCH_ID})
    error(response, 422)
    assert response.get_json()["errors"] == {"department": [translated(app, "The selected record does not exist.")]}


# --- FAB's own security APIs get the same treatment ----------------------------------------------------

def test_security_apis_answer_bad_input_with_4xx(app, admin):
    from flask_appbuilder.security.sqla.models import Role, User

    error(admin.put(f"{API}/security/users/{NO_SUCH_ID}", json={"first_name": "x"}), 404)
    error(admin.put(f"{API}/security/users/99999999999999999999", json={"first_name": "x"}), 404)
    error(admin.get(f"{API}/security/users/", query_string={
        "q": "(filters:!((col:roles,opr:rel_m_m,value:99999999999999)))"}), 400)
    error(admin.post(f"{API}/security/roles/", json={"name": "R" * 65}), 422)
    assert count(app, Role, Role.name == "R" * 65) == 0
    error(admin.post(f"{API}/security/roles/1/permissions", data="x"), 415)
    error(admin.put(f"{API}/security/roles/1/users", json={"user_ids": [2**40]}), 400)
    error(admin.post(f"{API}/security/permissions-resources/", json={"permission_id": [], "view_menu_id": 1}), 422)

    from tests.conftest import ROLE_USERS

    role_id = row_id(app, Role, Role.name == P.AUDITOR)
    duplicate = {"username": ROLE_USERS[P.ADMIN], "first_name": "a", "last_name": "b", "email": f"{uid()}@x.cn",
                 "password": "Aa1!" + uuid.uuid4().hex, "roles": [role_id]}
    message = error(admin.post(f"{API}/security/users/", json=duplicate), 409)
    assert message == translated(app, "A record with the same unique value already exists.")
    assert count(app, User, User.email == duplicate["email"]) == 0
