"""Data scope per role (issue 11): own / own department / department and sub-departments / all, applied by one
mechanism (app/services/data_scope.py through the datamodel of every screen and API).

The acting user works in a sub-department (总部 › 业务一部 › 业务一部一组 … the user sits in 业务一部). Five
customers, one per place in the tree, and the user's role scope is changed between the tests: the change
applies from the next request on, on the same logged-in session.
"""
import io
import json

import pytest
from sqlalchemy import select

from app import permissions as P
from tests.conftest import TEST_PASSWORD, unique

SCOPE_VISIBLE = {
    "own": {"mine"},
    "department": {"mine", "peer"},
    "department_tree": {"mine", "peer", "sub"},
    "all": {"mine", "peer", "sub", "parent", "other"},
}


@pytest.fixture(scope="module")
def world(app):
    """Departments, users, a custom role with every customer permission, five customers."""
    from app.extensions import db
    from app.services import role_admin
    from models.customers import Customer
    from models.system import Department, Employee

    tag = unique("ds")
    with app.app_context():
        sm = app.appbuilder.sm
        root = Department(code=f"{tag}-0", name=f"{tag}总部")
        branch = Department(code=f"{tag}-1", name=f"{tag}业务一部", parent=root)
        team = Department(code=f"{tag}-11", name=f"{tag}业务一部一组", parent=branch)
        other = Department(code=f"{tag}-2", name=f"{tag}业务二部", parent=root)
        db.session.add_all([root, branch, team, other])
        db.session.flush()
        role = role_admin.create_role(f"{tag}-经理")
        pairs = {(P.can(v), P.CUSTOMER) for v in (P.READ, P.ADD, P.EDIT, P.DELETE, P.EXPORT)}
        role_admin.save_matrix(role, pairs, "own")
        users = {}
        for key, dept in (("mine", branch), ("peer", branch), ("sub", team), ("parent", root), ("other", other)):
            username = f"{tag}-{key}"
            user = sm.add_user(username, "范围", key, f"{username}@test.local", [role], TEST_PASSWORD)
            db.session.add(Employee(code=f"{tag}-{key}", name=f"{tag}{key}", department_id=dept.id, user_id=user.id))
            users[key] = user.id
        db.session.flush()
        customers = {}
        for i, (key, dept) in enumerate((("mine", branch), ("peer", branch), ("sub", team), ("parent", root),
                                         ("other", other))):
            c = Customer(code=f"{tag}-C{i}", kind="individual", name=f"{tag}客户{key}", id_type="PASSPORT",
                         id_number=f"{tag}{i}".upper(), direct="direct", manager_id=users[key], owner_id=users[key],
                         department_id=dept.id)
            db.session.add(c)
            db.session.flush()
            customers[key] = c.id
        db.session.commit()
        return {"tag": tag, "role_id": role.id, "users": users, "customers": customers,
                "username": f"{tag}-mine", "departments": {"branch": branch.id, "team": team.id}}


def _set_scope(app, world, scope):
    from app.extensions import db
    from app.services import role_admin

    with app.app_context():
        role_admin.set_scope(role_admin.get_role(world["role_id"]), scope)
        db.session.commit()


def _name_of(world):
    return {f"{world['tag']}客户{key}": key for key in world["customers"]}


def _keys_in(text, world) -> set:
    return {key for name, key in _name_of(world).items() if name in text}


def _exists(app, customer_id) -> bool:
    from app.extensions import db
    from models.customers import Customer

    with app.app_context():
        return db.session.get(Customer, customer_id) is not None


