"""Inspections (POST-1) and the five-category classification through the approval engine (POST-2)."""
from datetime import date

import pytest

from app import permissions as P
from app.errors import Conflict, ValidationError
from tests.integration.test_guarantees_support import user_id
from tests.integration.test_post_support import business_day, in_force, warnings_of

DAY = date(2033, 9, 1)


def test_report_schedules_the_next_by_class_and_a_major_finding_warns(db):
    from app.services import inspections

    g = in_force(db, loan_date=date(2033, 6, 1))
    inspections.schedule_first_inspections(DAY)
    inspections.schedule_first_inspections(DAY)  # once only
    [first] = inspections.inspections(g.id)
    assert first.due_date == date(2033, 7, 1)
    am = user_id(P.ACCOUNT_MANAGER)
    db.session.commit()
    with business_day(db, DAY):
        with pytest.raises(ValidationError):  # findings are required
            inspections.report(first.id, am, visit_date=date(2033, 7, 3), operations="正常")
        with pytest.raises(ValidationError):  # not after the business date
            inspections.report(first.id, am, visit_date=date(2033, 9, 2), findings="x")
        inspections.report(first.id, am, visit_date=date(2033, 7, 3), risk_signal="major", operations="停产",
                           finances="亏损", findings="主要客户流失, 停产两个月", conclusion="风险上升")
        with pytest.raises(Conflict):
            inspections.report(first.id, am, visit_date=date(2033, 7, 3), findings="again")
        db.session.commit()
    rows = inspections.inspections(g.id)
    assert [r.status for r in rows] == ["done", "scheduled"]
    assert rows[1].due_date == date(2033, 12, 30)  # normal class: 180 days after the visit
    assert rows[0].inspector_id == am and rows[0].risk_signal == "major"
    found = warnings_of(db, "inspection_finding", g)
    assert len(found) == 1 and found[0].level == "high"


def test_classification_suggested_by_rules_and_decided_by_the_engine(db):
    from app.services import approval, classification, inspections, repayment_plans, warnings

    g = in_force(db, amount="6000.00", loan_date=date(2033, 1, 15))
    repayment_plans.generate_plan(g.id, "bullet", start=date(2033, 1, 15), months=3, principal="6000",
                                  annual_rate="0.06")
    db.session.commit()
    am = user_id(P.ACCOUNT_MANAGER)
    with business_day(db, date(2033, 8, 1)):  # due 15 Apr: 108 days overdue
        suggested, reasons = classification.suggest(g.id)
        assert suggested == "substandard" and "108" in reasons[0]
        # the day-end asks for the proposal: a warning, cleared once the class is decided
        review = classification.REVIEW_RULE
        warnings.evaluate_rules(date(2033, 8, 1), [review])
        [asked] = warnings_of(db, review, g)
        assert asked.cause_key == f"class:{g.id}:2" and "2033-04-15" in asked.message
        with pytest.raises(ValidationError):  # another class needs a reason
            classification.propose(g.id, am, "special")
        item = classification.propose(g.id, am)
        db.session.commit()
        with pytest.raises(Conflict):
            classification.propose(g.id, am)
        assert item.status == "pending" and item.previous_class == "normal"
        inst = approval.open_instance(classification.APPROVAL_KIND, item.id)
        approval.act(inst.id, user_id(P.RISK_OFFICER), "approve", "同意")
        db.session.commit()
        assert classification.current_class(g.id) == "normal"  # not decided yet
        inst = approval.open_instance(classification.APPROVAL_KIND, item.id)
        approval.act(inst.id, user_id(P.DEPARTMENT_HEAD), "approve", "同意")
        db.session.commit()
        assert item.status == "approved" and classification.current_class(g.id) == "substandard"
        assert warnings.clear_vanished_causes(date(2033, 8, 1), [review])[review] >= 1
        db.session.refresh(asked)
        assert asked.status == "resolved"
        warnings.evaluate_rules(date(2033, 8, 1), [review])
        assert len(warnings_of(db, review, g)) == 1  # decided: nothing more to ask
        # the next inspection follows the class's interval (substandard: 30 days)
        inspections.schedule_first_inspections()
        [first] = inspections.inspections(g.id)
        inspections.report(first.id, am, visit_date=date(2033, 7, 20), findings="经营困难", risk_signal="minor")
        db.session.commit()
        assert inspections.inspections(g.id)[1].due_date == date(2033, 8, 19)
        # a rejected proposal changes nothing
        other = classification.propose(g.id, am, "loss", reason="抵押物灭失")
        db.session.commit()
        inst = approval.open_instance(classification.APPROVAL_KIND, other.id)
        approval.act(inst.id, user_id(P.RISK_OFFICER), "reject", "依据不足")
        db.session.commit()
        assert other.status == "rejected" and classification.current_class(g.id) == "substandard"
        assert [h.status for h in classification.history(g.id)] == ["rejected", "approved"]
