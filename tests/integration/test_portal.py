"""Online financing portal (issue 10, PORTAL-1..3): registration, verification, needs that become draft
applications, the company's view of them, margin deposits, and the isolation of enterprise users from every
staff screen, every staff API and every other company's records."""
import io
import random
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from app import permissions as P
from tests.conftest import CSRF_RE, ROLE_USERS, TEST_PASSWORD, unique
from tests.integration.test_guarantees_support import make_bank, make_product, to_stage, user_id

META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def credit_code() -> str:
    base = "91" + "".join(random.choice("0123456789") for _ in range(15))
    return base + uscc.calc_check_digit(base)


class PortalClient:
    def __init__(self, app):
        self.http = app.test_client()

    def csrf(self, page) -> str:
        html = self.http.get(page).get_data(as_text=True)
        match = CSRF_RE.search(html) or META_CSRF.search(html)
        assert match, f"no csrf token on {page}"
        return match.group(1)

    def post(self, url, data, page=None, **kw):
        return self.http.post(url, data={**data, "csrf_token": self.csrf(page or url)}, **kw)

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def login(self, username, password=TEST_PASSWORD):
        response = self.post("/portal/login", {"username": username, "password": password})
        assert response.status_code == 302 and "/portal/login" not in response.headers["Location"], \
            response.get_data(as_text=True)[:500]
        return self


def registration(**over) -> dict:
    name = unique("pu")
    data = {"name": f"在线企业{name}", "credit_code": credit_code(), "contact_name": "王经理",
            "contact_phone": "13800138000", "email": f"{name}@corp.test", "username": name,
            "password": TEST_PASSWORD, "confirm": TEST_PASSWORD}
    data.update(over)
    return data


