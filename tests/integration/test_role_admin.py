"""Role administration (issue 11): the permission matrix round-trips, role management, guard rails, the
operation log (old → new), start-up keeping administrators' changes, reset to the shipped definition."""
import io
import json
import re

import pytest
from sqlalchemy import select

from app import permissions as P
from tests.conftest import ROLE_USERS, TEST_PASSWORD, unique

CUSTOMER_DELETE = ("can_delete", P.CUSTOMER)
CUSTOMER_READ = ("can_read", P.CUSTOMER)


def _role(app, name):
    return app.appbuilder.sm.find_role(name)


def _held(app, role_id) -> set:
    from app.extensions import db
    from app.services import role_admin
    from flask_appbuilder.security.sqla.models import Role

    db.session.expire_all()
    return role_admin.held_pairs(db.session.get(Role, role_id))


def _new_role(app, pairs=(), scope="own"):
    from app.services import role_admin

    with app.app_context():
        role = role_admin.create_role(unique("角色"))
        if pairs or scope != "own":
            role_admin.save_matrix(role, set(pairs), scope)
        return role.id, role.name


def _form(pairs, scope="own"):
    return {"perm": [f"{perm}|{res}" for perm, res in pairs], "scope": scope}


def _log_entries(app, table, record_id):
    from app.extensions import db
    from models.system import OperationLog

    with app.app_context():
        rows = db.session.execute(select(OperationLog).where(OperationLog.table_name == table,
                                                             OperationLog.record_id == str(record_id))
                                  .order_by(OperationLog.id)).scalars().all()
        return [(row.action, json.loads(row.changes), row.username) for row in rows]


# --- the matrix ------------------------------------------------------------------------------------------

def test_ticking_a_cell_grants_exactly_that_permission(app, admin_web):
    role_id, _ = _new_role(app)
    page = admin_web.get(f"/roleadmin/matrix/{role_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'value="can_delete|{P.CUSTOMER}"' in html
    text = re.sub(r"<[^>]+>", "", html)  # what the page shows: no technical pair
    assert "can_" not in text and "UserDBModelView" not in text and "menu_access" not in text

    response = admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([CUSTOMER_READ, CUSTOMER_DELETE]),
                                   form_page=f"/roleadmin/matrix/{role_id}")
    assert response.status_code == 302
    with app.app_context():
        held = _held(app, role_id)
    # The two permissions, plus the menu entries the read opens (derived, never ticked).
    menus = {p for p in held if p[0] == "menu_access"}
    assert held - menus == {CUSTOMER_READ, CUSTOMER_DELETE}
    assert ("menu_access", "Customers") in menus and ("menu_access", "CustomerManagement") in menus
    page = admin_web.get(f"/roleadmin/matrix/{role_id}").get_data(as_text=True)
    assert re.search(rf'value="can_delete\|{P.CUSTOMER}"[^>]*checked', page)
    assert not re.search(rf'value="can_add\|{P.CUSTOMER}"[^>]*checked', page)

    # Unticking removes it (and with the read gone, the menu entries go too).
    admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([CUSTOMER_DELETE]),
                        form_page=f"/roleadmin/matrix/{role_id}")
    with app.app_context():
        assert _held(app, role_id) == {CUSTOMER_DELETE}
    admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([]), form_page=f"/roleadmin/matrix/{role_id}")
    with app.app_context():
        assert _held(app, role_id) == set()


def test_matrix_refuses_unknown_permissions_and_the_admin_role(app, admin_web):
    role_id, _ = _new_role(app, [CUSTOMER_READ])
    response = admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([("can_fly", "Nowhere")]),
                                   form_page=f"/roleadmin/matrix/{role_id}", follow_redirects=True)
    assert "请刷新页面" in response.get_data(as_text=True)  # "… Reload the page." in Chinese
    with app.app_context():
        assert CUSTOMER_READ in _held(app, role_id)
        admin_id = _role(app, P.ADMIN).id
        before = _held(app, admin_id)
    admin_web.post_form(f"/roleadmin/matrix/{admin_id}/save", _form([CUSTOMER_READ]),
                        form_page=f"/roleadmin/matrix/{admin_id}")
    with app.app_context():
        assert _held(app, admin_id) == before
    # Bad scope: refused, nothing changes.
    admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([], scope="galaxy"),
                        form_page=f"/roleadmin/matrix/{role_id}")
    with app.app_context():
        assert CUSTOMER_READ in _held(app, role_id)


