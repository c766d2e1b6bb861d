"""Bad input on the generated forms: a clear, translated message, nothing written, and never the
database's or the driver's text. Malformed list parameters get a 4xx or a normal page, never a 500."""
from datetime import date

import pytest
from sqlalchemy import select

from models.customers import Customer
from models.system import Department, DictItem, DictType, NumberingRule, OperationLog, SystemSetting
from tests.conftest import unique
from tests.integration.datalayer import (  # noqa: F401
    admin_client, assert_message, assert_no_driver_text, customer_form, make_ric, make_uscc, msg, store,
)

REQUIRED = ("This field is required.", "该字段是必填字段")
NOT_A_DATE = ("Not a valid date value.", "不是有效的日期值")
NOT_AN_INTEGER = ("Not a valid integer value.", "不是有效的整数")
NOT_A_CHOICE = ("不是有效的选择",)  # FAB's relation select message, translated in our catalogue
ALREADY_EXISTS = ("Already exists.", "已经存在")


def too_long(n):
    return (f"Field cannot be longer than {n} characters.", f"字段长度不能超过 {n} 个字符")


def _submit(client, store, url, data, model, form_page=None):
    """POST a form; return the page the user ends up on and check that nothing was written."""
    rows, logs = store.count(model), store.count(OperationLog)
    response = client.post_form(url, data, form_page=form_page, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code < 500, html[-3000:]
    assert_no_driver_text(html)
    assert store.count(model) == rows, "a row was written"
    assert store.count(OperationLog) == logs, "an operation-log row was written"
    return html


@pytest.fixture(autouse=True, scope="module")
def _business_date_of_this_module(app):
    """Identity numbers are checked against the business date (no birth after it): these forms run on a date of
    their own, whatever date earlier tests' day-end runs left behind."""
    from app.extensions import db as database
    from app.services import business_date, settings

    with app.app_context():
        before = settings.get("business_date")
        business_date.set_date(date(2026, 11, 28))
        database.session.commit()
    yield
    with app.app_context():
        settings.set_value("business_date", before or "")
        database.session.commit()


# --- customers -----------------------------------------------------------------------------------

@pytest.fixture
def existing_customer(store):
    birth = date(1985, 6, 15)
    customer = Customer(code=unique("C"), kind="individual", name="已有客户", id_type="RIC",
                        id_number=make_ric(birth, male=False), gender="F", birth_date=birth, direct="direct")
    store.add(customer)
    return customer


def _customer_cases(app):
    birth = date(1990, 3, 8)
    good_male = make_ric(birth, male=True)
    bad_check = good_male[:-1] + ("0" if good_male[-1] != "0" else "1")
    return {
        "text the database cannot store": ({"name": "张\x00三"},
                                           msg(app, "The text contains characters that cannot be stored.")),
        "missing name": ({"name": ""}, REQUIRED),
        "missing ID number": ({"id_number": ""}, REQUIRED),
        "missing kind": ({"kind": ""}, REQUIRED + NOT_A_CHOICE),
        "birth date not a date": ({"birth_date": "1990-02-3x"}, NOT_A_DATE),
        "name too long": ({"name": "名" * 201}, too_long(200)),
        "address too long": ({"address": "址" * 301}, too_long(300)),
        "ID number too long": ({"id_number": "1" * 31}, too_long(30)),
        "kind not offered": ({"kind": "alien"}, NOT_A_CHOICE),
        "manager does not exist": ({"manager": "999999"}, NOT_A_CHOICE),
        "ID check digit wrong": ({"id_number": bad_check},
                                 msg(app, "The resident ID number is not valid (check digit or date).")),
        "ID birth date impossible": ({"id_number": "110101199002300011"},
                                     msg(app, "The resident ID number is not valid (check digit or date).")),
        "birth date disagrees with ID": ({"id_number": good_male, "birth_date": "1990-03-09"},
                                         msg(app, "The birth date does not match the ID number.")),
        "gender disagrees with ID": ({"id_number": good_male, "gender": "F"},
                                     msg(app, "The gender does not match the ID number.")),
        "credit code invalid": ({"kind": "corporate", "id_type": "USCC", "id_number": make_uscc()[:-1] + "!"},
                                msg(app, "The unified social credit code is not valid.")),
        "credit code check wrong": ({"kind": "corporate", "id_type": "USCC",
                                     "id_number": (lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"))(make_uscc())},
                                    msg(app, "The unified social credit code is not valid.")),
        "phone not a mobile number": ({"phone": "12345"},
                                      msg(app, "The mobile phone number must have 11 digits starting with 1.")),
    }


CUSTOMER_CASES = ["text the database cannot store", "missing name", "missing ID number", "missing kind",
                  "birth date not a date", "name too long",
                  "address too long", "ID number too long", "kind not offered", "manager does not exist",
                  "ID check digit wrong", "ID birth date impossible", "birth date disagrees with ID",
                  "gender disagrees with ID", "credit code invalid", "credit code check wrong",
                  "phone not a mobile number"]


@pytest.mark.parametrize("case", CUSTOMER_CASES)
def test_customer_add_refuses_bad_input(app, store, admin_client, case):
    overrides, messages = _customer_cases(app)[case]
    html = _submit(admin_client, store, "/customerview/add", customer_form(**overrides), Customer)
    assert_message(html, *messages)


def test_customer_add_refuses_a_duplicate_identity(app, store, admin_client, existing_customer):
    form = customer_form(id_number=existing_customer.id_number.lower(), gender="F", name="重复客户")
    html = _submit(admin_client, store, "/customerview/add", form, Customer)
    assert_message(html, *msg(app, "This identity already belongs to customer %(name)s (%(code)s), account "
                                   "manager %(manager)s.", name="已有客户", code=existing_customer.code,
                              manager=msg(app, "none")[1]),
                   *msg(app, "This identity already belongs to customer %(name)s (%(code)s), account "
                             "manager %(manager)s.", name="已有客户", code=existing_customer.code,
                        manager="none"))


def test_customer_edit_refuses_a_duplicate_identity_and_changes_nothing(app, store, admin_client, existing_customer):
    birth = date(1992, 1, 2)
    other = Customer(code=unique("C"), kind="individual", name="另一客户", id_type="RIC",
                     id_number=make_ric(birth), gender="M", birth_date=birth, direct="direct")
    store.add(other)
    form = customer_form(name="改名", id_number=existing_customer.id_number, gender="F",
                         birth_date=existing_customer.birth_date.isoformat())
    html = _submit(admin_client, store, f"/customerview/edit/{other.id}", form, Customer)
    assert "已有客户" in html and existing_customer.code in html
    after = store.get(Customer, other.id)
    assert (after.name, after.id_number) == ("另一客户", other.id_number)


def test_customer_edit_with_bad_input_changes_nothing(app, store, admin_client, existing_customer):
    form = customer_form(name="名" * 201, id_number=existing_customer.id_number, gender="F")
    _submit(admin_client, store, f"/customerview/edit/{existing_customer.id}", form, Customer)
    form = customer_form(name="新名字", id_number=existing_customer.id_number, gender="M")  # wrong gender
    html = _submit(admin_client, store, f"/customerview/edit/{existing_customer.id}", form, Customer)
    assert_message(html, *msg(app, "The gender does not match the ID number."))
    assert store.get(Customer, existing_customer.id).name == "已有客户"


# --- departments ---------------------------------------------------------------------------------

def _department(**overrides):
    data = {"code": unique("D"), "name": "测试部", "parent": "", "sort_order": "1", "phone": "", "active": "y"}
    data.update(overrides)
    return data


@pytest.mark.parametrize("overrides,messages", [
    ({"code": ""}, REQUIRED),
    ({"name": ""}, REQUIRED),
    ({"code": "HQ"}, ALREADY_EXISTS),
    ({"sort_order": "abc"}, NOT_AN_INTEGER),
    ({"sort_order": "1.5"}, NOT_AN_INTEGER),
    ({"code": "D" * 31}, too_long(30)),
    ({"name": "部" * 101}, too_long(100)),
    ({"parent": "999999"}, NOT_A_CHOICE),
    ({"code": "D\x00"}, "The text contains characters that cannot be stored."),  # before the unique check
])
def test_department_add_refuses_bad_input(app, store, admin_client, overrides, messages):
    html = _submit(admin_client, store, "/departmentview/add", _department(**overrides), Department)
    assert_message(html, *(msg(app, messages) if isinstance(messages, str) else messages))


def test_department_can_be_switched_off(store, admin_client):
    """An unticked "active" box is an answer (False), not a missing value."""
    data = _department()
    assert admin_client.post_form("/departmentview/add", data).status_code == 302
    dept = store.one(select(Department).where(Department.code == data["code"]))
    assert dept.active is True
    data.pop("active")  # a browser sends nothing for an unticked box
    assert admin_client.post_form(f"/departmentview/edit/{dept.id}", data).status_code == 302
    assert store.get(Department, dept.id).active is False


def test_department_cannot_move_under_itself(app, store, admin_client):
    parent = Department(code=unique("D"), name="上级")
    store.add(parent)
    child = Department(code=unique("D"), name="下级", parent_id=parent.id)
    store.add(child)
    data = _department(code=parent.code, name="上级", parent=str(child.id))
    html = _submit(admin_client, store, f"/departmentview/edit/{parent.id}", data, Department)
    assert_message(html, *msg(app, "A department cannot be placed under itself or its own sub-departments."))
    assert store.get(Department, parent.id).parent_id is None


# --- dictionaries --------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,messages", [
    ({"code": ""}, REQUIRED),
    ({"code": "industry"}, ALREADY_EXISTS),
    ({"code": "c" * 51}, too_long(50)),
    ({"description": "述" * 501}, too_long(500)),
])
def test_dictionary_add_refuses_bad_input(store, admin_client, overrides, messages):
    data = {"code": unique("dt"), "name": "测试字典", "description": ""}
    data.update(overrides)
    html = _submit(admin_client, store, "/dicttypeview/add", data, DictType)
    assert_message(html, *messages)


def test_dictionary_entry_duplicate_code_is_refused_with_our_message(app, store, admin_client):
    """(dictionary, code) is unique only in the database: the refusal comes from the database and is
    translated, never shown as the driver's text."""
    industry = store.one(select(DictType).where(DictType.code == "industry"))
    data = {"dict_type": str(industry.id), "code": "C", "name": "制造业副本", "parent": "", "sort_order": "0",
            "active": "y"}
    html = _submit(admin_client, store, "/dictitemview/add", data, DictItem)
    assert_message(html, *msg(app, "A record with the same unique value already exists."))


def test_dictionary_entry_sort_order_must_be_a_number(store, admin_client):
    industry = store.one(select(DictType).where(DictType.code == "industry"))
    data = {"dict_type": str(industry.id), "code": unique("x")[:10], "name": "新行业", "sort_order": "第一",
            "active": "y"}
    html = _submit(admin_client, store, "/dictitemview/add", data, DictItem)
    assert_message(html, *NOT_AN_INTEGER)


def test_dictionary_entries_feed_the_select_fields(store, admin_client):
    """SYS-6: an entry added on the dictionary screen is offered by the customer form's select."""
    region = store.one(select(DictType).where(DictType.code == "region"))
    code = "65" + unique("")[:4]
    response = admin_client.post_form("/dictitemview/add", {"dict_type": str(region.id), "code": code,
                                                          "name": "新疆测试区", "sort_order": "99", "active": "y"})
    assert response.status_code == 302
    form = admin_client.get("/customerview/add").get_data(as_text=True)
    assert f'value="{code}"' in form and "新疆测试区" in form


# --- numbering rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,messages", [
    ({"seq_width": "abc"}, NOT_AN_INTEGER),
    ({"kind": "customer"}, ALREADY_EXISTS),
    ({"name": "规" * 101}, too_long(100)),
    ({"date_format": "dd/mm/yyyy"}, ("Not a valid choice.", "不是有效的选择")),
    ({"prefix": "R" * 21}, too_long(20)),
])
def test_numbering_rule_add_refuses_bad_input(store, admin_client, overrides, messages):
    data = {"kind": unique("r"), "name": "规则", "prefix": "R", "date_format": "yyyy", "seq_width": "4"}
    data.update(overrides)
    html = _submit(admin_client, store, "/numberingruleview/add", data, NumberingRule)
    assert_message(html, *messages)


