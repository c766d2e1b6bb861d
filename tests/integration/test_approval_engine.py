"""The approval engine (BIZ-8, WB-5, WB-6) through the real service and database.

A test-only approvable kind is registered on sys_approval_post rows (any model works): its attributes come
from a dict the test fills, and on_decided writes the outcome into the row's description, in the same
transaction as the final action."""
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, Forbidden, ValidationError
from tests.conftest import TEST_PASSWORD, unique

ATTRS: dict[int, dict] = {}


def _on_decided(obj, outcome, instance):
    obj.description = outcome


@pytest.fixture(scope="module")
def people(app):
    """Users for the roles of a flow: submitter, approvers a/b/c, committee members m1..m4, a delegate."""
    from app.extensions import db

    with app.app_context():
        sm = app.appbuilder.sm
        ids = {}
        for key in ("sub", "a", "a2", "b", "c", "m1", "m2", "m3", "m4", "d", "x"):
            username = unique(f"wf{key}")
            user = sm.add_user(username, "审批", key, f"{username}@test.local", [sm.find_role(P.RISK_OFFICER)],
                               TEST_PASSWORD)
            ids[key] = user.id
        db.session.commit()
        return ids


def _kind():
    from app.services import approval
    from models.system import ApprovalPost

    kind = unique("test.")
    approval.register_kind(kind, label="测试事项", model=ApprovalPost, attributes=lambda o: ATTRS.get(o.id, {}),
                           on_decided=_on_decided, url=lambda o: f"/approvalposts/show/{o.id}")
    return kind


def _item(db, **attrs):
    from models.system import ApprovalPost

    code = unique("it")
    obj = ApprovalPost(code=code, name=code)
    db.session.add(obj)
    db.session.flush()
    ATTRS[obj.id] = attrs
    return obj


def _flow(kind, steps, code=None, rules=((1000, {}),)):
    from app.extensions import db
    from app.services import approval
    from models.approval import ApprovalRule

    flow = approval.create_flow(kind, code or unique("f"), "测试流程", steps)
    for priority, cond in rules:
        db.session.add(ApprovalRule(kind=kind, priority=priority, flow_code=flow.code, active=True, **cond))
    db.session.flush()
    return flow


def _chain(people, *keys, **extra):
    return [{"name": f"第{i + 1}步", "mode": "single", "user_ids": [people[k]], **extra} for i, k in enumerate(keys)]


def test_submit_approve_chain_to_the_end_calls_on_decided(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, _chain(people, "a", "b"))
    obj = _item(db, amount=Decimal("100"))
    inst = approval.submit(kind, obj, people["sub"], "请审批")
    db.session.commit()
    assert inst.status == "pending" and inst.current_step.name == "第1步"
    assert approval.open_instance(kind, obj.id).id == inst.id
    assert approval.can_act(inst, people["a"]) and not approval.can_act(inst, people["b"])
    with pytest.raises(Conflict):
        approval.submit(kind, obj, people["sub"])  # one open instance per item
    db.session.rollback()
    approval.act(inst.id, people["a"], "approve", "同意")
    assert inst.current_step.name == "第2步"
    approval.act(inst.id, people["b"], "approve")
    db.session.commit()
    assert inst.status == "approved" and obj.description == "approved"
    assert approval.open_instance(kind, obj.id) is None
    steps = [(a.action, a.acted_by_id) for a in approval.timeline(kind, obj.id)]
    assert steps == [("submit", people["sub"]), ("approve", people["a"]), ("approve", people["b"])]
    # the next approvers got an internal message, the submitter one for the outcome
    rows, unread = approval.unread_messages(people["b"])
    assert unread >= 1 and any(m.instance_id == inst.id for m in rows)
    assert any(m.instance_id == inst.id for m in approval.unread_messages(people["sub"])[0])