def test_a_change_applies_at_the_users_next_request(app, admin_web, login_as, new_user):
    role_id, role_name = _new_role(app)
    with app.app_context():
        sm = app.appbuilder.sm
        username = unique("nx")
        sm.add_user(username, "下", "次", f"{username}@test.local", [sm.find_role(role_name)], TEST_PASSWORD)
    user = login_as(username)
    assert user.get("/customerview/list/").status_code == 403
    admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([CUSTOMER_READ]),
                        form_page=f"/roleadmin/matrix/{role_id}")
    assert user.get("/customerview/list/").status_code == 200
    assert 'href="/customerview/list/' in user.get("/").get_data(as_text=True)  # the menu follows


# --- role management -------------------------------------------------------------------------------------

def test_copy_rename_delete(app, admin_web):
    from app.services import role_admin

    with app.app_context():
        source = _role(app, P.ACCOUNT_MANAGER)
        source_id, shipped = source.id, role_admin.held_pairs(source)
    name = unique("复制")
    response = admin_web.post_form("/roleadmin/create", {"name": name, "copy_from": source_id}, form_page="/roleadmin/")
    assert response.status_code == 302
    with app.app_context():
        copy = _role(app, name)
        assert role_admin.held_pairs(copy) == shipped
        assert role_admin.get_scope(copy) == "own"
        copy_id = copy.id

    new_name = unique("改名")
    admin_web.post_form(f"/roleadmin/rename/{copy_id}", {"name": new_name}, form_page=f"/roleadmin/matrix/{copy_id}")
    with app.app_context():
        assert _role(app, new_name) is not None and _role(app, name) is None
    assert [c for _, c, _ in _log_entries(app, "ab_role", copy_id) if c.get("name") == [name, new_name]]

    # Duplicate names, empty names and renaming a built-in role are refused.
    for bad in (P.CASHIER, "  "):
        admin_web.post_form(f"/roleadmin/rename/{copy_id}", {"name": bad}, form_page=f"/roleadmin/matrix/{copy_id}")
        with app.app_context():
            assert _role(app, new_name) is not None
    admin_web.post_form(f"/roleadmin/rename/{source_id}", {"name": unique("x")},
                        form_page=f"/roleadmin/matrix/{source_id}")
    with app.app_context():
        assert _role(app, P.ACCOUNT_MANAGER) is not None
    response = admin_web.post_form("/roleadmin/create", {"name": P.CASHIER}, form_page="/roleadmin/",
                                   follow_redirects=True)
    assert response.status_code == 200

    admin_web.post_form(f"/roleadmin/delete/{copy_id}", {}, form_page=f"/roleadmin/matrix/{copy_id}")
    with app.app_context():
        assert _role(app, new_name) is None
    assert any(action == "delete" for action, _, _ in _log_entries(app, "ab_role", copy_id))


def test_a_role_users_hold_is_not_deleted_on_any_channel(app, admin_web, api_as):
    role_id, role_name = _new_role(app, [CUSTOMER_READ])
    with app.app_context():
        sm = app.appbuilder.sm
        username = unique("holder")
        sm.add_user(username, "持", "有", f"{username}@test.local", [sm.find_role(role_name)], TEST_PASSWORD)
    users_page = admin_web.get(f"/roleadmin/users/{role_id}").get_data(as_text=True)
    assert username in users_page

    response = admin_web.post_form(f"/roleadmin/delete/{role_id}", {}, form_page=f"/roleadmin/matrix/{role_id}",
                                   follow_redirects=True)
    assert "1" in response.get_data(as_text=True)
    response = admin_web.post_form(f"/roles/delete/{role_id}", {}, form_page="/roles/list/", follow_redirects=True)
    assert response.status_code == 200
    api = api_as(P.ADMIN)
    response = api.delete(f"/api/v1/security/roles/{role_id}")
    assert response.status_code in (409, 422), response.get_data(as_text=True)
    with app.app_context():
        assert _role(app, role_name) is not None


