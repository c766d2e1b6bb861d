"""Turn database errors into the project's typed errors: the user sees a translated message, never the driver's text."""
import logging

from flask_babel import gettext
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from app.errors import Conflict, GuaranteeError, ValidationError, duplicate_message, generic_db_message

log = logging.getLogger(__name__)


def _sqlstate(ex) -> str:
    orig = getattr(ex, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or ""


def translate(ex: Exception) -> GuaranteeError:
    if isinstance(ex, GuaranteeError):
        return ex
    cause = ex.__cause__ if not isinstance(ex, SQLAlchemyError) and ex.__cause__ is not None else ex
    log.warning("database error: %s", cause)
    text = str(getattr(cause, "orig", cause)).upper()
    state = _sqlstate(cause)
    if isinstance(cause, IntegrityError):
        if state == "23505" or "UNIQUE" in text:
            return Conflict(duplicate_message())
        if state == "23503" or "FOREIGN KEY" in text:
            return Conflict(gettext("This record is used by other records and cannot be removed or changed this way."))
        if state == "23502" or "NOT NULL" in text:
            return ValidationError(gettext("A required field is missing."))
        return ValidationError(generic_db_message())
    if isinstance(cause, DataError):
        return ValidationError(gettext("A value is too long or of the wrong type."))
    return ValidationError(generic_db_message())
