"""Formatters that show names instead of stored codes (dictionary codes, states, table names).

Used in list and detail screens and in their Excel exports alike.
"""
from flask import g, has_request_context
from flask_babel import lazy_gettext as _l


def dict_label(type_code: str):
    """Formatter: a dictionary code shown as its name (looked up once per request)."""

    def format_code(code):
        if not code:
            return ""
        names = _cached(("dict", type_code), lambda: dict(_dict_choices(type_code)))
        return names.get(code, code)

    return format_code


def choice_label(choices: dict):
    """Formatter: a fixed enumeration value shown as its translated label."""

    def format_choice(value):
        label = choices.get(value)
        return str(label) if label is not None else (value or "")

    return format_choice


def table_label(table_name):
    """An audited table's screen title with its table name, which the log's filter takes
    (the titles are derived from the registered screens)."""
    from app.extensions import appbuilder

    def build():
        titles = {"ab_user": str(_l("User")), "ab_role": str(_l("Role"))}
        for view in appbuilder.baseviews:
            datamodel = getattr(view, "datamodel", None)
            model = getattr(datamodel, "obj", None)
            title = getattr(view, "list_title", None)
            if model is not None and title and hasattr(model, "__tablename__"):
                titles.setdefault(model.__tablename__, str(title))
        return titles

    title = _cached(("tables",), build).get(table_name)
    return f"{title} ({table_name})" if title else table_name


def _dict_choices(type_code):
    from app.services.reference import dict_choices

    return dict_choices(type_code)


def _cached(key, build):
    if not has_request_context():
        return build()
    cache = g.setdefault("_label_cache", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


YES_NO = {True: _l("Yes"), False: _l("No")}
OPERATIONS = {"insert": _l("Insert"), "update": _l("Update"), "delete": _l("Delete")}
LOGIN_EVENTS = {"login": _l("Login"), "logout": _l("Logout"), "failed": _l("Failed login"),
                "locked": _l("Locked out"), "timeout": _l("Session timed out")}
CHANNELS = {"web": _l("Web"), "api": _l("API"), "cli": _l("Command line")}
RUN_STATES = {"pending": _l("Pending"), "running": _l("Running"), "done": _l("Done"), "success": _l("Success"),
              "failed": _l("Failed")}
