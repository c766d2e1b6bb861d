"""Credit limits (RAT-3) through the real services, the real approval engine, the screens and the API.

The `db` fixture rolls back what a service test did; the web and API tests commit (they go through
requests), so each makes its own customers."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, Forbidden, ValidationError
from tests.conftest import TEST_PASSWORD, unique
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id


def _svc():
    from app.services import credit_limits

    return credit_limits


def _approval():
    from app.services import approval

    return approval


def _today():
    from app.services import business_date

    return business_date.today()


def make_guarantee(db, customer, product, bank, amount, stage="in_force", status="active", balance=None):
    from models.business import Guarantee

    g = Guarantee(code=unique("G"), customer_id=customer.id, product_id=product.id, bank_id=bank.id,
                  amount=D(amount), term_months=12, fee_rate=D("0.02"), stage=stage, status=status,
                  balance=D(balance if balance is not None else (amount if stage == "in_force" else 0)))
    db.session.add(g)
    db.session.flush()
    return g


def _grant(customer, amount, am=None, **extra):
    """Propose as the account manager, approve as 风控专员 then 总经理 through the engine."""
    svc, approval = _svc(), _approval()
    am = am or user_id(P.ACCOUNT_MANAGER)
    item = svc.propose({"customer_id": customer.id, "amount": str(amount), **extra}, am)
    inst = approval.open_instance(svc.APPROVAL_KIND, item.id)
    approval.act(inst.id, user_id(P.RISK_OFFICER), "approve", "同意")
    approval.act(inst.id, user_id(P.GENERAL_MANAGER), "approve", "同意")
    assert item.status == "granted"
    return item


@pytest.fixture(scope="module")
def risk_proposer(app):
    """A second 风控专员 (made before any test opens a transaction)."""
    from app.extensions import db

    with app.app_context():
        sm = app.appbuilder.sm
        username = unique("rp")
        user = sm.add_user(username, "风控", "提议", f"{username}@test.local", [sm.find_role(P.RISK_OFFICER)],
                           TEST_PASSWORD)
        db.session.commit()
        return user.id


@pytest.fixture
def biz(db):
    am = user_id(P.ACCOUNT_MANAGER)
    return {"am": am, "customer": make_customer(db, am), "product": make_product(db), "bank": make_bank(db)}


def test_grant_through_the_engine_with_two_different_users(db, biz):
    svc, approval = _svc(), _approval()
    customer = biz["customer"]
    item = svc.propose({"customer_id": customer.id, "amount": "5000000", "comment": "首次授信"}, biz["am"])
    assert item.status == "pending" and item.code.startswith("SX")
    assert svc.current_limit(customer.id) is None  # not current before the approval
    inst = approval.open_instance(svc.APPROVAL_KIND, item.id)
    assert [s.name for s in approval._steps_of(inst)] == ["风控审查", "总经理审批"]
    approval.act(inst.id, user_id(P.RISK_OFFICER), "approve", "同意")
    assert item.status == "pending" and svc.current_limit(customer.id) is None
    # the risk officer who approved step 1 may not approve step 2 as well
    with pytest.raises(Forbidden):
        approval.act(inst.id, user_id(P.RISK_OFFICER), "approve")
    approval.act(inst.id, user_id(P.GENERAL_MANAGER), "approve", "同意")
    assert inst.status == "approved" and item.status == "granted" and item.decided_on == _today()
    assert svc.current_limit(customer.id).id == item.id
    assert svc.usage(customer.id)["limit"] == D("5000000.00")
    actors = [a.acted_by_id for a in approval.timeline(svc.APPROVAL_KIND, item.id) if a.action == "approve"]
    assert actors == [user_id(P.RISK_OFFICER), user_id(P.GENERAL_MANAGER)]


def test_self_approval_refused_and_rejection(risk_proposer, db, biz):
    svc, approval = _svc(), _approval()
    # a risk officer who proposes a limit never approves it: the engine leaves him out and refuses him
    item = svc.propose({"customer_id": biz["customer"].id, "amount": "1000000"}, risk_proposer)
    inst = approval.open_instance(svc.APPROVAL_KIND, item.id)
    with pytest.raises(Forbidden):
        approval.act(inst.id, risk_proposer, "approve")
    assert risk_proposer not in {t.assignee_id for t in approval._open_tasks(inst)}
    approval.act(inst.id, user_id(P.RISK_OFFICER), "reject", "资料不全")
    assert item.status == "rejected" and svc.current_limit(biz["customer"].id) is None
    with pytest.raises(Conflict):
        svc.submit(item.id, risk_proposer)  # a rejected limit is not submitted again: propose a new one


def test_withdrawn_goes_back_to_proposed_and_can_be_resubmitted(db, biz):
    svc, approval = _svc(), _approval()
    item = svc.propose({"customer_id": biz["customer"].id, "amount": "1000000"}, biz["am"])
    inst = approval.open_instance(svc.APPROVAL_KIND, item.id)
    approval.act(inst.id, biz["am"], "withdraw", "补充材料")
    assert item.status == "proposed"
    svc.submit(item.id, biz["am"], "补充后重新提交")
    assert item.status == "pending" and approval.open_instance(svc.APPROVAL_KIND, item.id) is not None


def test_over_limit_refused_with_figures(db, biz):
    svc = _svc()
    customer = biz["customer"]
    _grant(customer, "3000000")
    make_guarantee(db, customer, biz["product"], biz["bank"], "1000000")
    assert svc.check_available(customer.id, "2000000")["available"] == D("2000000.00")  # exactly fits
    with pytest.raises(ValidationError) as err:
        svc.check_available(customer.id, "2000000.01")
    message = err.value.message
    for figure in ("3,000,000.00", "1,000,000.00", "2,000,000.00", "2,000,000.01"):
        assert figure in message
    assert err.value.field == "amount"
    # the application under check is not counted twice
    pending = make_guarantee(db, customer, biz["product"], biz["bank"], "2000000", stage="committee")
    with pytest.raises(ValidationError):
        svc.check_available(customer.id, "2000000")
    svc.check_available(customer.id, "2000000", exclude_guarantee_id=pending.id)
    # the hook of the regulatory checks sees the same figures
    name, used, limit = svc.compliance_limits(customer.id, D("500000"), pending.id)[0]
    assert (used, limit) == (D("1500000.00"), D("3000000.00"))


def test_no_current_limit_means_no_restriction_and_no_compliance_entry(db, biz):
    svc = _svc()
    assert svc.usage(biz["customer"].id) == {"limit": None, "used": D("0.00"), "available": None, "item": None}
    svc.check_available(biz["customer"].id, "99999999")
    assert svc.compliance_limits(biz["customer"].id, D("1"), None) == []


def test_usage_follows_guarantees_in_force(db, biz):
    svc = _svc()
    customer, product, bank = biz["customer"], biz["product"], biz["bank"]
    _grant(customer, "10000000")
    make_guarantee(db, customer, product, bank, "1000000", balance="800000")  # in force: its balance
    make_guarantee(db, customer, product, bank, "2000000", stage="risk")  # past acceptance: its amount
    make_guarantee(db, customer, product, bank, "4000000", stage="investigation")  # before acceptance: nothing
    make_guarantee(db, customer, product, bank, "3000000", status="released", stage="released")  # ended: nothing
    make_guarantee(db, customer, product, bank, "5000000", stage="review", status="rejected")  # rejected: nothing
    other = make_customer(db, biz["am"])
    make_guarantee(db, other, product, bank, "7000000")  # another customer's
    figures = svc.usage(customer.id)
    assert (figures["limit"], figures["used"], figures["available"]) == (
        D("10000000.00"), D("2800000.00"), D("7200000.00"))
    # the same rule as the bank lines
    from app.services import banks

    assert banks.line_usage(bank)["used"] - D("7000000.00") == figures["used"]


def test_expired_limit_is_not_current(db, biz):
    svc = _svc()
    today = _today()
    item = _grant(biz["customer"], "1000000", valid_from=(today - timedelta(days=30)).isoformat(),
                  valid_to=today.isoformat())
    assert svc.current_limit(biz["customer"].id).id == item.id  # the last day still counts
    item.valid_to = today - timedelta(days=1)  # as if the business date had moved past the end
    db.session.flush()
    assert svc.current_limit(biz["customer"].id) is None
    assert svc.effective_status(item) == "expired" and item.status == "granted"
    svc.check_available(biz["customer"].id, "5000000")  # no current limit: not restricted here
    assert svc.expire_limits() >= 1 and item.status == "expired"
    assert item.ended_on == today


def test_proposal_validation(db, biz):
    svc = _svc()
    today = _today()
    cid = biz["customer"].id
    cases = [
        ({"amount": ""}, "amount"), ({"amount": "-5"}, "amount"), ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "amount"), ({"amount": "100", "valid_to": "2020-13-01"}, "valid_to"),
        ({"amount": "100", "valid_to": (today - timedelta(days=1)).isoformat(),
          "valid_from": (today - timedelta(days=9)).isoformat()}, "valid_to"),
        ({"amount": "100", "valid_from": today.isoformat(), "valid_to": (today - timedelta(days=1)).isoformat()},
         "valid_to"),
        ({"amount": "100", "valid_to": (today + timedelta(days=366 * 6)).isoformat()}, "valid_to"),
        ({"amount": "100", "kind": "product"}, "product_id"), ({"amount": "100", "kind": "x"}, "kind"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as err:
            svc.propose({"customer_id": cid, **data}, biz["am"])
        assert err.value.field == field, data
    with pytest.raises(ValidationError):
        svc.propose({"customer_id": 999999999, "amount": "100"}, biz["am"])
    biz["customer"].blacklisted = True
    db.session.flush()
    with pytest.raises(ValidationError) as err:
        svc.propose({"customer_id": cid, "amount": "100"}, biz["am"])
    assert err.value.field == "customer_id" and biz["customer"].name in err.value.message


def test_superseding_keeps_history(db, biz):
    svc = _svc()
    customer = biz["customer"]
    first = _grant(customer, "2000000")
    second = _grant(customer, "6000000")
    assert first.status == "superseded" and first.superseded_by_id == second.id and first.ended_on == _today()
    assert second.code in first.end_reason
    assert svc.current_limit(customer.id).id == second.id
    assert [h.id for h in svc.history(customer.id)] == [second.id, first.id]
    # a per-product limit lives beside the comprehensive one and does not supersede it
    product = biz["product"]
    per_product = _grant(customer, "1000000", kind="product", product_id=product.id)
    assert second.status == "granted" and svc.current_limit(customer.id, product.id).id == per_product.id
    make_guarantee(db, customer, product, biz["bank"], "800000")
    with pytest.raises(ValidationError, match="200,000.00"):
        svc.check_available(customer.id, "300000", product_id=product.id)
    svc.check_available(customer.id, "300000")  # the comprehensive limit alone has room


def test_revoke(db, biz):
    svc = _svc()
    item = _grant(biz["customer"], "1000000")
    with pytest.raises(ValidationError):
        svc.revoke(item.id, user_id(P.RISK_OFFICER), "  ")
    svc.revoke(item.id, user_id(P.RISK_OFFICER), "经营恶化")
    assert item.status == "revoked" and svc.current_limit(biz["customer"].id) is None
    with pytest.raises(Conflict):
        svc.revoke(item.id, user_id(P.RISK_OFFICER), "再次")


# --- screens and API ---------------------------------------------------------------------------------

@pytest.fixture
def two_managers(app, new_user):
    """Two account managers with one customer each (committed: the requests see them)."""
    from app.extensions import db

    a, b = new_user(P.ACCOUNT_MANAGER), new_user(P.ACCOUNT_MANAGER)
    with app.app_context():
        ca = make_customer(db, user_id(a))
        cb = make_customer(db, user_id(b))
        db.session.commit()
        return {"a": a, "b": b, "ca": ca.id, "cb": cb.id, "ca_name": ca.name, "cb_name": cb.name}


def _approve_all(app, limit_id):
    from app.extensions import db

    with app.app_context():
        approval, svc = _approval(), _svc()
        inst = approval.open_instance(svc.APPROVAL_KIND, limit_id)
        approval.act(inst.id, user_id(P.RISK_OFFICER), "approve", "同意")
        approval.act(inst.id, user_id(P.GENERAL_MANAGER), "approve", "同意")
        db.session.commit()


def test_propose_on_screen_approve_on_panel_and_scope(app, login_as, two_managers):
    from app.extensions import db
    from models.credit_limits import CreditLimit

    web_a = login_as(two_managers["a"])
    page = web_a.get(f"/creditlimit/add?customer_id={two_managers['ca']}")
    assert page.status_code == 200
    # bad input: the form comes back with the message, nothing is saved
    bad = web_a.post_form("/creditlimit/add", {"customer_id": two_managers["ca"], "amount": "-1"})
    assert bad.status_code == 200 and 'class="help-block text-danger field-error"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(CreditLimit).where(
            CreditLimit.customer_id == two_managers["ca"])).first() is None
    # another manager's customer cannot be chosen by a hand-made POST
    other = web_a.post_form("/creditlimit/add", {"customer_id": two_managers["cb"], "amount": "1000"},
                            form_page="/creditlimit/add")
    assert other.status_code in (200, 404)
    with app.app_context():
        assert db.session.execute(select(CreditLimit).where(
            CreditLimit.customer_id == two_managers["cb"])).first() is None
    saved = web_a.post_form("/creditlimit/add", {"customer_id": two_managers["ca"], "amount": "1500000"},
                            form_page="/creditlimit/add")
    assert saved.status_code == 302 and "/creditlimit/page/" in saved.headers["Location"]
    limit_id = int(saved.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    # the risk officer approves on the panel; the proposer has no approve button
    assert "approval-act-form" not in web_a.get(f"/creditlimit/page/{limit_id}").get_data(as_text=True) or \
        'value="approve"' not in web_a.get(f"/creditlimit/page/{limit_id}").get_data(as_text=True)
    with app.app_context():
        inst_id = _approval().open_instance("credit_limit", limit_id).id
    risk = login_as(P.RISK_OFFICER)
    html = risk.get(f"/creditlimit/page/{limit_id}").get_data(as_text=True)
    assert 'value="approve"' in html
    done = risk.post_form(f"/approval/act/{inst_id}", {"action": "approve", "comment": "同意",
                                                      "next": f"/creditlimit/page/{limit_id}"},
                          form_page=f"/creditlimit/page/{limit_id}")
    assert done.status_code == 302
    gm = login_as(P.GENERAL_MANAGER)
    gm.post_form(f"/approval/act/{inst_id}", {"action": "approve", "comment": "同意"},
                 form_page=f"/creditlimit/page/{limit_id}")
    with app.app_context():
        assert db.session.get(CreditLimit, limit_id).status == "granted"
    html = web_a.get(f"/creditlimit/page/{limit_id}").get_data(as_text=True)
    assert "1,500,000.00" in html and 'id="credit-limit-current"' in html

    # scope: manager B sees neither the list row nor the page of A's customer's limit
    web_b = login_as(two_managers["b"])
    assert web_b.get(f"/creditlimit/page/{limit_id}").status_code == 404
    assert web_b.get(f"/creditlimit/show/{limit_id}").status_code == 404
    listing = web_b.get("/creditlimit/list/").get_data(as_text=True)
    with app.app_context():
        code = db.session.get(CreditLimit, limit_id).code
    assert code not in listing and code in web_a.get("/creditlimit/list/").get_data(as_text=True)
    assert two_managers["ca_name"] not in listing  # not among the customer filter's choices either
    # the customer tab of A's customer shows the limit with its usage
    tab = web_a.get(f"/customerview/show/{two_managers['ca']}").get_data(as_text=True)
    assert code in tab and "1,500,000.00" in tab
    # revoking is risk management's: a hand-made POST of the account manager is refused, nothing changes
    page_url = f"/creditlimit/page/{limit_id}"
    assert web_a.post_form(f"/creditlimit/revoke/{limit_id}", {"reason": "x"},
                           form_page="/creditlimit/add").status_code == 403
    assert 'id="credit-limit-revoke"' not in web_a.get(page_url).get_data(as_text=True)
    risk.post_form(f"/creditlimit/revoke/{limit_id}", {"reason": ""}, form_page=page_url)  # no reason: refused
    with app.app_context():
        assert db.session.get(CreditLimit, limit_id).status == "granted"
    risk.post_form(f"/creditlimit/revoke/{limit_id}", {"reason": "经营恶化"}, form_page=page_url)
    with app.app_context():
        assert db.session.get(CreditLimit, limit_id).status == "revoked"


def test_api_same_checks_and_scope(app, api_as, two_managers):
    api_a, api_b = api_as(two_managers["a"]), api_as(two_managers["b"])
    bad = api_a.post("/api/v1/credit_limit_work/", json={"customer_id": two_managers["ca"], "amount": "x"})
    assert bad.status_code == 422 and bad.get_json()["message"]
    foreign = api_a.post("/api/v1/credit_limit_work/", json={"customer_id": two_managers["cb"], "amount": "100"})
    assert foreign.status_code == 404
    made = api_a.post("/api/v1/credit_limit_work/", json={"customer_id": two_managers["ca"], "amount": "800000"})
    assert made.status_code == 201, made.get_data(as_text=True)
    limit_id = made.get_json()["result"]["id"]
    assert made.get_json()["result"]["status"] == "pending"
    _approve_all(app, limit_id)
    got = api_a.get(f"/api/v1/credit_limit_work/{limit_id}").get_json()["result"]
    assert got["status"] == "granted" and got["available"] == "800000.00"
    usage = api_a.get(f"/api/v1/credit_limit_work/usage/{two_managers['ca']}").get_json()["result"]
    assert usage == {"limit": "800000.00", "used": "0.00", "available": "800000.00", "limit_id": limit_id}
    assert api_b.get(f"/api/v1/credit_limit_work/{limit_id}").status_code == 404
    assert api_b.get(f"/api/v1/credit_limit_work/usage/{two_managers['ca']}").status_code == 404
    assert api_b.get(f"/api/v1/credit_limit/{limit_id}").status_code == 404
    ids = [r["id"] for r in api_b.get("/api/v1/credit_limit/").get_json()["result"]]
    assert limit_id not in ids
    assert limit_id in [r["id"] for r in api_a.get("/api/v1/credit_limit/").get_json()["result"]]
    # revoking is risk management's: the account manager is refused, the risk officer may
    assert api_a.post(f"/api/v1/credit_limit_work/{limit_id}/revoke", json={"reason": "x"}).status_code == 403
    risk = api_as(P.RISK_OFFICER)
    assert risk.post(f"/api/v1/credit_limit_work/{limit_id}/revoke", json={"reason": ""}).status_code == 422
    revoked = risk.post(f"/api/v1/credit_limit_work/{limit_id}/revoke", json={"reason": "经营恶化"})
    assert revoked.status_code == 200 and revoked.get_json()["result"]["status"] == "revoked"
    # proposing is the account manager's: the auditor reads only
    auditor = api_as(P.AUDITOR)
    assert auditor.post("/api/v1/credit_limit_work/", json={"customer_id": two_managers["ca"],
                                                           "amount": "1"}).status_code == 403


def test_list_filters_and_expiring_soon(app, admin_web, two_managers):
    from app.extensions import db

    with app.app_context():
        svc = _svc()
        today = _today()
        soon = svc.propose({"customer_id": two_managers["ca"], "amount": "100000",
                            "valid_to": (today + timedelta(days=10)).isoformat()}, user_id(two_managers["a"]))
        later = svc.propose({"customer_id": two_managers["cb"], "amount": "200000",
                             "valid_to": (today + timedelta(days=200)).isoformat()}, user_id(two_managers["b"]))
        db.session.commit()
        ids = (soon.id, later.id)
        codes = (soon.code, later.code)
    for limit_id in ids:
        _approve_all(app, limit_id)
    page = admin_web.get("/creditlimit/list/").get_data(as_text=True)
    assert 'id="expiring-soon"' in page
    import re

    href = re.search(r'href="([^"]+)" id="expiring-soon"', page).group(1).replace("&amp;", "&")
    expiring = admin_web.get(href).get_data(as_text=True)
    assert codes[0] in expiring and codes[1] not in expiring
    by_customer = admin_web.get(f"/creditlimit/list/?_flt_0_customer={two_managers['cb']}").get_data(as_text=True)
    assert codes[1] in by_customer and codes[0] not in by_customer
    granted = admin_web.get("/creditlimit/list/?_flt_3_status=pending").get_data(as_text=True)
    assert codes[0] not in granted


def test_compliance_hook_reports_the_limit(db, biz, monkeypatch, app):
    """Plugged into app/services/compliance.CREDIT_LIMIT_SOURCES, the limit shows in the regulatory checks."""
    from app.services import compliance, settings

    svc = _svc()
    if svc.compliance_limits not in compliance.CREDIT_LIMIT_SOURCES:  # until the lead adds the hook line
        monkeypatch.setattr(compliance, "CREDIT_LIMIT_SOURCES", [*compliance.CREDIT_LIMIT_SOURCES,
                                                                 svc.compliance_limits])
    settings.set_value("compliance_stop_credit_limit", True)
    db.session.flush()
    customer = biz["customer"]
    item = _grant(customer, "2000000")
    make_guarantee(db, customer, biz["product"], biz["bank"], "1500000")
    application = make_guarantee(db, customer, biz["product"], biz["bank"], "600000", stage="draft")
    with app.test_request_context(), force_locale("en"):
        result = {r.code: r for r in compliance.evaluate(application)}["credit_limit"]
    assert not result.ok and result.blocking
    assert (result.figure, result.limit) == (D("2100000.00"), D("2000000.00"))
    assert item.code in result.message
    application.amount = D("500000")
    db.session.flush()
    with app.test_request_context(), force_locale("en"):
        assert {r.code: r for r in compliance.evaluate(application)}["credit_limit"].ok


def _rating(db, customer, grade="AA", net_assets="10000000", basis="net_assets", multiple="0.5", cap="8000000",
            valid_to=None):
    """An approved current rating of the rating module (models/rating.py) with the grade's limit rule."""
    from models.rating import Rating, RatingGrade, RatingModel

    today = _today()
    model = RatingModel(code=unique("M"), name="测试评分模型", version=1, customer_kind="corporate", active=True,
                        missing_policy="zero")
    model.grades = [RatingGrade(grade=grade, min_score=D("80"), limit_basis=basis,
                                limit_multiple=D(multiple) if multiple else None, limit_cap=D(cap) if cap else None)]
    db.session.add(model)
    db.session.flush()
    rating = Rating(customer_id=customer.id, model_id=model.id, status="approved", score=D("85.00"), grade=grade,
                    breakdown=[], net_assets=D(net_assets), rated_on=today, valid_from=today,
                    valid_to=valid_to or today + timedelta(days=365), is_current=True)
    db.session.add(rating)
    db.session.flush()
    return rating


