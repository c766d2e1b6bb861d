"""台账 in a real browser (issue 8): the account manager opens the guarantee business ledger, filters it by date
range and product, sees his guarantee with the totals row, and downloads the Excel file, which opens with its
header, the row and the bold totals."""
from datetime import date

from app import permissions as P
from tests.integration.test_compensation_support import in_force_guarantee
from tests.integration.test_guarantees_support import make_customer, make_product, user_id

from .conftest import screenshot


def test_ledger_filter_and_excel_download(app, page_as):
    from openpyxl import load_workbook

    from app.extensions import db

    with app.app_context():
        am = user_id(P.ACCOUNT_MANAGER)
        product = make_product(db)
        customer = make_customer(db, manager_id=am, name="台账测试企业")
        g = in_force_guarantee(db, amount="1234567.89", loan_date=date(2070, 2, 3), customer=customer,
                               product=product)
        code, product_id = g.code, product.id

    page = page_as(P.ACCOUNT_MANAGER)
    page.goto("/businessledger/guarantee")
    page.fill("#ledger-form input[name=date_from]", "2070-02-01")
    page.fill("#ledger-form input[name=date_to]", "2070-02-28")
    page.select_option("#ledger-form select[name=product_id]", str(product_id))
    with page.expect_navigation():
        page.click("#ledger-show")
    table = page.locator("#ledger-table")
    assert code in table.inner_text() and "1,234,567.89" in page.locator("#ledger-total").inner_text()
    assert page.locator("#ledger-table tbody tr").count() == 1
    screenshot(page, "business-ledger", full_page=True)
    with page.expect_download() as info:
        page.click("#ledger-xlsx")
    path = info.value.path()
    sheet = load_workbook(open(path, "rb")).active  # the download has no file extension
    assert sheet.cell(4, 1).value == code and sheet.cell(4, 6).value == 1234567.89
    assert sheet.cell(5, 6).value == 1234567.89 and sheet.cell(5, 6).font.b and sheet.freeze_panes == "A4"
