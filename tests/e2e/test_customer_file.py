"""The corporate customer file in a real browser: the account manager (客户经理) registers a company, adds two
shareholders on its 股东信息 tab, enters a balanced balance sheet through the statement grid and uploads a
picture on the 附件资料 tab, then previews it, all in the Chinese interface."""
import re
import struct
import uuid
import zlib

from tests.integration.datalayer import make_uscc

from .conftest import screenshot


def _png(width=4, height=3) -> bytes:
    """A small valid PNG (RGB, solid colour)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _open_tab(page, view):
    page.click(f"a[href='#{view}']")
    pane = page.locator(f"#{view}")
    pane.wait_for(state="visible")
    return pane


def test_corporate_customer_file(manager_page, tmp_path):
    page = manager_page
    tag = uuid.uuid4().hex[:6]
    name = f"浙江测试{tag}科技有限公司"
    uscc = make_uscc()

    # 1. Register the company through the 企业客户 add screen (opened from its list).
    page.goto("/corporatecustomerview/list/")
    page.goto("/corporatecustomerview/add")
    assert "/login" not in page.url
    page.fill("#name", name)
    page.select_option("#id_type", label="统一社会信用代码")
    page.fill("#id_number", uscc)
    page.fill("#legal_representative", "张三")
    page.fill("#registered_capital", "1000000")
    page.select_option("#direct", value="direct")
    screenshot(page, "customer-file-1-add")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
    assert "记录已添加" in page.locator(".alert-success").inner_text()

    page.goto("/corporatecustomerview/list/")
    with page.expect_navigation():
        page.locator("table tr", has_text=uscc).locator("a[href*='/corporatecustomerview/show/']").first.click()
    match = re.search(r"/corporatecustomerview/show/(\d+)", page.url)
    assert match, page.url
    customer_id = int(match.group(1))
    show_url = page.url
    body = page.locator("body").inner_text()
    assert name in body and uscc in body
    assert "注册信息" in body and "股东信息" in body and "附件资料" in body
    screenshot(page, "customer-file-2-show")

    # 2. Two shareholders through the 股东信息 tab.
    for holder, pct in ((f"杭州甲{tag}投资有限公司", "60"), (f"宁波乙{tag}实业有限公司", "40")):
        pane = _open_tab(page, "ShareholderView")
        with page.expect_navigation():
            pane.locator(f"a[href*='/shareholderview/add?_flt_0_customer={customer_id}']").click()
        page.select_option("#shareholder_kind", value="corporate")
        page.fill("#name", holder)
        page.fill("#contribution", str(int(pct) * 10000))
        page.fill("#share_pct", pct)
        with page.expect_navigation():
            page.click("form button[type=submit]")
        assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
        if f"/corporatecustomerview/show/{customer_id}" not in page.url:
            page.goto(show_url)
    pane = _open_tab(page, "ShareholderView")
    rows = pane.locator("table tbody").inner_text()
    assert f"杭州甲{tag}投资有限公司" in rows and f"宁波乙{tag}实业有限公司" in rows
    assert "60" in rows and "40" in rows
    assert "持股比例" in pane.inner_text() or "股东" in pane.inner_text()
    screenshot(page, "customer-file-3-shareholders")

    # 3. A balanced balance sheet through the statement grid.
    pane = _open_tab(page, "FinancialStatementView")
    with page.expect_navigation():
        pane.locator(f"a[href*='/financialstatementview/add?_flt_0_customer={customer_id}']").click()
    assert f"/financialstatementview/entry/{customer_id}" in page.url
    page.fill("#period_end", "2024-12-31")
    page.fill("#v_cash", "800000")
    page.fill("#v_accounts_receivable", "200000")
    page.fill("#v_short_term_loans", "400000")
    page.fill("#v_paid_in_capital", "600000")
    screenshot(page, "customer-file-4-statement-entry")
    with page.expect_navigation():
        page.locator("form:has(#period_end) [type=submit]").first.click()
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
    assert "/financialstatementview/show/" in page.url
    assert "财务报表已保存" in page.locator(".alert-success").inner_text() or page.locator(".alert-success").count()
    text = page.locator("body").inner_text()
    assert "资产总计" in text and "负债和所有者权益总计" in text
    assert "1,000,000.00" in text or "1000000.00" in text
    screenshot(page, "customer-file-5-statement")

    page.goto(show_url)
    pane = _open_tab(page, "FinancialStatementView")
    assert "2024-12-31" in pane.inner_text()

    # 4. Upload a picture on the 附件资料 tab and preview it.
    png = tmp_path / "营业执照.png"
    png.write_bytes(_png())
    pane = _open_tab(page, "AttachmentView")
    form = pane.locator("form.attachment-upload")
    category = form.locator("select[name=category] option:not([value=''])").first.get_attribute("value")
    form.locator("select[name=category]").select_option(category)
    form.locator("input[name=description]").fill("营业执照扫描件")
    form.locator("input[type=file]").set_input_files(str(png))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".alert-danger").count() == 0, page.locator(".alert-danger").all_inner_texts()
    if f"/corporatecustomerview/show/{customer_id}" not in page.url:
        page.goto(show_url)
    pane = _open_tab(page, "AttachmentView")
    row = pane.locator("table.attachments tbody tr", has_text="营业执照.png")
    assert row.count() == 1
    row.locator("button.attachment-preview").click()
    image = page.locator(".attachment-preview-body img")
    image.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [4, 3]
    screenshot(page, "customer-file-6-preview")

    # 5. Chinese throughout.
    text = page.locator("body").inner_text()
    for word in ("股东", "报表", "附件", "客户"):
        assert word in text, word