def test_the_approved_rating_proposes_the_amount(db, biz):
    svc = _svc()
    customer = biz["customer"]
    rating = _rating(db, customer)  # 10,000,000 × 0.5 = 5,000,000 (under the cap of 8,000,000)
    proposal = svc.rating_proposal(customer.id)
    assert (proposal["grade"], proposal["amount"], proposal["rating_id"]) == ("AA", D("5000000.00"), rating.id)
    item = svc.propose({"customer_id": customer.id}, biz["am"])  # no amount typed: the rule's amount
    assert (item.amount, item.grade, item.rating_id, item.rule_amount) == (
        D("5000000.00"), "AA", rating.id, D("5000000.00"))
    assert item.valid_to == rating.valid_to and "5,000,000.00" in item.basis
    with pytest.raises(ValidationError) as err:  # more than the grade allows
        svc.propose({"customer_id": customer.id, "amount": "5000000.01"}, biz["am"])
    assert err.value.field == "amount" and "5,000,000.00" in err.value.message
    less = svc.propose({"customer_id": customer.id, "amount": "3000000"}, biz["am"])  # less is allowed
    assert less.amount == D("3000000.00") and less.rule_amount == D("5000000.00")
    # the approval rules see the grade
    assert svc.approval_attributes(item)["customer_grade"] == "AA"


