"""Business-data corrections (SYS-10): undoing a wrongly recorded stage step (refused while an approval is open,
over an approval decision, and once the ledger has posted money for the guarantee), moving guarantees to another
account manager, the clean-up of abandoned drafts — each with a reason, recorded and audited — and the screens'
permissions (corrections, clean-up, month-end log)."""
import json
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, ValidationError
from app.services import corrections, ledger_events
from app.services import guarantees as gsvc
from models.corrections import DataCorrection
from models.ledger import BusinessEvent
from models.system import OperationLog
from tests.integration.test_guarantees_support import (
    application_data, committee_members, make_bank, make_customer, make_product, to_stage, user_id,
)


@pytest.fixture(scope="module")
def members(app):
    return committee_members(app, 3)


@pytest.fixture
def business_day(db):
    """A business date in this file's years (the fee vouchers' period); restored after."""
    from models.system import SystemSetting
    from app.services import business_date

    row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
    saved = row.value if row is not None else None
    day = date(random.choice((2054, 2055)), random.randrange(1, 13), 10)
    business_date.set_date(day)
    db.session.commit()
    yield day
    db.session.rollback()
    row = db.session.execute(select(SystemSetting).where(SystemSetting.key == "business_date")).scalar()
    if row is not None:
        row.value = saved if saved is not None else ""
    db.session.commit()


@pytest.fixture
def setup(db):
    am = user_id(P.ACCOUNT_MANAGER)
    product, bank = make_product(db), make_bank(db)
    customer = make_customer(db, manager_id=am)
    db.session.commit()
    return {"am": am, "product": product, "bank": bank, "customer": customer}


def _new(db, setup):
    g = gsvc.create_application(application_data(setup["customer"], setup["product"], setup["bank"]), setup["am"])
    db.session.commit()
    return g


def test_step_back_is_refused_once_the_ledger_posted_money(db, setup, members, business_day):
    admin = user_id(P.ADMIN)
    g = _new(db, setup)
    to_stage(db, g.id, "contract", members)
    numbers = [c.number for c in gsvc.get(g.id).contracts]
    with pytest.raises(ValidationError) as refused:  # a correction needs a reason
        corrections.step_back(g.id, admin, "  ")
    assert refused.value.field == "reason"
    db.session.rollback()
    # contract → fee registration: the drafted contracts go with the undone step, and the step can be redone
    corrections.step_back(g.id, admin, "收费登记起始日录错")
    db.session.commit()
    item = gsvc.get(g.id)
    assert item.stage == "fee_registration" and item.contracts == [] and item.contract_status == "none"
    assert item.history[-1].action == "corrected_back" and item.history[-1].comment == "收费登记起始日录错"
    row = db.session.execute(select(DataCorrection).where(DataCorrection.target_id == g.id)).scalar()
    assert (row.action, row.user_id, row.details["contracts_removed"]) == ("stage_back", admin, numbers)
    logged = db.session.execute(select(OperationLog).where(OperationLog.table_name == "biz_guarantee",
                                                           OperationLog.record_id == str(g.id))
                                .order_by(OperationLog.id.desc())).scalars().first()
    assert json.loads(logged.changes)["stage"] == ["contract", "fee_registration"]

    to_stage(db, g.id, "loan_notice", members)  # fees collected: their events wait for finance
    corrections.step_back(g.id, admin, "收费完成点早了")
    db.session.commit()
    assert gsvc.get(g.id).stage == "fee_collection"
    gsvc.finish_fee_collection(g.id, user_id(P.CASHIER))
    db.session.commit()
    # finance reviews a fee into a voucher: from now on the ledger holds money of this guarantee
    receipt = gsvc.get(g.id).receipts[0]
    event = db.session.get(BusinessEvent, receipt.event_id)
    event.bank_account = event.bank_account or "工行 6222"  # the fee receipt does not carry the account (1002 needs it)
    ledger_events.approve_event(receipt.event_id, user_id(P.ACCOUNTANT))
    db.session.commit()
    assert corrections.step_back_check(gsvc.get(g.id))
    with pytest.raises(Conflict) as refused:
        corrections.step_back(g.id, admin, "再退一步")
    assert "ledger" in refused.value.message or "已" in refused.value.message
    db.session.rollback()
    assert gsvc.get(g.id).stage == "loan_notice"


