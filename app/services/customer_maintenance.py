"""Customer maintenance (CUS-8): transfer customers between account managers (移交) and merge duplicates (合并).

Merge is generic: every table with a foreign key to cus_customer.id is found in the SQLAlchemy metadata at
run time, so the sub-records and business records of modules written later move without code changes.
Modules may register:

* ``@business_in_progress`` checks ``fn(customer) -> str | None`` (a reason, e.g. "guarantee BH2026001 in
  force"): a merge is refused when both customers have business in progress;
* ``@merge_handler("table")`` functions ``fn(session, survivor_id, duplicate_id) -> (moved, dropped_rows)``
  for a table whose rows need more than re-pointing (the relations: symmetric pairs and self-links).

Rows of the duplicate that would clash with a unique key of the survivor's (the same watch-list entry, the
same statement period) are dropped, the survivor's kept; every dropped row is kept as JSON in the merge
record, so nothing is lost. The duplicate customer is then deleted (its full row is in the operation log and
its code, name and identity in the merge record): a kept "merged" row would still hold the identity number
that the survivor needs to be unique, and every list and search would have to skip it.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import delete, literal, select, update

from app.errors import Conflict, NotFound, ValidationError
from models.customer_relations import SYMMETRIC_KINDS, CustomerMerge, CustomerRelation, CustomerTransfer
from models.customers import Customer

CUSTOMER_TABLE = "cus_customer"

# --- registries -----------------------------------------------------------------------------------------

_BUSINESS_CHECKS: list[Callable] = []
_MERGE_HANDLERS: dict[str, Callable] = {}


def business_in_progress(fn: Callable) -> Callable:
    """Register a check fn(customer) -> reason or None (decorator)."""
    if fn not in _BUSINESS_CHECKS:
        _BUSINESS_CHECKS.append(fn)
    return fn


def unregister_business_check(fn: Callable) -> None:
    if fn in _BUSINESS_CHECKS:
        _BUSINESS_CHECKS.remove(fn)


def business_reasons(customer) -> list[str]:
    return [reason for check in _BUSINESS_CHECKS if (reason := check(customer))]


def merge_handler(table_name: str):
    def register(fn):
        _MERGE_HANDLERS[table_name] = fn
        return fn

    return register


def _session():
    from app.extensions import db

    return db.session


def _ensure_visible(obj):
    """The data scope (app/services/data_scope.py) of the current user: out of scope reads as missing."""
    from app.services.data_scope import ensure_visible

    return ensure_visible(obj)


def _user_name(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username


# --- transfer (移交) ---------------------------------------------------------------------------------------

def transfer_customers(customer_ids, to_manager_id, reason: str) -> list[CustomerTransfer]:
    """Hand customers to another account manager: manager, owner and department (the new manager's) change,
    one history row per customer; all or nothing. The caller commits."""
    from app.audit import current_actor
    from app.services import business_date
    from flask_appbuilder.security.sqla.models import User
    from models.system import Employee

    session = _session()
    reason = (reason or "").strip()
    ids = sorted({int(i) for i in customer_ids or []})
    if not ids:
        raise ValidationError(gettext("Choose at least one customer."), "customers")
    if not reason:
        raise ValidationError(gettext("Give the reason for the transfer."), "reason")
    manager = session.get(User, int(to_manager_id)) if to_manager_id else None
    if manager is None or not manager.active:
        raise ValidationError(gettext("Choose an active user as the new account manager."), "to_manager")
    employee = session.execute(select(Employee).where(Employee.user_id == manager.id)).scalar()
    if employee is None or not employee.active:
        raise ValidationError(gettext("The new account manager must be an active employee (with a department)."),
                              "to_manager")
    # lock the rows: two transfers of the same customer at once give one result, not two histories
    customers = list(session.execute(
        select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update()).scalars())
    if len(customers) != len(ids):
        raise NotFound(gettext("The page or record does not exist."))
    for customer in customers:
        _ensure_visible(customer)
        if customer.manager_id == manager.id:
            raise ValidationError(
                gettext("%(name)s is already managed by %(manager)s.", name=customer.name,
                        manager=_user_name(manager)), "to_manager")
    user_id, _ = current_actor()
    today = business_date.today()
    history = []
    for customer in customers:
        row = CustomerTransfer(customer=customer, from_manager_id=customer.manager_id, to_manager_id=manager.id,
                               from_department_id=customer.department_id, to_department_id=employee.department_id,
                               reason=reason, business_date=today, transferred_by_id=user_id,
                               transferred_at=datetime.now())
        customer.manager_id = manager.id
        customer.owner_id = manager.id
        customer.department_id = employee.department_id
        session.add(row)
        history.append(row)
    session.flush()  # the customer updates and the history rows go to the operation log here
    return history


# --- merge (合并) ------------------------------------------------------------------------------------------

@dataclass
class MergeResult:
    merge: CustomerMerge
    moved: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows re-pointed
    dropped: dict[str, int] = field(default_factory=dict)  # table -> rows dropped (clash with the survivor's)


def customer_references(metadata=None) -> list[tuple]:
    """(table, column) of every foreign key to cus_customer.id in the metadata (all registered models)."""
    from flask_appbuilder import Model

    metadata = metadata or Model.metadata
    refs = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == CUSTOMER_TABLE and fk.column.name == "id":
                refs.append((table, fk.parent))
    return refs


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _unique_keys(table):
    """(columns, where text or None) of every unique constraint and unique index of `table`."""
    from sqlalchemy import UniqueConstraint

    keys = []
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            keys.append((list(constraint.columns), None))
    for index in table.indexes:
        if index.unique:
            where = None
            for dialect in ("postgresql", "sqlite"):
                option = index.dialect_options[dialect].get("where")
                if option is not None:
                    where = (where or {}) | {dialect: option}
            keys.append((list(index.columns), where))
    for column in table.columns:
        if column.unique:
            keys.append(([column], None))
    return keys


def _clashing_rows(session, table, column, survivor_id, duplicate_id) -> set:
    """Primary keys of the duplicate's rows in `table` that, re-pointed to the survivor, would repeat a unique
    key the survivor already has. Partial unique indexes (… WHERE active) count only their rows."""
    pk = list(table.primary_key.columns)
    if len(pk) != 1:
        return set()
    pk = pk[0]
    dialect = session.get_bind().dialect.name
    clashing = set()
    for columns, where in _unique_keys(table):
        if column not in columns:
            continue
        others = [c for c in columns if c is not column]
        predicate = where.get(dialect) if where else None
        if where and predicate is None:
            continue

        def rows(owner_id, with_pk):
            keys = others or [literal(1)]  # a key of the customer column alone: one row per customer
            stmt = select(*([pk] if with_pk else []), *keys).where(column == owner_id)
            if predicate is not None:
                stmt = stmt.where(predicate)
            return session.execute(stmt).all()

        survivor_keys = {tuple(r) for r in rows(survivor_id, False) if None not in tuple(r)}
        for row in rows(duplicate_id, True):
            key = tuple(row[1:])
            if None not in key and key in survivor_keys:
                clashing.add(row[0])
    return clashing


def _lock_customers(session, ids):
    rows = session.execute(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)
                           .with_for_update()).scalars().all()
    return {c.id: c for c in rows}


def check_merge(survivor: Customer, duplicate: Customer) -> None:
    if survivor.id == duplicate.id:
        raise ValidationError(gettext("Choose two different customers."), "duplicate")
    if survivor.kind != duplicate.kind:
        raise ValidationError(gettext("Only customers of the same kind can be merged."), "duplicate")
    survivor_business, duplicate_business = business_reasons(survivor), business_reasons(duplicate)
    if survivor_business and duplicate_business:
        raise Conflict(gettext(
            "Both customers have business in progress (%(survivor)s: %(a)s; %(duplicate)s: %(b)s); "
            "finish or transfer one side's business first.", survivor=survivor.name, a="; ".join(survivor_business),
            duplicate=duplicate.name, b="; ".join(duplicate_business)))


def merge_customers(survivor_id: int, duplicate_id: int, reason: str) -> MergeResult:
    """Move every record of the duplicate to the survivor and delete the duplicate, in the caller's
    transaction (the caller commits; on any error it rolls back and nothing has changed)."""
    from app.audit import current_actor
    from app.services import business_date
    from models.system import OperationLog

    session = _session()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(gettext("Give the reason for the merge."), "reason")
    try:
        survivor_id, duplicate_id = int(survivor_id), int(duplicate_id)
    except (TypeError, ValueError):
        raise ValidationError(gettext("Choose two different customers."), "duplicate") from None
    if survivor_id == duplicate_id:
        raise ValidationError(gettext("Choose two different customers."), "duplicate")
    session.flush()
    locked = _lock_customers(session, [survivor_id, duplicate_id])
    survivor, duplicate = locked.get(survivor_id), locked.get(duplicate_id)
    if survivor is None or duplicate is None:
        raise NotFound(gettext("The page or record does not exist."))
    _ensure_visible(survivor)
    _ensure_visible(duplicate)
    check_merge(survivor, duplicate)

    snapshot = {"code": duplicate.code, "name": duplicate.name, "id_number": duplicate.id_number}
    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}
    dropped_rows: dict[str, list] = {}
    refs = customer_references()
    handled = set()
    for table_name, handler in _MERGE_HANDLERS.items():
        if any(t.name == table_name for t, _ in refs):
            count, gone = handler(session, survivor_id, duplicate_id)
            handled.add(table_name)
            if count:
                moved[table_name] = count
            if gone:
                dropped[table_name] = len(gone)
                dropped_rows[table_name] = gone
    for table, column in refs:
        if table.name in handled or table.name == CUSTOMER_TABLE:
            continue
        clashing = _clashing_rows(session, table, column, survivor_id, duplicate_id)
        if clashing:
            pk = list(table.primary_key.columns)[0]
            gone = [{k: _plain(v) for k, v in row._mapping.items()}
                    for row in session.execute(select(table).where(pk.in_(clashing)))]
            session.execute(delete(table).where(pk.in_(clashing)))
            dropped[table.name] = dropped.get(table.name, 0) + len(gone)
            dropped_rows.setdefault(table.name, []).extend(gone)
        result = session.execute(update(table).where(column == duplicate_id).values({column.name: survivor_id}))
        if result.rowcount:
            moved[f"{table.name}.{column.name}"] = result.rowcount
    # customer columns pointing at themselves (none today): a later "merged into" pointer would move above

    user_id, username = current_actor()
    details = {"moved": moved, "dropped": dropped_rows}
    merge = CustomerMerge(customer=survivor, duplicate_id=duplicate_id, duplicate_code=snapshot["code"],
                          duplicate_name=snapshot["name"], duplicate_id_number=snapshot["id_number"], reason=reason,
                          rows_moved=sum(moved.values()), rows_dropped=sum(dropped.values()),
                          details=json.dumps(details, ensure_ascii=False, default=str),
                          business_date=business_date.today(), merged_by_id=user_id, merged_at=datetime.now())
    session.add(merge)
    # The Core updates above bypassed the ORM: forget what it holds about the moved rows, then delete the
    # duplicate through the ORM (its full row goes to the operation log; nothing is left to cascade).
    session.flush()
    session.expire_all()
    session.delete(session.get(Customer, duplicate_id))
    session.flush()
    session.execute(OperationLog.__table__.insert(), [{
        "at": datetime.now(), "user_id": user_id, "username": username, "action": "update",
        "table_name": CUSTOMER_TABLE, "record_id": str(survivor_id),
        "changes": json.dumps({"merged_from": [f"{snapshot['name']} ({snapshot['code']}, id {duplicate_id})", None],
                               "rows_moved": [None, moved], "rows_dropped": [None, dropped]},
                              ensure_ascii=False, default=str),
    }])
    return MergeResult(merge=merge, moved=moved, dropped=dropped)


@merge_handler(CustomerRelation.__tablename__)
def _merge_relations(session, survivor_id: int, duplicate_id: int):
    """Relations of the duplicate move to the survivor; a relation between the two (it would become a
    self-link) and one the survivor already has are dropped; symmetric pairs are stored smaller id first."""
    r = CustomerRelation.__table__
    rows = session.execute(select(r).where((r.c.customer_id == duplicate_id) | (r.c.related_id == duplicate_id))
                           .order_by(r.c.id)).all()
    existing = {(a, b, k) for a, b, k in session.execute(
        select(r.c.customer_id, r.c.related_id, r.c.kind).where(
            (r.c.customer_id == survivor_id) | (r.c.related_id == survivor_id)))}
    moved, gone = 0, []
    for row in rows:
        a = survivor_id if row.customer_id == duplicate_id else row.customer_id
        b = survivor_id if row.related_id == duplicate_id else row.related_id
        if row.kind in SYMMETRIC_KINDS and a > b:
            a, b = b, a
        if a == b or (a, b, row.kind) in existing:
            gone.append({k: _plain(v) for k, v in row._mapping.items()})
            session.execute(delete(r).where(r.c.id == row.id))
            continue
        session.execute(update(r).where(r.c.id == row.id).values(customer_id=a, related_id=b))
        existing.add((a, b, row.kind))
        moved += 1
    return moved, gone

