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
    kind: str  # int | str | date | bool | decimal
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
        SettingDef("ledger_cashier_sign_required", _l("Vouchers moving cash or bank money need the cashier's signature"
                                                      " before posting (1 yes, 0 no)"), "bool", "1"),
        # Customers' financial statements (app/services/statements.py): largest accepted difference, in yuan
        SettingDef("statement_balance_tolerance", _l("Financial statement balance tolerance (yuan)"), "decimal",
                   "1.00", 0, 1000000),
        # General ledger month-end (app/services/ledger_close.py); rates as fractions (0.5 = 50%)
        SettingDef("gl_unearned_reserve_rate", _l("Unearned guarantee reserve rate (of fee income)"), "decimal",
                   "0.5", 0, 1),
        SettingDef("gl_compensation_reserve_rate", _l("Compensation reserve rate (of guarantee balance)"),
                   "decimal", "0.01", 0, 1),
        # The company's account that business money goes through when an event names none (fee receipts, ...):
        # bank accounts are an auxiliary of 1002, so a voucher line on it needs one.
        SettingDef("gl_default_bank_account", _l("Company bank account for business money (when an event names"
                                                 " none)"), "str", ""),
        SettingDef("gl_guarantee_balance_account", _l("Guarantee balance account (off-balance memo)"), "str", ""),
        SettingDef("gl_guarantee_balance", _l("Guarantee balance (when no account is named; 0: the guarantees in "
                                              "force)"), "decimal", "0", 0, 10**15),
        # Customer attachments (app/services/attachments.py): size limit and accepted file types
        SettingDef("attachment_max_mb", _l("Largest attachment (MB)"), "int", "20", 1, 30),
        SettingDef("attachment_allowed_types", _l("Accepted attachment types"), "str",
                   "jpg,png,gif,pdf,docx,xlsx,mp3,wav,mp4"),
        # Regulatory checks of guarantee applications (app/services/compliance.py, BIZ-15); ratios as fractions
        SettingDef("compliance_net_assets", _l("Company net assets for the regulatory checks (yuan)"), "decimal",
                   "200000000.00", 0, 10**15),
        SettingDef("compliance_net_assets_from_ledger", _l("Take net assets from the owners' equity of the latest"
                                                           " closed ledger period (1 yes, 0 no)"), "bool", "0"),
        SettingDef("compliance_single_customer_ratio", _l("Single customer's guarantees, at most this share of net"
                                                          " assets"), "decimal", "0.10", 0, 1),
        SettingDef("compliance_related_group_ratio", _l("A customer and its related parties, at most this share of"
                                                        " net assets"), "decimal", "0.15", 0, 1),
        SettingDef("compliance_leverage_multiple", _l("Total guarantee liability, at most this multiple of net"
                                                      " assets"), "decimal", "10", 1, 15),
        SettingDef("compliance_stop_single_customer", _l("Single-customer concentration check stops the application"
                                                         " (1 hard stop, 0 warning)"), "bool", "1"),
        SettingDef("compliance_stop_related_group", _l("Related-party concentration check stops the application"
                                                       " (1 hard stop, 0 warning)"), "bool", "1"),
        SettingDef("compliance_stop_leverage", _l("Leverage check stops the application (1 hard stop, 0 warning)"),
                   "bool", "1"),
        SettingDef("compliance_stop_bank_line", _l("Bank line check stops the application (1 hard stop,"
                                                   " 0 warning)"), "bool", "1"),
        SettingDef("compliance_stop_blacklist", _l("Blacklist check stops the application (1 hard stop,"
                                                   " 0 warning)"), "bool", "1"),
        SettingDef("compliance_stop_credit_limit", _l("Credit limit check stops the application (1 hard stop,"
                                                      " 0 warning)"), "bool", "1"),
    ]
}

# Further checks of a text setting, registered by the service that owns it: key -> check(raw) raising
# ValidationError (e.g. attachment_allowed_types names only known file types).
CHECKS: dict = {}


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
    if spec.kind == "decimal":
        from decimal import Decimal, InvalidOperation

        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValidationError(gettext("%(label)s must be a number.", label=spec.label), "value")
        if not value.is_finite() or (spec.min is not None and value < spec.min) or (
                spec.max is not None and value > spec.max):
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
    if key in CHECKS:
        CHECKS[key](raw)
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
