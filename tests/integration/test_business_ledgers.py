"""Issue 8 台账 and the post-guarantee figures: the fee ledger reconciles with fee income (6001) and the
compensation ledger's outstanding with 应收代偿款 (1131) once the events are vouchered and posted; ledgers filter
and export to Excel and PDF; 代偿率 / 损失率 / 追偿率 and the workbench to-dos come from the post-guarantee side."""
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import permissions as P
from tests.integration.test_compensation_support import approve_all, in_force_guarantee, set_business_date, uid
from tests.integration.test_guarantees_support import make_customer

D = Decimal


@pytest.fixture(autouse=True)
def keep_business_date(db):
    """These tests move the business date to their own years; put it back for the tests that follow."""
    from models.system import SystemSetting

    def row():
        return db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()

    before = row().value if row() is not None else None
    yield
    db.session.rollback()
    current = row()
    if current is not None and before is not None:
        current.value = before
    elif current is not None:
        db.session.delete(current)
    db.session.commit()


def _post(db, event_ids):
    from flask import current_app

    from app.services import settings
    from tests.integration.ledger_support import users

    u = users(current_app)
    before = settings.get("gl_default_bank_account")
    settings.set_value("gl_default_bank_account", "工行 基本户 001")  # fee events carry no bank account
    db.session.commit()
    try:
        _post_each(db, event_ids, u)
    finally:
        settings.set_value("gl_default_bank_account", before or "")
        db.session.commit()


def _post_each(db, event_ids, u):
    from app.services import ledger, ledger_events

    for event_id in event_ids:
        voucher = ledger_events.approve_event(event_id, u["maker"])
        ledger.review_voucher(voucher.id, u["reviewer"])
        if ledger.cashier_sign_required(voucher):
            ledger.sign_voucher(voucher.id, u["cashier"])
        ledger.post_voucher(voucher.id, u["reviewer"])
        db.session.commit()


def _gl(db, code, customer_id, date_from, date_to, sign=1):
    """Posted movement of account `code` (and its sub-accounts) on the customer's lines in the range:
    debit − credit (sign 1) or credit − debit (sign −1)."""
    from models.ledger import Account, VoucherLine

    value = db.session.execute(
        select(func.coalesce(func.sum(VoucherLine.debit - VoucherLine.credit), 0))
        .join(Account, Account.id == VoucherLine.account_id)
        .where(Account.code.like(code + "%"), VoucherLine.posted.is_(True), VoucherLine.customer_id == customer_id,
               VoucherLine.voucher_date >= date_from, VoucherLine.voucher_date <= date_to)).scalar()
    return D(value or 0) * sign


def _fee(db, g, due, amount, received_on):
    from app.services import guarantees
    from models.business import FeeScheduleRow

    row = FeeScheduleRow(guarantee_id=g.id, due_date=due, fee_type="guarantee", amount=D(amount), received=0)
    db.session.add(row)
    db.session.commit()
    receipt = guarantees.collect_fee(g.id, uid(P.CASHIER), row.id, amount, received_on=received_on,
                                     reference="YH-" + str(row.id))
    db.session.commit()
    return receipt


def _compensate(db, g, principal, interest, paid_on):
    from app.services import compensation

    comp = compensation.apply({"guarantee_id": g.id, "demand_date": paid_on, "principal": principal,
                               "interest": interest, "reason": "借款人逾期，银行要求代偿"}, uid(P.ACCOUNT_MANAGER))
    db.session.commit()
    approve_all(db, "compensation", comp.id)
    compensation.pay(comp.id, uid(P.CASHIER), paid_on=paid_on, reference="FK", bank_account="工行 001")
    db.session.commit()
    return comp


def _recover(db, comp, principal, received_on):
    from app.services import recovery

    case = recovery.apply({"compensation_id": comp.id, "plan": "协商还款"}, uid(P.ACCOUNT_MANAGER))
    db.session.commit()
    approve_all(db, "recovery", case.id)
    receipt = recovery.record_receipt(case.id, {"source": "cash", "principal": principal, "received_on": received_on,
                                                "bank_account": "工行 001"}, uid(P.CASHIER))
    db.session.commit()
    return case, receipt


