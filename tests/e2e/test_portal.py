"""The online financing portal on a phone (issue 10, PORTAL-1): a company registers, staff verify it, it sends
a financing need with a document, and after the account manager accepts it the phone shows "under review"."""
from sqlalchemy import select

from app import permissions as P
from tests.conftest import TEST_PASSWORD, unique
from tests.integration.test_guarantees_support import make_bank, make_product
from tests.integration.test_portal import PDF, credit_code

from .conftest import screenshot

PHONE = {"width": 390, "height": 844}


def test_register_verify_send_a_need_and_follow_it_on_a_phone(app, new_context, page_as, tmp_path):
    from app.extensions import db
    from models.portal import PortalCompany

    with app.app_context():
        product, bank = make_product(db, name=unique("手机流贷")), make_bank(db, name=unique("手机银行"))
        db.session.commit()
        product_id, bank_id = product.id, bank.id
    username = unique("phone")
    phone = new_context().new_page()
    phone.set_viewport_size(PHONE)

    phone.goto("/portal/register")
    phone.fill("#name", "掌上科技有限公司")
    phone.fill("#credit_code", credit_code())
    phone.fill("#contact_name", "赵经理")
    phone.fill("#contact_phone", "13700137000")
    phone.fill("#email", f"{username}@phone.test")
    phone.fill("#username", username)
    phone.fill("#password", TEST_PASSWORD)
    phone.fill("#confirm", TEST_PASSWORD)
    screenshot(phone, "portal-phone-register", full_page=True)
    with phone.expect_navigation():
        phone.click("#portal-register")
    assert "/portal/login" in phone.url
    phone.fill("#username", username)
    phone.fill("#password", TEST_PASSWORD)
    with phone.expect_navigation():
        phone.click("#portal-login")
    assert phone.locator("#pending-hint").is_visible()
    assert phone.locator("#new-need").count() == 0
    # Nothing fits wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    with app.app_context():
        company_id = db.session.execute(select(PortalCompany.id).where(
            PortalCompany.email == f"{username}@phone.test")).scalar_one()
    staff = page_as(P.ACCOUNT_MANAGER)
    staff.goto("/portalreview/")
    with staff.expect_navigation():
        staff.click(f"tr[data-company='{company_id}'] .approve-registration")
    assert staff.locator(f"#pending-registrations tr[data-company='{company_id}']").count() == 0

    phone.reload()
    with phone.expect_navigation():
        phone.click("#new-need")
    phone.select_option("#product_id", str(product_id))
    phone.fill("#amount", "1500000")
    phone.fill("#term_months", "12")
    phone.fill("#purpose", "采购生产原材料")
    phone.select_option("#bank_id", str(bank_id))
    phone.select_option("#measure_kind", "mortgage")
    phone.fill("#measure_description", "厂房一处")
    phone.fill("#measure_value", "2500000")
    document = tmp_path / "营业执照.pdf"
    document.write_bytes(PDF)
    phone.set_input_files("#files", str(document))
    with phone.expect_navigation():
        phone.click("#submit-need")
    assert "/portal/needs/" in phone.url, phone.content()[:1500]
    need_id = int(phone.url.rstrip("/").split("/")[-1])
    assert phone.locator("#need-stage").get_attribute("data-stage") == "submitted"
    assert "营业执照.pdf" in phone.locator("#document-list").inner_text()

    staff.goto(f"/portalreview/need/{need_id}")
    assert "营业执照.pdf" in staff.content()
    with staff.expect_navigation():
        staff.click("#accept-need")
    assert staff.locator("#accept-need").count() == 0

    phone.reload()
    stage = phone.locator("#need-stage")
    assert stage.get_attribute("data-stage") == "review"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "portal-phone-under-review", full_page=True)
    phone.goto("/portal/")
    assert phone.locator(f"a[data-need='{need_id}'] .need-stage").get_attribute("data-stage") == "review"
    screenshot(phone, "portal-phone-home", full_page=True)