def test_refusals_self_approval_not_assignee_same_person_two_steps(db, people):
    from app.services import approval

    kind = _kind()
    # the submitter is also named on step 1, and "a" on both steps
    _flow(kind, [{"name": "一", "mode": "any", "user_ids": [people["sub"], people["a"]]},
                 {"name": "二", "mode": "any", "user_ids": [people["a"], people["b"]]}])
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    db.session.commit()
    with pytest.raises(Forbidden, match="submitted|由您提交"):
        approval.act(inst.id, people["sub"], "approve")
    with pytest.raises(Forbidden, match="not an approver|不是当前环节的审批人"):
        approval.act(inst.id, people["c"], "approve")
    version = inst.version
    approval.act(inst.id, people["a"], "approve")
    db.session.commit()
    with pytest.raises(Forbidden, match="another step|其他环节"):
        approval.act(inst.id, people["a"], "approve")
    db.session.rollback()
    assert approval.open_instance(kind, obj.id).version == version + 1
    approval.act(inst.id, people["b"], "approve")
    db.session.commit()
    with pytest.raises(Conflict, match="finished|审批已经结束"):
        approval.act(inst.id, people["b"], "reject", "晚了")


def test_same_person_allowed_when_the_step_says_so(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, [{"name": "一", "mode": "single", "user_ids": [people["a"]]},
                 {"name": "二", "mode": "single", "user_ids": [people["a"]], "allow_same_person": True}])
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    approval.act(inst.id, people["a"], "approve")
    approval.act(inst.id, people["a"], "approve")
    assert inst.status == "approved"
    db.session.rollback()


def test_comment_required_on_reject_and_return_and_reject_ends(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, _chain(people, "a", "b"))
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    approval.act(inst.id, people["a"], "approve")
    db.session.commit()
    for action in ("reject", "return"):
        with pytest.raises(ValidationError, match="comment|必须填写意见"):
            approval.act(inst.id, people["b"], action, "  ")
    approval.act(inst.id, people["b"], "reject", "风险过高")
    db.session.commit()
    assert inst.status == "rejected" and obj.description == "rejected"
    assert approval.timeline(kind, obj.id)[-1].comment == "风险过高"


def test_return_to_previous_and_to_any_earlier_step(db, people):
    from app.services import approval

    kind = _kind()
    flow = _flow(kind, _chain(people, "a", "b", "c"))
    s1, s2, s3 = flow.steps
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    with pytest.raises(ValidationError, match="first step|第一个环节"):
        approval.act(inst.id, people["a"], "return", "退回")
    approval.act(inst.id, people["a"], "approve")
    approval.act(inst.id, people["b"], "approve")
    assert [s.id for s in approval.returnable_steps(inst)] == [s1.id, s2.id]
    with pytest.raises(ValidationError, match="earlier|之前的环节"):
        approval.act(inst.id, people["c"], "return", "退回", to_step=s3.id)
    approval.act(inst.id, people["c"], "return", "补充资料", to_step=s1.id)
    assert inst.current_step_id == s1.id and inst.status == "pending"
    approval.act(inst.id, people["a"], "approve")  # the same step again: allowed
    approval.act(inst.id, people["b"], "return", "再看看")  # default: the previous step
    assert inst.current_step_id == s1.id
    actions = [a.action for a in approval.timeline(kind, obj.id)]
    assert actions.count("return") == 2
    db.session.rollback()


def test_withdraw_only_by_submitter_before_the_first_approval(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, _chain(people, "a", "b"))
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    with pytest.raises(Forbidden):
        approval.act(inst.id, people["a"], "withdraw")
    approval.act(inst.id, people["sub"], "withdraw")
    assert inst.status == "withdrawn" and obj.description == "withdrawn"
    obj2 = _item(db)
    inst2 = approval.submit(kind, obj2, people["sub"])
    approval.act(inst2.id, people["a"], "approve")
    with pytest.raises(ValidationError, match="withdrawn|不能再撤回"):
        approval.act(inst2.id, people["sub"], "withdraw")
    db.session.rollback()


def test_countersign_all_waits_for_everyone(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, [{"name": "会签", "mode": "all", "user_ids": [people["a"], people["b"]]},
                 {"name": "终审", "mode": "single", "user_ids": [people["c"]]}])
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    approval.act(inst.id, people["a"], "approve")
    assert inst.current_step.name == "会签"
    approval.act(inst.id, people["b"], "approve")
    assert inst.current_step.name == "终审"
    db.session.rollback()


