"""Staff requests (WB-4, OA-1, GL-6): a reimbursement goes request → approvals (department head, then the general
manager from 5,000 yuan) → the cashier's payment → business events → vouchers; a borrowing is settled by a later
reimbursement (only the difference is paid out) and by a repayment; four eyes and permissions on every step."""
import random
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, Forbidden, ValidationError
from app.services import approval, ledger_events
from app.services import office_requests as svc
from tests.integration.test_guarantees_support import user_id

YEARS = (2051, 2052, 2053)  # this file's vouchers never meet another test's period


@pytest.fixture
def business_day(db):
    """A business date of its own for the test (the payment date and so the voucher's period); restored after."""
    from models.system import SystemSetting
    from app.services import business_date

    row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
    saved = row.value if row is not None else None
    day = date(random.choice(YEARS), random.randrange(1, 13), 15)
    business_date.set_date(day)
    db.session.commit()
    yield day
    db.session.rollback()
    row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
    if row is not None:
        row.value = saved if saved is not None else ""
    db.session.commit()


def _approve_all(db, item):
    """Approve every step with its role's user (department head, general manager); returns the step names."""
    kind = svc.APPROVAL_KINDS[item.kind]
    done = []
    while True:
        inst = approval.open_instance(kind, item.id)
        if inst is None:
            return done
        role = P.DEPARTMENT_HEAD if inst.current_step.name.startswith("部门") else P.GENERAL_MANAGER
        done.append(inst.current_step.name)
        approval.act(inst.id, user_id(role), "approve", "同意")
        db.session.commit()


def _voucher_lines(voucher):
    return sorted((ln.account.code, ln.debit, ln.credit) for ln in voucher.lines)


def test_reimbursement_settles_a_borrowing_and_becomes_vouchers(db, business_day):
    staff, cashier, accountant = user_id(P.ACCOUNT_MANAGER), user_id(P.CASHIER), user_id(P.ACCOUNTANT)
    before = svc.borrowing_balance(staff)

    borrowing = svc.file_request("borrowing", {"amount": "3000", "reason": "出差借支"}, staff)
    db.session.commit()
    assert borrowing.status == "pending" and borrowing.code.startswith("JK")
    assert _approve_all(db, borrowing) == ["部门负责人审批"]  # below 5,000: the department head alone
    assert svc.get(borrowing.id).status == "approved"
    svc.pay(borrowing.id, cashier, bank_account="工行 6222 0001")
    db.session.commit()
    assert borrowing.status == "paid" and borrowing.outstanding == Decimal("3000.00")
    assert svc.borrowing_balance(staff) == before + Decimal("3000.00")

    reimbursement = svc.file_request("reimbursement", {
        "amount": "8000.00", "reason": "上海出差差旅费", "expense_type": "travel", "invoice_count": "6",
        "offset_borrowing_id": str(borrowing.id)}, staff)
    db.session.commit()
    assert _approve_all(db, reimbursement) == ["部门负责人审批", "总经理审批"]  # 5,000 and above: the GM too
    svc.pay(reimbursement.id, cashier, bank_account="工行 6222 0001")
    db.session.commit()
    assert (reimbursement.offset_amount, reimbursement.paid_amount) == (Decimal("3000.00"), Decimal("5000.00"))
    db.session.refresh(borrowing)
    assert borrowing.outstanding == 0 and svc.effective_status(borrowing) == "settled"
    assert svc.borrowing_balance(staff) == before
    assert [s["amount"] for s in svc.settlements_of(borrowing)] == [Decimal("3000.00")]

    events = {e.kind: e for e in svc.events_of(reimbursement)}
    assert set(events) == {"staff_borrowing_offset", "staff_reimbursement"}
    assert all(e.status == "pending" and e.event_date == business_day for e in events.values())
    # finance reviews the events into vouchers (复核管理)
    paid = ledger_events.approve_event(events["staff_reimbursement"].id, accountant)
    offset = ledger_events.approve_event(events["staff_borrowing_offset"].id, accountant)
    lent = ledger_events.approve_event(borrowing.payment_event_id, accountant)
    db.session.commit()
    assert _voucher_lines(paid) == [("1002", 0, Decimal("5000.00")), ("660299", Decimal("5000.00"), 0)]
    assert _voucher_lines(offset) == [("122101", 0, Decimal("3000.00")), ("660299", Decimal("3000.00"), 0)]
    assert _voucher_lines(lent) == [("1002", 0, Decimal("3000.00")), ("122101", Decimal("3000.00"), 0)]
    assert paid.voucher_type == "fu" and offset.voucher_type == "zhuan" and lent.voucher_type == "fu"
    assert paid.voucher_date == business_day and reimbursement.code in paid.summary
    assert all(ln.department_id == reimbursement.department_id for ln in paid.lines + offset.lines)
    assert next(ln for ln in paid.lines if ln.account.code == "1002").bank_account == "工行 6222 0001"
    # a paid request is paid once
    with pytest.raises(Conflict):
        svc.pay(reimbursement.id, cashier, bank_account="工行 6222 0001")
    db.session.rollback()


