"""The guarantee pages in a real browser, in Chinese (BIZ-3..12, BIZ-14): the account manager enters an
application with a counter-guarantee measure and a fee plan, submits it, writes the due-diligence report and
sends it to the acceptance approval; the approvals run through the engine; the cashier records the fees on the
page; the intention letter is downloaded and opened; the business query filters by stage.
(The multi-role walkthrough of every approval screen is tests/e2e/test_walkthrough.py.)"""
import io

from docx import Document

from app import permissions as P
from tests.integration.test_guarantees_support import (
    committee_members, make_bank, make_customer, make_product, to_stage, user_id,
)

from .conftest import choose, screenshot


def test_application_to_fee_collection_in_the_browser(app, page_as, tmp_path):
    from app.extensions import db

    members = committee_members(app, 3)
    with app.app_context():
        am_id = user_id(P.ACCOUNT_MANAGER)
        product, bank = make_product(db, name="浏览器流贷"), make_bank(db, name="浏览器银行")
        customer = make_customer(db, manager_id=am_id, name="浏览器测试企业")
        db.session.commit()
        ids = {"customer": customer.id, "customer_code": customer.code, "product": product.id, "bank": bank.id}

    page = page_as(P.ACCOUNT_MANAGER)
    page.goto("/guarantee/add")
    choose(page, "customer_id", ids["customer_code"])  # the picker searches as the user types
    page.select_option("#product_id", str(ids["product"]))
    page.select_option("#bank_id", str(ids["bank"]))
    page.fill("#amount", "2000000")
    page.fill("#term_months", "12")
    page.fill("#fee_rate", "0.02")
    page.select_option("#repayment_method", "lump_sum")
    page.fill("#purpose", "购买原材料")
    page.select_option("#measure-0-kind", "mortgage")
    page.fill("input[name='measure-0-description']", "厂房一处")
    page.fill("input[name='measure-0-value']", "3000000")
    page.select_option("#fee-0-fee_type", "guarantee")
    page.select_option("#fee-0-basis", "ratio")
    page.select_option("#fee-0-frequency", "quarterly")
    screenshot(page, "guarantee-application-form", full_page=True)
    with page.expect_navigation():
        page.click("#application-save")
    assert "/guarantee/page/" in page.url, page.content()[:2000]
    pk = int(page.url.rstrip("/").split("/")[-1])
    # 2,000,000 × 2 % / 4 = 10,000 a quarter
    assert page.locator("#fee-schedule tbody tr").count() == 4
    assert "10,000.00" in page.locator("#fee-schedule").inner_text()
    assert page.locator("#guarantee-page").get_attribute("data-stage") == "draft"
    assert "厂房一处" in page.locator("#measures").inner_text()
    with page.expect_navigation():
        page.click("#op-submit_application button")
    assert page.locator("#guarantee-page").get_attribute("data-stage") == "investigation"
    page.fill("#inv-financial_analysis", "近三年营业收入稳定增长，资产负债率 45%。")
    page.fill("#inv-repayment_source", "经营收入")
    page.fill("#inv-conclusion", "符合受理条件")
    page.select_option("#inv-recommendation", "recommend")
    with page.expect_navigation():
        page.click("#investigation-form button[type=submit]")
    with page.expect_navigation():
        page.click("#op-submit_for_acceptance button")
    assert page.locator("#guarantee-page").get_attribute("data-stage") == "acceptance"
    assert page.locator(".approval-panel").count() == 1
    screenshot(page, "guarantee-page-acceptance", full_page=True)

    # the approvals and the contracts by the service (their screens are the engine's)
    with app.app_context():
        to_stage(db, pk, "fee_collection", members)
        db.session.remove()

    cashier = page_as(P.CASHIER)
    cashier.goto(f"/guarantee/page/{pk}")
    assert cashier.locator("#guarantee-page").get_attribute("data-stage") == "fee_collection"
    with cashier.expect_navigation():
        cashier.locator("form.collect-fee").first.locator("button").click()
    assert "已推送财务" in cashier.content() or "sent to finance" in cashier.content()
    with cashier.expect_navigation():
        cashier.click("#op-finish_fee_collection button")
    assert cashier.locator("#guarantee-page").get_attribute("data-stage") == "loan_notice"
    screenshot(cashier, "guarantee-page-cashier", full_page=True)

    page.goto(f"/guarantee/page/{pk}")
    with page.expect_download() as info:
        page.click("a.doc-link[data-doc='intention_letter']")
    path = tmp_path / "letter.docx"
    info.value.save_as(path)
    text = "\n".join(p.text for p in Document(io.BytesIO(path.read_bytes())).paragraphs)
    assert "浏览器测试企业" in text or "浏览器银行" in text

    page.goto("/guarantee/list/")
    page.select_option("#qf-_flt_3_stage", "loan_notice")
    with page.expect_navigation():
        page.click("#quick-filter-submit")
    assert "_flt_3_stage=loan_notice" in page.url
    rows = page.locator("table.table-hover tbody, table.table tbody").last.inner_text()
    assert "浏览器测试企业" in rows
    screenshot(page, "guarantee-list-filtered", full_page=True)
