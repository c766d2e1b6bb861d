"""SYS-5: every insert/update/delete made through the screens is in the operation log, with who, when,
which table and record, and the changed fields old → new; the log itself is read-only everywhere."""
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import permissions as P
from models.customers import Customer
from models.system import Department, OperationLog
from tests.conftest import ROLE_USERS, unique
from tests.integration.datalayer import assert_no_driver_text, customer_form, make_ric, store  # noqa: F401

ADMIN = ROLE_USERS[P.ADMIN]


@pytest.fixture
def since(store):
    """The last operation-log id before the test: SQLite reuses the id of a deleted last row, so the log of
    "record 7" may also hold an earlier test's record 7."""
    return store.scalar(select(func.max(OperationLog.id))) or 0


def _logs(store, table, record_id, after):
    return store.all(
        select(OperationLog).where(OperationLog.table_name == table, OperationLog.record_id == str(record_id),
                                   OperationLog.id > after)
        .order_by(OperationLog.id)
    )


def _user_id(app, username):
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def test_customer_insert_update_delete_are_logged(app, store, admin_web, since):
    id_number = make_ric()
    form = customer_form(name="日志客户", id_number=id_number, phone="13900000001")
    response = admin_web.post_form("/customerview/add", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    customer = store.one(select(Customer).where(Customer.id_number == id_number))
    admin_id = _user_id(app, ADMIN)

    (insert,) = _logs(store, "cus_customer", customer.id, since)
    assert insert.action == "insert"
    assert insert.username == ADMIN and insert.user_id == admin_id
    assert insert.at is not None
    changes = json.loads(insert.changes)
    assert changes["name"] == [None, "日志客户"]
    assert changes["id_number"] == [None, id_number]
    assert changes["code"][1] == customer.code
    assert "created_at" not in changes and "created_by_id" not in changes

    # Edit two fields; the form posts every field, only the changed ones are logged.
    edit = {**form, "name": "日志客户改", "phone": "13900000002",
            "gender": customer.gender, "birth_date": customer.birth_date.isoformat(),
            "manager": str(customer.manager_id)}  # the edit form shows the current account manager selected
    response = admin_web.post_form(f"/customerview/edit/{customer.id}", edit)
    assert response.status_code == 302
    logs = _logs(store, "cus_customer", customer.id, since)
    assert [log.action for log in logs] == ["insert", "update"]
    update = logs[1]
    assert update.username == ADMIN and update.user_id == admin_id
    assert json.loads(update.changes) == {"name": ["日志客户", "日志客户改"], "phone": ["13900000001", "13900000002"]}

    # Saving the form unchanged writes no log row.
    edit_again = {**edit}
    admin_web.post_form(f"/customerview/edit/{customer.id}", edit_again)
    assert len(_logs(store, "cus_customer", customer.id, since)) == 2

    response = admin_web.post_form(f"/customerview/delete/{customer.id}", {}, form_page="/customerview/list/")
    assert response.status_code == 302
    assert store.get(Customer, customer.id) is None
    logs = _logs(store, "cus_customer", customer.id, since)
    assert [log.action for log in logs] == ["insert", "update", "delete"]
    deleted = json.loads(logs[2].changes)
    assert deleted["name"] == ["日志客户改", None] and deleted["id_number"] == [id_number, None]
    assert logs[2].username == ADMIN


def test_department_changes_are_logged_including_the_parent(app, store, admin_web, since):
    hq = store.one(select(Department).where(Department.code == "HQ"))
    other = Department(code=unique("P"), name="另一上级")
    store.add(other)
    code = unique("D")
    response = admin_web.post_form("/departmentview/add", {
        "code": code, "name": "风险管理部", "parent": str(hq.id), "sort_order": "5", "phone": "", "active": "y"})
    assert response.status_code == 302
    dept = store.one(select(Department).where(Department.code == code))
    (insert,) = _logs(store, "sys_department", dept.id, since)
    changes = json.loads(insert.changes)
    assert insert.action == "insert" and insert.username == ADMIN
    assert changes["code"] == [None, code] and changes["parent_id"] == [None, hq.id]

    # Moving the department (a relationship field on the form) is logged as its foreign key.
    response = admin_web.post_form(f"/departmentview/edit/{dept.id}", {
        "code": code, "name": "风险管理部二", "parent": str(other.id), "sort_order": "5", "phone": "", "active": "y"})
    assert response.status_code == 302
    update = _logs(store, "sys_department", dept.id, since)[-1]
    assert update.action == "update"
    assert json.loads(update.changes) == {"name": ["风险管理部", "风险管理部二"], "parent_id": [hq.id, other.id]}

    response = admin_web.post_form(f"/departmentview/delete/{dept.id}", {}, form_page="/departmentview/list/")
    assert response.status_code == 302
    delete = _logs(store, "sys_department", dept.id, since)[-1]
    assert delete.action == "delete" and json.loads(delete.changes)["code"] == [code, None]


def test_service_changes_are_logged_as_system(app, db):
    """Outside a request (CLI, day-end, Celery) the actor is 'system'."""
    from app.services import settings

    from models.system import SystemSetting

    old = settings.get("login_lock_minutes")
    settings.set_value("login_lock_minutes", old + 1)
    db.session.commit()
    row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "login_lock_minutes")).scalar_one()
    log = db.session.execute(select(OperationLog).where(
        OperationLog.table_name == "sys_setting", OperationLog.record_id == str(row.id)
    ).order_by(OperationLog.id.desc()).limit(1)).scalar_one()
    assert log.username == "system" and log.user_id is None and log.action == "update"
    assert json.loads(log.changes) == {"value": [str(old), str(old + 1)]}
    settings.set_value("login_lock_minutes", old)
    db.session.commit()