def test_borrowing_settled_by_a_small_reimbursement_and_a_repayment(db, business_day):
    staff, cashier = user_id(P.ACCOUNT_MANAGER), user_id(P.CASHIER)
    borrowing = svc.file_request("borrowing", {"amount": "5000", "reason": "采购备用金"}, staff)
    db.session.commit()
    assert _approve_all(db, borrowing) == ["部门负责人审批", "总经理审批"]
    svc.pay(borrowing.id, cashier, bank_account="建行 001")
    reimbursement = svc.file_request("reimbursement", {
        "amount": "1200", "reason": "办公用品", "expense_type": "office", "offset_borrowing_id": borrowing.id}, staff)
    db.session.commit()
    _approve_all(db, reimbursement)
    svc.pay(reimbursement.id, cashier)  # nothing is paid out: no bank account needed
    db.session.commit()
    assert (reimbursement.paid_amount, reimbursement.offset_amount) == (Decimal("0.00"), Decimal("1200.00"))
    assert reimbursement.payment_event_id is None and reimbursement.offset_event_id is not None
    db.session.refresh(borrowing)
    assert borrowing.outstanding == Decimal("3800.00")

    for bad, error in ((dict(amount="4000"), ValidationError), (dict(amount="100", bank_account=""), ValidationError),
                       (dict(amount="-1"), ValidationError)):
        args = {"bank_account": "建行 001", **bad}
        with pytest.raises(error):
            svc.repay(borrowing.id, cashier, args["amount"], bank_account=args["bank_account"])
        db.session.rollback()
    with pytest.raises(Forbidden):  # the borrower does not record his own repayment
        svc.repay(borrowing.id, staff, "100", bank_account="建行 001")
    db.session.rollback()
    repayment = svc.repay(borrowing.id, cashier, "3800", bank_account="建行 001", note="现金交回")
    db.session.commit()
    db.session.refresh(borrowing)
    assert borrowing.outstanding == 0 and svc.effective_status(borrowing) == "settled"
    event = db.session.get(type(svc.events_of(borrowing)[0]), repayment.event_id)
    assert (event.kind, event.amount, event.bank_account) == ("staff_repayment", Decimal("3800.00"), "建行 001")
    voucher = ledger_events.approve_event(event.id, user_id(P.ACCOUNTANT))
    db.session.commit()
    assert _voucher_lines(voucher) == [("1002", Decimal("3800.00"), 0), ("122101", 0, Decimal("3800.00"))]
    with pytest.raises(Conflict):
        svc.repay(borrowing.id, cashier, "1", bank_account="建行 001")
    db.session.rollback()


