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


@celery.task(name="app.tasks.close_period")
def close_period(run_id: int, user_id: int):
    """Month-end close (期末处理) of one period; progress in its CloseRun row."""
    from app.services import ledger_close

    ledger_close.run_close(run_id, user_id)
    return run_id


@celery.task(name="app.tasks.export_ledger_book")
def export_ledger_book(job_id: int, args: dict):
    """A ledger book or statement to Excel in the background (progress in the ExportJob row)."""
    from reports import ledger_excel

    ledger_excel.run_job(job_id, args)
    return job_id


@celery.task(name="app.tasks.rate_batch")
def rate_batch(batch_id: int):
    """Batch re-rating (issue 6, RAT-4); progress in its RatingBatch row."""
    from app.services import rating_batch

    batch = rating_batch.run(batch_id)
    return {"batch_id": batch_id, "status": batch.status if batch is not None else None}
