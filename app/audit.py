"""Operation log (SYS-5): every insert/update/delete of an audited table, recorded in the same transaction.

Who acts is held in a context variable: set per request from the logged-in user, by the CLI as
'system', by Celery tasks from the job's user. Services never need to pass it around.
"""
import contextvars
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session

_actor = contextvars.ContextVar("actor", default=(None, "system"))

# Bookkeeping columns, not business changes (a login's counters are in the login log).
SKIP_FIELDS = {"password", "created_at", "updated_at", "created_by_id", "updated_by_id",
               "created_on", "changed_on", "created_by_fk", "changed_by_fk",
               "login_count", "fail_login_count", "last_login"}


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
    changes.update(_collection_changes(state, action))
    return changes


def _keys(objects) -> list:
    return sorted(_record_id(o) for o in objects)


def _collection_changes(state, action):
    """Many-to-many links (an employee's approval posts) as the sorted ids of the linked rows.

    Only the attribute history is read (nothing is loaded during the flush): a collection that was never
    loaded did not change.
    """
    changes = {}
    for rel in state.mapper.relationships:
        if rel.secondary is None or not rel.uselist or rel.viewonly:
            continue
        hist = state.attrs[rel.key].history
        if action == "insert":
            if hist.added:
                changes[rel.key] = [None, _keys(hist.added)]
        elif action == "delete":
            linked = list(hist.unchanged) + list(hist.deleted)
            if linked:
                changes[rel.key] = [_keys(linked), None]
        elif hist.has_changes():
            old, new = _keys(list(hist.unchanged) + list(hist.deleted)), _keys(list(hist.unchanged) + list(hist.added))
            if old != new:
                changes[rel.key] = [old, new]
    return changes


def _keep_old_value(target, value, oldvalue, initiator):
    return value


@event.listens_for(Mapper, "mapper_configured")
def _load_old_values(mapper, class_):
    """Audited columns load their old value before a change (active history), so a row changed after its
    attributes expired (after a commit) is still logged as old → new, not None → new."""
    if not getattr(class_, "__audited__", False):
        return
    for prop in mapper.column_attrs:
        if prop.key not in SKIP_FIELDS:
            event.listen(getattr(class_, prop.key), "set", _keep_old_value, active_history=True)


def _record_id(obj):
    identity = inspect(obj).identity
    if identity:
        return ",".join(str(v) for v in identity)
    pk = inspect(obj).mapper.primary_key
    return ",".join(str(getattr(obj, c.key)) for c in pk)


@event.listens_for(Session, "before_flush")
def _stamp(session, flush_context, instances):
    """Fill who created / changed a row before it is written."""
    user_id, _ = _actor.get()
    for obj in session.new:
        if _is_audited(obj):
            if hasattr(obj, "created_by_id") and obj.created_by_id is None:
                obj.created_by_id = user_id
            if hasattr(obj, "owner_id") and getattr(obj, "owner_id", None) is None:
                obj.owner_id = user_id
    for obj in session.dirty:
        if _is_audited(obj) and session.is_modified(obj, include_collections=False):
            if hasattr(obj, "updated_by_id"):
                obj.updated_by_id = user_id


@event.listens_for(Session, "after_flush")
def _write_log(session, flush_context):
    """Log what the flush wrote. In after_flush the session still lists the flushed objects as
    new/dirty/deleted and their attribute history is intact; unlike in before_flush, the foreign keys
    set through relationships (a department's parent, a customer's manager) and the new primary keys
    are known, so a change made through a relationship field is logged as its column."""
    from models.system import OperationLog

    pending = [(obj, "insert") for obj in session.new if _is_audited(obj)]
    pending += [(obj, "update") for obj in session.dirty if _is_audited(obj)]
    pending += [(obj, "delete") for obj in session.deleted if _is_audited(obj)]
    if not pending:
        return
    user_id, username = _actor.get()
    now = datetime.now()
    rows = []
    for obj, action in pending:
        changes = _column_changes(obj, action)
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
