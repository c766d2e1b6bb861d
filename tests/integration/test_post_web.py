"""The post-guarantee screens and API through the real stack: data scope, permissions, CSRF forms, messages."""
from datetime import date, timedelta

from sqlalchemy import select

from app import permissions as P
from tests.integration.test_post_support import business_day, in_force, warnings_of

DAY = date(2034, 5, 10)


def test_ledger_page_plan_and_repayment_forms(db, login_as, new_user):
    from app.services import repayment_plans

    someone_else = new_user(P.ACCOUNT_MANAGER)
    g = in_force(db, amount="12000.00", loan_date=date(2034, 1, 31))
    other = in_force(db, manager=someone_else)
    db.session.commit()
    am = login_as(P.ACCOUNT_MANAGER)
    listing = am.get(f"/postguarantee/list/?q={g.code}").get_data(as_text=True)
    assert g.code in listing
    assert "post-ledger-table" in listing
    assert f">{other.code}</a>" not in am.get(f"/postguarantee/list/?q={other.code}").get_data(as_text=True)
    assert am.get(f"/postguarantee/page/{other.id}").status_code == 404  # outside the data scope
    page = f"/postguarantee/page/{g.id}"
    resp = am.get(page); assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    answer = am.post_form(f"/postguarantee/generate/{g.id}", {"method": "equal_principal", "start": "2034-01-31",
                                                                "months": "3", "principal": "12000",
                                                                "annual_rate": "12"}, form_page=page,
                          follow_redirects=True)
    assert answer.status_code == 200
    assert [r.interest for r in repayment_plans.plan_rows(g.id)] == [120, 80, 40]
    bad = am.post_form(f"/postguarantee/repay/{g.id}", {"paid_on": "31/02/2034", "principal": "10"}, form_page=page,
                       follow_redirects=True).get_data(as_text=True)
    assert "YYYY-MM-DD" in bad and repayment_plans.repayments(g.id) == []
    text = am.get(page).get_data(as_text=True)
    assert "plan-table" in text and "2034-02-28" in text
    # a read-only role cannot post
    cashier = login_as(P.CASHIER)
    assert cashier.get(page).status_code == 200
    refused = cashier.post_form(f"/postguarantee/generate/{g.id}", {"method": "bullet", "start": "2034-01-31",
                                                                    "months": "1", "principal": "12000",
                                                                    "annual_rate": "1"}, form_page="/resetmypassword/form")
    assert refused.status_code in (302, 403)
    db.session.expire_all()
    assert len(repayment_plans.plan_rows(g.id)) == 3
    assert am.get("/postguarantee/template/").data[:2] == b"PK"


def test_warning_acknowledge_resolve_screen_and_api(db, login_as, api_as):
    from app.services import warnings

    g = in_force(db, due_date=DAY + timedelta(days=3))
    warnings.evaluate_rules(DAY, ["maturity_near"])
    db.session.commit()
    [w] = warnings_of(db, "maturity_near", g)
    am = login_as(P.ACCOUNT_MANAGER)
    assert g.code in am.get("/postwarning/list/?_flt_0_rule_code=maturity_near").get_data(as_text=True)
    page = f"/postwarning/page/{w.id}"
    resp = am.get(page); assert resp.status_code == 200, resp.get_data(as_text=True)[-3000:]
    empty = am.post_form(f"/postwarning/handle/{w.id}/acknowledge", {"note": " "}, form_page=page,
                         follow_redirects=True)
    assert empty.status_code == 200
    db.session.expire_all()
    assert db.session.get(type(w), w.id).status == "open"
    am.post_form(f"/postwarning/handle/{w.id}/acknowledge", {"note": "已联系客户"}, form_page=page)
    db.session.expire_all()
    assert db.session.get(type(w), w.id).status == "acknowledged"
    am.post(f"/postwarning/handle/{w.id}/resolve", data={"note": "x"})  # no CSRF token: refused
    db.session.expire_all()
    assert db.session.get(type(w), w.id).status == "acknowledged"
    api = api_as(P.ACCOUNT_MANAGER)
    assert api.post(f"/api/v1/post_warning_work/{w.id}/resolve", json={"note": ""}).status_code == 422
    answer = api.post(f"/api/v1/post_warning_work/{w.id}/resolve", json={"note": "客户已还款"})
    assert answer.status_code == 200 and answer.get_json()["result"]["status"] == "resolved"
    assert api.post(f"/api/v1/post_warning_work/{w.id}/resolve", json={"note": "again"}).status_code == 409
    assert api_as(P.CASHIER).post(f"/api/v1/post_warning_work/{w.id}/resolve", json={"note": "x"}).status_code == 403


def test_rules_page_edits_with_checks(db, login_as):
    from models.post_guarantee import WarningRule

    risk = login_as(P.RISK_OFFICER)
    assert risk.get("/postrules/").status_code == 200
    rule = db.session.execute(select(WarningRule).where(WarningRule.code == "inspection_overdue")).scalar_one()
    before = (rule.level, dict(rule.params or {}), rule.active)
    risk.post_form(f"/postrules/rule/{rule.id}", {"level": "high", "active": "1", "params": "days=abc"},
                   form_page="/postrules/")
    db.session.expire_all()
    assert db.session.get(WarningRule, rule.id).level == before[0]  # refused whole
    risk.post_form(f"/postrules/rule/{rule.id}", {"level": "high", "active": "1", "params": "days=5"},
                   form_page="/postrules/")
    db.session.expire_all()
    saved = db.session.get(WarningRule, rule.id)
    assert (saved.level, saved.params) == ("high", {"days": 5})
    am = login_as(P.ACCOUNT_MANAGER)
    assert am.post_form(f"/postrules/rule/{rule.id}", {"level": "low", "params": ""},
                        form_page="/postrules/").status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(WarningRule, rule.id).level == "high"
    saved.level, saved.params, saved.active = before
    db.session.commit()