def test_step_back_refusals_without_money(db, setup, members, business_day):
    admin = user_id(P.ADMIN)
    draft = _new(db, setup)
    with pytest.raises(Conflict):  # nothing to undo on a draft
        corrections.step_back(draft.id, admin, "误操作")
    db.session.rollback()
    gsvc.submit_application(draft.id, setup["am"])
    db.session.commit()
    corrections.step_back(draft.id, admin, "资料未齐误提交")
    db.session.commit()
    assert gsvc.get(draft.id).stage == "draft" and gsvc.get(draft.id).submitted_at is None

    g = _new(db, setup)
    to_stage(db, g.id, "acceptance", members)  # the acceptance approval is open
    with pytest.raises(Conflict):
        corrections.step_back(g.id, admin, "误操作")
    db.session.rollback()
    to_stage(db, g.id, "intention", members)  # the step before is the approval decision itself
    with pytest.raises(Conflict):
        corrections.step_back(g.id, admin, "误操作")
    db.session.rollback()
    assert gsvc.get(g.id).stage == "intention"


def test_manager_change_and_draft_cleanup(db, setup, business_day):
    admin, am, head = user_id(P.ADMIN), user_id(P.ACCOUNT_MANAGER), user_id(P.DEPARTMENT_HEAD)
    one, two = _new(db, setup), _new(db, setup)
    with pytest.raises(ValidationError):
        corrections.change_manager([one.id], head, admin, "")
    db.session.rollback()
    with pytest.raises(ValidationError):
        corrections.change_manager([], head, admin, "离职交接")
    db.session.rollback()
    moved = corrections.change_manager([one.id, two.id], head, admin, "客户经理离职交接")
    db.session.commit()
    assert {m.id for m in moved} == {one.id, two.id}
    assert {gsvc.get(i).manager_id for i in (one.id, two.id)} == {head}
    assert gsvc.get(one.id).history[-1].action == "manager_changed"
    rows = db.session.execute(select(DataCorrection).where(DataCorrection.action == "manager_change",
                                                           DataCorrection.target_id.in_([one.id, two.id]))).scalars()
    assert {(r.details["from_user_id"], r.details["to_user_id"]) for r in rows} == {(am, head)}

    old = _new(db, setup)
    old.apply_date = business_day - timedelta(days=40)
    fresh = _new(db, setup)
    db.session.commit()
    with pytest.raises(ValidationError):  # at least a week
        corrections.abandoned_drafts(1)
    preview = {d.id for d in corrections.abandoned_drafts(30)}
    assert old.id in preview and fresh.id not in preview
    with pytest.raises(Conflict):  # only previewed abandoned drafts are deleted
        corrections.delete_drafts(30, [old.id, fresh.id], admin, "清理")
    db.session.rollback()
    assert corrections.delete_drafts(30, [old.id], admin, "长期未提交的草稿") == 1
    db.session.commit()
    assert db.session.get(type(old), old.id) is None and db.session.get(type(fresh), fresh.id) is not None
    row = db.session.execute(select(DataCorrection).where(DataCorrection.action == "draft_cleanup")
                             .order_by(DataCorrection.id.desc())).scalars().first()
    assert old.code in row.details["codes"]


def test_back_office_screens_and_permissions(db, setup, login_as, business_day):
    g = _new(db, setup)
    admin = login_as(P.ADMIN)
    page = admin.get(f"/datacorrection/?code={g.code}")
    assert page.status_code == 200 and g.code in page.get_data(as_text=True)
    assert admin.get("/draftcleanup/?days=30").status_code == 200
    assert admin.get("/monthendlog/list/").status_code == 200
    assert admin.get("/datacorrectionlog/list/").status_code == 200
    staff = login_as(P.ACCOUNT_MANAGER)
    for url in ("/datacorrection/", "/draftcleanup/", "/monthendlog/list/"):
        assert staff.get(url).status_code in (302, 403), url
    response = staff.post_form(f"/datacorrection/step_back/{g.id}", {"reason": "x"},
                               form_page="/officerequest/new/leave")
    assert response.status_code in (302, 403)
    assert gsvc.get(g.id).stage == "draft"
    assert login_as(P.ACCOUNTANT).get("/monthendlog/list/").status_code == 200
    assert login_as(P.AUDITOR).get("/datacorrectionlog/list/").status_code == 200
    # the administrator's screen: a draft has no step to undo, the form says why
    response = admin.post_form(f"/datacorrection/step_back/{g.id}", {"reason": "误操作"},
                               form_page="/officerequest/new/leave", follow_redirects=True)
    assert response.status_code == 200 and gsvc.get(g.id).stage == "draft"


def test_finance_flow_settings_list_the_office_flows(admin_web):
    from app.services import guarantees

    page = admin_web.get("/approvalflowview/list/?_flt_2_kind=office.").get_data(as_text=True)
    assert "office.reimbursement" in page and "office.borrowing" in page and "guarantee.review" not in page
    assert guarantees.action_label("corrected_back") != "corrected_back"
