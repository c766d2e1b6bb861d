"""Excel export of any list screen (SYS-14), honouring the screen's current filters and order.

Small results are written at once and downloaded; above EXPORT_ASYNC_THRESHOLD rows a Celery task
writes the file and reports progress in an ExportJob row the user watches.
"""
import os
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import gettext
from sqlalchemy import select

from reports.excel import write_table


@dataclass
class ExportResult:
    path: str | None = None
    download_name: str | None = None
    job_id: int | None = None


def _session():
    from app.extensions import db

    return db.session


def _export_dir() -> str:
    path = current_app.config["EXPORT_DIR"]
    os.makedirs(path, exist_ok=True)
    return path


def find_view(name: str):
    from app.extensions import appbuilder

    for view in appbuilder.baseviews:
        if view.__class__.__name__ == name:
            return view
    raise LookupError(name)


def _columns(view):
    columns = view.export_columns or view.list_columns
    return columns, [str(view.label_columns.get(c, c)) for c in columns]


def _value(item, column, view):
    value = item
    for part in column.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    if callable(value):
        value = value()
    formatter = view.formatters_columns.get(column) if view.formatters_columns else None
    if formatter is not None:
        return formatter(value)
    if hasattr(value, "__table__") or isinstance(value, list):
        return str(value)
    return value


def filtered_query(view):
    """The screen's query with the request's filters, order and the view's base filters applied."""
    get_filter_args(view._filters)
    order = get_order_args().get(view.__class__.__name__)
    order_column, order_direction = order if order else ("", "")
    if not order_column and view.base_order:
        order_column, order_direction = view.base_order
    datamodel = view.datamodel
    filters = view._filters.get_joined_filters(view._base_filters)
    return datamodel.apply_all(datamodel.session.query(datamodel.obj), filters, order_column, order_direction)


def count_rows(view) -> int:
    return filtered_query(view).order_by(None).count()


def write_view(view, path: str, progress=None) -> int:
    columns, headers = _columns(view)
    rows = ([_value(item, c, view) for c in columns] for item in filtered_query(view).yield_per(2000))
    return write_table(path, str(view.list_title or view.__class__.__name__), headers, rows, progress)


def _download_name(view) -> str:
    return f"{view.list_title or view.__class__.__name__}-{datetime.now():%Y%m%d%H%M%S}.xlsx"


def start(view, args: dict, user) -> ExportResult:
    """Export now, or hand the export to a background task when it is large."""
    total = count_rows(view)
    if total <= current_app.config["EXPORT_ASYNC_THRESHOLD"]:
        path = os.path.join(_export_dir(), f"{uuid.uuid4().hex}.xlsx")
        write_view(view, path)
        return ExportResult(path=path, download_name=_download_name(view))
    from app.tasks import export_list
    from models.system import ExportJob

    job = ExportJob(user_id=user.id, view_name=view.__class__.__name__, title=str(view.list_title or ""),
                    total=total, status="pending")
    _session().add(job)
    _session().commit()
    export_list.delay(job.id, args)
    return ExportResult(job_id=job.id)


def run_job(job_id: int, args: dict) -> None:
    """Body of the background export: rebuilds the screen's request and writes the file."""
    from models.system import ExportJob

    session = _session()
    job = session.get(ExportJob, job_id)
    job.status = "running"
    session.commit()

    def progress(done):
        session.execute(ExportJob.__table__.update().where(ExportJob.id == job_id).values(done=done))
        session.commit()

    filename = f"{uuid.uuid4().hex}.xlsx"
    from app.extensions import appbuilder

    user = appbuilder.sm.get_user_by_id(job.user_id)
    try:
        with current_app.test_request_context(query_string=args):
            from flask import g

            g.user = user
            from flask_login import login_user

            login_user(user)
            view = find_view(job.view_name)
            write_view(view, os.path.join(_export_dir(), filename), progress)
        job = session.get(ExportJob, job_id)
        job.status, job.filename, job.finished_at = "done", filename, datetime.now()
    except Exception:
        session.rollback()
        job = session.get(ExportJob, job_id)
        job.status, job.finished_at = "failed", datetime.now()
        job.error = gettext("The export failed; the error has been logged.")
        current_app.logger.exception("export job %s failed", job_id)
    session.commit()


def job_file(job) -> str | None:
    if job.status != "done" or not job.filename:
        return None
    path = os.path.join(_export_dir(), job.filename)
    return path if os.path.exists(path) else None


def jobs_of(user_id: int):
    from models.system import ExportJob

    return _session().execute(
        select(ExportJob).where(ExportJob.user_id == user_id).order_by(ExportJob.id.desc())
    ).scalars()
