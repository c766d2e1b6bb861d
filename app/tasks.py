"""Celery tasks: thin wrappers over services."""
from app.celery_app import celery


@celery.task(name="app.tasks.export_list")
def export_list(job_id: int, args: dict):
    from app.services import exporting

    exporting.run_job(job_id, args)
    return job_id


@celery.task(name="app.tasks.run_dayend")
def run_dayend(triggered_by: str = "beat"):
    from app.services import dayend

    run = dayend.run(triggered_by)
    return {"run_id": run.id, "status": run.status}


@celery.task(name="app.tasks.ping")
def ping(value: int):
    """Round trip used by the worker integration test and health checks: proves the worker sees the database."""
    from sqlalchemy import func, select

    from app.extensions import db
    from models.system import DictType

    return {"value": value * 2, "dict_types": db.session.execute(select(func.count(DictType.id))).scalar()}
