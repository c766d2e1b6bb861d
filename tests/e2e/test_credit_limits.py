"""Credit limits in a real browser, in Chinese (RAT-3): the account manager proposes a limit for his customer,
the risk officer and the general manager approve it on the limit's approval panel, and the customer's tab
授信额度 shows the limit with its usage (a guarantee in force of the customer)."""
import re

from app import permissions as P
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id

from .conftest import screenshot


def test_propose_approve_and_customer_tab(app, page_as):
    from app.extensions import db
    from models.business import Guarantee
    from tests.conftest import unique
    from decimal import Decimal as D

    with app.app_context():
        am_id = user_id(P.ACCOUNT_MANAGER)
        customer = make_customer(db, manager_id=am_id, name="授信浏览器测试企业")
        product, bank = make_product(db), make_bank(db)
        db.session.add(Guarantee(code=unique("G"), customer_id=customer.id, product_id=product.id, bank_id=bank.id,
                                 amount=D("1200000"), term_months=12, fee_rate=D("0.02"), stage="in_force",
                                 status="active", balance=D("1000000"), manager_id=am_id))
        db.session.commit()
        customer_id = customer.id

    manager = page_as(P.ACCOUNT_MANAGER)
    manager.goto("/creditlimit/list/")
    assert manager.locator("#credit-limit-quick-filters").count() == 1
    manager.goto("/creditlimit/add")
    with manager.expect_navigation():
        manager.select_option("#pick-customer", str(customer_id))
    assert manager.locator("#credit-limit-proposal").count() == 1
    manager.fill("#amount", "5000000")
    manager.fill("#comment", "年度综合授信")
    screenshot(manager, "credit-limit-propose-form", full_page=True)
    with manager.expect_navigation():
        manager.click("#credit-limit-submit")
    assert "/creditlimit/page/" in manager.url, manager.content()[:2000]
    pk = int(manager.url.rstrip("/").split("/")[-1])
    assert manager.locator("#credit-limit-page").get_attribute("data-status") == "pending"
    assert manager.locator(".approval-panel").count() == 1
    assert manager.locator(".approval-act-form button[value=approve]").count() == 0  # the proposer never approves
    screenshot(manager, "credit-limit-page-pending", full_page=True)

    for role in (P.RISK_OFFICER, P.GENERAL_MANAGER):
        approver = page_as(role)
        approver.goto(f"/creditlimit/page/{pk}")
        approver.fill("#approval-comment", "同意")
        with approver.expect_navigation():
            approver.click(".approval-act-form button[value=approve]")
        if role == P.RISK_OFFICER:
            assert approver.locator("#credit-limit-page").get_attribute("data-status") == "pending"
            assert approver.locator(".approval-act-form button[value=approve]").count() == 0  # one step each

    manager.goto(f"/creditlimit/page/{pk}")
    assert manager.locator("#credit-limit-page").get_attribute("data-status") == "granted"
    assert manager.locator("#usage-limit").inner_text() == "5,000,000.00"
    assert manager.locator("#usage-used").inner_text() == "1,000,000.00"
    assert manager.locator("#usage-available").inner_text() == "4,000,000.00"
    assert "风控审查" in manager.locator(".approval-timeline").inner_text()
    screenshot(manager, "credit-limit-page-granted", full_page=True)

    manager.goto(f"/customerview/show/{customer_id}")
    tab = manager.locator("a[data-toggle=tab], .nav-tabs a").filter(has_text=re.compile("授信额度|Credit limits"))
    tab.first.click()
    panel = manager.locator(".tab-pane.active")
    text = panel.inner_text()
    assert "5,000,000.00" in text and "1,000,000.00" in text and "4,000,000.00" in text, text
    screenshot(manager, "credit-limit-customer-tab", full_page=True)

    # the "+" of the tab opens the propose form for this customer
    with manager.expect_navigation():
        manager.locator(".tab-pane.active a[href*='/creditlimit/add']").first.click()
    assert manager.locator("#pick-customer").input_value() == str(customer_id)
    proposal = manager.locator("#credit-limit-proposal").inner_text()  # the current limit and its usage
    assert "5,000,000.00" in proposal and "1,000,000.00" in proposal and "4,000,000.00" in proposal

    # the list: quick filter by customer, and the "expiring soon" button
    manager.goto("/creditlimit/list/")
    manager.select_option("#qf-_flt_0_customer", str(customer_id))
    with manager.expect_navigation():
        manager.click("#quick-filter-submit")
    rows = manager.locator("tr:has(a[href*='/creditlimit/show/'])")  # the list's rows (not the search form's)
    screenshot(manager, "credit-limit-list", full_page=True)
    assert rows.count() == 1 and "授信浏览器测试企业" in rows.first.inner_text(), [rows.nth(i).inner_text() for i in range(rows.count())]
    screenshot(manager, "credit-limit-list", full_page=True)
    with manager.expect_navigation():
        manager.click("#expiring-soon")
    assert "_flt_2_valid_to" in manager.url
    assert manager.locator("tr:has(a[href*='/creditlimit/show/'])").filter(
        has_text="授信浏览器测试企业").count() == 0  # valid for a year
