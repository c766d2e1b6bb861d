"""Typed errors: services raise these; views and the API turn them into a translated message and a status."""
from flask_babel import gettext


class GuaranteeError(Exception):
    """Base of the project's own errors. `message` is already translated for the current user."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(GuaranteeError):
    status = 422


class NotFound(GuaranteeError):
    status = 404


class Forbidden(GuaranteeError):
    status = 403


class Conflict(GuaranteeError):
    """A state changed under us (concurrent action, duplicate value)."""

    status = 409


def duplicate_message() -> str:
    return gettext("A record with the same unique value already exists.")


def generic_db_message() -> str:
    return gettext("The data could not be saved. Please check the input and try again.")


def http_message(status: int) -> str:
    """The translated text of an HTTP error status, for error pages and API bodies alike."""
    return {
        400: gettext("The request was not understood."),
        401: gettext("Please log in."),
        403: gettext("You do not have permission to do this."),
        404: gettext("The page or record does not exist."),
        405: gettext("This action is not allowed here."),
        413: gettext("The upload is too large."),
        415: gettext("The request body must be a JSON object."),
        422: gettext("The input is not valid."),
        429: gettext("Too many requests. Please wait a moment and try again."),
        500: gettext("Something went wrong on our side. The error has been logged."),
    }.get(status, gettext("The request was not understood."))