@pytest.mark.parametrize("scope", ["own", "department", "department_tree", "all"])
def test_screens_follow_the_scope(app, world, login_as, scope):
    _set_scope(app, world, scope)
    client = login_as(world["username"])
    expected = SCOPE_VISIBLE[scope]
    listing = client.get(f"/customerview/list/?_flt_0_name={world['tag']}&psize_CustomerView=100")
    assert listing.status_code == 200
    assert _keys_in(listing.get_data(as_text=True), world) == expected

    for key, pk in world["customers"].items():
        visible = key in expected
        show = client.get(f"/customerview/show/{pk}")
        assert show.status_code == (200 if visible else 404), (scope, key, show.status_code)
        assert client.get(f"/customerview/edit/{pk}").status_code == (200 if visible else 404)

    token = client.csrf("/customerview/list/")
    for key, pk in world["customers"].items():
        if key in expected:
            continue
        # A hand-made edit or delete of an out-of-scope row changes nothing.
        edit = client.post(f"/customerview/edit/{pk}", data={"csrf_token": token, "name": "篡改", "kind": "individual"})
        assert edit.status_code == 404
        delete = client.post(f"/customerview/delete/{pk}", data={"csrf_token": token})
        assert delete.status_code == 404
        assert _exists(app, pk)
        from app.extensions import db
        from models.customers import Customer

        with app.app_context():
            assert db.session.get(Customer, pk).name != "篡改"

    # Export: the rows of the file are the rows of the screen.
    export = client.get(f"/customerview/export/?_flt_0_name={world['tag']}")
    assert export.status_code == 200
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(export.data), read_only=True)
    text = " ".join(str(cell) for row in book.active.iter_rows(values_only=True) for cell in row if cell)
    assert _keys_in(text, world) == expected


@pytest.mark.parametrize("scope", ["own", "department", "department_tree", "all"])
def test_api_follows_the_scope(app, world, api_as, scope):
    _set_scope(app, world, scope)
    api = api_as(world["username"])
    expected = SCOPE_VISIBLE[scope]
    q = f"(filters:!((col:name,opr:sw,value:'{world['tag']}')),page_size:100)"
    response = api.get(f"/api/v1/customer/?q={q}")
    assert response.status_code == 200, response.get_data(as_text=True)
    ids = set(response.get_json()["ids"])
    assert {key for key, pk in world["customers"].items() if pk in ids} == expected
    assert response.get_json()["count"] == len(expected)
    for key, pk in world["customers"].items():
        visible = key in expected
        assert api.get(f"/api/v1/customer/{pk}").status_code == (200 if visible else 404)
        if not visible:
            assert api.put(f"/api/v1/customer/{pk}", json={"phone": "13800000000"}).status_code == 404
            assert api.delete(f"/api/v1/customer/{pk}").status_code == 404
            assert _exists(app, pk)


def test_widest_scope_of_several_roles_wins(app, world, api_as):
    """A user holding an "own" role and a "department" role sees the department."""
    from app.extensions import db
    from app.services import role_admin

    _set_scope(app, world, "own")
    with app.app_context():
        sm = app.appbuilder.sm
        wide = role_admin.create_role(unique("宽"))
        role_admin.set_scope(wide, "department")
        user = sm.find_user(username=world["username"])
        user.roles = [*user.roles, wide]
        db.session.commit()
        wide_id = wide.id
    try:
        api = api_as(world["username"])
        q = f"(filters:!((col:name,opr:sw,value:'{world['tag']}')),page_size:100)"
        ids = set(api.get(f"/api/v1/customer/?q={q}").get_json()["ids"])
        assert {k for k, pk in world["customers"].items() if pk in ids} == SCOPE_VISIBLE["department"]
    finally:
        with app.app_context():
            user = app.appbuilder.sm.find_user(username=world["username"])
            user.roles = [r for r in user.roles if r.id != wide_id]
            db.session.commit()


def test_user_without_department_falls_back_to_own(app, world):
    from app.services.data_scope import UserScope, compute_scope

    with app.app_context():
        sm = app.appbuilder.sm
        _set_scope(app, world, "department_tree")
        lonely = sm.add_user(unique("lonely"), "无", "部门", f"{unique('l')}@test.local",
                             [sm.find_role(P.ACCOUNT_MANAGER)], TEST_PASSWORD)
        scope = compute_scope(lonely)
        assert isinstance(scope, UserScope) and scope.scope == "own"
        mine = compute_scope(sm.find_user(username=world["username"]))
        assert mine.scope == "department_tree"
        assert set(mine.department_ids) == {world["departments"]["branch"], world["departments"]["team"]}


