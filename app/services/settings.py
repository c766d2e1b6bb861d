"""System parameters (SYS-1, SYS-4, SYS-8): the catalogue of keys, their types, defaults and checks.

Values live in sys_setting; this module is the one place that reads and validates them, so the
settings screen, the REST API and the CLI meet the same rules.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationError


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: object
    kind: str  # int | str | date | bool
    default: str
    min: int | None = None
    max: int | None = None


SETTINGS = {
    s.key: s
    for s in [
        SettingDef("login_max_failures", _l("Failed logins before lockout"), "int", "5", 1, 100),
        SettingDef("login_lock_minutes", _l("Lockout duration (minutes)"), "int", "15", 1, 1440),
        SettingDef("session_timeout_minutes", _l("Session idle timeout (minutes)"), "int", "30", 1, 1440),
        SettingDef("password_min_length", _l("Minimum password length"), "int", "8", 6, 64),
        SettingDef("business_date", _l("Business date"), "date", ""),
    ]
}


def _session():
    from app.extensions import db

    return db.session


def parse(key: str, raw: str):
    """Turn the stored text into its typed value, or raise ValidationError with a translated message."""
    spec = SETTINGS.get(key)
    if spec is None:
        raise ValidationError(gettext("Unknown setting: %(key)s", key=key), "key")
    raw = (raw or "").strip()
    if spec.kind == "int":
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError(gettext("%(label)s must be a whole number.", label=spec.label), "value")
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            raise ValidationError(
                gettext("%(label)s must be between %(min)s and %(max)s.", label=spec.label, min=spec.min, max=spec.max),
                "value",
            )
        return value
    if spec.kind == "date":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(gettext("%(label)s must be a date like 2026-01-31.", label=spec.label), "value")
    if spec.kind == "bool":
        if raw not in ("0", "1"):
            raise ValidationError(gettext("%(label)s must be 0 or 1.", label=spec.label), "value")
        return raw == "1"
    return raw


def get(key: str):
    from models.system import SystemSetting

    raw = _session().execute(select(SystemSetting.value).where(SystemSetting.key == key)).scalar()
    if raw is None or raw == "":
        raw = SETTINGS[key].default
        if raw == "":
            return None
    return parse(key, raw)


def set_value(key: str, value) -> None:
    """Validate and store a setting (caller commits)."""
    from models.system import SystemSetting

    raw = value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, bool):
        raw = "1" if value else "0"
    parse(key, raw)
    row = _session().execute(select(SystemSetting).where(SystemSetting.key == key)).scalar()
    if row is None:
        _session().add(SystemSetting(key=key, value=raw))
    else:
        row.value = raw


def ensure_defaults() -> None:
    """Reference data: every known key has a row (idempotent)."""
    from models.system import SystemSetting

    existing = set(_session().execute(select(SystemSetting.key)).scalars())
    for spec in SETTINGS.values():
        if spec.key not in existing:
            default = spec.default or (date.today().isoformat() if spec.kind == "date" else "")
            _session().add(SystemSetting(key=spec.key, value=default))


def label(key: str):
    spec = SETTINGS.get(key)
    return spec.label if spec else key