def test_flow_matching_by_amount_and_green_channel_with_priorities(db, people):
    from app.services import approval

    kind = _kind()
    big = _flow(kind, _chain(people, "a", "b", "c"), rules=[(10, {"amount_min": Decimal("5000000.01")})])
    # the normal flow: the review step is skipped on the green channel (a step condition)
    normal = _flow(kind, [{"name": "受理", "mode": "single", "user_ids": [people["a"]]},
                          {"name": "评审", "mode": "single", "user_ids": [people["b"]], "green_channel": False},
                          {"name": "签批", "mode": "single", "user_ids": [people["c"]]}],
                   rules=[(100, {})])
    green = _flow(kind, _chain(people, "c"), rules=[(5, {"green_channel": True, "amount_max": Decimal("1000000")})])
    cases = [
        ({"amount": Decimal("6000000"), "green_channel": False}, big, 3),
        ({"amount": Decimal("6000000"), "green_channel": True}, big, 3),  # priority 5 rule does not match amount
        ({"amount": Decimal("500000"), "green_channel": True}, green, 1),
        ({"amount": Decimal("2000000"), "green_channel": True}, normal, 2),  # review skipped
        ({"amount": Decimal("2000000"), "green_channel": False}, normal, 3),
    ]
    for attrs, flow, steps in cases:
        obj = _item(db, **attrs)
        inst = approval.submit(kind, obj, people["sub"])
        assert (inst.flow_id, len(inst.path)) == (flow.id, steps), attrs
    db.session.rollback()


def test_no_matching_flow_is_refused(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, _chain(people, "a"), rules=[(1, {"amount_min": Decimal("10")})])
    with pytest.raises(ValidationError, match="No approval flow|没有适用于此事项的审批流程"):
        approval.submit(kind, _item(db, amount=Decimal("1")), people["sub"])
    db.session.rollback()


def test_version_pinning_instance_keeps_its_version(db, people):
    from app.services import approval

    kind = _kind()
    v1 = _flow(kind, _chain(people, "a", "b"))
    old = approval.submit(kind, _item(db), people["sub"])
    v2 = approval.save_flow_version(v1.id, name="新流程", steps=_chain(people, "c"))
    db.session.commit()
    assert (v2.code, v2.version, v2.active) == (v1.code, 2, True)
    db.session.refresh(v1)
    assert v1.active is False
    new = approval.submit(kind, _item(db), people["sub"])
    assert new.flow_id == v2.id and old.flow_id == v1.id
    approval.act(old.id, people["a"], "approve")
    assert old.current_step.name == "第2步"  # still on version 1's steps
    approval.act(old.id, people["b"], "approve")
    approval.act(new.id, people["c"], "approve")
    assert old.status == new.status == "approved"
    db.session.rollback()


def test_delegation_records_both_names_and_respects_dates(db, people):
    from app.services import approval, business_date

    kind = _kind()
    _flow(kind, _chain(people, "a", "b"))
    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    today = business_date.today()
    with pytest.raises(ValidationError):
        approval.delegate(people["a"], people["a"], today, today)
    with pytest.raises(ValidationError):
        approval.delegate(people["a"], people["d"], today, today - timedelta(days=1))
    past = approval.delegate(people["a"], people["d"], today - timedelta(days=9), today - timedelta(days=2))
    with pytest.raises(Forbidden):
        approval.act(inst.id, people["d"], "approve")  # the delegation is over
    past.active = False
    approval.delegate(people["a"], people["d"], today, today + timedelta(days=3), kind=kind)
    rows, _total = approval.todo(people["d"])
    assert any(t.instance_id == inst.id for t in rows)  # the principal's task shows in the delegate's to-do list
    other_kind = _kind()  # the delegation covers one kind: a's task of another kind stays with a
    _flow(other_kind, _chain(people, "a"))
    other = approval.submit(other_kind, _item(db), people["sub"])
    assert not any(t.instance_id == other.id for t in approval.todo(people["d"])[0])
    assert any(t.instance_id == other.id for t in approval.todo(people["a"])[0])
    with pytest.raises(Forbidden):
        approval.act(other.id, people["d"], "approve")
    approval.act(inst.id, people["d"], "approve", "代批")
    last = approval.timeline(kind, obj.id)[-1]
    assert (last.acted_by_id, last.on_behalf_of_id) == (people["d"], people["a"])
    db.session.rollback()


