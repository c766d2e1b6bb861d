"""Excel export of any list screen (SYS-14), honouring the screen's current filters and order.

Small results are written at once and downloaded; above EXPORT_ASYNC_THRESHOLD rows a Celery task
writes the file and reports progress in an ExportJob row the user watches.
"""
import html
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select

from app.errors import GuaranteeError
from app.services.list_query import check_list_query
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
    # A view may give the workbook its own formatter (plain text) instead of the screen's HTML one.
    formatter = (getattr(view, "export_formatters_columns", None) or {}).get(column) or (
        (view.formatters_columns or {}).get(column))
    if formatter is not None:
        value = formatter(value)
    if isinstance(value, Markup):
        return _plain_text(value)
    if hasattr(value, "__table__") or isinstance(value, list):
        return str(value)
    return value


def _plain_text(markup) -> str:
    """HTML made for the screen as the cell's text: line breaks kept, tags dropped, entities decoded."""
    text = re.sub(r"<br\s*/?>", "\n", str(markup), flags=re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def filtered_query(view):
    """The screen's query with the request's filters, order and the view's base filters applied."""
    get_filter_args(view._filters)
    order = get_order_args().get(view.__class__.__name__)
    order_column, order_direction = order if order else ("", "")
    check_list_query(view, view._filters, order_column)
    if not order_column and view.base_order:
        order_column, order_direction = view.base_order
    datamodel = view.datamodel
    filters = view._filters.get_joined_filters(view._base_filters)
    return datamodel.apply_all(datamodel.session.query(datamodel.obj), filters, order_column, order_direction)


def count_rows(view) -> int:
    return filtered_query(view).order_by(None).count()


def write_view(view, path: str, progress=None, progress_every: int = 1000) -> int:
    columns, headers = _columns(view)
    rows = ([_value(item, c, view) for c in columns] for item in filtered_query(view).yield_per(2000))
    return write_table(path, str(view.list_title or view.__class__.__name__), headers, rows, progress,
                       progress_every)


def _download_name(view) -> str:
    return f"{view.list_title or view.__class__.__name__}-{datetime.now():%Y%m%d%H%M%S}.xlsx"


def start(view, args: dict, user) -> ExportResult:
    """Export now, or hand the export to a background task when it is large."""
    total = count_rows(view)
    if total <= current_app.config["EXPORT_ASYNC_THRESHOLD"]:
        path = os.path.join(_export_dir(), f"{uuid.uuid4().hex}.xlsx")
        write_view(view, path)
        _remove_after_response(path)
        return ExportResult(path=path, download_name=_download_name(view))
    from app.tasks import export_list
    from models.system import ExportJob

    job = ExportJob(user_id=user.id, view_name=view.__class__.__name__, title=str(view.list_title or ""),
                    total=total, status="pending")
    _session().add(job)
    _session().commit()
    try:
        export_list.delay(job.id, args)
    except Exception:  # the broker is unreachable: say so, and leave no job waiting for ever
        current_app.logger.exception("export job %s could not be queued", job.id)
        _session().rollback()
        job = _session().get(ExportJob, job.id)
        job.status, job.finished_at = "failed", datetime.now()
        job.error = gettext("The background export could not be started. Please try again later.")
        _session().commit()
        raise GuaranteeError(job.error) from None
    return ExportResult(job_id=job.id)


def _remove_after_response(path: str) -> None:
    """A direct download is not kept on disk (it holds customer data).

    send_file has opened the file by the time after-request handlers run, so removing it then is safe on
    POSIX (the open handle still reads it). Where removal fails the day-end purge is the fallback.
    """
    from flask import after_this_request, has_request_context

    if not has_request_context() or current_app.config.get("USE_X_SENDFILE"):
        return

    @after_this_request
    def cleanup(response):
        try:
            os.remove(path)
        except OSError:
            current_app.logger.warning("export file %s not removed", path)
        return response


def _progress_every(total: int) -> int:
    """Report about every 5% (the bar moves), at most every 100 rows and at least every 1000."""
    return max(100, min(1000, total // 20))


def run_job(job_id: int, args: dict) -> None:
    """Body of the background export: rebuilds the screen's request and writes the file."""
    from models.system import ExportJob

    session = _session()
    job = session.get(ExportJob, job_id)
    job.status = "running"
    session.commit()

    from app.extensions import db

    def progress(done):
        # On its own connection: committing the session would end the transaction (and on PostgreSQL the
        # server-side cursor) the rows are still being read from.
        with db.engine.begin() as conn:
            conn.execute(ExportJob.__table__.update().where(ExportJob.id == job_id).values(done=done))

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
            write_view(view, os.path.join(_export_dir(), filename), progress, _progress_every(job.total))
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