# --- system settings -----------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,message", [
    ("login_max_failures", "abc", ("%(label)s must be a whole number.", {})),
    ("login_max_failures", "0", ("%(label)s must be between %(min)s and %(max)s.", {"min": 1, "max": 100})),
    ("login_max_failures", "", ("This field is required.", None)),
    ("business_date", "2026-13-45", ("%(label)s must be a date like 2026-01-31.", {})),
    ("business_date", "x" * 501, ("longer than 500", None)),
])
def test_setting_edit_refuses_bad_values(app, store, admin_client, key, value, message):
    from app.services import settings

    row = store.one(select(SystemSetting).where(SystemSetting.key == key))
    html = _submit(admin_client, store, f"/systemsettingview/edit/{row.id}", {"value": value}, SystemSetting)
    assert store.get(SystemSetting, row.id).value == row.value  # unchanged
    text, kwargs = message
    if kwargs is None:
        assert_message(html, *(REQUIRED if text.startswith("This field") else too_long(500)))
    else:
        with app.test_request_context():
            from flask_babel import force_locale

            with force_locale("zh"):
                zh_label = str(settings.label(key))
            with force_locale("en"):
                en_label = str(settings.label(key))
        assert_message(html, *msg(app, text, label=zh_label, **kwargs), *msg(app, text, label=en_label, **kwargs))