def test_inspection_report_files_are_checked_attachments(db, login_as):
    import io

    from app.services import inspections
    from models.attachments import Attachment
    from tests.integration import attachment_files as files

    g = in_force(db, loan_date=date(2034, 2, 1))
    inspections.schedule_first_inspections()
    [item] = inspections.inspections(g.id)
    db.session.commit()
    am = login_as(P.ACCOUNT_MANAGER)
    record_page = f"/attachments/record/post_inspection/{item.id}"
    assert am.get(record_page).status_code == 200
    assert f"/attachments/record/post_inspection/{item.id}" in am.get(f"/postguarantee/page/{g.id}").get_data(
        as_text=True)
    am.post_form(f"/attachments/upload/{g.customer_id}",
                 {"file": (io.BytesIO(files.png()), "现场照片.png"), "category": "SITE_PHOTO",
                  "record": f"post_inspection:{item.id}"}, form_page=record_page)
    am.post_form(f"/attachments/upload/{g.customer_id}",
                 {"file": (io.BytesIO(b"MZ\x90\x00 not a picture"), "photo.png"), "category": "SITE_PHOTO",
                  "record": f"post_inspection:{item.id}"}, form_page=record_page)
    db.session.expire_all()
    kept = db.session.execute(select(Attachment).where(Attachment.record_type == "post_inspection",
                                                       Attachment.record_id == item.id)).scalars().all()
    assert [a.original_name for a in kept] == ["现场照片.png"]  # the disguised file is refused
    assert "现场照片.png" in am.get(record_page).get_data(as_text=True)


def test_post_guarantee_api_plan_repayment_inspection_and_classification(db, api_as, new_user):
    """The page's operations over the REST API: the same services, checks, permissions and data scope."""
    from app.services import inspections, repayment_plans
    from models.post_guarantee import Classification

    someone_else = new_user(P.ACCOUNT_MANAGER)
    g = in_force(db, amount="12000.00", loan_date=date(2034, 1, 31))
    other = in_force(db, manager=someone_else)
    db.session.commit()
    with business_day(db, date(2034, 3, 10)):  # the repayment and the visit are not in the future
        api = api_as(P.ACCOUNT_MANAGER)
        base = f"/api/v1/post_guarantee_work/{g.id}"
        bad = api.post(f"{base}/plan", json={"method": "equal_principal", "start": "2034-01-31", "months": "x",
                                             "principal": 12000, "annual_rate": 0.12})
        assert bad.status_code == 422 and bad.get_json()["message"]
        assert repayment_plans.plan_rows(g.id) == []  # refused: nothing written
        made = api.post(f"{base}/plan", json={"method": "equal_principal", "start": "2034-01-31", "months": 3,
                                              "principal": 12000, "annual_rate": 0.12})
        assert made.status_code == 201, made.get_json()
        plan = made.get_json()["result"]["plan"]
        assert [row["principal"] for row in plan] == ["4000.00", "4000.00", "4000.00"]
        assert plan[0]["interest"] == "120.00" and plan[0]["due_date"] == "2034-02-28"
        with_repayment = api.post(f"{base}/repayment", json={"paid_on": "2034-02-28", "principal": "4000",
                                                             "interest": "120"})
        assert with_repayment.status_code == 201
        result = with_repayment.get_json()["result"]
        assert result["outstanding_principal"] == "8000.00" and result["plan"][0]["settled"] is True

        inspections.schedule_first_inspections(date(2034, 3, 5))
        db.session.commit()
        [first] = inspections.inspections(g.id)
        report = f"/api/v1/post_guarantee_work/inspection/{first.id}/report"
        assert api.post(report, json={"visit_date": "2034-03-04", "findings": "经营正常", "risk_signal": "huge"}
                        ).status_code == 422
        done = api.post(report, json={"visit_date": "2034-03-04", "operations": "经营正常", "finances": "稳定",
                                      "findings": "无异常", "risk_signal": "none"})
        assert done.status_code == 200, done.get_json()
        assert done.get_json()["result"]["inspections"][0]["status"] == "done"

        proposed = api.post(f"{base}/classification", json={"proposed_class": "special", "reason": "行业下行"})
        assert proposed.status_code == 201, proposed.get_json()
        assert proposed.get_json()["result"]["classifications"][-1]["status"] == "pending"
        assert api.post(f"{base}/classification", json={}).status_code == 409  # one proposal at a time
        assert db.session.execute(select(Classification).where(Classification.guarantee_id == g.id)).scalars().all()

        # another manager's guarantee is outside the data scope: as missing as one that does not exist
        assert api.get(f"/api/v1/post_guarantee_work/{other.id}").status_code == 404
        assert api.post(f"/api/v1/post_guarantee_work/{other.id}/repayment", json={}).status_code == 404
        assert api.get("/api/v1/post_guarantee_work/999999999").status_code == 404
        assert api.get(base).get_json()["result"]["current_class"] == "normal"
        # read-only roles read; they never write
        assert api_as(P.AUDITOR).post(f"{base}/repayment", json={"paid_on": "2034-03-28", "principal": "1"}
                                      ).status_code == 403