def test_compare_users_export(app, admin_web):
    with app.app_context():
        a, b = _role(app, P.ACCOUNT_MANAGER).id, _role(app, P.AUDITOR).id
    page = admin_web.get(f"/roleadmin/compare?a={a}&b={b}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "diff-cell" in html and "role-same" in html
    assert admin_web.get("/roleadmin/").status_code == 200
    assert P.ACCOUNT_MANAGER in admin_web.get("/roleadmin/").get_data(as_text=True)
    assert ROLE_USERS[P.CASHIER] in admin_web.get(f"/roleadmin/users/{_role_id(app, P.CASHIER)}").get_data(as_text=True)

    export = admin_web.get("/roleadmin/export")
    assert export.status_code == 200
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(export.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    for role in P.ROLE_GRANTS:
        assert role in rows[0]
    auditor_col = rows[0].index(P.AUDITOR)
    assert any(r[auditor_col] == "✓" for r in rows[2:]) and len(rows) > 20


def _role_id(app, name):
    with app.app_context():
        return _role(app, name).id


def test_only_the_administrator_manages_roles(app, login_as):
    clerk = login_as(P.ACCOUNT_MANAGER)
    assert clerk.get("/roleadmin/").status_code == 403
    auditor = login_as(P.AUDITOR)
    role_id = _role_id(app, P.CASHIER)
    assert auditor.get("/roleadmin/").status_code == 200
    page = auditor.get(f"/roleadmin/matrix/{role_id}").get_data(as_text=True)
    assert 'id="save-matrix"' not in page and "disabled" in page
    token = auditor.csrf(f"/roleadmin/matrix/{role_id}")
    response = auditor.post(f"/roleadmin/matrix/{role_id}/save", data={"csrf_token": token, "perm": []})
    assert response.status_code == 403
    with app.app_context():
        assert _held(app, role_id)


# --- guard rails: the last administrator ------------------------------------------------------------------

def _admin_user_ids(app):
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import User

    admin = _role(app, P.ADMIN)
    return [u.id for u in db.session.query(User).filter(User.roles.contains(admin)).all()]


def test_the_last_administrator_keeps_the_role(app, admin_web, api_as):
    from app.errors import GuaranteeError
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import User

    me = ROLE_USERS[P.ADMIN]
    with app.app_context():
        admin = _role(app, P.ADMIN)
        me_id = app.appbuilder.sm.find_user(username=me).id
        others = [uid for uid in _admin_user_ids(app) if uid != me_id]
        # Removing the role from every administrator in one go is refused (session guard).
        for uid in [me_id, *others]:
            user = db.session.get(User, uid)
            user.roles = [r for r in user.roles if r.id != admin.id]
        with pytest.raises(GuaranteeError):
            db.session.commit()
        db.session.rollback()
        for uid in others:  # leave `me` the only administrator
            user = db.session.get(User, uid)
            user.roles = [r for r in user.roles if r.id != admin.id]
        db.session.commit()
        cashier_id = _role(app, P.CASHIER).id
        admin_id = admin.id
    api = api_as(P.ADMIN)
    try:
        # FAB's user edit screen.
        form_page = admin_web.get(f"/users/edit/{me_id}").get_data(as_text=True)
        assert form_page
        data = {"first_name": "测试", "last_name": P.ADMIN, "username": me, "email": f"{me}@test.local",
                "active": "y", "roles": [str(cashier_id)]}
        response = admin_web.post_form(f"/users/edit/{me_id}", data, form_page=f"/users/edit/{me_id}",
                                       follow_redirects=True)
        assert response.status_code == 200
        assert "最后一名系统管理员" in response.get_data(as_text=True)  # "The last administrator …"
        with app.app_context():
            assert me_id in _admin_user_ids(app)
        # Deactivating or deleting the last administrator is refused too.
        response = admin_web.post_form(f"/users/delete/{me_id}", {}, form_page="/users/list/", follow_redirects=True)
        with app.app_context():
            assert db.session.get(User, me_id) is not None
        # The REST security API.
        response = api.put(f"/api/v1/security/users/{me_id}", json={"roles": [cashier_id]})
        assert response.status_code in (400, 409, 422), (response.status_code, response.get_data(as_text=True))
        with app.app_context():
            assert me_id in _admin_user_ids(app)
        # Adding a second administrator first makes the change possible.
        with app.app_context():
            assert _role(app, P.ADMIN).id == admin_id
    finally:
        with app.app_context():
            admin = _role(app, P.ADMIN)
            for uid in others:
                user = db.session.get(User, uid)
                if admin not in user.roles:
                    user.roles = [*user.roles, admin]
            db.session.commit()


# --- the operation log ----------------------------------------------------------------------------------

def test_changes_are_logged_old_to_new(app, admin_web):
    from app import permission_names as N

    role_id, role_name = _new_role(app, [CUSTOMER_READ])
    admin_web.post_form(f"/roleadmin/matrix/{role_id}/save", _form([CUSTOMER_DELETE], scope="department"),
                        form_page=f"/roleadmin/matrix/{role_id}")
    with app.test_request_context("/"):
        read_label, delete_label = N.label(*CUSTOMER_READ), N.label(*CUSTOMER_DELETE)
    entries = _log_entries(app, "ab_role", role_id)
    last = entries[-1][1]
    assert last[delete_label] == [False, True] and last[read_label] == [True, False]
    assert entries[-1][2] == ROLE_USERS[P.ADMIN]
    assert not any(key.startswith(("menu_access", "can_")) for key in last)

    with app.app_context():
        from app.extensions import db
        from models.system_scope import RoleDataScope

        scope_row = db.session.execute(select(RoleDataScope).where(RoleDataScope.role_id == role_id)).scalar()
        scope_id = scope_row.id
    assert any(c.get("scope") == ["own", "department"] for _, c, _ in _log_entries(app, "sys_role_scope", scope_id))

    # Giving a user the role (FAB's user screen, REST or code) is logged with the role names.
    with app.app_context():
        from app.extensions import db

        sm = app.appbuilder.sm
        username = unique("lg")
        user = sm.add_user(username, "日", "志", f"{username}@test.local", [sm.find_role(P.CASHIER)], TEST_PASSWORD)
        user_id = user.id
        user.roles = [*user.roles, sm.find_role(role_name)]
        db.session.commit()
    changes = [c for _, c, _ in _log_entries(app, "ab_user_role", user_id)]
    assert {"user": [username, username], "roles": [[P.CASHIER], sorted([P.CASHIER, role_name])]} in changes


# --- start-up and reset -----------------------------------------------------------------------------------

def test_start_up_keeps_edits_grants_new_permissions_and_reset_restores(app):
    """sync_roles() at start-up: an administrator's edit of a shipped role survives; a permission registered for
    the first time reaches the shipped roles ROLE_GRANTS gives it; reset puts the shipped definition back."""
    from app.extensions import db
    from app.services import role_admin
    from app.services.roles import role_pairs, sync_roles

    with app.app_context():
        sm = app.appbuilder.sm
        risk = _role(app, P.RISK_OFFICER)
        shipped = role_admin.held_pairs(risk)
        dict_read = ("can_read", P.DICTIONARY)
        assert dict_read in shipped and ("can_export", P.CUSTOMER) in shipped
        # The administrator removes the dictionary read and widens the scope.
        role_admin.save_matrix(risk, {p for p in shipped if p[0] != "menu_access"} - {dict_read}, "department")
        # A permission new to this database (as when a release adds a screen): drop it, then start up.
        pv = sm.find_permission_view_menu("can_export", P.CUSTOMER)
        for role in db.session.query(sm.role_model):
            if pv in role.permissions:
                role.permissions = [p for p in role.permissions if p is not pv]
        db.session.delete(pv)
        db.session.commit()
        sync_roles(app.appbuilder)
        risk = _role(app, P.RISK_OFFICER)
        held = role_admin.held_pairs(risk)
        assert dict_read not in held  # the edit survived
        assert ("can_export", P.CUSTOMER) in held  # the new permission reached the shipped role
        assert role_admin.get_scope(risk) == "department"
        assert ("can_export", P.CUSTOMER) in role_admin.held_pairs(_role(app, P.ADMIN))
        assert ("can_export", P.CUSTOMER) not in role_admin.held_pairs(_role(app, P.CASHIER))

        role_admin.reset_role(risk)
        risk = _role(app, P.RISK_OFFICER)
        assert role_admin.held_pairs(risk) == shipped
        assert role_admin.get_scope(risk) == "all"


def test_reset_through_the_page(app, admin_web):
    from app.services import role_admin

    role_id = _role_id(app, P.CASHIER)
    with app.app_context():
        shipped = _held(app, role_id)
        role_admin.save_matrix(_role(app, P.CASHIER), set(), "own")
        assert _held(app, role_id) == set()
    admin_web.post_form(f"/roleadmin/reset/{role_id}", {}, form_page=f"/roleadmin/matrix/{role_id}")
    with app.app_context():
        assert _held(app, role_id) == shipped
        assert role_admin.get_scope(_role(app, P.CASHIER)) == "all"
    result = app.test_cli_runner().invoke(args=["sync-roles", "--reset"])
    assert result.exit_code == 0 and f"{P.CASHIER}:" in result.output


def test_fab_user_screen_still_assigns_roles_and_is_logged(app, admin_web):
    with app.app_context():
        sm = app.appbuilder.sm
        username = unique("fab")
        user = sm.add_user(username, "平", "台", f"{username}@test.local", [sm.find_role(P.CASHIER)], TEST_PASSWORD)
        user_id, manager_role_id = user.id, sm.find_role(P.ACCOUNT_MANAGER).id
    data = {"first_name": "平", "last_name": "台", "username": username, "email": f"{username}@test.local",
            "active": "y", "roles": [str(manager_role_id)]}
    response = admin_web.post_form(f"/users/edit/{user_id}", data, form_page=f"/users/edit/{user_id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with app.app_context():
        from app.extensions import db
        from flask_appbuilder.security.sqla.models import User

        assert [r.name for r in db.session.get(User, user_id).roles] == [P.ACCOUNT_MANAGER]
    changes = [c for _, c, who in _log_entries(app, "ab_user_role", user_id) if who == ROLE_USERS[P.ADMIN]]
    assert {"user": [username, username], "roles": [[P.CASHIER], [P.ACCOUNT_MANAGER]]} in changes
