"""Login policy (SYS-4): lockout after N failures within M minutes, password complexity, the login log."""
import re
from datetime import datetime, timedelta

from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import gettext
from sqlalchemy import func, select

from app.services import settings


def _session():
    from app.extensions import db

    return db.session


def normalise(username: str) -> str:
    return (username or "").strip().lower()[:100]


def locked_until(username: str, now: datetime | None = None) -> datetime | None:
    """The time a lockout ends, or None when the user may try to log in.

    Derived from the login log: failures since the last success and within the lock window.
    """
    from models.system import LoginLog

    now = now or datetime.now()
    name = normalise(username)
    max_failures = settings.get("login_max_failures")
    window = timedelta(minutes=settings.get("login_lock_minutes"))
    last_success = _session().execute(
        select(func.max(LoginLog.at)).where(LoginLog.username == name, LoginLog.event == "login")
    ).scalar()
    since = now - window
    if last_success and last_success > since:
        since = last_success
    failures = list(
        _session().execute(
            select(LoginLog.at)
            .where(LoginLog.username == name, LoginLog.event == "failed", LoginLog.at > since)
            .order_by(LoginLog.at.desc())
            .limit(max_failures)
        ).scalars()
    )
    if len(failures) < max_failures:
        return None
    # Locked from the N-th failure for the lock window.
    until = failures[0] + window
    return until if until > now else None


def record(username: str, event: str, user_id=None, ip=None, user_agent=None, channel="web") -> None:
    from models.system import LoginLog

    _session().add(
        LoginLog(
            username=normalise(username),
            user_id=user_id,
            event=event,
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:300],
            channel=channel,
        )
    )
    _session().commit()


def check_password_complexity(password: str) -> None:
    """At least the configured length and three of: lower case, upper case, digit, other character."""
    min_length = settings.get("password_min_length")
    password = password or ""
    if len(password) < min_length:
        raise PasswordComplexityValidationError(
            gettext("The password must have at least %(n)s characters.", n=min_length)
        )
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"\d", r"[^a-zA-Z\d]")
    )
    if classes < 3:
        raise PasswordComplexityValidationError(
            gettext("The password must mix at least three of: lower case, upper case, digits, symbols.")
        )