def test_rating_without_rule_or_expired_proposes_nothing(db, biz):
    svc = _svc()
    customer = biz["customer"]
    _rating(db, customer, grade="B", basis="none", multiple=None, cap=None)
    proposal = svc.rating_proposal(customer.id)
    assert proposal["grade"] == "B" and proposal["amount"] is None
    with pytest.raises(ValidationError):  # the amount must then be typed
        svc.propose({"customer_id": customer.id}, biz["am"])
    item = svc.propose({"customer_id": customer.id, "amount": "900000"}, biz["am"])
    assert item.grade == "B" and item.rule_amount is None
    other = make_customer(db, biz["am"])
    _rating(db, other, valid_to=_today() - timedelta(days=1))
    assert svc.rating_proposal(other.id) is None


def test_day_end_step_expires_limits_ending_that_day(db, biz):
    from app.services import dayend

    _svc()  # importing the service registers its day-end step
    today = _today()
    item = _grant(biz["customer"], "1000000", valid_from=(today - timedelta(days=10)).isoformat(),
                  valid_to=today.isoformat())
    keep = _grant(make_customer(db, biz["am"]), "1000000", valid_to=(today + timedelta(days=1)).isoformat())
    step = {s.name: s for s in dayend.registered_steps()}["credit_limit.expire"]
    assert step.func(today) >= 1
    assert item.status == "expired" and item.ended_on == today + timedelta(days=1)
    assert keep.status == "granted"


