"""Post-guarantee in a real browser, in Chinese (issue 7): a guarantee whose repayment is overdue gets a warning
(the day-end rule), the account manager applies for compensation, risk management and the general manager approve
it on its approval panel, the cashier pays it, a recovery is applied for, approved and an amount recovered is
recorded, and finance reviews both events into vouchers that the ledger shows (应收代偿款 1131)."""
from datetime import date
from decimal import Decimal

from app import permissions as P
from tests.integration.test_compensation_support import in_force_guarantee, set_business_date

from .conftest import screenshot

DAY = date(2039, 5, 10)


def _approve_on_panel(page_as, url):
    for role in (P.RISK_OFFICER, P.GENERAL_MANAGER):
        approver = page_as(role)
        approver.goto(url)
        approver.fill("#approval-comment", "同意")
        with approver.expect_navigation():
            approver.click(".approval-act-form button[value=approve]")


def test_overdue_warning_compensation_recovery_vouchers(app, page_as):
    from app.extensions import db
    from app.services import repayment_plans, warnings
    from models.post_settlement import Compensation, RecoveryCase

    with app.app_context():
        set_business_date(db, DAY)
        g = in_force_guarantee(db, amount="800000.00", loan_date=date(2038, 11, 10), months=12)
        repayment_plans.generate_plan(g.id, "annuity", start=date(2038, 11, 10), months=12,
                                      principal=Decimal("800000.00"), annual_rate=Decimal("0.06"))
        warnings.evaluate_rules(DAY, ["repayment_overdue"])  # what the day-end batch runs
        db.session.commit()
        assert "repayment_overdue" in [w.rule_code for w in warnings.open_warnings(guarantee_id=g.id)]
        gid, code = g.id, g.code

    manager = page_as(P.ACCOUNT_MANAGER)
    manager.goto("/postwarning/list/")
    assert code in manager.content()  # the warning of the overdue guarantee, owned by its account manager

    manager.goto(f"/compensation/add?guarantee_id={gid}")
    manager.fill("#f-demand_date", "2039-05-08")
    manager.fill("#f-demand_reference", "银行代偿通知2039-01")
    manager.fill("#f-principal", "600000")
    manager.fill("#f-interest", "12000")
    manager.fill("#f-reason", "借款人逾期超过90天，银行书面要求代偿")
    with manager.expect_navigation():
        manager.click("#compensation-form-submit")
    assert "/compensation/page/" in manager.url, manager.content()[:2000]
    comp_url = manager.url
    assert manager.locator("#compensation-page").get_attribute("data-status") == "pending"
    assert manager.locator(".approval-act-form button[value=approve]").count() == 0  # the applicant never approves

    _approve_on_panel(page_as, comp_url)
    cashier = page_as(P.CASHIER)
    cashier.goto(comp_url)
    assert cashier.locator("#compensation-page").get_attribute("data-status") == "approved"
    cashier.fill("#pay-account", "工行基本户 6222")
    cashier.fill("#pay-ref", "FK-2039-001")
    with cashier.expect_navigation():
        cashier.click("#compensation-pay-submit")
    assert cashier.locator("#compensation-page").get_attribute("data-status") == "paid"
    assert cashier.locator("#compensation-outstanding").inner_text() == "612,000.00"
    screenshot(cashier, "post-compensation-paid", full_page=True)

    manager.goto(comp_url)
    with manager.expect_navigation():
        manager.click("#start-recovery")
    manager.fill("#f-plan", "与借款人协商分期还款；反担保人承担连带责任；必要时起诉")
    with manager.expect_navigation():
        manager.click("#recovery-form-submit")
    assert "/recovery/page/" in manager.url, manager.content()[:2000]
    recovery_url = manager.url
    _approve_on_panel(page_as, recovery_url)
    cashier.goto(recovery_url)
    assert cashier.locator("#recovery-page").get_attribute("data-status") == "approved"
    cashier.select_option("#rc-source", "counter_guarantor")
    cashier.fill("#rc-payer", "反担保人王五")
    cashier.fill("#rc-principal", "150000")
    cashier.fill("#rc-interest", "3000")
    cashier.fill("#rc-account", "工行基本户 6222")
    with cashier.expect_navigation():
        cashier.click("#recovery-receipt-submit")
    assert cashier.locator("#recovery-recovered").inner_text() == "153,000.00"
    assert cashier.locator("#recovery-rate").inner_text() == "25.00%"  # 153,000 / 612,000
    screenshot(cashier, "post-recovery-receipt", full_page=True)

    with app.app_context():
        comp = db.session.query(Compensation).filter_by(guarantee_id=gid).one()
        case = db.session.query(RecoveryCase).filter_by(compensation_id=comp.id).one()
        event_ids = [comp.event_id, case.receipts[0].event_id]

    accountant = page_as(P.ACCOUNTANT)
    codes = []
    for event_id in event_ids:
        accountant.goto(f"/businesseventview/show/{event_id}")
        with accountant.expect_navigation():
            accountant.click("#btn-approve")
        assert "/voucherview/show/" in accountant.url, accountant.content()[:2000]
        text = accountant.content()
        assert "1131" in text and "应收代偿款" in text
        codes.append(accountant.url)
    screenshot(accountant, "post-recovery-voucher", full_page=True)
    accountant.goto("/voucherview/list/")
    assert accountant.locator("body").inner_text().count("代偿") >= 1
