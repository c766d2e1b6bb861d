"""Personal settings (WB-6): the user's own password (current password, then the complexity policy of
app/services/login_policy.py) and rows per page of the lists. Work delegation is the approval engine's
(app/services/approval.py `delegate`, screen 工作托管)."""
from __future__ import annotations

from flask import current_app, g, has_request_context
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import ValidationError
from models.office import UserPreference

ROWS_CHOICES = (10, 20, 30, 50, 100)


def _session():
    from app.extensions import db

    return db.session


def change_password(user, current: str, new: str, repeat: str) -> None:
    """Change the user's own password (caller commits). The current password must be right, the new one must
    differ from it, be typed twice alike and meet the complexity policy."""
    from app.services.login_policy import check_password_complexity

    if not current or not user.password or not check_password_hash(user.password, current):
        raise ValidationError(gettext("The current password is not right."), "current_password")
    if new != repeat:
        raise ValidationError(gettext("The two new passwords differ."), "repeat_password")
    if new == current:
        raise ValidationError(gettext("The new password must differ from the current one."), "new_password")
    try:
        check_password_complexity(new)
    except PasswordComplexityValidationError as ex:
        raise ValidationError(str(ex), "new_password") from None
    user.password = generate_password_hash(new, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"))


def _pref(user_id: int) -> UserPreference | None:
    return _session().execute(select(UserPreference).where(UserPreference.user_id == user_id)).scalar()


def rows_per_page(user_id: int | None, default: int = 20) -> int:
    """The user's rows per page (cached for the request), else `default`."""
    if not user_id:
        return default
    cache = g.__dict__.setdefault("_oa_rows", {}) if has_request_context() else {}
    if user_id not in cache:
        pref = _pref(user_id)
        cache[user_id] = pref.rows_per_page if pref is not None else None
    return cache[user_id] or default


def set_rows_per_page(user_id: int, value) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = None
    if value not in ROWS_CHOICES:
        raise ValidationError(gettext("Choose one of: %(choices)s.", choices=", ".join(map(str, ROWS_CHOICES))),
                              "rows_per_page")
    pref = _pref(user_id)
    if pref is None:
        pref = UserPreference(user_id=user_id)
        _session().add(pref)
    pref.rows_per_page = value
    if has_request_context():
        g.__dict__.pop("_oa_rows", None)
    return value
