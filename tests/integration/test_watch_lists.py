"""CUS-5 watch lists (VIP, potential, blacklist: history kept, one active entry per list, a blacklisted
customer refused by ensure_may_apply) and CUS-9 guarantee partners and joint-guarantee groups."""
from datetime import date

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import ValidationError
from models.customer_records import GuaranteeGroupMember, WatchEntry
from models.customers import Customer
from tests.conftest import ROLE_USERS, ApiClient, api_token
from tests.integration.datalayer import admin_client, make_ric, make_uscc, store  # noqa: F401  fixtures
from tests.integration.test_api import count, error, translated, uid

API = "/api/v1"


def client(app, role):
    return ApiClient(app, api_token(app, ROLE_USERS[role]))


@pytest.fixture(scope="module")
def admin(app):
    return client(app, P.ADMIN)


@pytest.fixture(scope="module")
def risk(app):
    return client(app, P.RISK_OFFICER)


def new_customer(admin):
    body = {"name": uid("关注"), "id_type": "RIC", "id_number": make_ric(date(1988, 8, 8), region="110101"),
            "direct": "direct"}
    response = admin.post(f"{API}/individual_customer/", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _ensure_may_apply(app, customer_id):
    from app.extensions import db
    from app.services.customers import ensure_may_apply

    with app.test_request_context():
        try:
            ensure_may_apply(db.session.get(Customer, customer_id))
            return None
        except ValidationError as ex:
            return ex.message
        finally:
            db.session.remove()


def _blacklisted(app, customer_id):
    from app.extensions import db

    with app.app_context():
        try:
            return db.session.get(Customer, customer_id).blacklisted
        finally:
            db.session.remove()


def test_blacklist_refuses_new_applications_until_removed(app, admin, risk):
    pk = new_customer(admin)
    assert _ensure_may_apply(app, pk) is None
    # a reason is required
    error(risk.post(f"{API}/watch_entry/", json={"customer": pk, "list_kind": "blacklist", "reason": "  "}), 422)
    response = risk.post(f"{API}/watch_entry/", json={"customer": pk, "list_kind": "blacklist", "reason": "恶意逃废债"})
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()["id"]
    got = risk.get(f"{API}/watch_entry/{entry}").get_json()["result"]
    assert got["active"] is True and got["set_by_id"] is not None and got["set_on"]
    assert _blacklisted(app, pk) is True
    message = _ensure_may_apply(app, pk)
    assert message and "恶意逃废债" in message
    # one active entry per customer and list; another list is fine
    assert translated(app, "The customer is already on this list.") in error(
        risk.post(f"{API}/watch_entry/", json={"customer": pk, "list_kind": "blacklist", "reason": "again"}), 422)
    assert risk.post(f"{API}/watch_entry/", json={"customer": pk, "list_kind": "potential", "reason": "跟进"}
                     ).status_code == 201
    # removal needs a reason, keeps the entry as history, and lifts the refusal
    error(risk.put(f"{API}/watch_entry/{entry}", json={"removal_reason": ""}), 422)
    assert risk.put(f"{API}/watch_entry/{entry}", json={"removal_reason": "已结清，经审批移出"}).status_code == 200
    got = risk.get(f"{API}/watch_entry/{entry}").get_json()["result"]
    assert got["active"] is False and got["removed_on"] and got["removed_by_id"] is not None
    assert _blacklisted(app, pk) is False and _ensure_may_apply(app, pk) is None
    # a removed entry is history: not changed again, never deleted
    error(risk.put(f"{API}/watch_entry/{entry}", json={"removal_reason": "x"}), 422)
    error(risk.delete(f"{API}/watch_entry/{entry}"), 403)
    error(admin.delete(f"{API}/watch_entry/{entry}"), 403)  # no role holds "delete" on watch lists
    assert count(app, WatchEntry, WatchEntry.customer_id == pk) == 2
    # blacklisting again after the removal is allowed (a new entry)
    assert risk.post(f"{API}/watch_entry/", json={"customer": pk, "list_kind": "blacklist", "reason": "再次违约"}
                     ).status_code == 201
    assert "再次违约" in _ensure_may_apply(app, pk)


def test_only_some_roles_maintain_watch_lists(app, admin):
    pk = new_customer(admin)
    manager = client(app, P.ACCOUNT_MANAGER)
    assert manager.get(f"{API}/watch_entry/").status_code == 200
    error(manager.post(f"{API}/watch_entry/", json={"customer": pk, "list_kind": "blacklist", "reason": "x"}), 403)
    assert P.ADD not in P.ROLE_GRANTS[P.ACCOUNT_MANAGER][P.CUSTOMER_WATCH]
    assert P.ADD in P.ROLE_GRANTS[P.RISK_OFFICER][P.CUSTOMER_WATCH]


def test_watch_list_screens(app, admin, admin_client):
    pk = new_customer(admin)
    response = admin_client.post_form(f"/watchentryview/add?_flt_0_customer={pk}", {"list_kind": "vip",
                                                                                    "reason": "优质客户"})
    assert response.status_code == 302
    with app.app_context():
        from app.extensions import db

        entry = db.session.execute(select(WatchEntry).where(WatchEntry.customer_id == pk)).scalar_one()
        entry_id = entry.id
        db.session.remove()
    # the standalone screen picks the customer by id (searched by name in the browser)
    html = admin_client.post_form("/watchentryview/add", {"customer": str(pk), "list_kind": "vip", "reason": "重复"}
                                  ).get_data(as_text=True)
    assert translated(app, "The customer is already on this list.") in html
    html = admin_client.post_form(f"/watchentryview/edit/{entry_id}", {"removal_reason": ""}).get_data(as_text=True)
    assert translated(app, "Give the reason for the removal.") in html
    assert admin_client.post_form(f"/watchentryview/edit/{entry_id}", {"removal_reason": "降级"}).status_code == 302
    # the blacklisted filter of the customer list, and the customer picker
    listing = admin_client.get("/customerview/list/", query_string={"_flt_0_blacklisted": "y"})
    assert listing.status_code == 200
    picked = admin_client.get("/customerview/pick/", query_string={"q": "关注"}).get_json()["results"]
    assert picked and all("关注" in row["text"] for row in picked)


# --- guarantee partners and joint-guarantee groups -----------------------------------------------

def test_partner_companies(app, admin):
    body = {"name": uid("合作担保"), "credit_code": make_uscc(), "partner_kind": "guarantee", "status": "active",
            "cooperation_limit": "50000000", "single_limit": "5000000", "contact_phone": "010-66668888"}
    bad = dict(body, credit_code=body["credit_code"][:-1] + ("0" if body["credit_code"][-1] != "0" else "1"))
    assert translated(app, "The unified social credit code is not valid.") in error(
        admin.post(f"{API}/partner_company/", json=bad), 422)
    assert translated(app, "The single-deal limit cannot exceed the cooperation limit.") in error(
        admin.post(f"{API}/partner_company/", json=dict(body, single_limit="60000000")), 422)
    error(admin.post(f"{API}/partner_company/", json=dict(body, cooperation_limit="-1")), 422)
    response = admin.post(f"{API}/partner_company/", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["result"]["cooperation_limit"] in (50000000, 50000000.0, "50000000.00")
    error(admin.post(f"{API}/partner_company/", json=dict(body, name=uid("另一"))), 422)  # same credit code
    error(client(app, P.RISK_OFFICER).post(f"{API}/partner_company/", json=dict(body, name=uid("x"))), 403)


def test_joint_guarantee_groups(app, admin):
    group = {"name": uid("联保体"), "established_on": "2025-01-01", "group_limit": "5000000",
             "member_limit": "1000000", "status": "active"}
    error(admin.post(f"{API}/guarantee_group/", json=dict(group, member_limit="6000000")), 422)
    first = admin.post(f"{API}/guarantee_group/", json=group).get_json()["id"]
    second = admin.post(f"{API}/guarantee_group/", json=dict(group, name=uid("联保体"))).get_json()["id"]
    a, b = new_customer(admin), new_customer(admin)
    member = admin.post(f"{API}/guarantee_group_member/", json={"group": first, "customer": a, "is_leader": True,
                                                                     "joined_on": "2025-02-01"})
    assert member.status_code == 201, member.get_json()
    assert admin.post(f"{API}/guarantee_group_member/", json={"group": first, "customer": b,
                                                                   "joined_on": "2025-02-01"}).status_code == 201
    # a customer is in at most one active group; one leading member per group
    message = error(admin.post(f"{API}/guarantee_group_member/", json={"group": second, "customer": a,
                                                                           "joined_on": "2025-02-01"}), 422)
    assert group["name"] in message
    member_b = admin.get(f"{API}/guarantee_group_member/", query_string={
        "q": f"(filters:!((col:customer,opr:rel_o_m,value:{b})))"}).get_json()["result"][0]["id"]
    assert translated(app, "The group already has a leading member.") in error(
        admin.put(f"{API}/guarantee_group_member/{member_b}", json={"is_leader": True}), 422)
    # dissolving the group ends the memberships; the customers may then join another group
    assert admin.put(f"{API}/guarantee_group/{first}", json={"status": "dissolved"}).status_code == 200
    assert count(app, GuaranteeGroupMember, GuaranteeGroupMember.group_id == first,
                 GuaranteeGroupMember.active.is_(True)) == 0
    error(admin.post(f"{API}/guarantee_group_member/", json={"group": first, "customer": new_customer(admin),
                                                             "joined_on": "2025-03-01"}), 422)
    assert admin.post(f"{API}/guarantee_group_member/", json={"group": second, "customer": a,
                                                                    "joined_on": "2025-03-01"}).status_code == 201


def test_partner_screens(app, admin_client):
    html = admin_client.post_form("/partnercompanyview/add", {
        "name": uid("屏幕担保"), "credit_code": "123", "partner_kind": "guarantee", "status": "active",
        "cooperation_limit": "1000", "single_limit": "", "contact_person": "", "contact_phone": "", "address": "",
        "agreement_start": "", "agreement_end": "", "note": ""}).get_data(as_text=True)
    assert translated(app, "The unified social credit code is not valid.") in html
    assert admin_client.get("/guaranteegroupview/list/").status_code == 200
