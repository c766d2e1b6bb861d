"""POST-9: an extension goes through the approval engine and, approved, moves the due date and the term and adds
the fee of the added months to the fee schedule; early repayment lowers the balance, recalculates the repayment
plan (h7post's generate_plan) and refunds the guarantee fee by the product's rule (hand-computed)."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, ValidationError
from tests.integration.test_compensation_support import approve_all, in_force_guarantee, set_business_date, uid

DAY = date(2038, 7, 2)


def test_extension_through_approval_changes_term_and_fees(app, db, api_as):
    from app.services import approval, extension
    from models.business import FeeScheduleRow, Guarantee

    set_business_date(db, DAY)
    g = in_force_guarantee(db, amount="500000.00", loan_date=date(2038, 1, 15), months=12)
    am = uid(P.ACCOUNT_MANAGER)
    with pytest.raises(ValidationError):
        extension.apply(g.id, {"months": "0", "reason": "x"}, am)
    db.session.rollback()
    with pytest.raises(ValidationError):
        extension.apply(g.id, {"months": "6", "reason": ""}, am)
    db.session.rollback()
    ext = extension.apply(g.id, {"months": "6", "reason": "项目回款延迟"}, am)
    db.session.commit()
    assert (ext.old_due_date, ext.new_due_date, ext.fee_amount) == (date(2039, 1, 15), date(2039, 7, 15),
                                                                    Decimal("5000.00"))  # 500,000 × 2% × 6/12
    with pytest.raises(Conflict):
        extension.apply(g.id, {"months": "3", "reason": "again"}, am)
    db.session.rollback()
    assert db.session.get(Guarantee, g.id).due_date == date(2039, 1, 15)  # nothing changes before approval
    approve_all(db, "extension", ext.id)
    db.session.expire_all()
    g = db.session.get(Guarantee, g.id)
    assert (g.due_date, g.term_months) == (date(2039, 7, 15), 18)
    fee = db.session.query(FeeScheduleRow).filter_by(guarantee_id=g.id).one()
    assert (fee.amount, fee.fee_type, fee.period_from, fee.period_to) == (
        Decimal("5000.00"), "guarantee", date(2039, 1, 15), date(2039, 7, 15))
    assert g.history[-1].action == "extended"

    # a rejected extension changes nothing; applied over the API
    api = api_as(P.ACCOUNT_MANAGER)
    response = api.post(f"/api/v1/settlement_work/{g.id}/extension", json={"months": 3, "reason": "再展期"})
    assert response.status_code == 201, response.get_json()
    ext2 = extension.get(response.get_json()["result"]["id"])
    inst = approval.open_instance("extension", ext2.id)
    approval.act(inst.id, uid(P.RISK_OFFICER), "reject", "不同意再次展期")
    db.session.commit()
    db.session.expire_all()
    assert extension.get(ext2.id).status == "rejected"
    assert db.session.get(Guarantee, g.id).due_date == date(2039, 7, 15)
    assert api_as(P.CASHIER).post(f"/api/v1/settlement_work/{g.id}/extension",
                                  json={"months": 3, "reason": "x"}).status_code == 403


def test_early_repayment_recalculates_plan_and_refunds_fee(app, db, login_as):
    from app.services import extension, repayment_plans
    from models.business import FeeReceipt, Guarantee
    from models.post_settlement import FeeRefundRule

    set_business_date(db, DAY)
    g = in_force_guarantee(db, amount="1000000.00", loan_date=date(2038, 1, 1), months=12,
                           repayment_method="equal_principal")
    db.session.add(FeeReceipt(guarantee_id=g.id, fee_type="guarantee", amount=Decimal("12000.00"),
                              received_on=date(2038, 1, 1)))
    db.session.add(FeeRefundRule(product_id=g.product_id, method="pro_rata", ratio=Decimal("0.8"), min_days=30))
    repayment_plans.generate_plan(g.id, "equal_principal", start=date(2038, 1, 1), months=12,
                                  principal=Decimal("1000000.00"), annual_rate=Decimal("0.06"))
    db.session.commit()
    am = uid(P.ACCOUNT_MANAGER)
    for bad in ({"amount": "1000000.01"}, {"amount": "100", "repaid_on": "2038-07-03"},
                {"amount": "100", "repaid_on": "2037-12-31"}, {"amount": "100", "method": "magic"}):
        with pytest.raises(ValidationError):
            extension.early_repayment(g.id, bad, am)
        db.session.rollback()

    web = login_as(P.ACCOUNT_MANAGER)
    page = f"/settlement/page/{g.id}"
    response = web.post_form(f"/settlement/early/{g.id}", {"amount": "400000", "repaid_on": "2038-07-02",
                                                            "annual_rate": "0.06", "method": "equal_principal",
                                                            "bank_account": "工行基本户"},
                             form_page=page)
    assert response.status_code == 302
    db.session.expire_all()
    record = extension.early_repayments_of(g.id)[-1]
    # 12,000 × 400,000 / 1,000,000 × 183 days left / 365 days × 0.8 = 1,925.26
    assert record.fee_refund == Decimal("1925.26") and record.balance_after == Decimal("600000.00")
    assert db.session.get(Guarantee, g.id).balance == Decimal("600000.00")
    assert record.plan_rows == 6
    assert repayment_plans.outstanding_principal(g.id) == Decimal("600000.00")
    html = web.get(page).get_data(as_text=True)
    assert "1,925.26" in html
    # the refund is money paid back: finance reviews it into Dr 6001 担保费收入 / Cr 1002 银行存款
    from app.services import ledger_events
    from models.ledger import BusinessEvent

    event = db.session.execute(select(BusinessEvent).where(BusinessEvent.kind == "fee_refunded",
                                                           BusinessEvent.source_id == str(record.id))).scalar_one()
    assert event.amount == Decimal("1925.26") and event.customer_id == g.customer_id and event.status == "pending"
    assert event.bank_account == "工行基本户"
    voucher = ledger_events.approve_event(event.id, uid(P.ACCOUNTANT))
    db.session.commit()
    sides = {(line.account.code, line.debit, line.credit) for line in voucher.lines}
    assert ("6001", Decimal("1925.26"), Decimal("0.00")) in sides and ("1002", Decimal("0.00"), Decimal("1925.26")) in sides

    # under 30 days left: no refund by the rule; repaid in full the unpaid plan is void
    set_business_date(db, date(2038, 12, 10))
    last = extension.early_repayment(g.id, {"amount": "600000"}, am)
    db.session.commit()
    assert last.fee_refund == Decimal("0.00") and last.balance_after == Decimal("0.00")
    assert repayment_plans.outstanding_principal(g.id) == Decimal("0.00")
