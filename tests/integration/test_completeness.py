"""CUS-8: completeness of a customer's file from the administrator's rules (documents and fields per kind):
percentage and missing items on the customer page, in the list and through the API, updated by uploads;
computed set-based for a list page."""
import io
from datetime import date

import pytest
from sqlalchemy import event, select

from app import permissions as P
from models.customer_extras import CompletenessRule
from models.customers import Customer
from tests.conftest import ROLE_USERS, unique
from tests.integration import attachment_files as files
from tests.integration.datalayer import Store, assert_no_driver_text, make_ric, make_uscc


@pytest.fixture(scope="module")
def customers(app):
    with app.app_context():
        manager = app.appbuilder.sm.find_user(username=ROLE_USERS[P.ACCOUNT_MANAGER]).id
    person = Customer(code=unique("W"), kind="individual", name=unique("完整度个人"), id_type="RIC",
                      id_number=make_ric(date(1990, 2, 2)), phone="13900000000", address="上海市", direct="direct",
                      manager_id=manager)
    company = Customer(code=unique("W"), kind="corporate", name=unique("完整度企业"), id_type="USCC",
                       id_number=make_uscc(), direct="direct", manager_id=manager, address="深圳市")
    Store(app).add(person, company)
    return {"person": person.id, "company": company.id}


def test_default_rules_are_seeded(app):
    rules = Store(app).all(select(CompletenessRule))
    keys = {(r.kind, r.item_type, r.item_code) for r in rules}
    assert {("individual", "document", "ID_CARD"), ("individual", "field", "phone"),
            ("corporate", "document", "LICENSE"), ("corporate", "document", "FINANCIAL"),
            ("corporate", "field", "registered_capital")} <= keys


def test_percent_and_missing_then_updated_by_an_upload(app, customers, login_as, api_as):
    api = api_as(P.ACCOUNT_MANAGER)
    body = api.get(f"/api/v1/customer/{customers['person']}/completeness").get_json()["result"]
    assert body["percent"] == 80 and body["missing"] == ["身份证"]  # name, ID, phone, address present
    corporate = api.get(f"/api/v1/customer/{customers['company']}/completeness").get_json()["result"]
    assert corporate["percent"] == 20  # only the address of five items
    assert set(corporate["missing"]) >= {"营业执照", "财务报表"}

    web = login_as(P.ACCOUNT_MANAGER)
    page = web.get(f"/customerview/show/{customers['person']}").get_data(as_text=True)
    assert 'data-completeness="80"' in page and "身份证" in page
    response = web.post_form(f"/attachments/upload/{customers['person']}",
                             {"file": (io.BytesIO(files.png()), "id.png"), "category": "ID_CARD"},
                             form_page=f"/customerview/show/{customers['person']}")
    assert response.status_code == 302
    page = web.get(f"/customerview/show/{customers['person']}").get_data(as_text=True)
    assert 'data-completeness="100"' in page
    body = api.get(f"/api/v1/customer/{customers['person']}/completeness").get_json()["result"]
    assert body == {**body, "percent": 100, "missing": []}
    # the list shows the percentage too
    listing = web.get("/customerview/list/", query_string={"_flt_0_code": ""}).get_data(as_text=True)
    assert "100%" in listing


def test_out_of_scope_customer_is_not_found(app, customers, api_as):
    other = Customer(code=unique("W"), kind="individual", name=unique("范围外"), id_type="PASSPORT",
                     id_number=unique("P").upper(), direct="direct")
    Store(app).add(other)
    assert api_as(P.ACCOUNT_MANAGER).get(f"/api/v1/customer/{other.id}/completeness").status_code == 404
    assert api_as(P.ADMIN).get(f"/api/v1/customer/{other.id}/completeness").status_code == 200


def test_rules_change_the_result(app, customers, api_as):
    with Store(app).session() as session:  # the shipped address rule of corporates weighs 3 instead of 1
        rule = session.execute(select(CompletenessRule).where(
            CompletenessRule.kind == "corporate", CompletenessRule.item_code == "address")).scalar_one()
        rule.weight, rule_id = 3, rule.id
        session.commit()
    try:
        body = api_as(P.ADMIN).get(f"/api/v1/customer/{customers['company']}/completeness").get_json()["result"]
        assert body["percent"] == 43  # 3 of 7
    finally:
        with Store(app).session() as session:
            session.get(CompletenessRule, rule_id).weight = 1
            session.commit()


def test_compute_many_is_set_based(app, customers):
    from app.extensions import db
    from app.services import completeness

    with app.test_request_context():
        rows = db.session.execute(select(Customer).limit(50)).scalars().all()
        completeness.compute_many(rows)  # the rules of each kind are read once per request
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            results = completeness.compute_many(rows)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(results) == len(rows) and len(statements) == 1  # one query, whatever the number


@pytest.mark.parametrize("form, field", [
    ({"kind": "individual", "item_type": "document", "item_code": "name"}, "item_code"),
    ({"kind": "individual", "item_type": "field", "item_code": "no_such_field"}, "item_code"),
    ({"kind": "individual", "item_type": "field", "item_code": "phone", "weight": "0"}, "weight"),
])
def test_rule_checks(app, admin_web, form, field):
    data = {"weight": "1", "sort_order": "5", "enabled": "y", **form}
    before = Store(app).count(CompletenessRule)
    response = admin_web.post_form("/completenessruleview/add", data, form_page="/completenessruleview/add")
    assert response.status_code == 200
    assert_no_driver_text(response.get_data(as_text=True))
    assert Store(app).count(CompletenessRule) == before


def test_rule_screen(admin_web, login_as):
    page = admin_web.get("/completenessruleview/list/").get_data(as_text=True)
    assert "营业执照" in page and "身份证" in page
    assert login_as(P.ACCOUNT_MANAGER).get("/completenessruleview/list/").status_code == 403


def test_completeness_column_is_not_sortable(admin_web):
    for view in ("CustomerView", "IndividualCustomerView", "CorporateCustomerView"):
        page = admin_web.get(f"/{view.lower()}/list/").get_data(as_text=True)
        assert f"_oc_{view}=completeness_pct" not in page