def test_four_eyes_and_the_rules_of_filing_and_paying(db, business_day):
    staff, cashier, head = user_id(P.ACCOUNT_MANAGER), user_id(P.CASHIER), user_id(P.DEPARTMENT_HEAD)
    item = svc.file_request("reimbursement", {"amount": "800", "reason": "客户拜访交通费", "expense_type": "transport"},
                            staff)
    db.session.commit()
    inst = approval.open_instance("office.reimbursement", item.id)
    with pytest.raises(Forbidden):  # the requester never approves the own request
        approval.act(inst.id, staff, "approve", "")
    db.session.rollback()
    with pytest.raises(Conflict):  # not approved yet: nothing to pay
        svc.pay(item.id, cashier, bank_account="工行 1")
    db.session.rollback()
    approval.act(inst.id, head, "approve", "同意")
    db.session.commit()
    with pytest.raises(ValidationError):  # money goes out: the bank account is required
        svc.pay(item.id, cashier, bank_account="")
    db.session.rollback()
    with pytest.raises(ValidationError):  # never after the business date
        svc.pay(item.id, cashier, paid_on=date(business_day.year + 1, 1, 1), bank_account="工行 1")
    db.session.rollback()

    own = svc.file_request("borrowing", {"amount": "500", "reason": "备用金"}, cashier)
    db.session.commit()
    _approve_all(db, own)
    with pytest.raises(Forbidden):  # the cashier does not pay his own request
        svc.pay(own.id, cashier, bank_account="工行 1")
    db.session.rollback()

    # bad input is refused with the field named, and nothing is stored
    for kind, data, field in (
            ("borrowing", {"amount": "0", "reason": "x"}, "amount"),
            ("borrowing", {"amount": "12.345", "reason": "x"}, "amount"),
            ("borrowing", {"amount": "100"}, "reason"),
            ("reimbursement", {"amount": "100", "reason": "x", "expense_type": "nonsense"}, "expense_type"),
            ("reimbursement", {"amount": "100", "reason": "x", "expense_type": "travel",
                               "offset_borrowing_id": own.id}, "offset_borrowing_id"),  # not the staff's own
            ("leave", {"leave_type": "annual", "date_from": "2051-05-10", "date_to": "2051-05-08", "reason": "x"},
             "date_to"),
            ("leave", {"leave_type": "annual", "date_from": "2051-05-08", "date_to": "2051-05-08", "days": "3",
                       "reason": "x"}, "days"),
            ("leave", {"leave_type": "annual", "date_from": "2051-05-08", "date_to": "2051-05-10", "days": "1.3",
                       "reason": "x"}, "days"),
            ("leave", {"leave_type": ["annual"], "date_from": "2051-05-08", "date_to": "2051-05-10",
                       "reason": "x"}, "leave_type")):
        with pytest.raises(ValidationError) as refused:
            svc.file_request(kind, data, staff)
        assert refused.value.field == field, (kind, data)
        db.session.rollback()

    leave = svc.file_request("leave", {"leave_type": "annual", "date_from": "2026-11-09", "date_to": "2026-11-10",
                                       "reason": "探亲"}, staff)
    db.session.commit()
    assert leave.days == Decimal("2.0") and leave.code.startswith("QJ")  # working days of the period
    assert _approve_all(db, leave) == ["部门负责人审批"]
    assert svc.get(leave.id).status == "approved"
    with pytest.raises(ValidationError):  # a leave is never paid
        svc.pay(leave.id, cashier, bank_account="工行 1")
    db.session.rollback()


def test_withdraw_resubmit_and_cancel(db, business_day):
    staff = user_id(P.ACCOUNT_MANAGER)
    item = svc.file_request("borrowing", {"amount": "200", "reason": "零星采购"}, staff)
    db.session.commit()
    inst = approval.open_instance("office.borrowing", item.id)
    approval.act(inst.id, staff, "withdraw", "金额有误")
    db.session.commit()
    assert svc.get(item.id).status == "draft"
    with pytest.raises(Forbidden):
        svc.submit(item.id, user_id(P.CASHIER))
    db.session.rollback()
    svc.submit(item.id, staff)
    db.session.commit()
    assert svc.get(item.id).status == "pending" and len(approval.instances_for("office.borrowing", item.id)) == 2
    with pytest.raises(Conflict):  # in approval: withdraw first
        svc.cancel(item.id, staff)
    db.session.rollback()
    approval.act(approval.open_instance("office.borrowing", item.id).id, staff, "withdraw", "不借了")
    svc.cancel(item.id, staff, "不需要了")
    db.session.commit()
    assert svc.get(item.id).status == "cancelled"


