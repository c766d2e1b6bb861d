"""The whole permission matrix (SYS-3): role × view/action/API → allowed or not.

`permission_matrix.json` next to this file is the reviewed snapshot of what `sync_roles` puts in the
database for every role of app/permissions.py. A change to ROLE_GRANTS, to a view's permissions or to
the menu changes the matrix and fails `test_matrix_matches_snapshot` with a readable diff, so the
change is deliberate. To accept it, regenerate the snapshot and review the diff in git:

    UPDATE_PERMISSION_MATRIX=1 python3 -m pytest -c tests/pytest.ini tests/unit/test_permission_matrix.py

The other tests do not trust the snapshot alone: they hit the real screens and APIs as every role and
check that each answers 200 (or 404 for a missing row) when the snapshot grants the permission, and
403 when it does not.
"""
import json
import os
import re
from pathlib import Path

import pytest

from app import permissions as P
from app.services.roles import permission_matrix, sync_roles
from tests.conftest import TEST_PASSWORD, WebClient

SNAPSHOT = Path(__file__).with_name("permission_matrix.json")
ROLES = list(P.ROLE_GRANTS)
MISSING_PK = 987654321
# Verbs that change something. Self-service (own password, own profile) is allowed to every role and
# is checked separately; everything else an auditor holds must be a read.
READ_PERMISSIONS = {"can_read", "can_export", "can_get", "can_info", "can_list", "can_show", "can_userinfo",
                    "can_download", "can_chart", "menu_access", "can_this_form_get"}
SELF_SERVICE = {f"{perm} on {view}" for perm, view in P.SELF_SERVICE_FAB}
FAB_SECURITY_SCREENS = ["/users/list/", "/users/add", "/users/show/1", "/users/edit/1", "/roles/list/",
                        "/roles/add", "/roles/show/1", "/permissions/list/", "/viewmenus/list/",
                        "/permissionviews/list/", "/userstatschartview/chart/", "/resetpassword/form?pk=1"]
FAB_SECURITY_APIS = ["/api/v1/security/users/", "/api/v1/security/roles/", "/api/v1/security/permissions/",
                     "/api/v1/security/resources/", "/api/v1/security/permissions-resources/"]


# --- the snapshot ----------------------------------------------------------------------------------

def _diff(expected: dict, actual: dict) -> str:
    lines = []
    for role in sorted(set(expected) | set(actual)):
        if role not in actual:
            lines.append(f"role {role}: missing from the database")
            continue
        if role not in expected:
            lines.append(f"role {role}: new, not in the snapshot ({len(actual[role])} permissions)")
            continue
        added = sorted(set(actual[role]) - set(expected[role]))
        removed = sorted(set(expected[role]) - set(actual[role]))
        if added or removed:
            lines.append(f"role {role}:")
            lines += [f"  + {p}" for p in added] + [f"  - {p}" for p in removed]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def matrix(app):
    """role -> permissions of the shipped roles as defined in app/permissions.py (`flask sync-roles --reset`;
    start-up alone keeps an administrator's changes, see test_start_up_keeps_administrators_changes)."""
    with app.app_context():
        sync_roles(app.appbuilder, reset=True)
        return permission_matrix(app.appbuilder, roles=set(ROLES))


