"""Month-end in a real browser (GL-4/GL-5), January 1955 (see tests/integration/ledger_helpers.py): the
month's vouchers are made by the accountant and reviewed and posted by the finance reviewer through the
ledger service (the voucher screens have their own browser tests); the accountant then runs the close
from the month-end page and watches its progress bar, opens the balance sheet and downloads the Excel."""
from datetime import date
from decimal import Decimal as D

import openpyxl

from app import permissions as P
from tests.integration import ledger_helpers as H

from .conftest import screenshot

YEAR = 1955


def test_month_end_close_statements_and_excel(app, page_as, tmp_path):
    with app.app_context():
        cust = H.customer("戊浏览器客户")
        bank = {"bank_account": "招行 1955"}
        H.post(date(YEAR, 1, 5), [H.line("1002", 300000, **bank), H.line("4001", credit=300000)], "投资款", "shou")
        H.post(date(YEAR, 1, 9), [H.line("1002", 8000, **bank),
                                  H.line("6001", credit=8000, customer_id=cust, project_code="E1955")], "担保费",
               "shou")
        period_id = H.period(YEAR, 1).id
    page = page_as(P.ACCOUNTANT)
    page.goto("/periodclose/")
    row = page.locator(f"#period-{YEAR}-01")
    assert row.is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.locator("button.close-period").click()
    assert f"/periodclose/progress/" in page.url
    page.wait_for_function("document.getElementById('close-bar').textContent === '100%'", timeout=20000)
    assert page.locator("#close-bs").is_visible()
    screenshot(page, "ledger-close-progress")
    with page.expect_navigation():
        page.click("#close-bs")
    assert page.locator("#ledger-table").is_visible()
    with app.app_context():
        from app.services.ledger_books import balance_sheet

        total = next(ln for ln in balance_sheet((YEAR, 1))["lines"] if ln.name == "资产总计")
    closing, year_open = total.values
    assert closing - year_open == 308000  # the month's two receipts (earlier years may have left balances)
    table = page.locator("#ledger-table").inner_text()
    assert "资产总计" in table and f"{closing:,.2f}" in table
    screenshot(page, "ledger-balance-sheet", full_page=True)
    with page.expect_download() as info:
        page.click("#ledger-export-xlsx")
    path = tmp_path / "bs.xlsx"
    info.value.save_as(path)
    ws = openpyxl.load_workbook(path).active
    names = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(4, ws.max_row + 1)}
    assert names["资产总计"] == closing
    with app.app_context():
        from app.extensions import db
        from models.ledger import Period

        assert db.session.get(Period, period_id).status == "closed"
