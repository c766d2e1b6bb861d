"""Role administration in a real browser (issue 11): the administrator copies 客户经理 into a new role, takes
删除 on customers away and sets the data scope to the own department; a user with the new role then sees only
the department's customers, no delete button, and a hand-made delete POST is refused."""
import uuid

from sqlalchemy import select

from app import permissions as P
from tests.conftest import TEST_PASSWORD

from .conftest import screenshot


def _customer_codes_of_department(app, department_id) -> set[str]:
    from app.extensions import db
    from models.customers import Customer

    with app.app_context():
        return set(db.session.execute(select(Customer.code).where(Customer.department_id == department_id)).scalars())


def test_copy_role_restrict_and_use_it(app, admin_page, page_as):
    from app.extensions import db
    from models.system import Department, Employee

    page = admin_page
    role_name = "部门经理" + uuid.uuid4().hex[:6]
    page.goto("/roleadmin/")
    assert page.locator("#role-table").is_visible()
    screenshot(page, "role-admin-index", full_page=True)

    # Copy 客户经理.
    row = page.locator(f"#role-table tr[data-role='{P.ACCOUNT_MANAGER}']")
    row.locator("input[name=name]").fill(role_name)
    with page.expect_navigation():
        row.locator(".copy-role-form button[type=submit]").click()
    assert "/roleadmin/matrix/" in page.url
    assert page.locator("#role-name").inner_text() == role_name

    # Take 删除 on customers away (tick it first if the copy lacks it, so the save has something to remove),
    # and set the scope to the own department.
    delete_box = page.locator(f"input[name=perm][value='can_delete|{P.CUSTOMER}']")
    read_box = page.locator(f"input[name=perm][value='can_read|{P.CUSTOMER}']")
    assert read_box.is_checked()
    delete_box.uncheck()
    page.locator("#scope-choice input[value=department]").check()
    with page.expect_navigation():
        page.click("#save-matrix")
    assert page.locator(".alert-success").count() >= 1
    assert not page.locator(f"input[name=perm][value='can_delete|{P.CUSTOMER}']").is_checked()
    assert page.locator("#scope-choice input[value=department]").is_checked()
    screenshot(page, "role-admin-matrix", full_page=False)
    role_url = page.url

    # Compare with 客户经理: the scope row differs.
    page.goto("/roleadmin/")
    page.select_option("#compare-form select[name=a]", label=P.ACCOUNT_MANAGER)
    page.select_option("#compare-form select[name=b]", label=role_name)
    with page.expect_navigation():
        page.click("#compare-form button[type=submit]")
    assert page.locator("#compare-table tr.role-diff").count() >= 1
    screenshot(page, "role-admin-compare", full_page=False)
    page.check("#only-differences")
    assert page.locator("#compare-table tr.role-same").first.is_hidden()

    # A user of 业务一部 holding the new role.
    username = "dept" + uuid.uuid4().hex[:6]
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(username, "部门", "经理", f"{username}@test.local", [sm.find_role(role_name)], TEST_PASSWORD)
        biz1 = db.session.execute(select(Department).where(Department.code == "BIZ1")).scalar()
        db.session.add(Employee(code=f"E-{username}", name="部门经理", department_id=biz1.id, user_id=user.id))
        db.session.commit()
        biz1_id = biz1.id
    expected = _customer_codes_of_department(app, biz1_id)
    assert expected, "the demo data puts customers in 业务一部"

    user_page = page_as(username)
    user_page.goto("/customerview/list/?psize_CustomerView=100")
    codes = set(user_page.locator("table.table-bordered tbody tr td").all_inner_texts())
    shown = {c.strip() for c in codes if c.strip().startswith("KH")}
    assert shown == expected
    assert user_page.locator("a[href*='/customerview/delete/'], form[action*='/delete/']").count() == 0
    screenshot(user_page, "role-admin-user-customers")

    # A hand-made delete POST of one of the visible customers is refused; the customer stays.
    with app.app_context():
        from models.customers import Customer

        target = db.session.execute(select(Customer).where(Customer.department_id == biz1_id)).scalars().first()
        target_id = target.id
    token = user_page.eval_on_selector("input[name=csrf_token]", "e => e.value")
    response = user_page.request.post(f"/customerview/delete/{target_id}", form={"csrf_token": token}, max_redirects=0)
    assert response.status == 403
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(Customer, target_id) is not None

    # Out-of-department customer: not even shown.
    with app.app_context():
        other = db.session.execute(select(Customer).where(Customer.department_id != biz1_id)).scalars().first()
        other_id = other.id if other else None
    if other_id:
        watch = user_page.context.watch
        watch.allow("404")
        response = user_page.goto(f"/customerview/show/{other_id}")
        assert response.status == 404

    admin_page.goto(role_url)