def test_fee_and_compensation_ledgers_reconcile_with_the_general_ledger(app, db):
    from app.services import business_ledgers as bl

    set_business_date(db, date(2066, 3, 31))
    customer = make_customer(db, manager_id=uid(P.ACCOUNT_MANAGER))
    g1 = in_force_guarantee(db, amount="800000.00", loan_date=date(2065, 6, 1), customer=customer)
    g2 = in_force_guarantee(db, amount="500000.00", loan_date=date(2065, 9, 1), customer=customer)
    fees = [_fee(db, g1, date(2066, 2, 25), "8000.00", "2066-02-25"),  # before the period
            _fee(db, g1, date(2066, 3, 5), "30000.00", "2066-03-05"),
            _fee(db, g2, date(2066, 3, 20), "12500.00", "2066-03-20")]
    comp = _compensate(db, g1, "200000.00", "5000.00", "2066-03-25")
    case, receipt = _recover(db, comp, "50000.00", "2066-03-28")
    _post(db, [r.event_id for r in fees] + [comp.event_id, receipt.event_id])

    march = bl.parse_filters({"date_from": "2066-03-01", "date_to": "2066-03-31", "customer_id": customer.id})
    fee_total = bl.totals("fee", march)
    assert fee_total == {"count": 2, "amount": D("42500.00")}
    assert fee_total["amount"] == _gl(db, "6001", customer.id, date(2066, 3, 1), date(2066, 3, 31), sign=-1)
    assert [r[-1] for r in bl.rows("fee", march)] == [D("30000.00"), D("12500.00")]

    # outstanding of every compensation paid up to a day = balance of 应收代偿款 that day
    for day, expected in ((date(2066, 3, 26), D("205000.00")), (date(2066, 3, 31), D("155000.00"))):
        f = bl.parse_filters({"date_to": day.isoformat(), "customer_id": customer.id})
        total = bl.totals("compensation", f)
        assert total["outstanding"] == expected
        assert total["outstanding"] == _gl(db, "1131", customer.id, date(1900, 1, 1), day)
    rows = list(bl.rows("compensation", bl.parse_filters({"customer_id": customer.id})))
    assert [(r[1], r[9], r[10], r[11]) for r in rows] == [(g1.code, D("205000.00"), D("50000.00"), D("155000.00"))]
    rec = bl.totals("recovery", march)
    assert rec["amount"] == D("50000.00") == _gl(db, "1131", customer.id, date(2066, 3, 1), date(2066, 3, 31), -1) \
        + D("205000.00")
    # the guarantee ledger: both guarantees lent, balance after the principal compensated
    gl_rows = list(bl.rows("guarantee", bl.parse_filters({"customer_id": customer.id})))
    assert [(r[0], r[5], r[10]) for r in gl_rows] == [(g1.code, D("800000.00"), D("600000.00")),
                                                      (g2.code, D("500000.00"), D("500000.00"))]
    # STAT-4 contract registration status: g1 terminated on default (reason, amount), g2 performing
    contracts = list(bl.rows("contract", bl.parse_filters({"customer_id": customer.id, "date_from": "2066-01-01",
                                                           "date_to": "2066-03-31"})))
    label = {k: str(v) for k, v in bl.CONTRACT_STATUS.items()}
    assert [(r[0], r[7], r[8], r[9], r[10], r[11]) for r in contracts] == [
        (g1.code, label["default_end"], date(2066, 3, 25), "借款人逾期，银行要求代偿", D("205000.00"), 0),
        (g2.code, label["performing"], None, None, None, 0)]
    assert all(r[1] for r in contracts)  # the guarantee contract's number
    assert bl.totals("contract", bl.parse_filters({"customer_id": customer.id}))["compensated"] == D("205000.00")


