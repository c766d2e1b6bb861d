"""POST-5/6/7 (代偿, 追偿, 抵债资产): a guarantee in default is compensated through the approval engine and paid,
recovered in part (receipts by source, allocation, legal log, recovery rate), an asset is taken in settlement
and sold at a loss; finance reviews the events into vouchers, they are posted and the trial balance balances,
with 应收代偿款 (1131) at the compensation still outstanding."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, ValidationError
from tests.integration.test_compensation_support import approve_all, in_force_guarantee, set_business_date, uid

DAY = date(2036, 3, 20)


@pytest.fixture
def business_day(db):
    set_business_date(db, DAY)
    return DAY


def _post(db, event_ids):
    from app.services import ledger, ledger_events
    from tests.integration.ledger_support import users

    from flask import current_app

    u = users(current_app)
    vouchers = []
    for event_id in event_ids:
        voucher = ledger_events.approve_event(event_id, u["maker"])
        ledger.review_voucher(voucher.id, u["reviewer"])
        if ledger.cashier_sign_required(voucher):
            ledger.sign_voucher(voucher.id, u["cashier"])
        ledger.post_voucher(voucher.id, u["reviewer"])
        db.session.commit()
        vouchers.append(voucher)
    return vouchers


def test_compensation_recovery_and_asset_make_balanced_vouchers(app, db, business_day):
    from app.services import compensation, foreclosed_assets, ledger_books, recovery
    from models.ledger import BusinessEvent, VoucherLine

    g = in_force_guarantee(db, amount="1000000.00", loan_date=date(2035, 3, 20), months=12)
    am, cashier = uid(P.ACCOUNT_MANAGER), uid(P.CASHIER)
    data = {"guarantee_id": g.id, "demand_date": "2036-03-18", "principal": "600000.00", "interest": "15000.00",
            "penalty": "5000.00", "reason": "借款人逾期90天，银行要求代偿", "demand_reference": "TZ-01"}
    # bad input changes nothing
    for bad in ({"principal": "2000000"}, {"principal": "-5"}, {"demand_date": "2036-04-01"}, {"reason": ""}):
        with pytest.raises(ValidationError):
            compensation.apply({**data, **bad}, am)
        db.session.rollback()
    comp = compensation.apply(data, am)
    db.session.commit()
    assert comp.status == "pending" and comp.amount == Decimal("620000.00")
    with pytest.raises(Conflict):  # one open compensation per guarantee
        compensation.apply(data, am)
    db.session.rollback()
    with pytest.raises(Conflict):  # not approved yet
        compensation.pay(comp.id, cashier, bank_account="工行 001")
    db.session.rollback()
    approve_all(db, "compensation", comp.id)
    db.session.refresh(comp)
    assert comp.status == "approved"
    with pytest.raises(ValidationError):  # the voucher needs the company's bank account
        compensation.pay(comp.id, cashier)
    db.session.rollback()
    compensation.pay(comp.id, cashier, paid_on="2036-03-19", reference="FK-1", bank_account="工行 001")
    db.session.commit()
    with pytest.raises(Conflict):
        compensation.pay(comp.id, cashier, bank_account="工行 001")
    db.session.rollback()
    db.session.refresh(g)
    assert g.balance == Decimal("400000.00")  # the principal paid is off the bank's line
    assert compensation.outstanding_by_guarantee(g.id) == Decimal("620000.00")
    assert compensation.outstanding_by_customer(g.customer_id) == Decimal("620000.00")

    # 追偿: plan → approval → receipts by source, legal log, rate
    with pytest.raises(ValidationError):
        recovery.apply({"compensation_id": comp.id, "plan": "起诉", "target_amount": "999999"}, am)
    db.session.rollback()
    case = recovery.apply({"compensation_id": comp.id, "plan": "先协商还款，不成则起诉并申请财产保全"}, am)
    db.session.commit()
    assert case.target_amount == Decimal("620000.00")
    with pytest.raises(Conflict):  # no receipts before approval
        recovery.record_receipt(case.id, {"source": "cash", "principal": "1", "bank_account": "工行 001"}, cashier)
    db.session.rollback()
    approve_all(db, "recovery", case.id)
    r1 = recovery.record_receipt(case.id, {"source": "cash", "principal": "100000", "interest": "5000",
                                           "received_on": "2036-03-20", "bank_account": "工行 001"}, cashier)
    r2 = recovery.record_receipt(case.id, {"source": "counter_guarantor", "principal": "50000", "costs": "2000",
                                           "payer": "反担保人李四", "bank_account": "工行 001"}, cashier)
    db.session.commit()
    with pytest.raises(ValidationError):  # more than outstanding
        recovery.record_receipt(case.id, {"source": "cash", "principal": "500000", "bank_account": "工行 001"},
                                cashier)
    db.session.rollback()
    with pytest.raises(ValidationError):
        recovery.record_receipt(case.id, {"source": "lottery", "principal": "1", "bank_account": "x"}, cashier)
    db.session.rollback()
    recovery.log_legal_action(case.id, {"action_date": "2036-03-20", "kind": "lawsuit", "court": "测试区人民法院",
                                        "case_number": "(2036)测民初1号", "description": "提起诉讼"}, am)
    db.session.commit()
    db.session.refresh(case)
    assert [a.kind for a in case.legal_actions] == ["lawsuit"]
    assert recovery.allocation(case) == {"principal": Decimal("150000.00"), "interest": Decimal("5000.00"),
                                         "costs": Decimal("2000.00")}
    assert recovery.recovery_rate(case) == Decimal("0.2532")  # 157,000 / 620,000
    assert compensation.outstanding_by_guarantee(g.id) == Decimal("463000.00")

    # 抵债资产: taken at 300,000 against the compensation, sold for 280,000 (loss 20,000)
    asset = foreclosed_assets.register({"compensation_id": comp.id, "name": "厂房一处", "kind": "real_estate",
                                        "source": "collateral", "book_value": "300000", "agency": "测试评估所"}, am)
    db.session.commit()
    assert compensation.outstanding_by_guarantee(g.id) == Decimal("163000.00")
    foreclosed_assets.revalue(asset.id, {"valued_on": "2036-03-20", "value": "290000", "agency": "测试评估所"}, am)
    foreclosed_assets.dispose(asset.id, {"disposal_amount": "280000", "buyer": "买受人", "bank_account": "工行 001"},
                              cashier)
    db.session.commit()
    assert asset.status == "disposed" and asset.gain_loss == Decimal("-20000.00") and len(asset.valuations) == 2
    with pytest.raises(Conflict):
        foreclosed_assets.dispose(asset.id, {"disposal_amount": "1", "bank_account": "x"}, cashier)
    db.session.rollback()

    events = [comp.event_id, r1.event_id, r2.event_id, asset.acquisition_event_id, asset.disposal_event_id]
    assert all(events)
    kinds = [db.session.get(BusinessEvent, e).kind for e in events]
    assert kinds == ["compensation_paid", "recovery_received", "recovery_received", "foreclosed_asset_received",
                     "foreclosed_asset_disposal"]
    vouchers = _post(db, events)
    disposal = vouchers[-1]
    assert sorted((ln.account.code, ln.debit, ln.credit) for ln in disposal.lines) == [
        ("1002", Decimal("280000.00"), 0), ("1441", 0, Decimal("300000.00")), ("6711", Decimal("20000.00"), 0)]
    rows = ledger_books.trial_balance("2036-03")
    total = rows[-1]
    assert total.debit == total.credit
    mine = db.session.execute(select(VoucherLine).where(VoucherLine.voucher_id.in_([v.id for v in vouchers]))).scalars()
    receivable = sum((ln.debit - ln.credit for ln in mine if ln.account.code == "1131"), Decimal("0"))
    assert receivable == compensation.outstanding_by_guarantee(g.id) == Decimal("163000.00")


def test_rejected_compensation_cannot_be_paid_and_screen_shows_it(app, db, business_day, login_as):
    from app.services import approval, compensation

    g = in_force_guarantee(db, amount="500000.00", loan_date=date(2035, 9, 1), months=12)
    comp = compensation.apply({"guarantee_id": g.id, "demand_date": "2036-03-01", "principal": "100000",
                               "reason": "逾期"}, uid(P.ACCOUNT_MANAGER))
    db.session.commit()
    inst = approval.open_instance("compensation", comp.id)
    with pytest.raises(Exception):  # four eyes: the applicant never approves
        approval.act(inst.id, uid(P.ACCOUNT_MANAGER), "approve", "ok")
    db.session.rollback()
    approval.act(inst.id, uid(P.RISK_OFFICER), "reject", "材料不全")
    db.session.commit()
    db.session.refresh(comp)
    assert comp.status == "rejected"
    with pytest.raises(Conflict):
        compensation.pay(comp.id, uid(P.CASHIER), bank_account="工行 001")
    db.session.rollback()
    web = login_as(P.RISK_OFFICER)
    html = web.get(f"/compensation/page/{comp.id}").get_data(as_text=True)
    assert comp.code in html and "已否决" in html
    assert web.get("/compensation/list/").status_code == 200
    # a hand-made POST meets the same service check
    response = web.post_form(f"/compensation/pay/{comp.id}", {"bank_account": "工行 001"},
                             form_page="/compensation/add")
    assert response.status_code in (302, 403)
    db.session.refresh(comp)
    assert comp.status == "rejected" and comp.event_id is None
    account_manager = login_as(P.ACCOUNT_MANAGER)  # applies, but never pays
    assert account_manager.post_form(f"/compensation/pay/{comp.id}", {"bank_account": "x"},
                                     form_page="/compensation/add").status_code == 403
