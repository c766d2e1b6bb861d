"""Error pages and API error bodies: translated, and never the text of an internal error."""
import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.errors import GuaranteeError, http_message

log = logging.getLogger(__name__)


def _respond(status, message):
    if request.path.startswith("/api/"):
        return jsonify(message=message), status
    from app.extensions import appbuilder

    return render_template("error.html", status=status, message=message, appbuilder=appbuilder,
                           base_template=appbuilder.base_template), status


def handle_http(ex: HTTPException):
    status = ex.code or 500
    if status < 400:
        return ex
    return _respond(status, http_message(status))


def handle_guarantee(ex: GuaranteeError):
    return _respond(ex.status, ex.message)


def handle_unexpected(ex: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    from app.extensions import db

    db.session.rollback()
    if isinstance(ex, (ValueError, TypeError, LookupError)):
        # Malformed query parameters (page=abc, bad filter values) reach FAB's parsers as these.
        return _respond(400, http_message(400))
    return _respond(500, http_message(500))


def register(app):
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(GuaranteeError, handle_guarantee)
    app.register_error_handler(Exception, handle_unexpected)