def test_delegate_cannot_approve_for_the_submitter(db, people):
    from app.services import approval, business_date

    kind = _kind()
    _flow(kind, [{"name": "一", "mode": "any", "user_ids": [people["a"]]}])
    inst = approval.submit(kind, _item(db), people["a2"])
    today = business_date.today()
    approval.delegate(people["a"], people["a2"], today, today)  # the submitter takes over a's approvals
    with pytest.raises(Forbidden, match="submitted|由您提交"):
        approval.act(inst.id, people["a2"], "approve")
    db.session.rollback()


def _committee(kind, people, quorum=3, rule="2/3", veto=False):
    return _flow(kind, [{"name": "初审", "mode": "single", "user_ids": [people["a"]]},
                        {"name": "审保会", "mode": "committee", "quorum": quorum, "pass_rule": rule, "chair_veto": veto,
                         "user_ids": [people[k] for k in ("m1", "m2", "m3", "m4")]},
                        {"name": "总经理签批", "mode": "single", "user_ids": [people["c"]]}])


def _to_committee(db, kind, people):
    from app.services import approval

    obj = _item(db)
    inst = approval.submit(kind, obj, people["sub"])
    approval.act(inst.id, people["a"], "approve")
    return obj, inst


def test_committee_without_quorum_is_refused(db, people):
    from app.services import approval

    kind = _kind()
    _committee(kind, people, quorum=3)
    _obj, inst = _to_committee(db, kind, people)
    with pytest.raises(ValidationError, match="approve|committee|委员投票"):
        approval.act(inst.id, people["m1"], "approve")
    with pytest.raises(ValidationError, match="quorum|法定人数"):
        approval.open_meeting(inst.id, people["m1"], date(2026, 11, 28), [people["m1"], people["m2"]])
    with pytest.raises(ValidationError):
        approval.open_meeting(inst.id, people["m1"], date(2026, 11, 28), [people["m1"], people["c"], people["m2"]])
    assert approval.current_meeting(inst) is None
    db.session.rollback()


def test_committee_two_thirds_of_present_passes(db, people):
    from app.services import approval

    kind = _kind()
    _committee(kind, people)
    obj, inst = _to_committee(db, kind, people)
    present = [people["m1"], people["m2"], people["m3"]]
    meeting = approval.open_meeting(inst.id, people["m1"], date(2026, 11, 28), present, chair_id=people["m1"])
    with pytest.raises(Forbidden):
        approval.vote(inst.id, people["m4"], "agree")  # not present
    with pytest.raises(ValidationError, match="opinion|填写意见"):
        approval.vote(inst.id, people["m3"], "disagree")
    approval.vote(inst.id, people["m1"], "agree", "同意")
    with pytest.raises(Conflict):
        approval.vote(inst.id, people["m1"], "agree")
    approval.vote(inst.id, people["m2"], "agree", "同意")
    assert meeting.status == "open"
    approval.vote(inst.id, people["m3"], "disagree", "担保物不足")
    assert meeting.status == "passed" and inst.current_step.name == "总经理签批"
    approval.act(inst.id, people["c"], "approve")
    assert inst.status == "approved" and obj.description == "approved"
    db.session.rollback()


def test_committee_below_two_thirds_fails_and_chair_veto(db, people):
    from app.services import approval

    kind = _kind()
    _committee(kind, people)
    obj, inst = _to_committee(db, kind, people)
    approval.open_meeting(inst.id, people["m1"], date(2026, 11, 28), [people[k] for k in ("m1", "m2", "m3")])
    approval.vote(inst.id, people["m1"], "agree")
    approval.vote(inst.id, people["m2"], "abstain")
    approval.vote(inst.id, people["m3"], "disagree", "不同意")
    assert inst.status == "rejected" and obj.description == "rejected"

    kind2 = _kind()
    _committee(kind2, people, veto=True)
    obj2, inst2 = _to_committee(db, kind2, people)
    present = [people[k] for k in ("m1", "m2", "m3", "m4")]
    approval.open_meeting(inst2.id, people["m2"], date(2026, 11, 28), present, chair_id=people["m4"])
    for k in ("m1", "m2", "m3"):
        approval.vote(inst2.id, people[k], "agree")
    approval.vote(inst2.id, people["m4"], "disagree", "一票否决")  # 3/4 agree, but the chair vetoes
    assert inst2.status == "rejected"
    assert [a.action for a in approval.timeline(kind2, obj2.id)][-1] == "failed"
    db.session.rollback()


