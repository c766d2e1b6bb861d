"""Internal messages in a real browser, in Chinese (WB-3): an account manager writes to the cashier; the cashier's
unread count in the top bar goes up, he opens the message from his inbox and the count goes down again."""
from app import permissions as P
from tests.conftest import ROLE_USERS, unique

from .conftest import screenshot


def _badge(page) -> int:
    badge = page.locator("#unread-badge")
    return int(badge.inner_text()) if badge.count() else 0


def test_message_unread_count_goes_up_and_down(app, page_as):
    with app.app_context():
        cashier_id = app.appbuilder.sm.find_user(username=ROLE_USERS[P.CASHIER]).id
    subject = unique("请核对本月付款")

    cashier = page_as(P.CASHIER)
    cashier.goto("/office/messages/inbox")
    assert cashier.locator("#message-badge").count() == 1
    before = _badge(cashier)

    manager = page_as(P.ACCOUNT_MANAGER)
    manager.goto("/office/messages/compose")
    manager.select_option("#users", str(cashier_id), force=True)  # the select2 box keeps the real <select>
    manager.fill("#subject", subject)
    manager.fill("#body", "月底前请核对付款清单，谢谢。")
    screenshot(manager, "office-message-compose", full_page=True)
    with manager.expect_navigation():
        manager.click("#send-button")
    assert "/office/messages/sent" in manager.url
    assert manager.locator("#message-table", has_text=subject).count() == 1

    cashier.reload()
    assert _badge(cashier) == before + 1
    row = cashier.locator("#message-table tr.message-unread", has_text=subject)
    assert row.count() == 1
    screenshot(cashier, "office-message-inbox-unread", full_page=True)
    with cashier.expect_navigation():
        row.locator("a.message-link").click()
    assert cashier.locator("#message-subject").inner_text() == subject
    assert "月底前请核对付款清单" in cashier.locator("#message-body").inner_text()
    assert _badge(cashier) == before  # reading it brought the count down, on this very page
    screenshot(cashier, "office-message-read", full_page=True)
    cashier.goto("/office/messages/inbox")
    assert cashier.locator("#message-table tr.message-unread", has_text=subject).count() == 0
