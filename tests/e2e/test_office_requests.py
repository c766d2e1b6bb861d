"""A reimbursement in a real browser, in Chinese (WB-4, OA-1): a staff member files it under 办公 → 我的申请, the
department head is told in his internal messages (the unread count in the top bar goes up) and approves it from
待办事项, the cashier pays it, finance reviews the payment's business event and the voucher shows in the ledger."""
import random
from datetime import date

from sqlalchemy import select

from app import permissions as P

from .conftest import screenshot
from .test_office_messages import _badge


def test_reimbursement_from_request_to_voucher(app, page_as):
    from app.extensions import db
    from app.services import business_date
    from models.system import SystemSetting

    with app.app_context():  # a business date of its own: the voucher lands in a period no other test uses
        row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
        saved = row.value if row is not None else None
        day = date(2055, random.randrange(1, 13), 20)
        business_date.set_date(day)
        db.session.commit()
    try:
        _walk(page_as, day)
    finally:
        with app.app_context():
            row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
            if row is not None:
                row.value = saved if saved is not None else ""
            db.session.commit()


def _walk(page_as, day):
    head = page_as(P.DEPARTMENT_HEAD)
    head.goto("/")
    unread_before = _badge(head)

    staff = page_as(P.ACCOUNT_MANAGER)
    staff.goto("/officerequest/mine")
    assert staff.locator("#my-borrowing-balance").count() == 1
    with staff.expect_navigation():
        staff.click("#new-reimbursement")
    staff.fill("#amount", "680.50")
    staff.select_option("#expense_type", "transport")
    staff.fill("#invoice_count", "3")
    staff.select_option("#offset_borrowing_id", "")
    staff.fill("#reason", "拜访客户出租车费")
    screenshot(staff, "office-request-reimbursement-form", full_page=True)
    with staff.expect_navigation():
        staff.click("#request-submit")
    assert "/officerequest/page/" in staff.url, staff.content()[:2000]
    code = staff.locator("#request-code").inner_text().strip()
    assert staff.locator("#request-page").get_attribute("data-status") == "pending"
    assert staff.locator(".approval-act-form button[value=approve]").count() == 0  # never approves his own

    head.goto("/")
    assert _badge(head) == unread_before + 1  # "approval waiting" reached his internal messages
    head.goto("/myapprovals/todo")
    row = head.locator("#todo-table tr", has_text=code)
    assert row.count() == 1, head.locator("#todo-table").inner_text()
    with head.expect_navigation():
        row.locator("a").first.click()
    head.fill("#approval-comment", "同意报销")
    with head.expect_navigation():
        head.click(".approval-act-form button[value=approve]")
    assert head.locator("#request-page").get_attribute("data-status") == "approved"

    cashier = page_as(P.CASHIER)
    cashier.goto("/myapprovals/todo")
    assert cashier.locator("#work-queues").count() == 1  # 待办事项 tells the cashier what waits for payment
    cashier.goto("/officepayment/")
    with cashier.expect_navigation():
        cashier.locator("#payments-table tr", has_text=code).locator("a").first.click()
    assert cashier.locator("#paid_on").input_value() == day.isoformat()
    cashier.fill("#bank_account", "工商银行 6222 0201")
    with cashier.expect_navigation():
        cashier.click("#request-pay")
    assert cashier.locator("#request-page").get_attribute("data-status") == "paid"
    assert cashier.locator("#request-paid").inner_text().startswith("680.50")
    screenshot(cashier, "office-request-paid", full_page=True)

    accountant = page_as(P.ACCOUNTANT)
    request_url = cashier.url.replace(cashier.url.split("/officerequest/")[0], "")
    accountant.goto(request_url)
    with accountant.expect_navigation():
        accountant.locator("#request-events a").first.click()
    with accountant.expect_navigation():
        accountant.click("#btn-approve")
    assert "/voucherview/show/" in accountant.url, accountant.content()[:2000]
    text = accountant.locator("body").inner_text()
    assert code in text and "680.50" in text and "管理费用" in text and "银行存款" in text, text[:3000]
    screenshot(accountant, "office-request-voucher", full_page=True)