def test_export_and_api_filter_by_customer(app, login_as, api_as, two_managers):
    import io

    from openpyxl import load_workbook

    from app.extensions import db

    with app.app_context():
        item = _svc().propose({"customer_id": two_managers["ca"], "amount": "700000"}, user_id(two_managers["a"]))
        db.session.commit()
        limit_id, code = item.id, item.code
    _approve_all(app, limit_id)
    web_a = login_as(two_managers["a"])
    exported = web_a.get("/creditlimit/export/")
    assert exported.status_code == 200, exported.get_data(as_text=True)[:500]
    sheet = load_workbook(io.BytesIO(exported.data)).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert code in cells and any("700,000.00" in c or c == "700000" for c in cells)
    api_a = api_as(two_managers["a"])
    query = f"(filters:!((col:customer_id,opr:eq,value:{two_managers['ca']})))"
    listed = api_a.get(f"/api/v1/credit_limit/?q={query}")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [r["id"] for r in listed.get_json()["result"]] == [limit_id]


def test_two_limits_granted_at_the_same_moment_leave_one_current(app, two_managers, dialect):
    """Two limits of one customer approved at once: the grants are serialised on the customer's row, so the
    later one supersedes the earlier, never two current limits."""
    if dialect != "postgresql":
        pytest.skip("parallel row locks need PostgreSQL (SQLite serialises the whole database)")
    import threading

    from app.extensions import db
    from models.credit_limits import CreditLimit

    svc, approval = _svc(), _approval()
    with app.app_context():
        instances = []
        for amount in ("1000000", "2000000"):
            item = svc.propose({"customer_id": two_managers["ca"], "amount": amount}, user_id(two_managers["a"]))
            inst = approval.open_instance(svc.APPROVAL_KIND, item.id)
            approval.act(inst.id, user_id(P.RISK_OFFICER), "approve")
            instances.append(inst.id)
        db.session.commit()
    barrier, errors = threading.Barrier(2), []

    def run(inst_id):
        with app.app_context():
            try:
                barrier.wait()
                approval.act(inst_id, user_id(P.GENERAL_MANAGER), "approve")
                db.session.commit()
            except Exception as ex:  # noqa: BLE001  the test looks at what each got
                db.session.rollback()
                errors.append(ex)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with app.app_context():
        rows = db.session.execute(select(CreditLimit).where(CreditLimit.customer_id == two_managers["ca"])
                                  .order_by(CreditLimit.id)).scalars().all()
        assert sorted(r.status for r in rows) == ["granted", "superseded"]
        current = svc.current_limit(two_managers["ca"])
        old = next(r for r in rows if r.status == "superseded")
        assert old.superseded_by_id == current.id
