"""The guarantee screens and REST API (BIZ-3..12, BIZ-14) through HTTP: the same service checks as the services
— a hand-made POST or an API call that tries to skip a stage is refused and changes nothing — permissions per
role, the data scope of the account manager, the business query with its filters and export."""
import re

import pytest

from app import permissions as P
from tests.conftest import unique
from tests.integration.test_guarantees_support import (
    application_data, committee_members, make_bank, make_customer, make_product, to_stage, user_id,
)


@pytest.fixture(scope="module")
def members(app):
    return committee_members(app, 3)


@pytest.fixture
def setup(db):
    am = user_id(P.ACCOUNT_MANAGER)
    product, bank = make_product(db), make_bank(db)
    customer = make_customer(db, manager_id=am)
    db.session.commit()
    return {"am": am, "product": product, "bank": bank, "customer": customer}


def _new(db, setup, **over):
    from app.services import guarantees as svc

    g = svc.create_application(application_data(setup["customer"], setup["product"], setup["bank"], **over),
                               setup["am"])
    db.session.commit()
    return g


def _stage(db, pk):
    from models.business import Guarantee

    db.session.expire_all()
    return db.session.get(Guarantee, pk).stage


def test_application_form_creates_and_shows_the_page(db, setup, login_as):
    am = login_as(P.ACCOUNT_MANAGER)
    page = am.get("/guarantee/add")
    assert page.status_code == 200 and 'id="application-form"' in page.get_data(as_text=True)
    form = {"customer_id": setup["customer"].id, "product_id": setup["product"].id, "bank_id": setup["bank"].id,
            "amount": "800000", "term_months": "6", "fee_rate": "0.02", "purpose": "采购原材料",
            "repayment_method": "lump_sum", "measure-0-kind": "mortgage", "measure-0-description": "厂房",
            "measure-0-value": "1200000", "fee-0-fee_type": "guarantee", "fee-0-basis": "ratio",
            "fee-0-frequency": "monthly"}
    response = am.post_form("/guarantee/add", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    pk = int(re.search(r"/guarantee/page/(\d+)", response.headers["Location"]).group(1))
    html = am.get(f"/guarantee/page/{pk}").get_data(as_text=True)
    assert 'id="stage-progress"' in html and 'id="fee-schedule"' in html and "厂房" in html
    # 800,000 × 2 % / 12 = 1,333.33 a month; the 6th month takes the remainder 1,333.35
    assert html.count("1,333.33") == 5 and "1,333.35" in html
    assert 'id="op-submit_application"' in html


def test_application_form_refusal_keeps_input(db, setup, login_as):
    am = login_as(P.ACCOUNT_MANAGER)
    form = {"customer_id": setup["customer"].id, "product_id": setup["product"].id, "bank_id": setup["bank"].id,
            "amount": "99999999", "term_months": "6", "fee_rate": "0.02", "purpose": "测试保留输入",
            "repayment_method": "lump_sum", "measure-0-kind": "credit"}
    response = am.post_form("/guarantee/add", form, form_page="/guarantee/add")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="application-error"' in html and "测试保留输入" in html


def test_direct_post_cannot_skip_a_stage(db, setup, login_as):
    g = _new(db, setup)
    am = login_as(P.ACCOUNT_MANAGER)
    page = f"/guarantee/page/{g.id}"
    for op in ("issue_intention_letter", "issue_confirmation_letter", "register_fees", "complete_contracts",
               "issue_loan_notice", "submit_for_acceptance"):
        response = am.post_form(f"/guarantee/act/{g.id}/{op}", {}, form_page=page)
        assert response.status_code == 302
        assert _stage(db, g.id) == "draft"
    cashier = login_as(P.CASHIER)
    response = cashier.post_form(f"/guaranteefinance/act/{g.id}/confirm_loan",
                                 {"loan_number": "X1", "loan_amount": "1000"}, form_page=page)
    assert response.status_code == 302 and _stage(db, g.id) == "draft"
    # an operation of another group under this URL does not exist
    assert am.post_form(f"/guarantee/act/{g.id}/confirm_loan", {}, form_page=page).status_code == 404
    # the page tells why
    html = am.get(page).get_data(as_text=True)
    assert "alert" in html


def test_role_permissions_on_operations(db, setup, login_as):
    g = _new(db, setup)
    page = f"/guarantee/page/{g.id}"
    committee = login_as(P.COMMITTEE_MEMBER)
    assert committee.get(page).status_code == 200  # reads
    assert committee.post_form(f"/guarantee/act/{g.id}/submit_application", {}, form_page=page).status_code == 403
    am = login_as(P.ACCOUNT_MANAGER)
    assert am.post_form(f"/guaranteefinance/act/{g.id}/confirm_loan", {}, form_page=page).status_code == 403
    assert am.post_form(f"/guaranteerisk/act/{g.id}/save_risk_report", {}, form_page=page).status_code == 403
    assert login_as(P.CASHIER).get("/guarantee/add").status_code == 403
    # without CSRF the POST is refused (redirect with the message, nothing changed)
    am.post(f"/guarantee/act/{g.id}/submit_application", data={})
    assert _stage(db, g.id) == "draft"
    response = am.post_form(f"/guarantee/act/{g.id}/submit_application", {}, form_page=page)
    assert response.status_code == 302 and _stage(db, g.id) == "investigation"


def test_account_manager_sees_only_own_business(db, setup, login_as, new_user):
    g = _new(db, setup)
    other = login_as(new_user(P.ACCOUNT_MANAGER))
    assert other.get(f"/guarantee/page/{g.id}").status_code == 404
    assert g.code not in other.get("/guarantee/list/").get_data(as_text=True)
    page = f"/guarantee/page/{g.id}"
    response = other.post_form(f"/guarantee/act/{g.id}/submit_application", {}, form_page="/guarantee/add")
    assert response.status_code == 404 and _stage(db, g.id) == "draft"
    assert g.code in login_as(P.ACCOUNT_MANAGER).get("/guarantee/list/").get_data(as_text=True)
    assert other.get(f"/guarantee/document/{g.id}/intention_letter").status_code == 404
    assert login_as(P.AUDITOR).get(page).status_code == 200


def test_api_refuses_skipping_and_follows_the_stages(db, setup, api_as, members):
    am, cashier, risk = api_as(P.ACCOUNT_MANAGER), api_as(P.CASHIER), api_as(P.RISK_OFFICER)
    body = application_data(setup["customer"], setup["product"], setup["bank"])
    created = am.post("/api/v1/guarantee_work/", json=body)
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    for op in ("issue_intention_letter", "register_fees", "issue_loan_notice"):
        refused = am.post(f"/api/v1/guarantee_work/{pk}/{op}", json={})
        assert refused.status_code == 409 and refused.get_json()["message"]
    refused = cashier.post(f"/api/v1/guarantee_finance/{pk}/confirm_loan", json={"loan_number": "A",
                                                                                "loan_amount": "10"})
    assert refused.status_code == 409
    assert risk.post(f"/api/v1/guarantee_risk/{pk}/submit_to_committee", json={}).status_code == 409
    # wrong role: 403
    assert am.post(f"/api/v1/guarantee_finance/{pk}/confirm_loan", json={}).status_code == 403
    assert cashier.post("/api/v1/guarantee_work/", json=body).status_code == 403
    assert _stage(db, pk) == "draft"
    ok = am.post(f"/api/v1/guarantee_work/{pk}/submit_application", json={})
    assert ok.status_code == 200 and ok.get_json()["result"]["stage"] == "investigation"
    bad = am.post(f"/api/v1/guarantee_work/{pk}/save_investigation_report", json={"conclusion": "x"})
    assert bad.status_code == 422
    # the read API and the query
    detail = am.get(f"/api/v1/guarantee_work/{pk}").get_json()["result"]
    assert detail["measures"][0]["kind"] == "mortgage" and detail["schedule"]
    listing = risk.get("/api/v1/guarantee/?q=(filters:!((col:stage,opr:eq,value:investigation)))")
    assert listing.status_code == 200 and pk in listing.get_json()["ids"]
    # nothing but reading on the entity API: applications go through the service
    assert am.post("/api/v1/guarantee/", json={"code": "X"}).status_code in (404, 405)


def test_api_terms_and_line_refusals(db, setup, api_as):
    am = api_as(P.ACCOUNT_MANAGER)
    body = application_data(setup["customer"], setup["product"], setup["bank"], amount="90000000")
    response = am.post("/api/v1/guarantee_work/", json=body)
    assert response.status_code == 422 and "90,000,000.00" in response.get_json()["message"]
    small = make_bank(db, total_line="100000", single_cap="100000")
    db.session.commit()
    response = am.post("/api/v1/guarantee_work/", json=application_data(setup["customer"], setup["product"], small))
    assert response.status_code == 422 and "100,000.00" in response.get_json()["message"]


def test_business_query_filters_and_export(db, setup, login_as, members):
    from app.services import guarantees as svc

    g1 = _new(db, setup)
    g2 = to_stage(db, _new(db, setup).id, "intention", members)
    risk = login_as(P.RISK_OFFICER)
    html = risk.get("/guarantee/list/?_flt_3_stage=intention").get_data(as_text=True)
    assert g2.code in html and g1.code not in html
    assert 'id="guarantee-quick-filters"' in html
    html = risk.get(f"/guarantee/list/?_flt_0_bank={setup['bank'].id}&_flt_3_approval_status=approved"
                    ).get_data(as_text=True)
    assert g2.code in html and g1.code not in html
    export = risk.get("/guarantee/export/?_flt_3_stage=intention")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(export.data)).active
    codes = {row[0] for row in sheet.iter_rows(values_only=True)}
    assert g2.code in codes and g1.code not in codes
    assert svc.get(g2.id).approval_status == "approved"


