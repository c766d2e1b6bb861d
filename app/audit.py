"""Operation log (SYS-5): every insert/update/delete of an audited table, recorded in the same transaction.

Who acts is held in a context variable: set per request from the logged-in user, by the CLI as
'system', by Celery tasks from the job's user. Services never need to pass it around.
"""
import contextvars
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

_actor = contextvars.ContextVar("actor", default=(None, "system"))

SKIP_FIELDS = {"password", "created_at", "updated_at", "created_by_id", "updated_by_id"}


def set_actor(user_id, username):
    return _actor.set((user_id, username))


def reset_actor(token):
    _actor.reset(token)


def current_actor():
    return _actor.get()


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def _is_audited(obj) -> bool:
    return getattr(obj, "__audited__", False)


def _column_changes(obj, action):
    state = inspect(obj)
    changes = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SKIP_FIELDS:
            continue
        hist = state.attrs[key].history
        if action == "insert":
            value = getattr(obj, key)
            if value is not None:
                changes[key] = [None, _plain(value)]
        elif action == "delete":
            value = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            if value is not None:
                changes[key] = [_plain(value), None]
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if _plain(old) != _plain(new):
                changes[key] = [_plain(old), _plain(new)]
    return changes


def _record_id(obj):
    identity = inspect(obj).identity
    if identity:
        return ",".join(str(v) for v in identity)
    pk = inspect(obj).mapper.primary_key
    return ",".join(str(getattr(obj, c.key)) for c in pk)


@event.listens_for(Session, "before_flush")
def _stamp_and_collect(session, flush_context, instances):
    user_id, _ = _actor.get()
    pending = session.info.setdefault("audit_pending", [])
    for obj in session.new:
        if _is_audited(obj):
            if hasattr(obj, "created_by_id") and obj.created_by_id is None:
                obj.created_by_id = user_id
            if hasattr(obj, "owner_id") and getattr(obj, "owner_id", None) is None:
                obj.owner_id = user_id
            pending.append((obj, "insert", None))
    for obj in session.dirty:
        if _is_audited(obj) and session.is_modified(obj, include_collections=False):
            if hasattr(obj, "updated_by_id"):
                obj.updated_by_id = user_id
            pending.append((obj, "update", _column_changes(obj, "update")))
    for obj in session.deleted:
        if _is_audited(obj):
            pending.append((obj, "delete", _column_changes(obj, "delete")))


@event.listens_for(Session, "after_flush")
def _write_log(session, flush_context):
    pending = session.info.pop("audit_pending", [])
    if not pending:
        return
    from models.system import OperationLog

    user_id, username = _actor.get()
    now = datetime.now()
    rows = []
    for obj, action, changes in pending:
        if action == "insert":
            changes = _column_changes(obj, "insert")  # ids are known only after the flush
        if action == "update" and not changes:
            continue
        rows.append(
            {
                "at": now,
                "user_id": user_id,
                "username": username,
                "action": action,
                "table_name": obj.__tablename__,
                "record_id": _record_id(obj),
                "changes": json.dumps(changes, ensure_ascii=False),
            }
        )
    if rows:
        session.execute(OperationLog.__table__.insert(), rows)