def test_version_check_refuses_a_stale_page(db, people):
    from app.services import approval

    kind = _kind()
    _flow(kind, [{"name": "一", "mode": "any", "user_ids": [people["a"], people["b"]]}, *_chain(people, "c")])
    inst = approval.submit(kind, _item(db), people["sub"])
    db.session.commit()
    seen = inst.version
    approval.act(inst.id, people["a"], "approve", expected_version=seen)
    db.session.commit()
    with pytest.raises(Conflict, match="Someone else|其他人刚刚处理"):
        approval.act(inst.id, people["b"], "approve", expected_version=seen)
    db.session.rollback()
    with pytest.raises(Conflict, match="already been handled|已被处理"):
        approval.act(inst.id, people["b"], "approve")


def test_ensure_default_flow_is_idempotent(db, people):
    from app.services import approval
    from models.approval import ApprovalFlow, ApprovalRule

    kind = _kind()
    f1 = approval.ensure_default_flow(kind, "默认流程", [{"name": "审批", "mode": "single", "role": P.RISK_OFFICER}])
    f2 = approval.ensure_default_flow(kind, "默认流程", [{"name": "审批", "mode": "single", "role": P.RISK_OFFICER}])
    assert f1.id == f2.id
    assert len(db.session.execute(select(ApprovalFlow).where(ApprovalFlow.kind == kind)).scalars().all()) == 1
    assert len(db.session.execute(select(ApprovalRule).where(ApprovalRule.kind == kind)).scalars().all()) == 1
    inst = approval.submit(kind, _item(db), people["sub"])
    assert people["a"] in approval.candidates(inst.current_step)  # every 风控专员
    db.session.rollback()


def _race(app, calls):
    """Run the calls at the same moment in threads of their own (each its own app context and session);
    returns what each returned ("ok") or raised."""
    from app.extensions import db as _db

    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(n, call):
        with app.app_context():
            try:
                barrier.wait(10)
                call()
                _db.session.commit()
                results[n] = "ok"
            except Exception as ex:  # the test asserts on what came back
                _db.session.rollback()
                results[n] = ex
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_approvers_on_one_step_give_exactly_one_result(app, db, people, dialect):
    """Two approvers of an any-one step press approve at the same moment: one wins, the other gets Conflict."""
    from app.services import approval
    from models.approval import ApprovalInstance

    kind = _kind()
    _flow(kind, [{"name": "一", "mode": "any", "user_ids": [people["a"], people["b"]]}, *_chain(people, "c")])
    ids = [approval.submit(kind, _item(db), people["sub"]).id for _ in range(5)]
    db.session.commit()
    if dialect != "postgresql":
        pytest.skip("parallel row locks need PostgreSQL (SQLite serialises the whole database)")
    for inst_id in ids:  # the threads must not touch the main session's objects: plain ids only
        results = _race(app, [lambda k=k: approval.act(inst_id, people[k], "approve", "同意") for k in ("a", "b")])
        assert sorted("ok" if r == "ok" else type(r).__name__ for r in results) == ["Conflict", "ok"], results
        db.session.expire_all()
        actions = [a.action for a in approval.instance_timeline(inst_id)]
        assert actions.count("approve") == 1
        inst = db.session.get(ApprovalInstance, inst_id)
        assert inst.round == 2 and inst.current_step.name == "第1步"  # c's step, the second of the flow
        assert len([t for t in approval._open_tasks(inst)]) == 1


def test_concurrent_submits_of_one_item_make_one_instance(app, db, people, dialect):
    from app.services import approval
    from models.system import ApprovalPost

    kind = _kind()
    _flow(kind, _chain(people, "a"))
    obj = _item(db)
    db.session.commit()
    obj_id = obj.id
    if dialect != "postgresql":
        pytest.skip("parallel row locks need PostgreSQL (SQLite serialises the whole database)")

    def submit():
        from app.extensions import db as _db

        approval.submit(kind, _db.session.get(ApprovalPost, obj_id), people["sub"])

    results = _race(app, [submit, submit])
    assert sorted("ok" if r == "ok" else type(r).__name__ for r in results) == ["Conflict", "ok"], results
    assert len(approval.instances_for(kind, obj_id)) == 1