@pytest.fixture(scope="module")
def snapshot(matrix):
    if os.environ.get("UPDATE_PERMISSION_MATRIX") == "1":
        SNAPSHOT.write_text(json.dumps(matrix, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return {role: set(perms) for role, perms in data.items()}


def test_matrix_matches_snapshot(matrix, snapshot):
    diff = _diff({r: sorted(p) for r, p in snapshot.items()}, matrix)
    assert not diff, (
        "The permission matrix in the database differs from tests/unit/permission_matrix.json "
        "(+ granted now, - no longer granted). If the change is intended, regenerate the snapshot with "
        "UPDATE_PERMISSION_MATRIX=1 and review it:\n" + diff
    )


def test_start_up_keeps_administrators_changes(app, matrix):
    """Start-up (and `flask sync-roles` without --reset) never undoes a change an administrator made."""
    with app.app_context():
        sm = app.appbuilder.sm
        auditor = sm.find_role(P.AUDITOR)
        auditor.permissions.append(sm.find_permission_view_menu("can_delete", P.CUSTOMER))
        sm.session.commit()
    try:
        assert app.test_cli_runner().invoke(args=["sync-roles"]).exit_code == 0
        with app.app_context():
            held = permission_matrix(app.appbuilder, roles={P.AUDITOR})[P.AUDITOR]
            assert f"can_delete on {P.CUSTOMER}" in held
    finally:
        with app.app_context():
            sync_roles(app.appbuilder, reset=True)


def test_sync_is_idempotent_and_repairs_drift(app, matrix):
    """A role changed by hand in the database is put back by an explicit reset (CLI `flask sync-roles --reset`)."""
    with app.app_context():
        sm = app.appbuilder.sm
        auditor = sm.find_role(P.AUDITOR)
        extra = sm.find_permission_view_menu("can_delete", P.CUSTOMER)
        auditor.permissions.append(extra)
        sm.session.commit()
        assert f"can_delete on {P.CUSTOMER}" in permission_matrix(app.appbuilder, roles={P.AUDITOR})[P.AUDITOR]

    result = app.test_cli_runner().invoke(args=["sync-roles", "--reset"])
    assert result.exit_code == 0, result.output
    for role in ROLES:
        assert f"{role}: {len(matrix[role])}" in result.output

    with app.app_context():
        assert permission_matrix(app.appbuilder, roles=set(ROLES)) == matrix


def test_every_role_of_the_issue_exists(snapshot):
    assert set(snapshot) == {"系统管理员", "客户经理", "风控专员", "审保会委员", "总经理", "财务会计", "财务复核",
                             "出纳", "审计(只读)", "部门负责人"}


def test_admin_holds_everything(app, snapshot):
    with app.app_context():
        sm = app.appbuilder.sm
        every = {f"{pv.permission.name} on {pv.view_menu.name}" for pv in sm.session.query(sm.permissionview_model)}
    assert snapshot[P.ADMIN] == every
    for role, perms in snapshot.items():
        assert perms <= snapshot[P.ADMIN], role


def test_auditor_holds_no_write_permission(snapshot):
    writes = sorted(p for p in snapshot[P.AUDITOR] - SELF_SERVICE if p.split(" on ")[0] not in READ_PERMISSIONS
                    and p.split(" on ")[1] not in P.PERSONAL_RESOURCES)  # his own messages, requests, ...
    assert writes == []
    # ...and reads every business screen the organisation keeps.
    for resource in (P.CUSTOMER, P.OPERATION_LOG, P.LOGIN_LOG, P.SETTING, P.DEPARTMENT, P.EMPLOYEE):
        assert f"can_read on {resource}" in snapshot[P.AUDITOR]


def test_only_admin_administers_security(snapshot):
    security_views = {"UserDBModelView", "RoleModelView", "PermissionModelView", "ViewMenuModelView",
                      "PermissionViewModelView", "UserGroupModelView", "User", "Role", "Permission", "ViewMenu",
                      "PermissionViewMenu", "Group", "ResetPasswordView", "UserInfoEditView", "UserStatsChartView"}
    for role, perms in snapshot.items():
        if role == P.ADMIN:
            continue
        admin_only = sorted(p for p in perms - SELF_SERVICE if p.split(" on ")[1] in security_views)
        assert admin_only == [], role


# --- the matrix through HTTP -------------------------------------------------------------------------

def _views(app):
    from views.base import BaseApi, BaseModelView

    screens = [v for v in app.appbuilder.baseviews if isinstance(v, BaseModelView)]
    apis = [v for v in app.appbuilder.baseviews if isinstance(v, BaseApi)]
    assert screens and apis
    return screens, apis


def _permission(view, method: str) -> str:
    """The permission FAB's has_access/protect checks for `method` of `view`."""
    name = getattr(getattr(view, method, None), "_permission_name", method)
    name = (view.method_permission_name or {}).get(method) or name
    return f"can_{name} on {view.class_permission_name}"


def _has_route(app, view, method: str) -> bool:
    return f"{view.endpoint}.{method}" in app.view_functions


def _first_pk(app, view):
    from app.services.data_scope import is_scoped

    if view.base_filters or is_scoped(view.datamodel.obj):
        # Row-scoped screens (My exports shows each user only their own jobs; business records follow the
        # role's data scope, tests/integration/test_data_scope.py): which rows a user sees depends on what
        # other tests left behind, so they are checked on a missing row (404 when allowed).
        return None
    with app.app_context():
        from app.extensions import db

        model = view.datamodel.obj
        row = db.session.query(model).order_by(model.id).first()
        return row.id if row is not None else None


def _seed_customer(app):
    """A customer row, so show/edit of customers are exercised on a real record."""
    with app.app_context():
        from app.extensions import db
        from models.customers import Customer

        if db.session.query(Customer).first() is None:
            db.session.add(Customer(code="PM-MATRIX-1", kind="corporate", name="矩阵测试客户", id_type="USCC",
                                    id_number="91350100M000100Y43", direct="direct"))
            db.session.commit()


def _expect(status: int, allowed: bool, found: bool = True, where: str = "") -> str | None:
    if allowed:
        ok = status == 200 if found else status == 404
    else:
        ok = status == 403
    if ok:
        return None
    return f"{where}: {status} (expected {'allowed' if allowed else '403'})"


@pytest.mark.parametrize("role", ROLES)
def test_screens_answer_as_the_matrix_says(app, login_as, snapshot, role):
    _seed_customer(app)
    screens, _ = _views(app)
    held = snapshot[role]
    client = login_as(role)
    token = client.csrf("/users/userinfo/")
    problems = []
    for view in screens:
        base = view.route_base
        pk = _first_pk(app, view)
        found = pk is not None
        # A tab-only view (attachments) has no list page of its own.
        checks = [("list", f"{base}/list/", True)] if _has_route(app, view, "list") else []
        if _has_route(app, view, "show"):
            checks.append(("show", f"{base}/show/{pk or MISSING_PK}", found))
        if _has_route(app, view, "add"):
            checks.append(("add", f"{base}/add", True))
        if _has_route(app, view, "edit"):
            checks.append(("edit", f"{base}/edit/{pk or MISSING_PK}", found))
        for method, url, exists in checks:
            allowed = _permission(view, method) in held
            response = client.get(url)
            if method in ("add", "edit") and allowed and response.status_code == 302:
                # an add screen that needs a parent (statements: a customer) sends the user to pick one;
                # the edit of a record in a final state (a posted voucher) sends the user back with a message
                assert "/login" not in response.headers["Location"], url
                continue
            problems.append(_expect(response.status_code, allowed, exists, f"GET {url}"))
        if _has_route(app, view, "export"):
            allowed = _permission(view, "export") in held
            response = client.get(f"{base}/export/")
            ok = response.status_code in (200, 302) if allowed else response.status_code == 403
            if allowed and response.status_code == 302:
                ok = "/login" not in response.headers["Location"]
            problems.append(None if ok else f"GET {base}/export/: {response.status_code}")
        if _has_route(app, view, "delete"):
            # A missing row: an allowed delete answers 404, a refused one 403; nothing is deleted.
            allowed = _permission(view, "delete") in held
            response = client.post(f"{base}/delete/{MISSING_PK}", data={"csrf_token": token})
            problems.append(_expect(response.status_code, allowed, False, f"POST {base}/delete/"))
    problems = [p for p in problems if p]
    assert not problems, f"{role}:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_custom_actions_answer_as_the_matrix_says(app, login_as, snapshot, role):
    held = snapshot[role]
    client = login_as(role)
    token = client.csrf("/users/userinfo/")
    problems = []
    # Day-end run: only checked for the roles refused (running it moves the business date).
    if f"can_run on {P.DAYEND}" not in held:
        response = client.post("/dayendrunview/run/", data={"csrf_token": token})
        problems.append(_expect(response.status_code, False, where="POST /dayendrunview/run/"))
    for method in ("progress", "status", "file"):
        allowed = f"can_read on {P.EXPORT_JOB}" in held
        response = client.get(f"/exportjobview/{method}/{MISSING_PK}")
        problems.append(_expect(response.status_code, allowed, False, f"GET /exportjobview/{method}/"))
    problems = [p for p in problems if p]
    assert not problems, f"{role}:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_apis_answer_as_the_matrix_says(app, api_as, snapshot, role):
    _seed_customer(app)
    _, apis = _views(app)
    held = snapshot[role]
    client = api_as(role)
    problems = []
    for api in apis:
        base = api.route_base
        pk = _first_pk(app, api)
        if _has_route(app, api, "get_list"):
            allowed = _permission(api, "get_list") in held
            response = client.get(f"{base}/")
            problems.append(_expect(response.status_code, allowed, True, f"GET {base}/"))
            if allowed:
                assert "result" in response.get_json()
        if _has_route(app, api, "info"):
            response = client.get(f"{base}/_info")
            problems.append(_expect(response.status_code, _permission(api, "info") in held, True, f"GET {base}/_info"))
        if _has_route(app, api, "get"):
            response = client.get(f"{base}/{pk or MISSING_PK}")
            problems.append(_expect(response.status_code, _permission(api, "get") in held, pk is not None,
                                    f"GET {base}/<pk>"))
        # Writes with a body the schema refuses / a missing row: allowed answers 4xx other than 403,
        # refused answers 403, and nothing changes either way.
        if _has_route(app, api, "post"):
            response = client.post(f"{base}/", json={"no_such_field_xyz": 1})
            allowed = _permission(api, "post") in held
            ok = (response.status_code in (400, 422)) if allowed else response.status_code == 403
            problems.append(None if ok else f"POST {base}/: {response.status_code}")
        if _has_route(app, api, "put"):
            response = client.put(f"{base}/{MISSING_PK}", json={"no_such_field_xyz": 1})
            allowed = _permission(api, "put") in held
            ok = (response.status_code in (400, 404, 422)) if allowed else response.status_code == 403
            problems.append(None if ok else f"PUT {base}/<pk>: {response.status_code}")
        if _has_route(app, api, "delete"):
            response = client.delete(f"{base}/{MISSING_PK}")
            problems.append(_expect(response.status_code, _permission(api, "delete") in held, False,
                                    f"DELETE {base}/<pk>"))
    problems = [p for p in problems if p]
    assert not problems, f"{role}:\n" + "\n".join(problems)


def test_every_screen_and_api_is_covered(app, snapshot):
    """Each registered screen/API resource is granted to somebody besides the admin, or is admin-only
    on purpose; a new resource nobody can read is a forgotten grant."""
    screens, apis = _views(app)
    readable = {p.split(" on ")[1] for role, perms in snapshot.items() if role != P.ADMIN for p in perms
                if p.startswith("can_read on ")}
    for view in screens + apis:
        assert view.class_permission_name in readable, view.__class__.__name__


@pytest.mark.parametrize("role", [P.CASHIER, P.AUDITOR])
def test_no_route_answers_without_its_permission(app, login_as, snapshot, role):
    """Every GET route of the application, FAB's own included: a 200 only where the role holds the
    permission the route's view asks for (views without a permission of their own are listed)."""
    own = {"HomeView.index", "UtilView.back", "LocaleView.index", "AuthDBView.login", "AuthDBView.logout"}
    views = {getattr(v, "endpoint", None): v for v in app.appbuilder.baseviews}
    held = snapshot[role]
    client = login_as(role)
    problems = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.endswith("static") or rule.endpoint in own:
            continue
        values = {a: MISSING_PK if "Integer" in rule._converters[a].__class__.__name__ else str(MISSING_PK)
                  for a in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        blueprint, _, method = rule.endpoint.rpartition(".")
        view = views.get(blueprint)
        status = client.get(url).status_code
        if status != 200:
            continue
        needed = _permission(view, method) if view is not None else None
        if needed not in held:
            problems.append(f"GET {url}: 200 without {needed}")
    assert not problems, "\n".join(problems)


# --- menus ------------------------------------------------------------------------------------------------

def _menu_items(app):
    """(menu item name, url, "permission on view" needed to open it) for every leaf entry."""
    items = []
    urls = app.url_map.bind("localhost")
    with app.test_request_context():
        for category in app.appbuilder.menu.get_list():
            for item in category.childs or []:
                if item.name == "-" or item.baseview is None:
                    continue
                url = item.get_url()
                method = urls.match(url.split("?")[0], method="GET")[0].split(".")[-1]
                items.append((category.name, item.name, url, _permission(item.baseview, method)))
    return items


@pytest.mark.parametrize("role", ROLES)
def test_menu_shows_only_readable_screens(app, login_as, snapshot, role):
    held = snapshot[role]
    client = login_as(role)
    html = client.get("/").get_data(as_text=True)
    menu = client.get("/api/v1/menu/").get_json()["result"]
    shown = {child["name"] for category in menu for child in category.get("childs", []) if isinstance(child, dict)}
    categories = {category["name"] for category in menu}
    for category, name, url, needed in _menu_items(app):
        readable = needed in held
        assert (f"menu_access on {name}" in held) == readable, (role, name)
        assert (name in shown) == readable, (role, name)
        assert (f'href="{url}"' in html) == readable, (role, name, url)
        if readable:
            assert category in categories
        response = client.get(url)
        assert (response.status_code == 200) == readable, (role, url, response.status_code)


# --- self-service and FAB's user management ----------------------------------------------------------------

@pytest.mark.parametrize("role", [r for r in ROLES if r != P.ADMIN])
def test_every_role_changes_its_own_password(app, new_user, role):
    username = new_user(role)
    client = WebClient(app)
    assert client.login(username).headers["Location"] != "/login/"
    info = client.get("/users/userinfo/")
    assert info.status_code == 200
    html = info.get_data(as_text=True)
    action = re.search(r'<form id="action_form" action="([^"]+)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post(action, data={"csrf_token": token, "action": "resetmypassword"})
    assert response.status_code == 302 and "/resetmypassword/form" in response.headers["Location"]
    new_password = "Changed#2026x"
    response = client.post_form("/resetmypassword/form", {"password": new_password, "conf_password": new_password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.get("/logout/")
    assert client.login(username, TEST_PASSWORD).headers["Location"].startswith("/login/")
    assert not client.login(username, new_password).headers["Location"].startswith("/login/")


def test_admin_user_screens_show_role_names(admin_web):
    html = admin_web.get("/users/list/").get_data(as_text=True)
    for role in (P.ACCOUNT_MANAGER, P.AUDITOR, P.CASHIER):
        assert role in html
    add_form = admin_web.get("/users/add").get_data(as_text=True)
    for role in ROLES:
        assert f">{role}<" in add_form
    assert P.GENERAL_MANAGER in admin_web.get("/roles/list/").get_data(as_text=True)


def _routed(app, url) -> bool:
    try:
        app.url_map.bind("localhost").match(url.split("?")[0], method="GET")
        return True
    except Exception:
        return False


def test_fab_security_screens_exist(app):
    assert sum(_routed(app, url) for url in FAB_SECURITY_SCREENS) >= 10


@pytest.mark.parametrize("role", [r for r in ROLES if r != P.ADMIN])
def test_non_admins_cannot_use_user_management(app, login_as, api_as, role):
    client = login_as(role)
    token = client.csrf("/users/userinfo/")
    for url in FAB_SECURITY_SCREENS:
        if _routed(app, url):
            assert client.get(url).status_code == 403, (role, url)
    for url in ("/users/add", "/users/edit/1", "/users/delete/1", "/roles/add"):
        response = client.post(url, data={"csrf_token": token, "username": "intruder", "active": "y"})
        assert response.status_code == 403, (role, url)
    response = client.post("/users/action/resetpasswords/1", data={"csrf_token": token})
    assert response.status_code in (302, 403) and "/resetpassword/" not in response.headers.get("Location", "")
    api = api_as(role)
    for url in FAB_SECURITY_APIS:
        assert api.get(url).status_code == 403, (role, url)
    assert api.post("/api/v1/security/users/", json={"username": "intruder"}).status_code == 403
