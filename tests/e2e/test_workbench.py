"""The workbench (issue 8, WB-1/WB-2) in a real browser as 客户经理 and as 总经理: the quick desktop, the pie chart
of my customers drawn by the vendored ECharts (a canvas), a count clicking through to the guarantee list behind
it; and the regulatory indicators page (STAT-3) with its chart."""
from datetime import date
from decimal import Decimal as D

from app import permissions as P
from tests.conftest import unique
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id

from .conftest import screenshot


def test_workbench_as_manager_and_general_manager_and_regulatory_page(app, page_as):
    from app.extensions import db
    from models.business import Guarantee

    with app.app_context():
        am_id = user_id(P.ACCOUNT_MANAGER)
        product, bank = make_product(db), make_bank(db)
        codes = []
        for n in range(2):
            customer = make_customer(db, manager_id=am_id, name=f"工作台测试企业{n}")
            code = unique("G")
            codes.append(code)
            db.session.add(Guarantee(code=code, customer_id=customer.id, product_id=product.id, bank_id=bank.id,
                                     amount=D("1000000"), term_months=12, fee_rate=D("0.02"), stage="in_force",
                                     status="active", balance=D("1000000"), loan_amount=D("1000000"),
                                     loan_date=date(2064, 1, 5), due_date=date(2065, 1, 4), manager_id=am_id,
                                     owner_id=am_id))
        db.session.commit()

    for role, name in ((P.ACCOUNT_MANAGER, "manager"), (P.GENERAL_MANAGER, "general-manager")):
        page = page_as(role)
        page.goto("/")
        page.wait_for_selector("#customer-chart canvas")
        assert page.locator("#wb-desktop .wb-module").count() > 0
        count = int(page.locator("#count-post_guarantee").inner_text())
        assert count >= 2
        screenshot(page, f"workbench-{name}", full_page=True)
        with page.expect_navigation():
            page.click("#count-post_guarantee")
        assert "/guarantee/list" in page.url
        if role == P.ACCOUNT_MANAGER:
            body = page.content()
            assert all(code in body for code in codes)  # his guarantees in force are the list behind the count

    gm = page_as(P.GENERAL_MANAGER)
    gm.goto("/regulatory/")
    gm.wait_for_selector("#indicator-chart canvas")
    assert gm.locator("#indicator-table tr[id^=indicator-]").count() >= 7
    assert gm.locator("#indicator-leverage").count() == 1
    screenshot(gm, "regulatory-indicators", full_page=True)
    gm.goto("/statistics/?dimension=bank&date_from=2064-01-01&date_to=2064-12-31")
    gm.wait_for_selector("#dimension-chart canvas")
    screenshot(gm, "portfolio-statistics", full_page=True)