def test_shipped_scopes(app):
    from app.services import role_admin

    with app.app_context():
        for name, scope in P.ROLE_SCOPES.items():
            assert role_admin.get_scope(app.appbuilder.sm.find_role(name)) == scope
    assert P.ROLE_SCOPES[P.ACCOUNT_MANAGER] == "own" and P.ROLE_SCOPES[P.DEPARTMENT_HEAD] == "department_tree"


def test_child_records_follow_their_parent(app, world):
    """A model with __scope_parent__ (financial statements → customer; their items → statement → customer)."""
    from datetime import date

    from flask import g
    from flask_login import login_user

    from app.extensions import db
    from app.services.data_scope import apply_scope, ensure_visible, is_scoped
    from app.errors import NotFound

    fin = pytest.importorskip("models.customer_finance")
    _set_scope(app, world, "department")
    with app.app_context():
        statements = {}
        for key in ("mine", "sub"):
            st = fin.FinancialStatement(customer_id=world["customers"][key], period_end=date(2025, 12, 31),
                                        period_type="annual", audited=False, currency_unit="元")
            st.items = [fin.FinancialStatementItem(item_code=f"x{key}", amount=1)]
            db.session.add(st)
            db.session.flush()
            statements[key] = st
        db.session.commit()
        ids = {key: st.id for key, st in statements.items()}
        assert is_scoped(fin.FinancialStatement) and is_scoped(fin.FinancialStatementItem)
        user = app.appbuilder.sm.find_user(username=world["username"])
        with app.test_request_context("/"):
            g.user = user
            login_user(user)
            seen = set(db.session.execute(apply_scope(select(fin.FinancialStatement.id), fin.FinancialStatement)
                                          .where(fin.FinancialStatement.id.in_(ids.values()))).scalars())
            assert seen == {ids["mine"]}
            items = db.session.execute(apply_scope(select(fin.FinancialStatementItem.item_code),
                                                   fin.FinancialStatementItem)
                                       .where(fin.FinancialStatementItem.statement_id.in_(ids.values()))).scalars()
            assert set(items) == {"xmine"}
            ensure_visible(db.session.get(fin.FinancialStatement, ids["mine"]))
            with pytest.raises(NotFound):
                ensure_visible(db.session.get(fin.FinancialStatement, ids["sub"]))
        for st in statements.values():
            db.session.delete(db.session.get(fin.FinancialStatement, st.id))
        db.session.commit()


def test_no_request_means_no_restriction_and_anonymous_sees_nothing(app, world):
    from app.extensions import db
    from app.services.data_scope import apply_scope
    from models.customers import Customer

    with app.app_context():
        stmt = select(Customer.id).where(Customer.id.in_(world["customers"].values()))
        assert len(db.session.execute(apply_scope(stmt, Customer)).all()) == 5  # CLI, day-end, jobs
        with app.test_request_context("/"):
            assert db.session.execute(apply_scope(stmt, Customer)).all() == []


def test_actions_refuse_out_of_scope_rows(app, world, login_as):
    """FAB's action routes fetch rows without the view's filters; here an out-of-scope id is a 404 there too."""
    from views.customers import CustomerView

    view = next(v for v in app.appbuilder.baseviews if type(v) is CustomerView)
    if not view.actions:
        pytest.skip("the customer screen has no actions yet")
    name = next(iter(view.actions))
    _set_scope(app, world, "own")
    client = login_as(world["username"])
    token = client.csrf("/customerview/list/")
    other = world["customers"]["other"]
    response = client.post("/customerview/action_post", data={"csrf_token": token, "action": name, "rowid": [other]})
    assert response.status_code == 404
    response = client.post(f"/customerview/action/{name}/{other}", data={"csrf_token": token})
    assert response.status_code == 404
    assert _exists(app, other)
