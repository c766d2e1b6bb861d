"""Warnings (POST-3): every rule raises once per cause, is acknowledged and resolved with a note, and raises
again on a new cause; the engine is set-based (the number of statements does not depend on the portfolio)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from app import permissions as P
from app.errors import Conflict, ValidationError
from tests.integration.test_guarantees_support import user_id
from tests.integration.test_post_support import business_day, in_force, warnings_of

DAY = date(2032, 6, 15)


def _w():
    from app.services import warnings

    return warnings


def test_maturity_raises_once_resolves_and_raises_on_a_new_cause(db):
    w = _w()
    g = in_force(db, due_date=DAY + timedelta(days=10))
    far = in_force(db, due_date=DAY + timedelta(days=90))
    w.evaluate_rules(DAY, ["maturity_near"])
    w.evaluate_rules(DAY, ["maturity_near"])  # the same cause: no second warning while one is open
    found = warnings_of(db, "maturity_near", g)
    assert len(found) == 1 and warnings_of(db, "maturity_near", far) == []
    warning = found[0]
    assert warning.owner_id == user_id(P.ACCOUNT_MANAGER) and warning.customer_id == g.customer_id
    assert warning.level == "low" and g.code in warning.message and warning.raised_on == DAY
    risk = user_id(P.RISK_OFFICER)
    with pytest.raises(ValidationError):
        w.acknowledge(warning.id, risk, "  ")
    w.acknowledge(warning.id, risk, "已电话联系客户")
    with pytest.raises(Conflict):
        w.acknowledge(warning.id, risk, "again")
    w.evaluate_rules(DAY, ["maturity_near"])  # acknowledged is still open
    assert len(warnings_of(db, "maturity_near", g)) == 1
    w.resolve(warning.id, risk, "客户已落实还款资金")
    assert warning.status == "resolved" and warning.open_flag is None and warning.resolve_note
    with pytest.raises(Conflict):
        w.resolve(warning.id, risk, "again")
    g.due_date = DAY + timedelta(days=20)  # extended: a new cause
    db.session.flush()
    w.evaluate_rules(DAY, ["maturity_near"])
    found = warnings_of(db, "maturity_near", g)
    assert len(found) == 2 and found[1].status == "open" and found[1].cause_key != found[0].cause_key


def test_overdue_rule_new_cause_after_the_oldest_instalment_is_paid(db):
    from app.services import repayment_plans

    w = _w()
    g = in_force(db, amount="3000.00", loan_date=date(2032, 1, 10))
    repayment_plans.generate_plan(g.id, "equal_principal", start=date(2032, 1, 10), months=3, principal="3000",
                                  annual_rate="0")
    day = date(2032, 3, 20)  # instalments of 10 Feb and 10 Mar unpaid
    w.evaluate_rules(day, ["repayment_overdue"])
    first = warnings_of(db, "repayment_overdue", g)
    assert len(first) == 1 and first[0].level == "high" and "2032-02-10" in first[0].cause_key
    db.session.commit()
    with business_day(db, day):
        repayment_plans.record_repayment(g.id, paid_on=day, principal="1000")
        db.session.commit()
    w.evaluate_rules(day, ["repayment_overdue"])  # now the 10 Mar instalment is the oldest unpaid: a new cause
    keys = [x.cause_key for x in warnings_of(db, "repayment_overdue", g)]
    assert len(keys) == 2 and "2032-03-10" in keys[1]


def test_the_day_end_resolves_what_no_longer_holds_and_leaves_the_rest_to_people(db):
    from app.services import repayment_plans

    w = _w()
    paid, unpaid = (in_force(db, amount="3000.00", loan_date=date(2032, 1, 10)) for _ in range(2))
    for g in (paid, unpaid):
        repayment_plans.generate_plan(g.id, "equal_principal", start=date(2032, 1, 10), months=3, principal="3000",
                                      annual_rate="0")
    day = date(2032, 3, 20)
    w.evaluate_rules(day, ["repayment_overdue"])
    # a black-listing is not self-clearing: its warning waits for a person, whatever the detector finds
    listed = w.raise_warning("customer_blacklisted", f"blacklist:test{paid.id}", customer_id=paid.customer_id,
                             message="黑名单")
    db.session.commit()
    with business_day(db, day):
        repayment_plans.record_repayment(paid.id, paid_on=day, principal="2000")  # both overdue instalments
        db.session.commit()
    cleared = w.clear_vanished_causes(day, ["repayment_overdue", "customer_blacklisted"])
    assert cleared["repayment_overdue"] >= 1 and "customer_blacklisted" not in cleared  # (other tests' too)
    gone, = warnings_of(db, "repayment_overdue", paid)
    db.session.refresh(gone)
    assert gone.status == "resolved" and gone.open_flag is None and "2032-03-20" in gone.resolve_note
    assert [x.status for x in warnings_of(db, "repayment_overdue", unpaid)] == ["open"]
    db.session.refresh(listed)
    assert listed.status == "open"
    assert w.clear_vanished_causes(day, ["repayment_overdue"]) == {"repayment_overdue": 0}  # nothing twice


def test_inspection_blacklist_and_event_warnings(db):
    from app.services import customers, inspections

    w = _w()
    g = in_force(db, loan_date=date(2032, 1, 5))
    inspections.schedule_first_inspections(DAY)
    first = inspections.inspections(g.id)
    assert len(first) == 1 and first[0].due_date == date(2032, 2, 4) and first[0].kind == "first"
    w.evaluate_rules(date(2032, 2, 4), ["inspection_overdue"])
    assert warnings_of(db, "inspection_overdue", g) == []  # due today, not late yet
    w.evaluate_rules(date(2032, 2, 5), ["inspection_overdue"])
    assert len(warnings_of(db, "inspection_overdue", g)) == 1

    customers.add_to_watch_list(g.customer, "blacklist", "涉诉失信")
    w.evaluate_rules(DAY, ["customer_blacklisted"])
    w.evaluate_rules(DAY, ["customer_blacklisted"])
    found = warnings_of(db, "customer_blacklisted", customer=g.customer)
    assert len(found) == 1 and found[0].guarantee_id is None and found[0].owner_id == g.customer.manager_id

    # raised at once by an event: a second raise of the same open cause gives nothing
    made = w.raise_warning("inspection_finding", f"test:{g.id}", guarantee_id=g.id, message="重大风险")
    assert made is not None and made.owner_id == g.manager_id and made.level == "high"
    assert w.raise_warning("inspection_finding", f"test:{g.id}", guarantee_id=g.id, message="重大风险") is None
    w.resolve(made.id, user_id(P.RISK_OFFICER), "已处理")
    assert w.raise_warning("inspection_finding", f"test:{g.id}", guarantee_id=g.id, message="again") is not None


def test_rule_configuration_level_params_and_switch_off(db):
    from sqlalchemy import select

    from models.post_guarantee import WarningRule

    w = _w()
    w.ensure_rules()
    rule = db.session.execute(select(WarningRule).where(WarningRule.code == "maturity_near")).scalar_one()
    before = (rule.level, rule.params, rule.active)
    g = in_force(db, due_date=DAY + timedelta(days=50))
    try:
        rule.params, rule.level = {"days": 60}, "high"
        w.validate_rule_row(rule)
        db.session.flush()
        w.evaluate_rules(DAY, ["maturity_near"])
        found = warnings_of(db, "maturity_near", g)
        assert len(found) == 1 and found[0].level == "high"
        w.resolve(found[0].id, user_id(P.RISK_OFFICER), "ok")
        rule.active = False
        db.session.flush()
        assert w.evaluate_rules(DAY, ["maturity_near"]) == {}
        rule.params = {"days": -1}
        with pytest.raises(ValidationError):
            w.validate_rule_row(rule)
        rule.params = {"days": 60}
        rule.level = "urgent"
        with pytest.raises(ValidationError):
            w.validate_rule_row(rule)
    finally:
        rule.level, rule.params, rule.active = before
        db.session.flush()


def test_evaluation_is_set_based(db):
    """The statements of a run do not depend on the number of guarantees."""
    from app.extensions import db as _db

    w = _w()
    day = date(2033, 3, 1)

    def count_run():
        statements = []
        engine = _db.session.get_bind()

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            w.evaluate_rules(day)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(statements)

    in_force(db, due_date=day + timedelta(days=5))
    small = count_run()
    for _ in range(15):
        in_force(db, due_date=day + timedelta(days=7))
    large = count_run()
    assert large == small


def test_blacklisting_a_customer_warns_at_once(db):
    from app.services import customers

    g = in_force(db, due_date=DAY + timedelta(days=200))
    db.session.commit()
    customers.add_to_watch_list(g.customer, "blacklist", "法院失信被执行人")
    db.session.commit()  # the commit raises the warning, no day-end needed
    found = warnings_of(db, "customer_blacklisted", customer=g.customer)
    assert len(found) == 1 and found[0].status == "open" and "法院失信被执行人" in found[0].message