def test_screens_permissions_and_visibility(db, business_day, login_as):
    staff = user_id(P.ACCOUNT_MANAGER)
    item = svc.file_request("reimbursement", {"amount": "300", "reason": "快递费", "expense_type": "office"}, staff)
    db.session.commit()
    approval.act(approval.open_instance("office.reimbursement", item.id).id, user_id(P.DEPARTMENT_HEAD), "approve", "")
    db.session.commit()

    mine = login_as(P.ACCOUNT_MANAGER)
    page = mine.get(f"/officerequest/page/{item.id}")
    assert page.status_code == 200 and item.code in page.get_data(as_text=True)
    assert item.code in mine.get("/officerequest/mine").get_data(as_text=True)
    # a staff member cannot pay: the cashier's screen and action are closed to him
    assert mine.get("/officepayment/").status_code in (302, 403)
    response = mine.post_form(f"/officepayment/pay/{item.id}", {"bank_account": "工行 1"},
                              form_page="/officerequest/new/borrowing")
    assert response.status_code in (302, 403)
    assert svc.get(item.id).status == "approved"
    # someone neither requester, approver nor finance does not see the request, not even by its URL
    other = login_as(P.RISK_OFFICER)
    assert other.get(f"/officerequest/page/{item.id}").status_code == 404
    # the approver reads it (from 已办事项); the cashier sees and pays it through the screen
    assert login_as(P.DEPARTMENT_HEAD).get(f"/officerequest/page/{item.id}").status_code == 200
    cashier = login_as(P.CASHIER)
    queue = cashier.get("/officepayment/").get_data(as_text=True)
    assert item.code in queue
    waiting = svc.awaiting_payment(0, 1)[1]
    home = cashier.get("/").get_data(as_text=True)  # the workbench counts what waits for the cashier
    assert re.search(r'id="todo-request_payments" href="/officepayment/">[^<]*<span class="badge[^"]*">%d<' % waiting,
                     home), home[home.find("wb-todos"):][:800]
    response = cashier.post_form(f"/officepayment/pay/{item.id}", {"bank_account": "工行 6222"},
                                 form_page=f"/officerequest/page/{item.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert svc.get(item.id).status == "paid"
    # filing through the screen: a refused form keeps the input and names the problem
    response = mine.post_form("/officerequest/new/borrowing", {"amount": "abc", "reason": "备用金"})
    assert response.status_code == 200 and "备用金" in response.get_data(as_text=True)
    response = mine.post_form("/officerequest/new/leave", {"leave_type": "sick", "date_from": "2026-10-12",
                                                           "date_to": "2026-10-12", "reason": "感冒"})
    assert response.status_code == 302


def test_rest_api_meets_the_same_checks(db, business_day, api_as):
    staff_api, cashier_api = api_as(P.ACCOUNT_MANAGER), api_as(P.CASHIER)
    response = staff_api.post("/api/v1/office_request/borrowing", json={"amount": "-5", "reason": "备用金"})
    assert response.status_code == 422 and response.get_json()["message"]
    response = staff_api.post("/api/v1/office_request/borrowing", json={"amount": "900", "reason": "备用金"})
    assert response.status_code == 201, response.get_data(as_text=True)
    pk = response.get_json()["result"]["id"]
    assert pk in [r["id"] for r in staff_api.get("/api/v1/office_request/mine").get_json()["result"]]
    assert staff_api.post(f"/api/v1/office_payment/{pk}/pay", json={"bank_account": "工行 1"}).status_code == 403
    assert cashier_api.post(f"/api/v1/office_payment/{pk}/pay", json={"bank_account": "工行 1"}).status_code == 409
    assert api_as(P.RISK_OFFICER).get(f"/api/v1/office_request/{pk}").status_code == 404
    approval.act(approval.open_instance("office.borrowing", pk).id, user_id(P.DEPARTMENT_HEAD), "approve", "")
    db.session.commit()
    response = cashier_api.post(f"/api/v1/office_payment/{pk}/pay", json={"bank_account": "工行 1"})
    assert response.status_code == 200 and response.get_json()["result"]["status"] == "paid"
    queue = cashier_api.get("/api/v1/office_payment/").get_json()
    assert user_id(P.ACCOUNT_MANAGER) in [b["user_id"] for b in queue["balances"]]
    response = cashier_api.post(f"/api/v1/office_payment/{pk}/repay", json={"amount": "900", "bank_account": "工行 1"})
    assert response.status_code == 200 and response.get_json()["result"]["outstanding"] == "0.00"
