"""The approval flow designer (BIZ-8) and the approval panel in a real browser: the administrator reorders
steps by drag and drop, adds a step, picks its post and kind, sees the diagram and saves a new version; an
approver finds the item in 我的事项 and approves it on the panel."""
import uuid

from sqlalchemy import select

from app import permissions as P
from tests.conftest import ROLE_USERS

from .conftest import screenshot


def _user_id(app, username):
    from flask_appbuilder.security.sqla.models import User

    from app.extensions import db

    with app.app_context():
        return db.session.execute(select(User.id).where(User.username == username)).scalar()


def _register_kind():
    from app.services import approval
    from models.system import ApprovalPost

    kind = "e2e." + uuid.uuid4().hex[:8]
    approval.register_kind(kind, label="浏览器测试事项", model=ApprovalPost, attributes=lambda o: {},
                           on_decided=lambda o, outcome, inst: setattr(o, "description", outcome), url=None)
    return kind


def test_designer_reorder_add_step_and_save_new_version(app, admin_page):
    from app.extensions import db
    from app.services import approval
    from models.approval import ApprovalFlow
    from models.system import ApprovalPost

    risk = _user_id(app, ROLE_USERS[P.RISK_OFFICER])
    manager = _user_id(app, ROLE_USERS[P.GENERAL_MANAGER])
    code = "e2e-" + uuid.uuid4().hex[:6]
    with app.app_context():
        post = ApprovalPost(code="P" + uuid.uuid4().hex[:6], name="审保会秘书" + uuid.uuid4().hex[:4])
        db.session.add(post)
        flow = approval.create_flow(_register_kind(), code, "担保评审流程", [
            {"name": "风控审查", "mode": "single", "user_ids": [risk]},
            {"name": "总经理签批", "mode": "single", "user_ids": [manager]}])
        db.session.commit()
        flow_id, post_name = flow.id, post.name

    page = admin_page
    page.goto(f"/approvaldesigner/{flow_id}")
    assert page.locator("#designer-steps .designer-step").count() == 2
    assert page.locator("#flow-svg rect.flow-step").count() == 2
    screenshot(page, "approval-designer-before", full_page=True)

    # drag the second step above the first
    page.drag_and_drop("#step-1 .handle", "#step-0")
    assert page.locator("#step-0 input[data-field=name]").input_value() == "总经理签批"
    assert page.locator("#flow-svg text").nth(1).text_content().endswith("总经理签批")

    # add a committee step with a post
    page.click("#add-step")
    new = page.locator("#step-2")
    new.locator("input[data-field=name]").fill("审保会")
    new.locator("select[data-field=mode]").select_option("committee")
    new = page.locator("#step-2")  # re-rendered: the committee fields show
    new.locator("select[data-field=post_id]").select_option(label=post_name)
    new.locator("input[data-field=quorum]").fill("3")
    new.locator("input[data-field=pass_num]").fill("2")
    new.locator("input[data-field=pass_den]").fill("3")
    assert page.locator("#flow-svg rect.flow-step").count() == 3
    screenshot(page, "approval-designer-edited", full_page=True)

    with page.expect_navigation():
        page.click("#save-flow")
    assert page.locator(".alert-success").count() >= 1
    assert page.locator("#flow-version").inner_text() == "v2"
    screenshot(page, "approval-designer-saved", full_page=True)
    with app.app_context():
        versions = db.session.execute(select(ApprovalFlow).where(ApprovalFlow.code == code)
                                      .order_by(ApprovalFlow.version)).scalars().all()
        assert [(v.version, v.active) for v in versions] == [(1, False), (2, True)]
        steps = versions[1].steps
        assert [s.name for s in steps] == ["总经理签批", "风控审查", "审保会"]
        assert (steps[2].mode, steps[2].quorum, steps[2].pass_num, steps[2].pass_den) == ("committee", 3, 2, 3)
        assert [s.name for s in versions[0].steps] == ["风控审查", "总经理签批"]  # the old version is untouched


def test_approver_finds_the_item_in_my_todo_and_approves_on_the_panel(app, page_as):
    from app.extensions import db
    from app.services import approval
    from models.approval import ApprovalFlow, ApprovalInstance, ApprovalRule
    from models.system import ApprovalPost

    risk = _user_id(app, ROLE_USERS[P.RISK_OFFICER])
    manager = _user_id(app, ROLE_USERS[P.GENERAL_MANAGER])
    submitter = _user_id(app, ROLE_USERS[P.ACCOUNT_MANAGER])
    with app.app_context():
        kind = _register_kind()
        approval.create_flow(kind, "e2e-" + uuid.uuid4().hex[:6], "浏览器流程", [
            {"name": "风控审查", "mode": "single", "user_ids": [risk]},
            {"name": "总经理签批", "mode": "single", "user_ids": [manager]}])
        flow = db.session.execute(select(ApprovalFlow).where(ApprovalFlow.kind == kind)).scalar()
        db.session.add(ApprovalRule(kind=kind, priority=1, flow_code=flow.code, active=True))
        item = ApprovalPost(code="E" + uuid.uuid4().hex[:6], name="浏览器事项")
        db.session.add(item)
        db.session.flush()
        inst = approval.submit(kind, item, submitter, "请审批", title="担保申请 DB-E2E-001")
        db.session.commit()
        inst_id = inst.id

    page = page_as(P.RISK_OFFICER)
    page.goto("/myapprovals/todo")
    assert page.locator("#todo-table").is_visible()
    assert page.locator("#todo-table", has_text="担保申请 DB-E2E-001").count() == 1
    assert int(page.locator("#unread-count").inner_text()) >= 1
    screenshot(page, "approval-my-todo")
    with page.expect_navigation():
        page.locator("#todo-table tr", has_text="担保申请 DB-E2E-001").locator("a").click()
    assert page.locator(".approval-current-step").inner_text() == "风控审查"
    page.fill("#approval-comment", "风险可控，同意")
    with page.expect_navigation():
        page.click("button[name=action][value=approve]")
    assert page.locator(".approval-current-step").inner_text() == "总经理签批"
    assert page.locator(".approval-timeline", has_text="风险可控，同意").count() == 1
    screenshot(page, "approval-panel-after-approve", full_page=True)
    with app.app_context():
        assert db.session.get(ApprovalInstance, inst_id).current_step.name == "总经理签批"
