"""CUS-1/2/3/10: the customer's field groups and sub-records — identity rules of individual and corporate
customers, every sub-record's checks through the REST API and through the screens (tabs on the customer
page, adding from a tab fills in the customer), credit bureau records."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import permissions as P
from models.customer_records import BankAccount, CreditReport, FamilyMember, Shareholder
from models.customers import Customer
from tests.conftest import ROLE_USERS, ApiClient, api_token
from tests.integration import datalayer
from tests.integration.datalayer import admin_client, make_uscc, store  # noqa: F401  fixtures
from tests.integration.test_api import count, error, translated, uid

API = "/api/v1"


def make_ric(birth=date(1990, 1, 1), male=True):
    """A valid resident ID with a region code that existed at every birth date used here (stdnum checks
    the region against the codes in force at the birth date)."""
    return datalayer.make_ric(birth, male, region="110101")


@pytest.fixture(scope="module")
def admin(app):
    return ApiClient(app, api_token(app, ROLE_USERS[P.ADMIN]))


@pytest.fixture(scope="module")
def manager(app):
    return ApiClient(app, api_token(app, ROLE_USERS[P.ACCOUNT_MANAGER]))


def person(**extra):
    return {"name": uid("个人"), "id_type": "RIC", "id_number": make_ric(date(1985, 5, 5)), "phone": "13800138000",
            "direct": "direct", **extra}


def company(**extra):
    return {"name": uid("企业"), "id_type": "USCC", "id_number": make_uscc(), "direct": "direct", **extra}


def org_code() -> str:
    return make_uscc()[8:17]  # positions 9–17 of a credit code are the organisation code with its check


@pytest.fixture(scope="module")
def individual(app, admin):
    response = admin.post(f"{API}/individual_customer/", json=person())
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture(scope="module")
def corporate(app, admin):
    response = admin.post(f"{API}/corporate_customer/", json=company())
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _message(app, text, **kw):
    return translated(app, text, **kw)


# --- identity rules ------------------------------------------------------------------------------

def test_kind_screens_and_apis_fix_the_kind(app, admin):
    pk = admin.post(f"{API}/individual_customer/", json=person()).get_json()["id"]
    assert admin.get(f"{API}/customer/{pk}").get_json()["result"]["kind"] == "individual"
    # the individual API does not see corporates, and the other way round
    corp = admin.post(f"{API}/corporate_customer/", json=company(enterprise_size="S")).get_json()["id"]
    error(admin.get(f"{API}/individual_customer/{corp}"), 404)
    error(admin.get(f"{API}/corporate_customer/{pk}"), 404)
    assert admin.get(f"{API}/corporate_customer/{corp}").get_json()["result"]["kind"] == "corporate"


@pytest.mark.parametrize("kind, payload, field, text", [
    ("individual", lambda: person(id_type="USCC", id_number=make_uscc()), "id_type",
     "An individual customer needs a personal ID document."),
    ("corporate", lambda: company(id_type="RIC", id_number=make_ric()), "id_type",
     "A corporate customer needs a unified social credit code or an organisation code."),
    ("individual", lambda: person(id_number=(lambda r: r[:-1] + ("0" if r[-1] != "0" else "1"))(make_ric())),
     "id_number", "The resident ID number is not valid (check digit or date)."),
    ("individual", lambda: person(id_number=make_ric(date(1990, 3, 8)), birth_date="1990-03-09"), "birth_date",
     "The birth date does not match the ID number."),
    ("individual", lambda: person(id_number=make_ric(date(1990, 3, 8), male=True), gender="F"), "gender",
     "The gender does not match the ID number."),
    ("corporate", lambda: company(id_number=(lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"))(make_uscc())),
     "id_number", "The unified social credit code is not valid."),
    ("corporate", lambda: company(id_type="ORG", id_number="12345678-0"), "id_number",
     "The organisation code is not valid."),
    ("individual", lambda: person(phone="0101234567"), "phone",
     "The mobile phone number must have 11 digits starting with 1."),
    ("individual", lambda: person(home_phone="12-34"), "home_phone",
     "The telephone number is not valid (area code, number and extension, e.g. 010-12345678)."),
    ("individual", lambda: person(post_code="1000"), "post_code", "The post code must have 6 digits."),
    ("individual", lambda: person(email="not-an-address"), "email", "The e-mail address is not valid."),
    ("individual", lambda: person(monthly_income="-1.00"), "monthly_income", "The amount cannot be negative."),
    ("individual", lambda: person(family_size=2, dependants=3), "dependants",
     "The number of dependants cannot exceed the family size."),
    ("corporate", lambda: company(established_on=(date.today() + timedelta(days=400)).isoformat()),
     "established_on", "The date cannot be later than the business date."),
])
def test_identity_and_field_rules(app, admin, kind, payload, field, text):
    body = payload()
    message = error(admin.post(f"{API}/{kind}_customer/", json=body), 422)
    assert _message(app, text) in message
    assert count(app, Customer, Customer.name == body["name"]) == 0


def test_valid_identities_and_landlines_are_accepted(app, admin):
    assert admin.post(f"{API}/corporate_customer/", json=company(id_type="ORG", id_number=org_code(),
                                                                   work_phone="0571-87654321-123")).status_code == 201
    response = admin.post(f"{API}/individual_customer/", json=person(
        id_number=make_ric(date(1979, 12, 30), male=False), home_phone="010-12345678", post_code="310000",
        email="a@b.cn", monthly_income="12345.675", family_size=3, dependants=1))
    assert response.status_code == 201, response.get_json()
    got = admin.get(f"{API}/individual_customer/{response.get_json()['id']}").get_json()["result"]
    assert got["birth_date"] == "1979-12-30" and got["gender"] == "F"  # read from the ID number
    assert got["monthly_income"] in (12345.68, "12345.68")  # Decimal, to the cent


def test_duplicate_identity_names_the_customer_and_its_manager(app, admin, manager):
    body = person()
    pk = manager.post(f"{API}/individual_customer/", json=body).get_json()["id"]
    code = admin.get(f"{API}/customer/{pk}").get_json()["result"]["code"]
    message = error(admin.post(f"{API}/individual_customer/", json=person(id_number=body["id_number"])), 422)
    assert body["name"] in message and code in message and P.ACCOUNT_MANAGER in message  # 测试 + role as name


def test_classes_filter_the_lists(app, admin):
    tag = uid("类")
    admin.post(f"{API}/individual_customer/", json=person(name=tag + "甲", credit_customer=True, direct="indirect"))
    admin.post(f"{API}/individual_customer/", json=person(name=tag + "乙"))
    q = f"(filters:!((col:name,opr:ct,value:'{tag}'),(col:credit_customer,opr:eq,value:!t)))"
    rows = admin.get(f"{API}/individual_customer/", query_string={"q": q}).get_json()["result"]
    assert [r["name"] for r in rows] == [tag + "甲"] and rows[0]["direct"] == "indirect"


# --- sub-records through the API ----------------------------------------------------------------

def test_family_member_add_edit_delete(app, admin, individual, corporate):
    body = {"customer": individual, "relation": "SPOUSE", "name": "配偶甲", "id_type": "RIC",
            "id_number": make_ric(date(1986, 2, 2), male=False), "phone": "0571-88889999"}
    response = admin.post(f"{API}/family_member/", json=body)
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    got = admin.get(f"{API}/family_member/{pk}").get_json()["result"]
    assert got["gender"] == "F" and got["customer_id"] == individual
    # a second spouse is refused; a bad phone is refused
    message = error(admin.post(f"{API}/family_member/", json={**body, "name": "配偶乙", "id_number": None}), 422)
    assert _message(app, "The customer already has a spouse on file.") in message
    error(admin.post(f"{API}/family_member/", json={**body, "relation": "SON", "phone": "12"}), 422)
    # family members are for individuals only
    message = error(admin.post(f"{API}/family_member/", json={**body, "customer": corporate, "relation": "SON",
                                                              "id_number": None}), 422)
    assert _message(app, "This information is kept for individual customers only.") in message
    assert admin.put(f"{API}/family_member/{pk}", json={"employer": "市第一医院"}).status_code == 200
    assert admin.get(f"{API}/family_member/{pk}").get_json()["result"]["employer"] == "市第一医院"
    assert admin.delete(f"{API}/family_member/{pk}").status_code == 200
    assert count(app, FamilyMember, FamilyMember.id == pk) == 0


def test_resume_and_store_dates(app, admin, individual):
    future = (date.today() + timedelta(days=400)).isoformat()
    error(admin.post(f"{API}/customer_resume/", json={"customer": individual, "start_date": future,
                                                      "employer": "某单位"}), 422)
    message = error(admin.post(f"{API}/customer_resume/", json={
        "customer": individual, "start_date": "2015-01-01", "end_date": "2014-01-01", "employer": "某单位"}), 422)
    assert _message(app, "The end date cannot be earlier than the start date.") in message
    assert admin.post(f"{API}/customer_resume/", json={"customer": individual, "start_date": "2010-01-01",
                                                       "end_date": "2014-01-01", "employer": "某单位"}).status_code == 201
    error(admin.post(f"{API}/customer_store/", json={"customer": individual, "store_name": "小店",
                                                     "registered_capital": "-5"}), 422)
    assert admin.post(f"{API}/customer_store/", json={"customer": individual, "store_name": "小店",
                                                      "registered_capital": "50000"}).status_code == 201


def test_shareholders_add_up_to_at_most_100_percent(app, admin, corporate):
    base = {"customer": corporate, "shareholder_kind": "individual", "name": "股东"}
    first = admin.post(f"{API}/shareholder/", json={**base, "share_pct": "60"})
    assert first.status_code == 201, first.get_json()
    second = admin.post(f"{API}/shareholder/", json={**base, "name": "股东二", "share_pct": "30"}).get_json()["id"]
    message = error(admin.post(f"{API}/shareholder/", json={**base, "name": "股东三", "share_pct": "20"}), 422)
    assert "110" in message and "10" in message  # the total it would reach and what is left
    for pct in ("0", "100.5", "-3"):
        error(admin.post(f"{API}/shareholder/", json={**base, "name": "股东四", "share_pct": pct}), 422)
    assert admin.put(f"{API}/shareholder/{second}", json={"share_pct": "40"}).status_code == 200  # exactly 100
    error(admin.put(f"{API}/shareholder/{second}", json={"share_pct": "40.01"}), 422)
    message = error(admin.post(f"{API}/shareholder/", json={**base, "name": "某公司", "shareholder_kind": "corporate",
                                                            "id_type": "RIC", "share_pct": "0"}), 422)
    assert _message(app, "The ID type does not suit the kind of shareholder.") in message
    with app.app_context():
        from app.extensions import db

        total = sum(db.session.execute(select(Shareholder.share_pct).where(
            Shareholder.customer_id == corporate)).scalars())
        db.session.remove()
    assert total == 100


def test_corporate_financial_records(app, admin, corporate, individual):
    account = {"customer": corporate, "bank_name": "工商银行", "account_no": "6222020200112233", "account_kind": "basic"}
    assert admin.post(f"{API}/bank_account/", json=account).status_code == 201
    message = error(admin.post(f"{API}/bank_account/", json={**account, "account_no": "6222020200445566"}), 422)
    assert _message(app, "The company already has a basic deposit account.") in message
    assert admin.post(f"{API}/bank_account/", json={**account, "account_kind": "general"}).status_code == 201
    error(admin.post(f"{API}/bank_account/", json={**account, "customer": individual, "account_kind": "general"}), 422)
    loan = {"customer": corporate, "lender": "建设银行", "amount": "1000000", "balance": "1200000"}
    assert _message(app, "The balance cannot exceed the amount.") in error(
        admin.post(f"{API}/existing_loan/", json=loan), 422)
    assert admin.post(f"{API}/existing_loan/", json={**loan, "balance": "600000.50"}).status_code == 201
    assert admin.post(f"{API}/external_guarantee/", json={"customer": corporate, "guaranteed_party": "某公司",
                                                          "amount": "500000"}).status_code == 201
    assert admin.post(f"{API}/key_person/", json={"customer": corporate, "role": "LEGAL", "name": "法人甲",
                                                  "id_type": "RIC", "id_number": make_ric()}).status_code == 201
    error(admin.post(f"{API}/key_person/", json={"customer": corporate, "role": "LEGAL", "name": "法人乙",
                                                 "id_type": "USCC", "id_number": make_uscc()}), 422)
    future = (date.today() + timedelta(days=30)).isoformat()
    event = {"customer": corporate, "event_kind": "LAWSUIT", "description": "合同纠纷", "event_date": future}
    error(admin.post(f"{API}/major_event/", json=event), 422)
    assert admin.post(f"{API}/major_event/", json={**event, "event_date": "2024-05-01"}).status_code == 201


def test_credit_bureau_record(app, admin, individual):
    body = {"customer": individual, "query_date": "2025-01-10", "query_reason": "APPLY", "result": "minor",
            "credit_accounts": 3, "overdue_accounts": 1, "outstanding_balance": "200000", "overdue_amount": "5000"}
    response = admin.post(f"{API}/credit_report/", json=body)
    assert response.status_code == 201, response.get_json()
    got = admin.get(f"{API}/credit_report/{response.get_json()['id']}").get_json()["result"]
    assert got["customer_id"] == individual
    with app.app_context():
        from app.extensions import db

        report = db.session.get(CreditReport, response.get_json()["id"])
        assert report.queried_by is not None and report.queried_by.username == ROLE_USERS[P.ADMIN]
        db.session.remove()
    assert _message(app, "There cannot be more overdue accounts than accounts.") in error(
        admin.post(f"{API}/credit_report/", json={**body, "overdue_accounts": 4}), 422)
    assert _message(app, "The overdue amount cannot exceed the outstanding balance.") in error(
        admin.post(f"{API}/credit_report/", json={**body, "overdue_amount": "300000"}), 422)
    error(admin.post(f"{API}/credit_report/", json={**body, "query_date": (date.today() + timedelta(days=9)).isoformat()}),
          422)


def test_sub_records_share_the_customer_permission(app, individual):
    auditor = ApiClient(app, api_token(app, ROLE_USERS[P.AUDITOR]))
    assert auditor.get(f"{API}/family_member/").status_code == 200
    error(auditor.post(f"{API}/family_member/", json={"customer": individual, "relation": "SON", "name": "子"}), 403)


# --- screens: tabs on the customer page ------------------------------------------------------------

def test_individual_page_shows_its_tabs_and_adding_from_a_tab_fills_in_the_customer(app, admin_client, individual):
    page = admin_client.get(f"/individualcustomerview/show/{individual}").get_data(as_text=True)
    for endpoint in ("familymemberview", "resumeview", "storeview", "creditreportview", "watchentryview"):
        assert f"/{endpoint}/add?_flt_0_customer={individual}" in page, endpoint
    assert "shareholderview" not in page and "keypersonview" not in page
    add_url = f"/familymemberview/add?_flt_0_customer={individual}"
    form = admin_client.get(add_url).get_data(as_text=True)
    assert 'name="customer"' not in form  # filled in from the tab, not asked
    name = uid("子女")
    response = admin_client.post_form(add_url, {"relation": "SON", "name": name, "id_type": "", "id_number": "",
                                                "gender": "M", "phone": "", "employer": "", "health": ""})
    assert response.status_code == 302
    with app.app_context():
        from app.extensions import db

        member = db.session.execute(select(FamilyMember).where(FamilyMember.name == name)).scalar_one()
        pk = member.id
        assert member.customer_id == individual
        db.session.remove()
    # edit on the screen, with the service check beside the field
    html = admin_client.post_form(f"/familymemberview/edit/{pk}", {
        "customer": str(individual), "relation": "SON", "name": name, "id_type": "", "id_number": "", "gender": "M",
        "phone": "123", "employer": "", "health": ""}).get_data(as_text=True)
    assert _message(app, "The telephone number is neither a mobile nor a landline number.") in html
    response = admin_client.post_form(f"/familymemberview/edit/{pk}", {
        "customer": str(individual), "relation": "SON", "name": name, "id_type": "", "id_number": "", "gender": "M",
        "phone": "13900001111", "employer": "", "health": ""})
    assert response.status_code == 302
    response = admin_client.post_form(f"/familymemberview/delete/{pk}", {},
                                      form_page=f"/individualcustomerview/show/{individual}")
    assert response.status_code == 302
    assert count(app, FamilyMember, FamilyMember.id == pk) == 0


def test_corporate_page_shows_its_tabs(app, admin_client, corporate):
    page = admin_client.get(f"/corporatecustomerview/show/{corporate}").get_data(as_text=True)
    for endpoint in ("shareholderview", "keypersonview", "bankaccountview", "existingloanview",
                     "externalguaranteeview", "majoreventview", "creditreportview"):
        assert f"/{endpoint}/add?_flt_0_customer={corporate}" in page, endpoint
    assert "familymemberview" not in page
    html = admin_client.post_form(f"/shareholderview/add?_flt_0_customer={corporate}", {
        "shareholder_kind": "individual", "name": "屏幕股东", "id_type": "", "id_number": "", "contribution": "",
        "share_pct": "150", "contribution_method": "", "contribution_date": ""}).get_data(as_text=True)
    assert _message(app, "The share must be more than 0 and at most 100 (per cent).") in html
    assert count(app, Shareholder, Shareholder.name == "屏幕股东") == 0


def test_individual_screen_adds_an_individual(app, admin_client):
    name = uid("屏幕个人")
    data = {"name": name, "id_type": "RIC", "id_number": make_ric(date(1992, 2, 2)), "phone": "13700001111",
            "direct": "direct", "monthly_income": "8000", "family_size": "3", "dependants": "1"}
    response = admin_client.post_form("/individualcustomerview/add", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        from app.extensions import db

        customer = db.session.execute(select(Customer).where(Customer.name == name)).scalar_one()
        assert customer.kind == "individual" and customer.code and customer.birth_date == date(1992, 2, 2)
        db.session.remove()
    html = admin_client.post_form("/corporatecustomerview/add", {
        "name": uid("屏幕企业"), "id_type": "RIC", "id_number": make_ric(), "direct": "direct"}).get_data(as_text=True)
    assert "有效的选" in html or "Not a valid choice" in html  # personal ID types are not offered


def test_bank_account_delete_screen(app, admin, admin_client, corporate):
    pk = admin.post(f"{API}/bank_account/", json={"customer": corporate, "bank_name": "农业银行",
                                                  "account_no": "6228480011223344", "account_kind": "special"}
                    ).get_json()["id"]
    admin_client.post_form(f"/bankaccountview/delete/{pk}", {}, form_page=f"/corporatecustomerview/show/{corporate}")
    assert count(app, BankAccount, BankAccount.id == pk) == 0