def test_concurrent_last_votes_decide_the_committee_once(app, db, people, dialect):
    """The last two members vote at the same moment: both votes count and the step is decided once."""
    from app.services import approval
    from models.approval import ApprovalInstance

    kind = _kind()
    _flow(kind, [{"name": "审保会", "mode": "committee", "quorum": 2, "pass_rule": "2/3",
                  "user_ids": [people["m1"], people["m2"]]}, *_chain(people, "c")])
    inst = approval.submit(kind, _item(db), people["sub"])
    approval.open_meeting(inst.id, people["m1"], date(2026, 11, 28), [people["m1"], people["m2"]])
    db.session.commit()
    inst_id = inst.id
    if dialect != "postgresql":
        pytest.skip("parallel row locks need PostgreSQL (SQLite serialises the whole database)")
    results = _race(app, [lambda k=k: approval.vote(inst_id, people[k], "agree", "同意") for k in ("m1", "m2")])
    assert results == ["ok", "ok"], results
    db.session.expire_all()
    actions = [a.action for a in approval.instance_timeline(inst_id)]
    assert actions.count("vote_agree") == 2 and actions.count("passed") == 1
    inst = db.session.get(ApprovalInstance, inst_id)
    assert inst.round == 2 and inst.current_step.name == "第1步"


# --- screens and the panel's endpoints ---------------------------------------------------------------------

def _username(app, user_id):
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import User

    with app.app_context():
        return db.session.get(User, user_id).username


def _web_item(app, people, steps=None):
    from app.extensions import db
    from app.services import approval

    with app.app_context():
        kind = _kind()
        _flow(kind, steps or _chain(people, "a", "b"))
        obj = _item(db)
        inst = approval.submit(kind, obj, people["sub"], title=f"测试事项{obj.code}")
        db.session.commit()
        return kind, obj.id, inst.id


def _token(page_html):
    from tests.conftest import CSRF_RE

    return CSRF_RE.search(page_html).group(1)


def test_panel_page_buttons_and_post_endpoints(app, people, login_as):
    from app.extensions import db
    from app.services import approval
    from models.approval import ApprovalInstance

    kind, obj_id, inst_id = _web_item(app, people)
    a = login_as(_username(app, people["a"]))
    page = a.get(f"/approval/item/{inst_id}").get_data(as_text=True)
    assert 'value="approve"' in page and 'value="reject"' in page
    assert login_as(_username(app, people["c"])).get(f"/approval/item/{inst_id}").status_code == 404
    # no CSRF token: refused, nothing changes
    assert a.post(f"/approval/act/{inst_id}", data={"action": "approve"}).status_code in (302, 400)
    with app.app_context():
        assert db.session.get(ApprovalInstance, inst_id).version == 1
    token = _token(page)
    r = a.post(f"/approval/act/{inst_id}", data={"action": "approve", "comment": "同意", "version": "1",
                                                  "csrf_token": token, "next": "/approval/item/%d" % inst_id})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/approval/item/{inst_id}")
    # the same stale page pressed again: a clear message, nothing doubled
    r = a.post(f"/approval/act/{inst_id}", data={"action": "approve", "version": "1", "csrf_token": token},
               follow_redirects=True)
    assert "刷新" in r.get_data(as_text=True) or "Reload" in r.get_data(as_text=True)
    b = login_as(_username(app, people["b"]))
    todo = b.get("/myapprovals/todo").get_data(as_text=True)
    assert f"测试事项" in todo and 'id="unread-count"' in todo
    page = b.get(f"/approval/item/{inst_id}").get_data(as_text=True)
    r = b.post(f"/approval/act/{inst_id}", data={"action": "reject", "comment": " ", "csrf_token": _token(page)},
               follow_redirects=True)
    with app.app_context():
        assert db.session.get(ApprovalInstance, inst_id).status == "pending"
    r = b.post(f"/approval/act/{inst_id}", data={"action": "reject", "comment": "资料不全", "csrf_token": _token(page)})
    with app.app_context():
        assert db.session.get(ApprovalInstance, inst_id).status == "rejected"
        assert [x.action for x in approval.timeline(kind, obj_id)] == ["submit", "approve", "reject"]
    done = a.get("/myhandled/done").get_data(as_text=True)
    assert "测试事项" in done


