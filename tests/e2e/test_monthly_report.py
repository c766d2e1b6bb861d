"""监管统计季报 in a real browser (issue 8): the general manager opens the statistical report, switches from the
annual to the quarterly report, downloads the Excel file and it opens with the quarterly title and the quarter's
new business."""
from datetime import date

from app import permissions as P
from tests.integration.test_compensation_support import in_force_guarantee
from tests.integration.test_guarantees_support import make_customer, make_product, user_id

from .conftest import screenshot


def test_general_manager_downloads_quarterly_report(app, page_as):
    from flask_babel import force_locale
    from openpyxl import load_workbook

    from app.extensions import db
    from app.services import monthly_report as mr
    from reports.monthly_report_excel import titles

    with app.app_context():
        customer = make_customer(db, manager_id=user_id(P.ACCOUNT_MANAGER), name="季报测试企业")
        in_force_guarantee(db, amount="2345678.90", loan_date=date(2072, 5, 6), customer=customer,
                           product=make_product(db))
    with app.test_request_context(), force_locale("zh"):
        quarter = mr.Period("quarter", 2072, 2)
        title = titles(mr.Report(2072, 6, quarter.start, quarter.end, {}, {}, quarter))[1]

    page = page_as(P.GENERAL_MANAGER)
    page.goto("/monthlyreport/?period=2072")
    assert page.locator("#line-balance").count() == 1
    page.select_option("#period-quarter select[name=period]", "2072-Q2")
    with page.expect_navigation():
        page.click("#period-quarter button[type=submit]")
    assert "period=2072-Q2" in page.url and page.locator("#report-title").inner_text() == title
    screenshot(page, "quarterly-statistical-report", full_page=True)
    with page.expect_download() as info:
        page.click("#monthly-xlsx")
    sheet = load_workbook(open(info.value.path(), "rb")).active  # the download has no file extension
    assert sheet.cell(1, 1).value == title
    assert sheet.cell(5, 3).value >= 2345678.90  # new business in the quarter, company-wide