@pytest.mark.parametrize("path,method", [
    ("/operationlogview/add", "get"), ("/operationlogview/add", "post"),
    ("/operationlogview/edit/{pk}", "get"), ("/operationlogview/edit/{pk}", "post"),
    ("/operationlogview/delete/{pk}", "post"),
])
def test_log_screen_has_no_add_edit_delete(app, store, admin_web, path, method):
    pk = store.scalar(select(OperationLog.id).order_by(OperationLog.id.desc()).limit(1))
    assert pk is not None
    before = store.get(OperationLog, pk).changes
    url = path.format(pk=pk)
    if method == "get":
        response = admin_web.get(url)
    else:
        response = admin_web.post_form(url, {"changes": "{}", "username": "hacker"},
                                       form_page="/operationlogview/list/")
    assert response.status_code in (403, 404, 405)
    assert_no_driver_text(response.get_data(as_text=True))
    assert store.get(OperationLog, pk).changes == before
    list_html = admin_web.get("/operationlogview/list/").get_data(as_text=True)
    assert "/operationlogview/add" not in list_html and "/operationlogview/edit/" not in list_html
    assert "/operationlogview/delete/" not in list_html


def test_log_api_is_read_only(app, store, api_as):
    api = api_as(P.ADMIN)
    listing = api.get("/api/v1/operation_log/?q=(page_size:5)")
    assert listing.status_code == 200 and listing.get_json()["result"]
    pk = listing.get_json()["ids"][0]
    assert api.get(f"/api/v1/operation_log/{pk}").status_code == 200
    before = store.get(OperationLog, pk).changes
    assert api.post("/api/v1/operation_log/", json={"action": "insert", "table_name": "x"}).status_code in (404, 405)
    assert api.put(f"/api/v1/operation_log/{pk}", json={"changes": "{}"}).status_code in (404, 405)
    assert api.delete(f"/api/v1/operation_log/{pk}").status_code in (404, 405)
    assert store.get(OperationLog, pk).changes == before
    # Nobody else reads it either: an account manager has no grant on the log.
    assert api_as(P.ACCOUNT_MANAGER).get("/api/v1/operation_log/").status_code == 403


