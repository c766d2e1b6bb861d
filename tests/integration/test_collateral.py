"""Collateral (COL-1..4) through the real services, the real approval engine and warning engine, the screens and
the API: registry with the kind's fields, coverage and mortgage rate, the vault (no certificate leaves without
approval), the warnings (coverage below the threshold, certificate expiring) and the release queue.

The `db` fixture rolls back what a service test did; the web and API tests commit, so each makes its own rows."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, Forbidden, ValidationError
from tests.conftest import unique
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id


def _svc():
    from app.services import collateral

    return collateral


def _approval():
    from app.services import approval

    return approval


def _warnings():
    from app.services import warnings

    return warnings


def _today():
    from app.services import business_date

    return business_date.today()


def make_guarantee(db, customer, amount="1000000", stage="in_force", measure_kind="mortgage"):
    """A guarantee (in force by default) of the customer with one counter-guarantee measure."""
    from models.business import CounterMeasure, Guarantee

    g = Guarantee(code=unique("G"), customer_id=customer.id, product_id=make_product(db).id,
                  bank_id=make_bank(db).id, amount=D(amount), term_months=12, fee_rate=D("0.02"), stage=stage,
                  status="active", balance=D(amount) if stage == "in_force" else D(0),
                  manager_id=customer.manager_id)
    db.session.add(g)
    db.session.flush()
    measure = CounterMeasure(guarantee_id=g.id, kind=measure_kind, description="房产抵押")
    db.session.add(measure)
    db.session.flush()
    return g, measure


def register(customer, user, **over):
    data = {"customer_id": customer.id, "kind": "real_estate", "name": "测试路1号房产", "location": "测试市测试路1号",
            "agency": "测试评估公司", "value": "1500000", "valuation_date": _today().isoformat()}
    data.update(over)
    return _svc().register(data, user)


def approve_out(move, *, reject=False):
    """The default flow: 部门负责人 then 总经理."""
    approval = _approval()
    inst = approval.open_instance(_svc().APPROVAL_KIND, move.id)
    assert inst is not None
    if reject:
        approval.act(inst.id, user_id(P.DEPARTMENT_HEAD), "reject", "不同意")
        return
    approval.act(inst.id, user_id(P.DEPARTMENT_HEAD), "approve", "同意")
    approval.act(inst.id, user_id(P.GENERAL_MANAGER), "approve", "同意")


@pytest.fixture
def biz(db):
    am = user_id(P.ACCOUNT_MANAGER)
    return {"am": am, "risk": user_id(P.RISK_OFFICER), "customer": make_customer(db, am)}


def test_register_with_kind_fields_third_party_owner_and_valuation_history(db, biz):
    from models.collateral import CollateralFieldDef

    svc = _svc()
    code = unique("f")[:20]
    db.session.add(CollateralFieldDef(code=code, label="建筑面积", kind="real_estate", field_type="number",
                                      required=True, sort_order=1, enabled=True))
    db.session.add(CollateralFieldDef(code=code + "v", label="车架号", kind="vehicle", field_type="text",
                                      required=True, sort_order=2, enabled=True))
    db.session.flush()
    with pytest.raises(ValidationError) as missing:
        register(biz["customer"], biz["am"])
    assert missing.value.field == f"extra__{code}"
    with pytest.raises(ValidationError) as bad:
        register(biz["customer"], biz["am"], **{f"extra__{code}": "很大"})
    assert bad.value.field == f"extra__{code}"
    with pytest.raises(ValidationError):  # a third party needs a name
        register(biz["customer"], biz["am"], owner_type="third_party", **{f"extra__{code}": "120.5"})
    item = register(biz["customer"], biz["am"], owner_type="third_party", owner_name="李四",
                    owner_id_number="110101199001011234", **{f"extra__{code}": "120.50"})
    assert item.code.startswith("YP") and item.status == "registered"
    assert item.extra == {code: "120.5"} and item.owner_name == "李四"
    assert item.value == D("1500000.00") and item.max_mortgage_rate == D("0.7")
    # A revaluation moves the value and keeps the history; an older appraisal does not move it back.
    svc.add_valuation(item.id, {"agency": "二次评估", "value": "1200000"}, biz["am"])
    svc.add_valuation(item.id, {"agency": "旧报告", "value": "1800000",
                                "valuation_date": (_today() - timedelta(days=400)).isoformat()}, biz["am"])
    db.session.refresh(item)
    assert item.value == D("1200000.00")
    assert [v.value for v in item.valuations] == [D("1200000.00"), D("1500000.00"), D("1800000.00")]
    with pytest.raises(ValidationError):
        svc.add_valuation(item.id, {"agency": "x", "value": "-5"}, biz["am"])
    with pytest.raises(ValidationError):
        svc.add_valuation(item.id, {"agency": "x", "value": "100",
                                    "valuation_date": (_today() + timedelta(days=1)).isoformat()}, biz["am"])


def test_link_coverage_mortgage_rate_and_monitoring_schedule(db, biz):
    svc = _svc()
    g, measure = make_guarantee(db, biz["customer"], "1000000")
    item = register(biz["customer"], biz["am"], monitor_months="6")
    assert svc.coverage(g.id) is None  # nothing linked yet
    svc.link_measure(item.id, measure.id, biz["am"])
    assert item.status == "pledged" and measure.collateral_id == item.id
    assert svc.coverage(g.id) == D("1.5000")
    assert svc.mortgage_rate(item) == D("0.6667")
    # A surety measure holds no collateral; another customer's guarantee cannot take it.
    _, surety = make_guarantee(db, biz["customer"], measure_kind="surety")
    with pytest.raises(ValidationError):
        svc.link_measure(item.id, surety.id, biz["am"])
    other = make_customer(db, biz["am"])
    _, foreign = make_guarantee(db, other)
    with pytest.raises(ValidationError):
        svc.link_measure(item.id, foreign.id, biz["am"])
    with pytest.raises(Conflict):  # in force: the link stays until the release
        svc.unlink_measure(measure.id, biz["am"])
    report = svc.add_monitoring(item.id, {"condition": "normal", "findings": "房屋状况良好"}, biz["am"])
    assert report.next_date == svc._add_months(_today(), 6) and item.next_monitor_date == report.next_date
    with pytest.raises(ValidationError):
        svc.add_monitoring(item.id, {"condition": "??", "findings": "x"}, biz["am"])


def test_certificate_cannot_leave_the_vault_without_approval(db, biz):
    svc = _svc()
    item = register(biz["customer"], biz["am"])
    cert = svc.add_certificate(item.id, {"cert_type": "不动产登记证明", "number": unique("DY"),
                                         "issuing_authority": "测试市不动产登记中心",
                                         "registration_date": _today().isoformat(),
                                         "mortgage_registration_number": unique("M")}, biz["am"])
    assert cert.status == "registered"
    with pytest.raises(Conflict):  # only a certificate in the vault can be asked for
        svc.request_out(cert.id, biz["risk"], {"action": "out", "recipient": "张三", "reason": "测试"})
    svc.check_in(cert.id, biz["risk"], "A柜-01")
    assert cert.status == "in_vault" and cert.vault_location == "A柜-01"
    with pytest.raises(ValidationError):  # lending needs a due date
        svc.request_out(cert.id, biz["risk"], {"action": "lend", "recipient": "张三", "reason": "办理续贷"})
    move = svc.request_out(cert.id, biz["risk"], {"action": "lend", "recipient": "张三", "reason": "办理续贷",
                                                  "due_back": (_today() + timedelta(days=7)).isoformat()})
    assert move.status == "pending" and cert.status == "in_vault"  # still in the vault while under approval
    with pytest.raises(Conflict):  # one request at a time
        svc.request_out(cert.id, biz["risk"], {"action": "out", "recipient": "李四", "reason": "x"})
    inst = _approval().open_instance(svc.APPROVAL_KIND, move.id)
    with pytest.raises(Forbidden):  # the requester never approves the own request
        _approval().act(inst.id, biz["risk"], "approve", "同意")
    _approval().act(inst.id, user_id(P.DEPARTMENT_HEAD), "approve", "同意")
    assert cert.status == "in_vault"  # one step is not the whole flow
    _approval().act(inst.id, user_id(P.GENERAL_MANAGER), "approve", "同意")
    assert move.status == "done" and cert.status == "lent" and cert.holder == "张三"
    assert "张三" in svc.where_is(cert)
    svc.give_back(cert.id, biz["risk"])
    assert cert.status == "in_vault" and cert.vault_location == "A柜-01"
    # A rejected request leaves the certificate where it is.
    move2 = svc.request_out(cert.id, biz["risk"], {"action": "out", "purpose": "other", "recipient": "李四",
                                                   "reason": "客户要求"})
    approve_out(move2, reject=True)
    assert move2.status == "rejected" and cert.status == "in_vault"
    assert [m.action for m in svc.movements_of(item.id)] == ["out", "back", "lend", "in"]


def test_coverage_below_the_threshold_raises_a_warning_at_once(db, biz):
    svc, warnings = _svc(), _warnings()
    from app.services.collateral_warnings import COVERAGE_LOW

    g, measure = make_guarantee(db, biz["customer"], "1000000")
    item = register(biz["customer"], biz["am"], measure_id=measure.id)
    assert warnings.open_warnings(guarantee_id=g.id, code=COVERAGE_LOW) == []  # 150 % ≥ 120 %
    svc.add_valuation(item.id, {"agency": "重估", "value": "1100000"}, biz["am"])  # 110 % < 120 %
    raised = warnings.open_warnings(guarantee_id=g.id, code=COVERAGE_LOW)
    assert len(raised) == 1
    assert raised[0].level == "high" and raised[0].owner_id == biz["am"] and g.code in raised[0].message
    warnings.evaluate_rules(_today(), [COVERAGE_LOW])  # the day-end finds the same cause open: no duplicate
    assert len(warnings.open_warnings(guarantee_id=g.id, code=COVERAGE_LOW)) == 1
    warnings.resolve(raised[0].id, biz["am"], "已要求追加抵押物")
    svc.add_valuation(item.id, {"agency": "重估", "value": "1300000"}, biz["am"])  # covered again
    assert warnings.open_warnings(guarantee_id=g.id, code=COVERAGE_LOW) == []


def test_certificate_expiring_warning_raises_once_and_again_on_a_new_expiry(db, biz):
    svc, warnings = _svc(), _warnings()
    from app.services.collateral_warnings import CERTIFICATE_EXPIRING, INSURANCE_EXPIRING

    g, measure = make_guarantee(db, biz["customer"])
    today = _today()
    item = register(biz["customer"], biz["am"], measure_id=measure.id, insurance_company="测试保险",
                    insurance_expiry=(today + timedelta(days=10)).isoformat())
    cert = svc.add_certificate(item.id, {"cert_type": "不动产权证书", "number": unique("Q"),
                                         "expiry_date": (today + timedelta(days=20)).isoformat()}, biz["am"])
    far = svc.add_certificate(item.id, {"cert_type": "不动产权证书", "number": unique("Q"),
                                        "expiry_date": (today + timedelta(days=400)).isoformat()}, biz["am"])
    warnings.evaluate_rules(today, [CERTIFICATE_EXPIRING, INSURANCE_EXPIRING])
    mine = warnings.open_warnings(guarantee_id=g.id, code=CERTIFICATE_EXPIRING)
    assert [w.cause_key for w in mine] == [f"cert:{cert.id}:{cert.expiry_date.isoformat()}"]
    assert cert.number in mine[0].message
    assert len(warnings.open_warnings(guarantee_id=g.id, code=INSURANCE_EXPIRING)) == 1
    warnings.evaluate_rules(today, [CERTIFICATE_EXPIRING])
    assert len(warnings.open_warnings(guarantee_id=g.id, code=CERTIFICATE_EXPIRING)) == 1  # once
    warnings.resolve(mine[0].id, biz["am"], "已办理换证")
    with pytest.raises(ValidationError):
        svc.renew_certificate(cert.id, {"expiry_date": "2041-13-01"}, biz["am"])
    svc.renew_certificate(cert.id, {"expiry_date": (today + timedelta(days=25)).isoformat()}, biz["am"])  # new cause
    warnings.evaluate_rules(today, [CERTIFICATE_EXPIRING])
    again = warnings.open_warnings(guarantee_id=g.id, code=CERTIFICATE_EXPIRING)
    assert [w.cause_key for w in again] == [f"cert:{cert.id}:{cert.expiry_date.isoformat()}"]
    assert far.id not in {int(w.cause_key.split(":")[1]) for w in again}


def test_release_queues_the_certificates_for_return_through_approval(db, biz):
    svc = _svc()
    g, measure = make_guarantee(db, biz["customer"])
    g2, measure2 = make_guarantee(db, biz["customer"])
    shared = register(biz["customer"], biz["am"], measure_id=measure.id)
    svc.link_measure(shared.id, measure2.id, biz["am"])  # also secures g2
    from models.business import CounterMeasure

    second = CounterMeasure(guarantee_id=g.id, kind="pledge", description="设备质押")  # one item per measure
    db.session.add(second)
    db.session.flush()
    own = register(biz["customer"], biz["am"], name="设备", kind="equipment", measure_id=second.id)
    c1 = svc.add_certificate(own.id, {"cert_type": "动产抵押登记书", "number": unique("E")}, biz["am"])
    c2 = svc.add_certificate(own.id, {"cert_type": "发票原件", "number": unique("E")}, biz["am"])
    svc.check_in(c1.id, biz["risk"], "B柜-02")
    assert svc.queue_certificates_for_return(g.id, biz["am"]) == 2
    assert own.status == "released" and shared.status == "pledged"  # shared still secures g2
    assert c1.return_queued and c2.return_queued
    pending = svc.pending_requests(own.id)
    assert [(m.certificate_id, m.action, m.purpose) for m in pending] == [(c1.id, "out", "release_return")]
    assert c1.status == "in_vault"
    approve_out(pending[0])
    assert c1.status == "out" and c1.holder == own.owner_name and not c1.return_queued
    with pytest.raises(Conflict):  # released collateral does not go back into the vault
        svc.check_in(c2.id, biz["risk"], "B柜-03")


def test_screens_vault_post_and_export(app, login_as, admin_web):
    import io

    from openpyxl import load_workbook

    from app.extensions import db

    with app.app_context():
        am = user_id(P.ACCOUNT_MANAGER)
        customer = make_customer(db, am)
        item = register(customer, am, name=unique("厂房"))
        cert = _svc().add_certificate(item.id, {"cert_type": "不动产权证书", "number": unique("W")}, am)
        _svc().check_in(cert.id, user_id(P.RISK_OFFICER), "C柜-01")
        db.session.commit()
        item_id, cert_id, name, code = item.id, cert.id, item.name, item.code
    risk = login_as(P.RISK_OFFICER)
    page = risk.get(f"/collateral/page/{item_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-status="in_vault"' in html and "C柜-01" in html
    # A hand-made POST asking for the certificate only makes a request: the certificate stays in the vault.
    resp = risk.post_form(f"/collateralcertificate/vault/{cert_id}/request",
                          {"action": "out", "purpose": "other", "recipient": "王五", "reason": "测试"},
                          form_page=f"/collateral/page/{item_id}")
    assert resp.status_code == 302
    page = risk.get(f"/collateral/page/{item_id}").get_data(as_text=True)
    assert "approval-panel-collateral-certificate_out" in page and 'data-status="in_vault"' in page
    with app.app_context():
        from models.collateral import CollateralCertificate

        assert db.session.get(CollateralCertificate, cert_id).status == "in_vault"
    # The account manager may not use the vault (read only there), but registers collateral on the screen.
    am_web = login_as(P.ACCOUNT_MANAGER)
    renewed = am_web.post_form(f"/collateral/work/{item_id}/renew", {"certificate_id": cert_id,
                                                                    "expiry_date": "2045-12-31"},
                               form_page=f"/collateral/page/{item_id}")
    assert renewed.status_code == 302
    with app.app_context():
        assert str(db.session.get(CollateralCertificate, cert_id).expiry_date) == "2045-12-31"
    with app.app_context():
        customer_id = make_customer(db, user_id(P.ACCOUNT_MANAGER)).id
        db.session.commit()
    form_page = f"/collateral/add?customer_id={customer_id}&kind=vehicle"
    assert 'id="collateral-form"' in am_web.get(form_page).get_data(as_text=True)
    refused = am_web.post_form("/collateral/add", {"_save": "1", "customer_id": customer_id, "kind": "vehicle",
                                                   "name": "", "owner_type": "customer"}, form_page=form_page)
    assert refused.status_code == 200 and "field-error" in refused.get_data(as_text=True)
    made = am_web.post_form("/collateral/add", {"_save": "1", "customer_id": customer_id, "kind": "vehicle",
                                                "name": "重型货车", "owner_type": "customer", "value": "200000",
                                                "agency": "车评公司"}, form_page=form_page)
    assert made.status_code == 302 and "/collateral/page/" in made.headers["Location"]
    denied = am_web.post_form(f"/collateralcertificate/vault/{cert_id}/back", {"location": "x"},
                              form_page=f"/collateral/page/{item_id}")
    assert denied.status_code in (302, 403)
    with app.app_context():
        assert db.session.get(CollateralCertificate, cert_id).status == "in_vault"
    listing = admin_web.get(f"/collateral/list/?_flt_3_kind=real_estate&_flt_0_name={name}")
    assert listing.status_code == 200 and code in listing.get_data(as_text=True)
    exported = admin_web.get(f"/collateral/export/?_flt_0_name={name}")
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    assert any(code in [str(c) for c in row] for row in rows[1:])
    vault = admin_web.get(f"/collateralcertificate/list/?_flt_3_status=in_vault").get_data(as_text=True)
    assert "C柜-01" in vault


def test_api_register_valuation_vault_and_scope(app, api_as, new_user):
    from app.extensions import db

    other_am = new_user(P.ACCOUNT_MANAGER)
    with app.app_context():
        am = user_id(P.ACCOUNT_MANAGER)
        customer = make_customer(db, am)
        foreign = make_customer(db, user_id(other_am))
        db.session.commit()
        customer_id, foreign_id = customer.id, foreign.id
    api = api_as(P.ACCOUNT_MANAGER)
    bad = api.post("/api/v1/collateral_work/", json={"customer_id": customer_id, "kind": "rocket", "name": "x"})
    assert bad.status_code == 422 and bad.get_json()["message"]
    hidden = api.post("/api/v1/collateral_work/", json={"customer_id": foreign_id, "kind": "vehicle", "name": "车"})
    assert hidden.status_code == 404
    made = api.post("/api/v1/collateral_work/", json={"customer_id": customer_id, "kind": "vehicle", "name": "货车",
                                                      "value": "300000", "agency": "车评公司"})
    assert made.status_code == 201, made.get_data(as_text=True)
    pk = made.get_json()["result"]["id"]
    assert made.get_json()["result"]["value"] == "300000.00"
    cert = api.post(f"/api/v1/collateral_work/{pk}/certificate", json={"cert_type": "机动车登记证书", "number": unique("V")})
    assert cert.status_code == 201
    cert_id = cert.get_json()["result"]["id"]
    assert api.post(f"/api/v1/collateral_vault/{cert_id}/in", json={"location": "D1"}).status_code == 403
    keeper = api_as(P.RISK_OFFICER)
    assert keeper.post(f"/api/v1/collateral_vault/{cert_id}/in", json={"location": "D1"}).status_code == 200
    asked = keeper.post(f"/api/v1/collateral_vault/{cert_id}/request",
                        json={"action": "lend", "recipient": "赵六", "reason": "年检",
                              "due_back": (_today_in(app) + timedelta(days=3)).isoformat()})
    assert asked.status_code == 200 and asked.get_json()["result"]["status"] == "pending"
    got = keeper.get(f"/api/v1/collateral_vault/{cert_id}").get_json()["result"]
    assert got["status"] == "in_vault"
    other = api_as(other_am)
    assert other.get(f"/api/v1/collateral_work/{pk}").status_code == 404
    listed = api.get("/api/v1/collateral/").get_json()
    assert pk in listed["ids"] and pk not in other.get("/api/v1/collateral/").get_json()["ids"]
    coverage = api.get(f"/api/v1/collateral_work/coverage/999999").status_code
    assert coverage == 404


def _today_in(app):
    with app.app_context():
        return _today()


def test_field_settings_form_edit_and_monitoring_due(app, admin_web):
    from app.extensions import db
    from models.collateral import Collateral, CollateralFieldDef

    bad_code = "Bad Code"
    resp = admin_web.post_form("/collateralfield/add", {"code": bad_code, "label": "面积", "kind": "real_estate",
                                                        "field_type": "number", "sort_order": "1", "enabled": "y"})
    assert resp.status_code == 200
    code = unique("area")
    resp = admin_web.post_form("/collateralfield/add", {"code": code, "label": "面积", "kind": "real_estate",
                                                        "field_type": "number", "sort_order": "1", "enabled": "y"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.execute(select(CollateralFieldDef.kind).where(CollateralFieldDef.code == code)).scalar() \
            == "real_estate"
        assert db.session.execute(select(CollateralFieldDef.id).where(CollateralFieldDef.code == bad_code)).first() \
            is None
        am = user_id(P.ACCOUNT_MANAGER)
        item = register(make_customer(db, am), am, name=unique("仓库"), monitor_months="1")
        item.next_monitor_date = _today() - timedelta(days=1)  # a report is overdue
        db.session.commit()
        item_id, name = item.id, item.name
    form = admin_web.get(f"/collateral/edit/{item_id}").get_data(as_text=True)
    assert f'name="extra__{code}"' in form
    bad = admin_web.post_form(f"/collateral/edit/{item_id}", {"name": name, "owner_type": "customer",
                                                             f"extra__{code}": "abc"})
    assert bad.status_code == 200  # shown again with the message
    ok = admin_web.post_form(f"/collateral/edit/{item_id}", {"name": name + "新", "owner_type": "customer",
                                                            f"extra__{code}": "88.5", "monitor_months": "1"})
    assert ok.status_code == 302
    with app.app_context():
        saved = db.session.get(Collateral, item_id)
        assert saved.name == name + "新" and saved.extra == {code: "88.5"}
    listing = admin_web.get("/collateral/list/").get_data(as_text=True)
    due_url = listing.split('id="monitoring-due"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    due = admin_web.get(due_url + f"&_flt_0_name={name}新").get_data(as_text=True)
    assert f"{name}新" in due


def test_release_of_the_guarantee_queues_its_certificates(db):
    """The settlement service (POST-8) calls queue_certificates_for_return inside its release."""
    from datetime import date

    from app.services import release
    from models.business import CounterMeasure
    from tests.integration.test_compensation_support import in_force_guarantee, set_business_date

    set_business_date(db, date(2041, 7, 31))
    g = in_force_guarantee(db, amount="600000.00", loan_date=date(2041, 1, 31), months=6)
    measure = CounterMeasure(guarantee_id=g.id, kind="mortgage", description="住宅抵押")
    db.session.add(measure)
    db.session.flush()
    am, risk = user_id(P.ACCOUNT_MANAGER), user_id(P.RISK_OFFICER)
    item = register(g.customer, am, measure_id=measure.id)
    cert = _svc().add_certificate(item.id, {"cert_type": "不动产登记证明", "number": unique("R")}, am)
    _svc().check_in(cert.id, risk, "E柜-01")
    release.release(g.id, {"bank_confirmation": "HK-2041-01", "bank_account": "工行 001"}, risk)
    assert item.status == "released" and cert.return_queued and cert.status == "in_vault"
    [move] = _svc().pending_requests(item.id)
    assert (move.action, move.purpose) == ("out", "release_return")
    approve_out(move)
    assert cert.status == "out"