# --- malformed list parameters -------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/customerview/list/?page_CustomerView=abc",
    "/customerview/list/?page_CustomerView=-3",
    "/customerview/list/?page_CustomerView=99999999999999999999",
    "/customerview/list/?psize_CustomerView=abc",
    "/customerview/list/?psize_CustomerView=-1",
    "/customerview/list/?psize_CustomerView=0",
    "/customerview/list/?_oc_CustomerView=nonexistent&_od_CustomerView=asc",
    "/customerview/list/?_oc_CustomerView=manager&_od_CustomerView=asc",
    "/customerview/list/?_oc_CustomerView=name;drop table x&_od_CustomerView=asc",
    "/customerview/list/?_oc_CustomerView=name&_od_CustomerView=sideways",
    "/customerview/list/?_flt_0_manager=abc",
    "/customerview/list/?_flt_0_manager=99999999999999999999",
    "/customerview/list/?_flt_7_manager=1",
    "/customerview/list/?_flt_x_name=x",
    "/customerview/list/?_flt_0_no_such_column=x",
    "/customerview/list/?_flt_3_kind=" + "长" * 5000,
    "/customerview/export/?_oc_CustomerView=nonexistent&_od_CustomerView=desc",
    "/customerview/export/?_flt_0_manager=abc",
    "/customerview/export/?_flt_7_manager=1",
    "/customerview/export/?_flt_0_manager=99999999999999999999",
    "/departmentview/list/?_flt_0_parent=abc",
    "/departmentview/list/?_flt_0_active=maybe",
    "/operationlogview/list/?_flt_0_at=not-a-time",
    "/operationlogview/list/?_flt_1_at=2026-02-30",
    "/dayendrunview/list/?_flt_0_business_date=yesterday",
    "/customerview/show/abc",
    "/customerview/edit/abc",
    "/customerview/show/99999999999999999999",
])
def test_malformed_list_parameters_never_give_500(admin_client, url):
    response = admin_client.get(url, follow_redirects=True)  # a refused export goes back to the list
    assert response.headers["Content-Type"].startswith("text/html"), "a malformed export produced a file"
    html = response.get_data(as_text=True)
    assert response.status_code < 500, html[-2000:]
    assert_no_driver_text(html)
    if response.status_code >= 400:
        assert 'id="error-message"' in html


def test_a_refused_save_shows_the_form_again_with_the_input_and_the_message(app, store, admin_client):
    """The clerk keeps what was typed: the form comes back (no redirect) with the error beside the field."""
    good = make_ric()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    form = customer_form(name="保留输入的客户", id_number=bad, address="保留的地址")
    rows = store.count(Customer)
    response = admin_client.post_form("/customerview/add", form, follow_redirects=False)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, "a refused save must not redirect away from the form"
    assert 'value="保留输入的客户"' in html and "保留的地址" in html
    assert_message(html, *msg(app, "The resident ID number is not valid (check digit or date)."))
    assert store.count(Customer) == rows


def test_the_setting_edit_page_names_the_setting(admin_client, store):
    from models.system import SystemSetting

    pk = store.scalar(select(SystemSetting.id).where(SystemSetting.key == "login_lock_minutes"))
    html = admin_client.get(f"/systemsettingview/edit/{pk}").get_data(as_text=True)
    assert "锁定时长（分钟）" in html
