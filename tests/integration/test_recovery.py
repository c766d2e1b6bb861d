"""POST-5/6 over the REST API and the screens: compensation applied and paid through /api/v1/post_settlement,
recovery applied and receipts recorded through /api/v1/recovery_work (same service checks, permissions per verb),
the legal-action log and closing on the recovery page; two cashiers paying at once give one payment (PostgreSQL)."""
import threading
from datetime import date

import pytest

from app import permissions as P
from app.errors import GuaranteeError
from tests.integration.test_compensation_support import approve_all, in_force_guarantee, set_business_date, uid

DAY = date(2040, 2, 20)


def test_api_compensation_and_recovery_then_legal_log_and_close(app, db, api_as, login_as):
    from app.services import recovery
    from models.post_settlement import RecoveryCase

    set_business_date(db, DAY)
    g = in_force_guarantee(db, amount="300000.00", loan_date=date(2039, 8, 1), months=12)
    manager = api_as(P.ACCOUNT_MANAGER)
    body = {"guarantee_id": g.id, "demand_date": "2040-02-18", "principal": "200000", "interest": "3000",
            "reason": "逾期"}
    assert manager.post("/api/v1/post_settlement/compensation/", json={**body, "principal": "abc"}).status_code == 422
    response = manager.post("/api/v1/post_settlement/compensation/", json=body)
    assert response.status_code == 201, response.get_json()
    comp_id = response.get_json()["result"]["id"]
    assert manager.post("/api/v1/post_settlement/compensation/", json=body).status_code == 409
    assert manager.post(f"/api/v1/post_settlement/compensation/{comp_id}/pay",
                        json={"bank_account": "工行 001"}).status_code == 403  # paying is the cashier's
    approve_all(db, "compensation", comp_id)
    cashier = api_as(P.CASHIER)
    response = cashier.post(f"/api/v1/post_settlement/compensation/{comp_id}/pay", json={"bank_account": "工行 001"})
    assert response.status_code == 200 and response.get_json()["result"]["status"] == "paid"
    assert response.get_json()["result"]["outstanding"] == "203000.00"

    response = manager.post("/api/v1/recovery_work/", json={"compensation_id": comp_id, "plan": "起诉追偿"})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["result"]["id"]
    approve_all(db, "recovery", case_id)
    receipt = {"source": "collateral", "principal": "101500", "bank_account": "工行 001"}
    assert manager.post(f"/api/v1/recovery_work/{case_id}/receipt", json=receipt).status_code == 403
    response = cashier.post(f"/api/v1/recovery_work/{case_id}/receipt", json=receipt)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["recovery_rate"] == "0.5000"
    assert cashier.post(f"/api/v1/recovery_work/{case_id}/receipt",
                        json={**receipt, "principal": "101500.01"}).status_code == 422

    web = login_as(P.ACCOUNT_MANAGER)
    page = f"/recovery/page/{case_id}"
    assert web.post_form(f"/recovery/legal/{case_id}", {"action_date": "2040-02-20", "kind": "judgment",
                                                        "description": "一审胜诉"}, form_page=page).status_code == 302
    assert web.post_form(f"/recovery/close/{case_id}", {"note": ""}, form_page=page).status_code == 302
    db.session.expire_all()
    assert db.session.get(RecoveryCase, case_id).status == "approved"  # a closing note is required
    web.post_form(f"/recovery/close/{case_id}", {"note": "抵押物拍卖后结案"}, form_page=page)
    db.session.expire_all()
    case = db.session.get(RecoveryCase, case_id)
    assert case.status == "closed" and [a.kind for a in case.legal_actions] == ["judgment"]
    html = web.get(page).get_data(as_text=True)
    assert "一审胜诉" in html and "recovery-receipt-form" not in html
    with pytest.raises(GuaranteeError):
        recovery.record_receipt(case_id, receipt, uid(P.CASHIER))
    db.session.rollback()


def test_two_cashiers_paying_at_once_pay_once(app, db, dialect):
    if dialect != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers")
    from app.extensions import db as _db
    from app.services import compensation
    from models.ledger import BusinessEvent

    set_business_date(db, DAY)
    g = in_force_guarantee(db, amount="100000.00", loan_date=date(2039, 8, 1), months=12)
    comp = compensation.apply({"guarantee_id": g.id, "demand_date": "2040-02-18", "principal": "100000",
                               "reason": "逾期"}, uid(P.ACCOUNT_MANAGER))
    db.session.commit()
    approve_all(db, "compensation", comp.id)
    barrier, results = threading.Barrier(2), []

    def pay(user):
        with app.app_context():
            barrier.wait()
            try:
                compensation.pay(comp.id, user, bank_account="工行 001")
                _db.session.commit()
                results.append("ok")
            except GuaranteeError:
                _db.session.rollback()
                results.append("refused")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=pay, args=(u,)) for u in (uid(P.CASHIER), uid(P.ADMIN))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["ok", "refused"]
    db.session.expire_all()
    assert db.session.query(BusinessEvent).filter_by(source_type="compensation", source_id=str(comp.id)).count() == 1