def test_page_through_the_stages_by_role(db, setup, login_as, members):
    """The page offers each stage's work to the role that does it, and the POSTs move the stages."""
    g = to_stage(db, _new(db, setup).id, "contract", members)
    page = f"/guarantee/page/{g.id}"
    risk, am, cashier = login_as(P.RISK_OFFICER), login_as(P.ACCOUNT_MANAGER), login_as(P.CASHIER)
    html = risk.get(page).get_data(as_text=True)
    assert "review-contract" in html
    counter = next(c for c in g.contracts if c.kind == "counter")
    assert risk.post_form(f"/guaranteerisk/act/{g.id}/review_contract", {"contract_id": counter.id},
                          form_page=page).status_code == 302
    for c in g.contracts:
        am.post_form(f"/guarantee/act/{g.id}/sign_contract", {"contract_id": c.id}, form_page=page)
    for m in g.measures:
        am.post_form(f"/guarantee/act/{g.id}/register_measure", {"measure_id": m.id}, form_page=page)
    am.post_form(f"/guarantee/act/{g.id}/complete_contracts", {}, form_page=page)
    assert _stage(db, g.id) == "fee_collection"
    html = cashier.get(page).get_data(as_text=True)
    assert "collect-fee" in html
    from models.business import Guarantee

    db.session.expire_all()
    for row in db.session.get(Guarantee, g.id).schedule:
        cashier.post_form(f"/guaranteefinance/act/{g.id}/collect_fee",
                          {"schedule_id": row.id, "amount": str(row.amount), "method": "transfer"}, form_page=page)
    cashier.post_form(f"/guaranteefinance/act/{g.id}/finish_fee_collection", {}, form_page=page)
    am.post_form(f"/guarantee/act/{g.id}/issue_loan_notice", {}, form_page=page)
    assert _stage(db, g.id) == "loan_confirmation"
    download = am.get(f"/guarantee/document/{g.id}/loan_notice")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    pdf = am.get(f"/guarantee/document/{g.id}/committee_resolution?fmt=pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    counter = next(c for c in g.contracts if c.kind == "counter")
    contract = am.get(f"/guarantee/document/{g.id}/counter_contract?contract={counter.id}")
    assert contract.status_code == 200 and contract.data[:2] == b"PK"
    # not before its stage: the loan notice of a draft is refused with the reason
    draft = _new(db, setup)
    early = am.get(f"/guarantee/document/{draft.id}/loan_notice")
    assert early.status_code == 302 and f"/guarantee/page/{draft.id}" in early.headers["Location"]
    assert am.get(f"/guarantee/document/{g.id}/no_such_doc").status_code == 404
    cashier.post_form(f"/guaranteefinance/act/{g.id}/confirm_loan",
                      {"loan_number": "JK" + unique(""), "loan_amount": "1000000"}, form_page=page)
    assert _stage(db, g.id) == "in_force"
    html = am.get(page).get_data(as_text=True)
    assert 'id="in-force-note"' in html and 'data-doc="intention_letter"' in html


def test_api_data_scope(db, setup, api_as, new_user):
    g = _new(db, setup)
    other = api_as(new_user(P.ACCOUNT_MANAGER))
    assert other.get(f"/api/v1/guarantee_work/{g.id}").status_code == 404
    assert other.post(f"/api/v1/guarantee_work/{g.id}/submit_application", json={}).status_code == 404
    assert g.id not in other.get("/api/v1/guarantee/").get_json()["ids"]
    assert _stage(db, g.id) == "draft"


def test_closed_item_refused_on_screen_and_api(db, setup, login_as, api_as, members):
    from app.services import approval

    g = to_stage(db, _new(db, setup).id, "acceptance", members)
    approval.act(approval.open_instance("guarantee.acceptance", g.id).id, user_id(P.RISK_OFFICER), "reject", "不符合条件")
    db.session.commit()
    page = f"/guarantee/page/{g.id}"
    am = login_as(P.ACCOUNT_MANAGER)
    html = am.get(page).get_data(as_text=True)
    assert 'id="closed-note"' in html and 'data-status="rejected"' in html
    am.post_form(f"/guarantee/act/{g.id}/issue_intention_letter", {}, form_page=page)
    am.post_form(f"/guarantee/act/{g.id}/withdraw_application", {"reason": "x"}, form_page=page)
    refused = api_as(P.ACCOUNT_MANAGER).post(f"/api/v1/guarantee_work/{g.id}/issue_intention_letter", json={})
    assert refused.status_code == 409
    from models.business import Guarantee

    db.session.expire_all()
    item = db.session.get(Guarantee, g.id)
    assert item.status == "rejected" and item.stage == "acceptance"