def register(app, **over) -> dict:
    data = registration(**over)
    response = PortalClient(app).post("/portal/register", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return data


def company_id(db, username) -> int:
    from flask_appbuilder.security.sqla.models import User
    from models.portal import PortalCompany

    return db.session.execute(select(PortalCompany.id).join(User, User.id == PortalCompany.user_id)
                              .where(User.username == username)).scalar_one()


@pytest.fixture
def verified(app, login_as):
    """A registered company verified by the account manager (who becomes its customer's account manager)."""

    def make():
        from app.extensions import db

        data = register(app)
        with app.app_context():
            cid = company_id(db, data["username"])
        staff = login_as(P.ACCOUNT_MANAGER)
        response = staff.post_form(f"/portalreview/company/{cid}/approve", {}, form_page="/portalreview/")
        assert response.status_code == 302
        client = PortalClient(app).login(data["username"])
        return data, cid, client

    return make


@pytest.fixture
def terms(app):
    from app.extensions import db

    with app.app_context():
        product, bank = make_product(db), make_bank(db)
        db.session.commit()
        return {"product_id": product.id, "bank_id": bank.id}


def need_form(terms, **over) -> dict:
    data = {**{k: str(v) for k, v in terms.items()}, "amount": "1000000", "term_months": "12",
            "purpose": "采购原材料", "repayment_method": "lump_sum", "measure_kind": "mortgage",
            "measure_description": "厂房一处", "measure_value": "2000000"}
    data.update(over)
    return data


def send_need(client, terms, files=None, **over) -> int:
    data = need_form(terms, **over)
    if files:
        data["files"] = files
    response = client.post("/portal/needs/new", data, page="/portal/needs/new", content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return int(re.search(r"/portal/needs/(\d+)", response.headers["Location"]).group(1))


# --- registration -----------------------------------------------------------------------------------------

BAD_REGISTRATIONS = [
    ({"credit_code": "91350100M000100Y4X"}, "credit_code"),  # check digit wrong
    ({"credit_code": ""}, "credit_code"),
    ({"name": "  "}, "name"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"email": "not-an-email"}, "email"),
    ({"password": "short", "confirm": "short"}, "password"),
    ({"password": "alllowercase1", "confirm": "alllowercase1"}, "password"),
    ({"confirm": "Other@12345"}, "confirm"),
    ({"username": "a b"}, "username"),
]


@pytest.mark.parametrize("over, field", BAD_REGISTRATIONS)
def test_registration_service_names_the_wrong_field(app, db, over, field):
    from app.errors import ValidationError
    from app.services import portal

    with pytest.raises(ValidationError) as info:
        portal.register(registration(**over))
    assert info.value.field == field and info.value.message


def test_registration_form_shows_the_error_and_creates_nothing(app, db):
    from flask_appbuilder.security.sqla.models import User
    from models.portal import PortalCompany

    before = db.session.execute(select(func.count(PortalCompany.id))).scalar()
    for over, _ in BAD_REGISTRATIONS:
        data = registration(**over)
        response = PortalClient(app).post("/portal/register", data)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="form-error"' in html, over
        db.session.rollback()
        assert db.session.execute(select(User.id).where(User.username == data["username"])).first() is None
    assert db.session.execute(select(func.count(PortalCompany.id))).scalar() == before


def test_registration_refuses_a_company_registered_twice_and_a_taken_user_name(app, db):
    first = register(app)
    second = registration(credit_code=first["credit_code"].lower())
    html = PortalClient(app).post("/portal/register", second).get_data(as_text=True)
    assert "form-error" in html
    third = registration(username=first["username"])
    html = PortalClient(app).post("/portal/register", third).get_data(as_text=True)
    assert "form-error" in html
    from models.portal import PortalCompany

    assert db.session.execute(select(func.count(PortalCompany.id)).where(
        PortalCompany.credit_code == first["credit_code"])).scalar() == 1


def test_portal_login_uses_the_lockout_and_staff_cannot_log_in_there(app, db):
    from app.services import settings

    data = register(app)
    client = PortalClient(app)
    for _ in range(settings.get("login_max_failures")):
        client.post("/portal/login", {"username": data["username"], "password": "Wrong@12345"})
    response = client.post("/portal/login", {"username": data["username"], "password": TEST_PASSWORD})
    assert response.status_code == 200  # locked: the right password is refused too
    from models.system import LoginLog

    events = set(db.session.execute(select(LoginLog.event).where(LoginLog.username == data["username"])).scalars())
    assert {"failed", "locked"} <= events
    # A staff member's credentials do not open the portal.
    response = PortalClient(app).post("/portal/login", {"username": ROLE_USERS[P.ACCOUNT_MANAGER],
                                                        "password": TEST_PASSWORD})
    assert response.status_code == 200


# --- verification first ---------------------------------------------------------------------------------

def test_nothing_is_possible_before_verification_and_a_rejection_says_why(app, db, login_as, terms):
    data = register(app)
    client = PortalClient(app).login(data["username"])
    home = client.get("/portal/").get_data(as_text=True)
    assert 'id="pending-hint"' in home and 'id="new-need"' not in home
    assert client.get("/portal/needs/new").status_code == 409
    assert client.get("/portal/margins").status_code == 409
    response = client.http.post("/portal/needs/new", data={**need_form(terms), "csrf_token": client.csrf("/portal/")})
    assert response.status_code == 409

    cid = company_id(db, data["username"])
    staff = login_as(P.ACCOUNT_MANAGER)
    response = staff.post_form(f"/portalreview/company/{cid}/reject", {"reason": ""}, form_page="/portalreview/")
    from models.portal import PortalCompany

    db.session.expire_all()
    assert db.session.get(PortalCompany, cid).status == "pending"  # a rejection needs its reason
    staff.post_form(f"/portalreview/company/{cid}/reject", {"reason": "营业执照与名称不符"}, form_page="/portalreview/")
    db.session.expire_all()
    assert db.session.get(PortalCompany, cid).status == "rejected"
    home = client.get("/portal/").get_data(as_text=True)
    assert "营业执照与名称不符" in home
    assert client.get("/portal/needs/new").status_code == 409
    # Corrected and sent again, then verified.
    response = client.post("/portal/resubmit", {"name": data["name"], "credit_code": data["credit_code"],
                                                "contact_name": "李四", "contact_phone": "13900139000",
                                                "email": data["email"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(PortalCompany, cid).status == "pending"


def test_verification_links_the_company_to_its_customer(app, db, login_as):
    from models.customers import Customer
    from models.portal import PortalCompany
    from tests.integration.test_guarantees_support import make_customer

    # An existing customer with the same credit code is reused, its account manager stays.
    code = credit_code()
    existing = make_customer(db, manager_id=user_id(P.DEPARTMENT_HEAD), id_number=code)
    db.session.commit()
    data = register(app, credit_code=code)
    cid = company_id(db, data["username"])
    login_as(P.ACCOUNT_MANAGER).post_form(f"/portalreview/company/{cid}/approve", {}, form_page="/portalreview/")
    db.session.expire_all()
    company = db.session.get(PortalCompany, cid)
    assert company.status == "verified" and company.customer_id == existing.id
    assert company.customer.manager_id == user_id(P.DEPARTMENT_HEAD)
    # A new company becomes a corporate customer of the verifying account manager.
    data = register(app)
    cid = company_id(db, data["username"])
    login_as(P.ACCOUNT_MANAGER).post_form(f"/portalreview/company/{cid}/approve", {}, form_page="/portalreview/")
    db.session.expire_all()
    customer = db.session.get(PortalCompany, cid).customer
    assert isinstance(customer, Customer) and customer.kind == "corporate" and customer.id_type == "USCC"
    assert customer.id_number == data["credit_code"] and customer.manager_id == user_id(P.ACCOUNT_MANAGER)
    # Deciding twice is refused.
    staff = login_as(P.ACCOUNT_MANAGER)
    staff.post_form(f"/portalreview/company/{cid}/reject", {"reason": "x"}, form_page="/portalreview/")
    db.session.expire_all()
    assert db.session.get(PortalCompany, cid).status == "verified"


# --- needs, stages, notices, letters ----------------------------------------------------------------------

def test_a_need_becomes_a_draft_application_and_moves_to_under_review(app, db, verified, terms, login_as, new_user):
    from models.business import Guarantee
    from models.portal import PortalNeed

    data, cid, client = verified()
    need_id = send_need(client, terms, files=[(io.BytesIO(PDF), "营业执照.pdf")])
    need = db.session.get(PortalNeed, need_id)
    g = db.session.get(Guarantee, need.guarantee_id)
    assert g.stage == "draft" and g.manager_id == user_id(P.ACCOUNT_MANAGER) and g.amount == Decimal("1000000.00")
    assert g.bank_id == terms["bank_id"] and g.customer_id == need.customer_id
    page = client.get(f"/portal/needs/{need_id}").get_data(as_text=True)
    assert "营业执照.pdf" in page and 'data-stage="submitted"' in page

    staff = login_as(P.ACCOUNT_MANAGER)
    listing = staff.get("/portalreview/").get_data(as_text=True)
    assert g.code in listing
    staff_page = staff.get(f"/portalreview/need/{need_id}").get_data(as_text=True)
    assert "营业执照.pdf" in staff_page and 'id="risk-assessment"' in staff_page
    # Another account manager does not see it (data scope of the application); a cashier has no such screen.
    assert login_as(new_user(P.ACCOUNT_MANAGER)).get(f"/portalreview/need/{need_id}").status_code == 404
    assert login_as(P.CASHIER).get(f"/portalreview/need/{need_id}").status_code == 403
    staff.post_form(f"/portalreview/need/{need_id}/request", {"message": "请补充近三年财务报表"},
                    form_page=f"/portalreview/need/{need_id}")
    home = client.get("/portal/").get_data(as_text=True)
    assert "请补充近三年财务报表" in home and 'data-kind="documents_requested"' in home
    staff.post_form(f"/portalreview/need/{need_id}/accept", {}, form_page=f"/portalreview/need/{need_id}")
    db.session.expire_all()
    assert db.session.get(Guarantee, need.guarantee_id).stage == "investigation"
    page = client.get(f"/portal/needs/{need_id}").get_data(as_text=True)
    assert 'data-stage="review"' in page
    # Internal words never reach the company: no stage names, no opinions.
    assert "保前调查" not in page and "受理审批" not in page and "Due-diligence" not in page


def test_letters_and_the_approved_notice_reach_the_company(app, db, verified, terms):
    from models.portal import PortalNeed, PortalNotice

    data, cid, client = verified()
    need_id = send_need(client, terms)
    gid = db.session.get(PortalNeed, need_id).guarantee_id
    to_stage(db, gid, "review")
    db.session.commit()
    # the move wrote the notice; reading the portal writes nothing
    written = db.session.execute(select(PortalNotice.kind).where(PortalNotice.need_id == need_id)).scalars().all()
    assert written == ["letter_ready"]
    page = client.get(f"/portal/needs/{need_id}").get_data(as_text=True)
    assert 'data-doc="intention_letter"' in page and 'data-doc="confirmation_letter"' not in page
    response = client.get(f"/portal/needs/{need_id}/letters/intention_letter")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    # A letter not yet reached, or not addressed to the company, is not there.
    assert client.get(f"/portal/needs/{need_id}/letters/confirmation_letter").status_code == 404
    assert client.get(f"/portal/needs/{need_id}/letters/risk_report").status_code == 404
    home = client.get("/portal/").get_data(as_text=True)
    assert 'data-kind="letter_ready"' in home and 'data-kind="registration_approved"' in home
    assert home.count('data-kind="letter_ready"') == 1  # each notice once, however often the page is read
    home = client.get("/portal/").get_data(as_text=True)
    assert home.count('data-kind="letter_ready"') == 1
    assert db.session.execute(select(func.count(PortalNotice.id)).where(PortalNotice.need_id == need_id)).scalar() == 1


def test_another_companys_records_are_404(app, db, verified, terms):
    _, _, first = verified()
    _, _, second = verified()
    need_id = send_need(first, terms)
    for url in (f"/portal/needs/{need_id}", f"/portal/needs/{need_id}/letters/intention_letter"):
        assert second.get(url).status_code == 404
        assert first.get(url).status_code in (200, 404)
    response = second.post(f"/portal/needs/{need_id}/upload", {"files": (io.BytesIO(PDF), "x.pdf")},
                           page="/portal/", content_type="multipart/form-data")
    assert response.status_code == 404
    assert second.get("/portal/needs/abc").status_code == 404


def test_margin_deposits_as_recorded_by_finance(app, db, verified):
    from app.services.ledger_events import record_event
    from models.portal import PortalCompany

    data, cid, client = verified()
    customer_id = db.session.get(PortalCompany, cid).customer_id
    record_event("margin_received", Decimal("50000"), date(2056, 3, 1), "portal_test", unique("m"),
                 customer_id=customer_id, summary="保证金")
    record_event("margin_refunded", Decimal("20000"), date(2056, 9, 1), "portal_test", unique("m"),
                 customer_id=customer_id, summary="退保证金")
    db.session.commit()
    page = client.get("/portal/margins").get_data(as_text=True)
    assert "50,000.00" in page and "20,000.00" in page and "30,000.00" in page
    _, _, other = verified()
    assert "50,000.00" not in other.get("/portal/margins").get_data(as_text=True)


# --- isolation --------------------------------------------------------------------------------------------

PORTAL_OK = ("portal.", "static", "appbuilder.static")


def _sample_url(rule) -> str | None:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = 1 if converter == "IntegerConverter" else ("x" if converter != "PathConverter" else "x/y")
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # noqa: BLE001 - a rule that cannot be built from sample values
        return None


def _staff_rules(app, api: bool):
    from app.extensions import appbuilder

    auth = appbuilder.sm.auth_view.endpoint
    public = {f"{auth}.login", f"{auth}.logout", "LocaleView.index"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(PORTAL_OK) or rule.endpoint.endswith(".static") or rule.endpoint in public:
            continue
        if rule.rule.startswith("/api/") != api:
            continue
        if api and rule.rule in ("/api/v1/security/login", "/api/v1/security/refresh"):
            continue
        url = _sample_url(rule)
        if url:
            yield rule, url


def test_a_portal_session_reaches_no_staff_screen(app, db, verified):
    _, _, client = verified()
    checked = 0
    for rule, url in _staff_rules(app, api=False):
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.http.open(url, method=method)
            body = response.get_data(as_text=True)
            if response.status_code == 302:  # only the home and login pages, to the portal
                assert response.headers["Location"].endswith("/portal/"), (url, response.headers["Location"])
                continue
            assert response.status_code in (403, 404), (method, url, response.status_code)
            assert "navbar" not in body or response.status_code == 404, url
            checked += 1
    assert checked > 200
    # FAB's security views in particular.
    for url in ("/users/list/", "/users/edit/1", "/users/show/1", "/users/userinfo/", "/roles/list/",
                "/roles/edit/1", "/resetpassword/form?pk=1", "/resetmypassword/form", "/permissions/list/",
                "/roleadmin/", "/swagger/v1"):
        assert client.get(url).status_code in (403, 404), url
    response = client.http.post("/resetmypassword/form", data={"password": "New@123456", "conf_password": "New@123456"})
    assert response.status_code == 403


def test_staff_do_not_work_in_the_portal(app, login_as):
    staff = login_as(P.ACCOUNT_MANAGER)
    for url in ("/portal/", "/portal/needs/new", "/portal/margins", "/portal/login", "/portal/register"):
        assert staff.get(url).status_code == 403
    # A visitor is sent to the portal's own login page.
    response = app.test_client().get("/portal/margins")
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]


def test_a_portal_session_and_a_portal_token_reach_no_api(app, db, verified):
    data, _, client = verified()
    response = app.test_client().post("/api/v1/security/login", json={
        "username": data["username"], "password": TEST_PASSWORD, "provider": "db", "refresh": False})
    headers = {}
    if response.status_code == 200:
        headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    else:  # no token handed out at all is fine too; make one to prove the API refuses it
        from flask_jwt_extended import create_access_token
        from flask_appbuilder.security.sqla.models import User

        with app.test_request_context():
            uid = db.session.execute(select(User.id).where(User.username == data["username"])).scalar_one()
            headers = {"Authorization": f"Bearer {create_access_token(str(uid))}"}
    token_client = app.test_client()
    checked = 0
    for rule, url in _staff_rules(app, api=True):
        for method in sorted(rule.methods & {"GET", "POST", "PUT", "DELETE"}):
            by_token = token_client.open(url, method=method, headers=headers, json={})
            assert by_token.status_code == 403, (method, url, by_token.status_code)
            by_session = client.http.open(url, method=method, json={})
            assert by_session.status_code == 403, (method, url, by_session.status_code)
            checked += 1
    assert checked > 50


def test_the_portal_role_holds_no_permission(app, db, verified):
    from app.services.portal import PORTAL_ROLE

    verified()
    role = app.appbuilder.sm.find_role(PORTAL_ROLE)
    assert role is not None and list(role.permissions) == []
    assert PORTAL_ROLE not in P.ROLE_GRANTS


def test_portal_login_has_the_staff_rate_limit(app):
    app.config["AUTH_RATE_LIMIT"] = "3 per minute"
    try:
        client = PortalClient(app)
        codes = [client.post("/portal/login", {"username": unique("nobody"), "password": "x"},
                             environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code for _ in range(5)]
    finally:
        app.config["AUTH_RATE_LIMIT"] = "1000 per minute"
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