def test_admin_filters_and_exports_the_log(app, store, admin_web, login_as):
    code = unique("F")
    admin_web.post_form("/departmentview/add", {"code": code, "name": "筛选部", "sort_order": "1", "active": "y"})
    dept = store.one(select(Department).where(Department.code == code))

    query = f"_flt_0_table_name=sys_department&_flt_0_record_id={dept.id}"
    html = admin_web.get(f"/operationlogview/list/?{query}").get_data(as_text=True)
    assert "sys_department" in html and code in html
    html = admin_web.get("/operationlogview/list/?_flt_0_table_name=sys_department").get_data(as_text=True)
    assert "cus_customer" not in html

    response = admin_web.get(f"/operationlogview/export/?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    expected = store.all(select(OperationLog).where(
        OperationLog.table_name == "sys_department", OperationLog.record_id == str(dept.id)))
    assert len(expected) >= 1 and len(rows) == 1 + len(expected)  # header + the filtered rows
    headers = rows[0]  # the screen's columns: time, user, operation, table, record, changes
    assert headers[3] in ("数据表", "Table") and len(headers) == 6
    table_col, changes_col = 3, 5
    assert {row[table_col] for row in rows[1:]} == {"部门管理 (sys_department)"}
    # newest first, as on the screen; the change text is plain (no HTML from the screen's formatter)
    assert code in rows[1][changes_col] and "<b>" not in rows[1][changes_col]

    # Only whoever holds the grant sees it: the auditor reads and exports; an account manager may not.
    auditor = login_as(P.AUDITOR)
    assert auditor.get(f"/operationlogview/list/?{query}").status_code == 200
    assert auditor.get(f"/operationlogview/export/?{query}").status_code == 200
    manager = login_as(P.ACCOUNT_MANAGER)
    assert manager.get("/operationlogview/list/").status_code == 403
    assert manager.get("/operationlogview/export/").status_code == 403


def test_change_after_commit_still_logs_the_old_value(db):
    """Attributes expire at commit; a service that changes one without reading it first still logs old → new."""
    dept = Department(code=unique("X"), name="旧名称", sort_order=3)
    db.session.add(dept)
    db.session.commit()  # expires every attribute
    dept.name = "新名称"
    dept.sort_order = 4
    db.session.commit()
    log = db.session.execute(select(OperationLog).where(
        OperationLog.table_name == "sys_department", OperationLog.record_id == str(dept.id)
    ).order_by(OperationLog.id.desc()).limit(1)).scalar_one()
    assert json.loads(log.changes) == {"name": ["旧名称", "新名称"], "sort_order": [3, 4]}


def test_many_to_many_links_are_logged(app, store, admin_web, since):
    """An employee's approval posts (a link table) change through the screen: logged as the linked ids."""
    from models.system import ApprovalPost, Employee

    posts = store.all(select(ApprovalPost).order_by(ApprovalPost.id).limit(3))
    hq = store.one(select(Department).where(Department.code == "HQ"))
    code = unique("E")
    form = {"code": code, "name": "王五", "gender": "", "department": str(hq.id), "title": "", "phone": "",
            "email": "", "user": "", "posts": [str(posts[0].id), str(posts[1].id)], "hired_on": "", "active": "y"}
    assert admin_web.post_form("/employeeview/add", form).status_code == 302
    employee = store.one(select(Employee).where(Employee.code == code))
    (insert,) = _logs(store, "sys_employee", employee.id, since)
    assert json.loads(insert.changes)["posts"] == [None, sorted([str(posts[0].id), str(posts[1].id)])]

    form["posts"] = [str(posts[1].id), str(posts[2].id)]
    assert admin_web.post_form(f"/employeeview/edit/{employee.id}", form).status_code == 302
    update = _logs(store, "sys_employee", employee.id, since)[-1]
    assert update.action == "update"
    assert json.loads(update.changes) == {"posts": [sorted([str(posts[0].id), str(posts[1].id)]),
                                                    sorted([str(posts[1].id), str(posts[2].id)])]}
