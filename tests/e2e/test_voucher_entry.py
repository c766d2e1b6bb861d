"""Voucher entry in a real browser (GL-3): the accountant picks an account that keeps customers and finds the
customer by typing (the form never lists every customer), adds a line, saves a balanced voucher."""
from decimal import Decimal as D

from sqlalchemy import select

from app import permissions as P
from tests.conftest import unique
from tests.integration import ledger_helpers as H

from .conftest import screenshot

DAY = "2099-06-15"  # a period no other test closes; the draft is deleted at the end


def _option(page, row, text):
    return row.locator("select.account option", has_text=text).first.get_attribute("value")


def test_customer_is_searched_as_the_accountant_types(app, page_as):
    name = "己搜索客户" + unique("")[:6]
    with app.app_context():
        customer_id = H.customer(name)
    page = page_as(P.ACCOUNTANT)
    page.goto("/voucherview/add")
    page.fill("#voucher_date", DAY)
    page.fill("#summary", "收担保费")
    rows = page.locator("#voucher-lines tr.line")
    first, second = rows.nth(0), rows.nth(1)
    first.locator("select.account").select_option(_option(page, first, "1002"))
    first.locator("input[name=bank_account]").fill("工行 2099")
    first.locator("input.debit").fill("1200.00")
    second.locator("select.account").select_option(_option(page, second, "6001"))
    # the customer box holds no customers until the user types
    assert second.locator("select.customer-pick option:not([value=''])").count() == 0
    second.locator(".aux-C .select2-selection").click()
    page.locator(".select2-search__field").fill(name[:4])
    page.locator(".select2-results__option", has_text=name).click()
    second.locator("input[name=project_code]").fill("DB2099-001")
    second.locator("input.credit").fill("1200.00")
    page.click("#add-line")  # a copied line gets its own working customer box
    assert rows.count() == 5 and rows.nth(4).locator(".select2-container").count() == 1
    screenshot(page, "voucher-entry-customer-search")
    with page.expect_navigation():
        page.click("#save-voucher")
    with app.app_context():
        from app.extensions import db
        from app.services import ledger
        from models.ledger import Voucher, VoucherLine

        voucher = db.session.execute(select(Voucher).join(VoucherLine).where(
            VoucherLine.customer_id == customer_id).order_by(Voucher.id.desc())).scalars().first()
        assert voucher is not None and voucher.total_debit == D("1200.00")
        assert [ln.customer_id for ln in voucher.lines] == [None, customer_id]
        ledger.delete_voucher(voucher.id, H.user(P.ACCOUNTANT).id)
        db.session.commit()