def test_committee_through_the_panel(app, people, login_as):
    from app.extensions import db
    from models.approval import ApprovalInstance

    steps = [{"name": "审保会", "mode": "committee", "quorum": 2, "pass_rule": "2/3",
              "user_ids": [people["m1"], people["m2"], people["m3"]]}]
    _kind_, _obj_id, inst_id = _web_item(app, people, steps)
    m1 = login_as(_username(app, people["m1"]))
    page = m1.get(f"/approval/item/{inst_id}").get_data(as_text=True)
    assert "approval-meeting-form" in page
    m1.post(f"/approval/meeting/{inst_id}", data={"meeting_date": "2026-11-28", "present": [people["m1"], people["m2"]],
                                                  "chair": people["m1"], "csrf_token": _token(page)})
    for key in ("m1", "m2"):
        client = login_as(_username(app, people[key]))
        page = client.get(f"/approval/item/{inst_id}").get_data(as_text=True)
        assert "approval-vote-form" in page
        client.post(f"/approval/vote/{inst_id}", data={"vote": "agree", "opinion": "同意", "csrf_token": _token(page)})
    with app.app_context():
        assert db.session.get(ApprovalInstance, inst_id).status == "approved"


def test_admin_screens_and_designer_saves_a_new_version(app, people, admin_web, login_as):
    from app.extensions import db
    from models.approval import ApprovalFlow

    with app.app_context():
        kind = _kind()
        flow = _flow(kind, _chain(people, "a", "b"))
        db.session.commit()
        flow_id, code = flow.id, flow.code
    for url in ("/approvalflowview/list/", "/approvalruleview/list/", "/delegationview/list/",
                f"/approvalflowview/show/{flow_id}", "/myapprovals/todo", "/myhandled/done"):
        assert admin_web.get(url).status_code == 200, url
    page = admin_web.get(f"/approvaldesigner/{flow_id}").get_data(as_text=True)
    assert 'id="designer-data"' in page and "approval_designer.js" in page
    import json as _json

    steps = [{"name": "风控审查", "mode": "any", "user_ids": [people["b"]]},
             {"name": "总经理", "mode": "single", "user_ids": [people["a"]], "amount_min": "1000"}]
    r = admin_web.post(f"/approvaldesigner/{flow_id}/save",
                       data={"name": "改版流程", "steps_json": _json.dumps(steps), "csrf_token": _token(page)})
    assert r.status_code == 302
    with app.app_context():
        versions = db.session.query(ApprovalFlow).filter_by(code=code).order_by(ApprovalFlow.version).all()
        assert [(v.version, v.active) for v in versions] == [(1, False), (2, True)]
        assert [s.name for s in versions[1].steps] == ["风控审查", "总经理"]
        assert versions[1].steps[1].amount_min == 1000
    # bad steps: refused with a message, no new version
    r = admin_web.post(f"/approvaldesigner/{flow_id}/save", follow_redirects=True,
                       data={"name": "坏", "steps_json": _json.dumps([{"name": "", "mode": "single"}]),
                             "csrf_token": _token(page)})
    with app.app_context():
        assert db.session.query(ApprovalFlow).filter_by(code=code).count() == 2
    # a staff member reads the to-do list but does not edit flows
    staff = login_as(P.RISK_OFFICER)
    assert staff.get("/myapprovals/todo").status_code == 200
    assert staff.get(f"/approvaldesigner/{flow_id}").status_code in (302, 403)
    assert staff.post(f"/approvaldesigner/{flow_id}/save", data={"name": "x", "steps_json": "[]",
                                                                  "csrf_token": _token(page)}).status_code in (302, 403)


def test_delegation_screen_own_rows_only(app, people, login_as):
    from app.extensions import db
    from models.approval import ApprovalDelegation

    x = login_as(_username(app, people["x"]))
    page = x.get("/delegationview/add").get_data(as_text=True)
    assert page.count("csrf_token") >= 1
    r = x.post("/delegationview/add", data={"to_user": str(people["d"]), "date_from": "2026-12-01",
                                            "date_to": "2026-12-10", "reason": "休假", "active": "y",
                                            "csrf_token": _token(page)})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        row = db.session.query(ApprovalDelegation).filter_by(reason="休假", to_user_id=people["d"]).one()
        assert row.from_user_id == people["x"]
        row_id = row.id
    r = x.post("/delegationview/add", data={"to_user": str(people["d"]), "date_from": "2026-12-10",
                                            "date_to": "2026-12-01", "csrf_token": _token(page)})
    assert r.status_code == 200  # the form again, with the message
    other = login_as(_username(app, people["m4"]))
    assert "休假" not in other.get("/delegationview/list/").get_data(as_text=True)
    assert other.get(f"/delegationview/show/{row_id}").status_code in (302, 404)
    assert "休假" in login_as(_username(app, people["d"])).get("/delegationview/list/").get_data(as_text=True)