def test_post_guarantee_rates_and_workbench_hooks(app, db, login_as):
    from app.services import post_figures, regulatory, workbench

    post_figures.register()
    set_business_date(db, date(2067, 6, 30))
    customer = make_customer(db, manager_id=uid(P.ACCOUNT_MANAGER))
    g1 = in_force_guarantee(db, amount="1000000.00", loan_date=date(2066, 6, 1), customer=customer)
    g2 = in_force_guarantee(db, amount="600000.00", loan_date=date(2066, 7, 1), customer=customer)
    from app.services import release, recovery

    release.release(g2.id, {"released_on": "2067-06-10", "bank_confirmation": "QR-1"}, uid(P.RISK_OFFICER))
    db.session.commit()
    comp = _compensate(db, g1, "300000.00", "0", "2067-06-12")
    case, _receipt = _recover(db, comp, "100000.00", "2067-06-20")
    recovery.close(case.id, uid(P.RISK_OFFICER), "无可执行财产，结案")
    db.session.commit()
    # hand-computed for June 2067 (only this test writes 2067 rows; a re-run scales both sides alike):
    # 代偿率 = 300,000 / (1,000,000 + 600,000); 损失率 = (300,000 − 100,000) / 1,600,000
    june = (date(2067, 6, 1), date(2067, 6, 30))
    assert post_figures.compensation_rate(*june) == D("0.1875")
    assert post_figures.loss_rate(*june) == D("0.1250")
    assert post_figures.compensation_rate(date(2067, 1, 1), date(2067, 5, 31)) is None
    assert 0 < post_figures.recovery_rate(*june) <= 1
    figures = {f["key"]: f["value"] for f in regulatory.provided_figures(*june)}
    assert figures["compensation_rate"] == D("0.1875") and figures["loss_rate"] == D("0.1250")

    assert workbench.extra_range_figures  # the registry exists; the page shows what is registered
    am = login_as(P.ACCOUNT_MANAGER)
    html = am.get("/", query_string={"date_from": "2067-06-01", "date_to": "2067-06-30"}).get_data(as_text=True)
    assert 'id="todo-warnings"' in html and 'id="todo-inspections"' in html
    assert 'id="count-recoveries"' in html and 'id="count-overdue"' in html
    assert post_figures.recoveries_in(*june)[1] >= D("100000.00")


def test_ledger_pages_filter_and_export(login_as, db):
    from openpyxl import load_workbook

    set_business_date(db, date(2068, 5, 31))
    g = in_force_guarantee(db, amount="700000.00", loan_date=date(2068, 5, 3))
    _fee(db, g, date(2068, 5, 3), "21000.00", "2068-05-03")
    am = login_as(P.ACCOUNT_MANAGER)
    args = {"date_from": "2068-05-01", "date_to": "2068-05-31", "code": g.code}
    html = am.get("/businessledger/fee", query_string=args).get_data(as_text=True)
    assert g.code in html and "21,000.00" in html
    for name in ("guarantee", "compensation", "recovery", "collateral", "fee", "contract"):
        assert am.get(f"/businessledger/{name}", query_string=args).status_code == 200
    response = am.get("/businessledger/fee/download.xlsx", query_string=args)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[3][0] == g.code and values[3][-1] == 21000
    assert values[4][-1] == 21000 and sheet.freeze_panes == "A4"
    assert sheet.cell(5, 9).font.b and sheet.cell(4, 9).number_format == "#,##0.00"
    contract = am.get("/businessledger/contract/download.xlsx", query_string=args)
    assert load_workbook(io.BytesIO(contract.data)).active.cell(4, 1).value == g.code
    pdf = am.get("/businessledger/guarantee/download.pdf", query_string=args)
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    # bad filter: a clear message, the page still answers
    assert am.get("/businessledger/fee", query_string={"date_from": "2068-13-01"}).status_code == 200
    assert am.get("/businessledger/nosuch").status_code == 404
    # roles without the ledgers
    cashier = login_as(P.CASHIER)
    assert cashier.get("/businessledger/fee").status_code in (302, 403)
