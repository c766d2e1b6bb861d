"""Day-end batch (SYS-8): modules register steps; a run executes them in order for the business date,
logs each step's result, and on success moves the business date to the next day.

    from app.services.dayend import dayend_step

    @dayend_step("post.overdue", order=200)
    def mark_overdue(business_date):  # returns the number of rows touched
        ...
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import Conflict, GuaranteeError
from app.services import business_date

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    func: Callable
    label: object = None  # shown to users; a lazy_gettext string


_STEPS: dict[str, Step] = {}


def dayend_step(name: str, order: int = 100, label=None):
    def register(func):
        _STEPS[name] = Step(name, order, func, label)
        return func

    return register


def step_label(name: str) -> str:
    step = _STEPS.get(name)
    return str(step.label) if step is not None and step.label else name


def registered_steps() -> list[Step]:
    return sorted(_STEPS.values(), key=lambda s: (s.order, s.name))


def _session():
    from app.extensions import db

    return db.session


def unregister_step(name: str) -> None:
    """Remove a step (tests and plug-ins that are switched off)."""
    _STEPS.pop(name, None)


def _lock_runs(session) -> None:
    """Serialise whoever starts a run: rewrite the business-date setting row with its own value.

    The UPDATE takes that row's lock on PostgreSQL and the database's write lock on SQLite, and holds it
    to the end of the transaction, so a second starter waits here and then sees the first run's row.
    (Looking for a running run with SELECT … FOR UPDATE alone locks nothing when there is none yet.)
    """
    from models.system import SystemSetting

    table = SystemSetting.__table__
    session.execute(
        table.update().where(table.c.key == "business_date").values(value=table.c.value, updated_at=table.c.updated_at)
    )


def run(triggered_by: str = "system"):
    """Run every step for the current business date. A failed step rolls back its own work, is logged,
    and stops the run: the business date stays, so the run can be repeated after the fix.
    A run while another is in progress is refused (Conflict)."""
    from models.system import DayEndRun

    session = _session()
    _lock_runs(session)
    running = session.execute(select(DayEndRun.id).where(DayEndRun.status == "running")).scalar()
    if running is not None:
        session.rollback()
        raise Conflict(gettext("A day-end run is already in progress."))
    day = business_date.today()  # read under the lock: a run that just finished has moved it
    run_row = DayEndRun(business_date=day, status="running", triggered_by=triggered_by)
    session.add(run_row)
    session.commit()
    try:
        ok = _run_steps(session, run_row.id, day)
    except BaseException:
        # Not a step's failure (those are results) but the run's own: never leave it "running".
        session.rollback()
        _finish(session, run_row.id, day, False)
        raise
    return _finish(session, run_row.id, day, ok)


def _run_steps(session, run_id: int, day) -> bool:
    from models.system import DayEndStepLog

    for step in registered_steps():
        started = datetime.now()
        try:
            rows = step.func(day) or 0
            session.commit()
            status, message, ok = "success", "", True
        except Exception as ex:  # a step's failure is the run's result, not a crash
            session.rollback()
            log.exception("day-end step %s failed", step.name)
            rows, status, ok = 0, "failed", False
            # Our own errors carry a translated message for the user; anything else may hold internals.
            message = ex.message[:500] if isinstance(ex, GuaranteeError) else gettext(
                "The step failed; see the server log.")
        session.add(DayEndStepLog(run_id=run_id, step=step.name, status=status, rows=int(rows),
                                  message=message, started_at=started, finished_at=datetime.now()))
        session.commit()
        if not ok:
            return False
    return True


def _finish(session, run_id: int, day, ok: bool):
    from models.system import DayEndRun

    run_row = session.get(DayEndRun, run_id)
    run_row.status = "success" if ok else "failed"
    run_row.finished_at = datetime.now()
    if ok:
        business_date.set_date(day + timedelta(days=1))
    session.commit()
    return run_row


@dayend_step("system.purge_exports", order=900, label=_l("Remove old export files"))
def purge_old_exports(day):
    """Finished export files older than seven days are removed (they hold customer data), and so are
    files no job refers to (a direct download the web server could not remove) older than a day."""
    import os

    from flask import current_app

    from models.system import ExportJob

    cutoff = datetime.now() - timedelta(days=7)
    jobs = _session().execute(
        select(ExportJob).where(ExportJob.finished_at < cutoff, ExportJob.filename.isnot(None))
    ).scalars().all()
    directory = current_app.config["EXPORT_DIR"]
    for job in jobs:
        path = os.path.join(directory, job.filename)
        if os.path.exists(path):
            os.remove(path)
        job.filename = None
    removed = len(jobs)
    if os.path.isdir(directory):
        kept = set(_session().execute(select(ExportJob.filename).where(ExportJob.filename.isnot(None))).scalars())
        stale = (datetime.now() - timedelta(days=1)).timestamp()
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if name.endswith(".xlsx") and name not in kept and os.path.getmtime(path) < stale:
                os.remove(path)
                removed += 1
    return removed