def test_rest_api_todo_state_and_actions(app, people, api_as):
    from app.extensions import db
    from models.approval import ApprovalInstance

    kind, _obj_id, inst_id = _web_item(app, people)
    a = api_as(_username(app, people["a"]))
    todo = a.get("/api/v1/approval/todo")
    assert todo.status_code == 200 and inst_id in [r["instance_id"] for r in todo.get_json()["result"]]
    state = a.get(f"/api/v1/approval/{inst_id}").get_json()["result"]
    assert state["actions"] == ["approve", "reject"] and state["current_step"] == "第1步"
    assert api_as(_username(app, people["c"])).get(f"/api/v1/approval/{inst_id}").status_code == 404
    sub = api_as(_username(app, people["sub"]))
    refused = sub.post(f"/api/v1/approval/{inst_id}/act", json={"action": "approve"})
    assert refused.status_code == 403
    assert "submitted" in refused.get_json()["message"] or "提交" in refused.get_json()["message"]
    assert a.post(f"/api/v1/approval/{inst_id}/act", json={"action": "approve", "version": "x"}).status_code == 422
    assert a.post(f"/api/v1/approval/{inst_id}/act", json=["approve"]).status_code in (400, 415, 422)
    ok = a.post(f"/api/v1/approval/{inst_id}/act", json={"action": "approve", "comment": "同意", "version": 1})
    assert ok.status_code == 200 and ok.get_json()["result"]["current_step"] == "第2步"
    again = a.post(f"/api/v1/approval/{inst_id}/act", json={"action": "approve", "version": 1})
    assert again.status_code == 409
    b = api_as(_username(app, people["b"]))
    assert b.post(f"/api/v1/approval/{inst_id}/act", json={"action": "return"}).status_code == 422
    with app.app_context():
        assert db.session.get(ApprovalInstance, inst_id).version == 2


def test_used_flow_version_cannot_be_changed_on_the_step_screens(app, people, admin_web, login_as):
    from app.extensions import db
    from models.approval import ApprovalFlow, ApprovalStep

    kind, _obj_id, inst_id = _web_item(app, people)
    with app.app_context():
        from models.approval import ApprovalInstance

        flow_id = db.session.get(ApprovalInstance, inst_id).flow_id
        step = db.session.get(ApprovalFlow, flow_id).steps[0]
        step_id, name = step.id, step.name
    page = admin_web.get(f"/approvalstepview/edit/{step_id}").get_data(as_text=True)
    r = admin_web.post(f"/approvalstepview/edit/{step_id}", data={
        "flow": str(flow_id), "position": "1", "name": "偷改", "mode": "single", "green_channel": "",
        "csrf_token": _token(page)})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and ("designer" in body or "设计器" in body)  # the form again, with the reason
    r = admin_web.post(f"/approvalflowview/delete/{flow_id}", data={"csrf_token": _token(page)}, follow_redirects=True)
    with app.app_context():
        assert db.session.get(ApprovalStep, step_id).name == name
        assert db.session.get(ApprovalFlow, flow_id) is not None
    # the designer's save with unreadable steps changes nothing
    r = admin_web.post(f"/approvaldesigner/{flow_id}/save", data={"name": "x", "steps_json": "{not json",
                                                                  "csrf_token": _token(page)})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.query(ApprovalFlow).filter_by(code=db.session.get(ApprovalFlow, flow_id).code).count() == 1
    # the auditor reads but does not act: a hand-made POST is refused before the engine
    auditor = login_as(P.AUDITOR)
    r = auditor.post(f"/approval/act/{inst_id}", data={"action": "approve",
                                                        "csrf_token": auditor.csrf("/resetmypassword/form")})
    assert r.status_code in (302, 403) and "/approval/item" not in r.headers.get("Location", "")
    with app.app_context():
        from models.approval import ApprovalInstance

        assert db.session.get(ApprovalInstance, inst_id).version == 1
