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

from flask_babel import gettext
from sqlalchemy import select

from app.errors import Conflict
from app.services import business_date

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    func: Callable


_STEPS: dict[str, Step] = {}


def dayend_step(name: str, order: int = 100):
    def register(func):
        _STEPS[name] = Step(name, order, func)
        return func

    return register


def registered_steps() -> list[Step]:
    return sorted(_STEPS.values(), key=lambda s: (s.order, s.name))


def _session():
    from app.extensions import db

    return db.session


def run(triggered_by: str = "system"):
    """Run every step for the current business date. A failed step rolls back its own work, is logged,
    and stops the run: the business date stays, so the run can be repeated after the fix."""
    from models.system import DayEndRun, DayEndStepLog

    session = _session()
    day = business_date.today()
    running = session.execute(
        select(DayEndRun).where(DayEndRun.status == "running").with_for_update()
    ).scalar()
    if running is not None:
        raise Conflict(gettext("A day-end run is already in progress."))
    run_row = DayEndRun(business_date=day, status="running", triggered_by=triggered_by)
    session.add(run_row)
    session.commit()
    ok = True
    for step in registered_steps():
        started = datetime.now()
        try:
            rows = step.func(day) or 0
            session.commit()
            status, message = "success", ""
        except Exception as ex:  # a step's failure is the run's result, not a crash
            session.rollback()
            log.exception("day-end step %s failed", step.name)
            rows, status, ok = 0, "failed", False
            message = str(ex)[:500] if hasattr(ex, "message") else gettext("The step failed; see the server log.")
        session.add(DayEndStepLog(run_id=run_row.id, step=step.name, status=status, rows=rows,
                                  message=message, started_at=started, finished_at=datetime.now()))
        session.commit()
        if not ok:
            break
    run_row = session.get(DayEndRun, run_row.id)
    run_row.status = "success" if ok else "failed"
    run_row.finished_at = datetime.now()
    if ok:
        business_date.set_date(day + timedelta(days=1))
    session.commit()
    return run_row


@dayend_step("system.purge_exports", order=900)
def purge_old_exports(day):
    """Finished export files older than seven days are removed (they hold customer data)."""
    import os

    from models.system import ExportJob

    cutoff = datetime.now() - timedelta(days=7)
    jobs = _session().execute(
        select(ExportJob).where(ExportJob.finished_at < cutoff, ExportJob.filename.isnot(None))
    ).scalars().all()
    from flask import current_app

    for job in jobs:
        path = os.path.join(current_app.config["EXPORT_DIR"], job.filename)
        if os.path.exists(path):
            os.remove(path)
        job.filename = None
    return len(jobs)
