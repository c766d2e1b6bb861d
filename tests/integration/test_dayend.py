"""SYS-8: the system business date and the day-end batch. Registered steps run in order and are logged
one by one; success moves the business date on; a failing step stops the run and keeps the date; one
run at a time; the screen's button works for whoever may run it and nobody else."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import permissions as P
from app.errors import Conflict, ValidationError
from app.services import business_date, dayend
from models.system import DayEndRun, DayEndStepLog, DictType
from tests.conftest import ROLE_USERS, unique
from tests.integration.datalayer import assert_message, assert_no_driver_text, msg, store  # noqa: F401


@pytest.fixture
def steps(app):
    """Register steps for one test; they are removed afterwards, and no run is left 'running'."""
    added = []

    def register(name, func, order):
        dayend.dayend_step(name, order)(func)
        added.append(name)
        return name

    yield register
    for name in added:
        dayend.unregister_step(name)
    from app.extensions import db

    with app.app_context():
        db.session.execute(update(DayEndRun).where(DayEndRun.status == "running").values(status="failed"))
        db.session.commit()


def _step_logs(db, run_id):
    return db.session.execute(select(DayEndStepLog).where(DayEndStepLog.run_id == run_id)
                              .order_by(DayEndStepLog.id)).scalars().all()


def test_steps_run_in_order_are_logged_and_the_date_moves_on(db, steps):
    calls = []
    name_b = steps(unique("test.b"), lambda day: calls.append(("b", day)) or 0, order=20)
    name_a = steps(unique("test.a"), lambda day: calls.append(("a", day)) or 3, order=10)
    day = business_date.today()

    run = dayend.run(triggered_by="tester")

    assert run.status == "success" and run.business_date == day and run.finished_at is not None
    assert run.triggered_by == "tester"
    assert calls == [("a", day), ("b", day)]
    logs = _step_logs(db, run.id)
    assert [log.step for log in logs] == [s.name for s in dayend.registered_steps()]
    by_name = {log.step: log for log in logs}
    assert by_name[name_a].rows == 3 and by_name[name_b].rows == 0
    assert all(log.status == "success" and log.started_at and log.finished_at for log in logs)
    assert logs.index(by_name[name_a]) < logs.index(by_name[name_b])
    assert business_date.today() == day + timedelta(days=1)


def test_a_failing_step_stops_the_run_and_keeps_the_date(app, db, steps):
    marker = unique("dt")
    later = []

    def writes_then_fails(day):
        db.session.add(DictType(code=marker, name="应回滚"))
        db.session.flush()
        raise RuntimeError("internal detail: connection string secret")

    first = steps(unique("test.first"), lambda day: 1, order=10)
    failing = steps(unique("test.fail"), writes_then_fails, order=11)
    steps(unique("test.later"), lambda day: later.append(day), order=12)
    day = business_date.today()

    run = dayend.run()

    assert run.status == "failed"
    assert later == []  # the run stopped at the failing step
    logs = _step_logs(db, run.id)
    names = [log.step for log in logs]
    assert names[-1] == failing and first in names
    assert logs[-1].status == "failed" and logs[-1].rows == 0
    assert "secret" not in logs[-1].message  # the log shows a message, not the internals
    assert logs[-1].message in msg(app, "The step failed; see the server log.")
    assert db.session.execute(select(DictType).where(DictType.code == marker)).scalar() is None  # rolled back
    assert business_date.today() == day

    # The fix is deployed (the step removed): the next run for the same date succeeds.
    dayend.unregister_step(failing)
    again = dayend.run()
    assert again.status == "success" and again.business_date == day
    assert business_date.today() == day + timedelta(days=1)


def test_a_step_refusing_with_our_own_error_shows_its_message(db, steps):
    def refuses(day):
        raise ValidationError("Vouchers of the day are not all posted.")

    name = steps(unique("test.refuse"), refuses, order=5)
    run = dayend.run()
    assert run.status == "failed"
    assert _step_logs(db, run.id)[-1].step == name
    assert _step_logs(db, run.id)[-1].message == "Vouchers of the day are not all posted."


def test_a_second_run_while_one_is_running_is_refused(app, db, steps):
    started, release = threading.Event(), threading.Event()

    def slow(day):
        started.set()
        assert release.wait(30)
        return 0

    steps(unique("test.slow"), slow, order=1)
    day = business_date.today()
    outcome = {}

    def first_run():
        with app.app_context():
            outcome["status"] = dayend.run("first").status

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert started.wait(30)
        with pytest.raises(Conflict) as err:
            dayend.run("second")
        assert err.value.message in msg(app, "A day-end run is already in progress.")
    finally:
        release.set()
        thread.join(30)
    assert outcome["status"] == "success"
    db.session.rollback()
    assert business_date.today() == day + timedelta(days=1)  # moved once, not twice


def test_two_runs_started_at_the_same_moment_make_one_run(app, db, steps):
    release = threading.Event()
    steps(unique("test.hold"), lambda day: release.wait(5) and 0, order=1)
    day = business_date.today()
    barrier = threading.Barrier(2)
    results = []

    def start(name):
        with app.app_context():
            barrier.wait(10)
            try:
                results.append(dayend.run(name).status)
            except Conflict:
                results.append("refused")
                release.set()

    threads = [threading.Thread(target=start, args=(f"racer{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    release.set()
    assert sorted(results) == ["refused", "success"]
    db.session.rollback()
    assert business_date.today() == day + timedelta(days=1)
    assert db.session.execute(select(DayEndRun).where(DayEndRun.business_date == day,
                                                      DayEndRun.triggered_by.like("racer%"))).scalars().all()


# --- the screen -----------------------------------------------------------------------------------

def test_admin_runs_the_day_end_from_the_screen(app, store, admin_web):
    day = store.scalar(select(DayEndRun.id).order_by(DayEndRun.id.desc()).limit(1))
    with app.app_context():
        before = business_date.today()
    page = admin_web.get("/dayendrunview/list/").get_data(as_text=True)
    assert 'id="run-dayend"' in page and before.isoformat() in page

    response = admin_web.post_form("/dayendrunview/run/", {}, form_page="/dayendrunview/list/", follow_redirects=True)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_message(html, *msg(app, "Day-end for %(day)s finished.", day=before))
    run = store.one(select(DayEndRun).order_by(DayEndRun.id.desc()).limit(1))
    assert run.id != day and run.status == "success" and run.triggered_by == ROLE_USERS[P.ADMIN]
    with app.app_context():
        assert business_date.today() == before + timedelta(days=1)
    assert (before + timedelta(days=1)).isoformat() in html


def test_run_needs_post_and_csrf(app, store, admin_web):
    last = store.scalar(select(DayEndRun.id).order_by(DayEndRun.id.desc()).limit(1))
    assert admin_web.get("/dayendrunview/run/").status_code == 405
    response = admin_web.post("/dayendrunview/run/", data={})  # no CSRF token
    assert response.status_code in (302, 400)
    assert store.scalar(select(DayEndRun.id).order_by(DayEndRun.id.desc()).limit(1)) == last


@pytest.mark.parametrize("role", [P.GENERAL_MANAGER, P.ACCOUNTANT, P.AUDITOR, P.ACCOUNT_MANAGER])
def test_roles_without_run_permission_get_403(app, store, login_as, role):
    client = login_as(role)
    last = store.scalar(select(DayEndRun.id).order_by(DayEndRun.id.desc()).limit(1))
    page = client.get("/dayendrunview/list/")
    if page.status_code == 200:  # may read the runs, but sees no button
        assert 'id="run-dayend"' not in page.get_data(as_text=True)
        token_page = "/dayendrunview/list/"
    else:
        assert page.status_code == 403
        token_page = "/resetmypassword/form"  # any page of the session carries a token
    response = client.post_form("/dayendrunview/run/", {}, form_page=token_page)
    assert response.status_code == 403
    assert_no_driver_text(response.get_data(as_text=True))
    assert store.scalar(select(DayEndRun.id).order_by(DayEndRun.id.desc()).limit(1)) == last
