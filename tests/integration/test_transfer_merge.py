"""CUS-8 customer transfer (移交) and merge (合并).

The merge test builds one row in EVERY table with a foreign key to cus_customer.id that the metadata holds
when it runs (the sub-records of issue 3 and whatever later issues add), so a new table that the generic
merge would lose fails here."""
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app import permissions as P
from app.errors import Conflict, ValidationError
from tests.conftest import TEST_PASSWORD, unique
from tests.integration.datalayer import assert_no_driver_text


@pytest.fixture(scope="module")
def org(app):
    """Two departments with an account manager each, and an administrator-made role for the checks."""
    from app.extensions import db
    from models.system import Department, Employee

    tag = unique("tm")
    with app.app_context():
        sm = app.appbuilder.sm
        depts = {}
        for key in ("one", "two"):
            d = Department(code=f"{tag}-{key}", name=f"{tag}部门{key}")
            db.session.add(d)
            db.session.flush()
            depts[key] = d.id
        users = {}
        for key in ("one", "two"):
            username = f"{tag}-{key}"
            user = sm.add_user(username, "移交", key, f"{username}@test.local",
                               [sm.find_role(P.ACCOUNT_MANAGER)], TEST_PASSWORD)
            db.session.add(Employee(code=username, name=f"{tag}经理{key}", department_id=depts[key], user_id=user.id))
            users[key] = user.id
        db.session.commit()
        return {"tag": tag, "departments": depts, "users": users}


def _new_customer(app, org, kind="individual", manager="one", name=None):
    from app.extensions import db
    from models.customers import Customer

    n = unique("c")
    with app.app_context():
        c = Customer(code=n.upper(), kind=kind, name=name or f"{org['tag']}客户{n}", id_type="PASSPORT",
                     id_number=n.upper(), direct="direct", manager_id=org["users"][manager],
                     owner_id=org["users"][manager], department_id=org["departments"][manager])
        db.session.add(c)
        db.session.commit()
        return c.id


def _get(app, model, pk):
    from app.extensions import db

    with app.app_context():
        obj = db.session.get(model, pk)
        if obj is not None:
            db.session.expunge(obj)
        return obj


# --- transfer --------------------------------------------------------------------------------------------

def test_transfer_changes_manager_owner_department_with_history_and_log(app, org, admin_web):
    from app.extensions import db
    from models.customer_relations import CustomerTransfer
    from models.customers import Customer
    from models.system import OperationLog

    ids = [_new_customer(app, org), _new_customer(app, org, kind="corporate")]
    with app.app_context():
        since = db.session.execute(select(func.max(OperationLog.id))).scalar() or 0
    page = admin_web.get(f"/customertransferview/run/?ids={ids[0]},{ids[1]}")
    assert page.status_code == 200 and f"{org['tag']}经理two" in page.get_data(as_text=True)

    refused = admin_web.post_form("/customertransferview/run/", {"ids": f"{ids[0]},{ids[1]}",
                                                                "to_manager": org["users"]["two"], "reason": ""},
                                  form_page="/customertransferview/run/")
    assert refused.status_code == 200
    assert_no_driver_text(refused.get_data(as_text=True))
    assert _get(app, Customer, ids[0]).manager_id == org["users"]["one"]

    done = admin_web.post_form("/customertransferview/run/", {"ids": f"{ids[0]},{ids[1]}",
                                                             "to_manager": org["users"]["two"], "reason": "客户经理离职"},
                               form_page="/customertransferview/run/")
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    for pk in ids:
        c = _get(app, Customer, pk)
        assert (c.manager_id, c.owner_id, c.department_id) == (org["users"]["two"], org["users"]["two"],
                                                               org["departments"]["two"])
    with app.app_context():
        history = db.session.execute(select(CustomerTransfer).where(CustomerTransfer.customer_id.in_(ids))).scalars().all()
        assert len(history) == 2
        for h in history:
            assert (h.from_manager_id, h.to_manager_id) == (org["users"]["one"], org["users"]["two"])
            assert (h.from_department_id, h.to_department_id) == (org["departments"]["one"], org["departments"]["two"])
            assert h.reason == "客户经理离职" and h.transferred_by_id is not None and h.business_date
        logs = db.session.execute(select(OperationLog).where(OperationLog.id > since)).scalars().all()
        updates = [json.loads(log.changes) for log in logs
                   if log.table_name == "cus_customer" and log.action == "update" and log.record_id == str(ids[0])]
        assert updates and updates[0]["manager_id"] == [org["users"]["one"], org["users"]["two"]]
        assert any(log.table_name == "cus_transfer" and log.action == "insert" for log in logs)
    # shown on the 360 page; the same transfer again is refused (already his)
    assert "客户经理离职" in admin_web.get(f"/customer360/{ids[0]}").get_data(as_text=True)
    again = admin_web.post_form("/customertransferview/run/", {"ids": str(ids[0]), "to_manager": org["users"]["two"],
                                                              "reason": "再次"}, form_page="/customertransferview/run/")
    assert again.status_code == 200


def test_transfer_needs_the_run_permission(app, org, login_as):
    pk = _new_customer(app, org)
    manager = login_as(P.ACCOUNT_MANAGER)
    response = manager.get(f"/customertransferview/run/?ids={pk}")
    assert response.status_code in (302, 403)
    listing = manager.get("/customerview/list/").get_data(as_text=True)
    assert "transfer_customers" not in listing and "merge_customers" not in listing


def test_transfer_service_refuses_bad_input(app, org):
    from app.extensions import db
    from app.services.customer_maintenance import transfer_customers

    pk = _new_customer(app, org)
    with app.app_context():
        with pytest.raises(ValidationError):
            transfer_customers([], org["users"]["two"], "x")
        with pytest.raises(ValidationError) as err:
            transfer_customers([pk], None, "x")
        assert err.value.field == "to_manager"
        admin_id = app.appbuilder.sm.find_user(username="t_0").id  # no employee record: no department
        with pytest.raises(ValidationError):
            transfer_customers([pk], admin_id, "x")
        db.session.rollback()


# --- merge -----------------------------------------------------------------------------------------------

class RowFactory:
    """One valid row for any table (Core insert): NOT NULL columns get a value of their type, foreign keys a
    real row of the referenced table (made the same way), customer references the given customers."""

    def __init__(self, session, customers, user_id):
        self.session, self.customers, self.user_id = session, customers, user_id
        self.made: dict[str, object] = {}
        self.n = 0

    def value(self, column):
        self.n += 1
        t = column.type
        if isinstance(t, sa.Boolean):
            return True
        if isinstance(t, (sa.Integer, sa.BigInteger, sa.SmallInteger)):
            return 1
        if isinstance(t, sa.Numeric):
            return Decimal("1")
        if isinstance(t, sa.DateTime):
            return datetime(2026, 1, 1, 9, 0)
        if isinstance(t, sa.Date):
            return date(2026, 1, 1)
        if isinstance(t, (sa.LargeBinary,)):
            return b"x"
        length = getattr(t, "length", None) or 20
        return f"m{self.n}{unique('')}"[:length]

    def row(self, table, customer_columns=None):
        values = {}
        customer_columns = customer_columns or {}
        for column in table.columns:
            if column.primary_key and column.autoincrement in (True, "auto") and isinstance(column.type, sa.Integer):
                continue
            fks = list(column.foreign_keys)
            if column.name in customer_columns:
                values[column.name] = customer_columns[column.name]
            elif fks:
                target = fks[0].column.table
                if target.name == "ab_user":  # a user of its own where one user may own one row only
                    values[column.name] = self.row(target) if column.unique else self.user_id
                elif not column.nullable:
                    values[column.name] = self.reference(target)
            elif not column.nullable and column.default is None and column.server_default is None:
                values[column.name] = self.value(column)
            elif column.default is not None and getattr(column.default, "is_scalar", False):
                values[column.name] = column.default.arg
            elif column.default is not None and not column.nullable:
                values[column.name] = self.value(column)
        result = self.session.execute(table.insert().values(values))
        return result.inserted_primary_key[0]

    def reference(self, table):
        if table.name == "cus_customer":
            return self.customers["other"]
        if table.name not in self.made:
            self.made[table.name] = self.row(table)
        return self.made[table.name]


@pytest.fixture
def merge_pair(app, org):
    return {"survivor": _new_customer(app, org, name=f"{org['tag']}张三"),
            "duplicate": _new_customer(app, org, manager="two", name=f"{org['tag']}张三(重复)"),
            "other": _new_customer(app, org)}


def test_merge_moves_every_customer_reference(app, org, merge_pair, admin_web):
    from app.extensions import db
    from app.services.customer_maintenance import customer_references
    from app.services import relations
    from models.customer_relations import CustomerMerge
    from models.customer_records import WatchEntry
    from models.customers import Customer
    from models.system import OperationLog

    s, d, other = merge_pair["survivor"], merge_pair["duplicate"], merge_pair["other"]
    created = {}  # (table, column) -> pk of the duplicate's row
    with app.app_context():
        admin_id = app.appbuilder.sm.find_user(username="t_0").id
        since = db.session.execute(select(func.max(OperationLog.id))).scalar() or 0
        factory = RowFactory(db.session, merge_pair, admin_id)
        refs = [(t, c) for t, c in customer_references() if t.name != "cus_customer"]
        assert {"cus_relation", "cus_transfer", "cus_merge"} <= {t.name for t, _ in refs}
        for table, column in refs:
            others = {c.name: other for t, c in refs if t is table and c is not column}
            created[(table.name, column.name)] = factory.row(table, {column.name: d, **others})
        # clashes the merge must settle: a relation between the two, the same watch list on both
        relations.add_relation(s, d, "spouse")
        db.session.add_all([WatchEntry(customer_id=s, list_kind="vip", reason="优质", set_on=date(2026, 1, 1)),
                            WatchEntry(customer_id=d, list_kind="vip", reason="重复的优质", set_on=date(2026, 1, 2))])
        db.session.commit()
        counts_before = {t.name: db.session.execute(select(func.count()).select_from(t)).scalar() for t, _ in refs}

    page = admin_web.get(f"/customermergeview/run/?ids={s},{d}")
    assert page.status_code == 200
    response = admin_web.post_form("/customermergeview/run/", {"survivor": _get(app, Customer, s).code,
                                                              "duplicate": _get(app, Customer, d).code,
                                                              "reason": "重复录入"},
                                   form_page="/customermergeview/run/")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/customer360/{s}")

    with app.app_context():
        assert db.session.get(Customer, d) is None and db.session.get(Customer, s) is not None
        for (table_name, column_name), pk in created.items():
            table = next(t for t, _ in refs if t.name == table_name)
            pk_col = list(table.primary_key.columns)[0]
            row = db.session.execute(select(table).where(pk_col == pk)).first()
            assert row is not None, f"{table_name} row lost"
            assert row._mapping[column_name] == s, f"{table_name}.{column_name} not moved"
        for table, column in refs:
            assert db.session.execute(select(func.count()).select_from(table).where(column == d)).scalar() == 0
        counts_after = {t.name: db.session.execute(select(func.count()).select_from(t)).scalar() for t, _ in refs}
        # dropped exactly: the spouse link between the two, the duplicate's VIP entry; plus the merge record
        assert counts_after["cus_relation"] == counts_before["cus_relation"] - 1
        assert counts_after["cus_watch_entry"] == counts_before["cus_watch_entry"] - 1
        assert counts_after["cus_merge"] == counts_before["cus_merge"] + 1
        for name in counts_before:
            if name not in ("cus_relation", "cus_watch_entry", "cus_merge"):
                assert counts_after[name] == counts_before[name], name
        vip = db.session.execute(select(WatchEntry).where(WatchEntry.customer_id == s,
                                                          WatchEntry.list_kind == "vip")).scalars().all()
        assert [v.reason for v in vip] == ["优质"]
        merge = db.session.execute(select(CustomerMerge).where(CustomerMerge.duplicate_id == d)).scalar_one()
        assert merge.survivor_id == s and merge.reason == "重复录入" and merge.rows_dropped == 2
        details = json.loads(merge.details)
        assert details["dropped"]["cus_watch_entry"][0]["reason"] == "重复的优质"  # kept in the history
        assert merge.rows_moved >= len(created)
        logs = db.session.execute(select(OperationLog).where(OperationLog.id > since)).scalars().all()
        summary = [json.loads(log.changes) for log in logs
                   if log.table_name == "cus_customer" and log.record_id == str(s) and "merged_from" in log.changes]
        assert summary and f"id {d}" in summary[0]["merged_from"][0] and summary[0]["rows_moved"][1]
        assert any(log.action == "delete" and log.record_id == str(d) and log.table_name == "cus_customer"
                   for log in logs)
    assert "重复录入" in admin_web.get(f"/customer360/{s}").get_data(as_text=True)


def test_merge_refused_for_different_kinds(app, org):
    from app.extensions import db
    from app.services.customer_maintenance import merge_customers
    from models.customers import Customer

    a, b = _new_customer(app, org), _new_customer(app, org, kind="corporate")
    with app.app_context():
        with pytest.raises(ValidationError):
            merge_customers(a, b, "重复")
        db.session.rollback()
        with pytest.raises(ValidationError):
            merge_customers(a, a, "重复")
        db.session.rollback()
        with pytest.raises(ValidationError):
            merge_customers(a, _new_customer(app, org), "")
        db.session.rollback()
        assert db.session.get(Customer, b) is not None


def test_merge_refused_when_both_have_business_in_progress(app, org):
    from app.extensions import db
    from app.services import customer_maintenance
    from models.customers import Customer

    a, b, c = _new_customer(app, org), _new_customer(app, org), _new_customer(app, org)
    busy = {a: "担保 DB2026001 在保", b: "申请 SQ2026007 审批中"}

    @customer_maintenance.business_in_progress
    def guarantees_in_force(customer):
        return busy.get(customer.id)

    try:
        with app.app_context():
            with pytest.raises(Conflict) as err:
                customer_maintenance.merge_customers(a, b, "重复")
            assert "DB2026001" in err.value.message and "SQ2026007" in err.value.message
            db.session.rollback()
            assert db.session.get(Customer, b) is not None
            # only one side busy: its business moves with it
            customer_maintenance.merge_customers(a, c, "重复")
            db.session.commit()
            assert db.session.get(Customer, c) is None
    finally:
        customer_maintenance.unregister_business_check(guarantees_in_force)


def test_merge_needs_permission_and_scope(app, org, login_as):
    from app.extensions import db
    from app.services import role_admin
    from models.customers import Customer
    from models.system import Employee

    a, b = _new_customer(app, org), _new_customer(app, org)
    codes = {pk: _get(app, Customer, pk).code for pk in (a, b)}
    form = {"survivor": codes[a], "duplicate": codes[b], "reason": "重复"}
    # the account manager has no merge permission at all
    manager = login_as(P.ACCOUNT_MANAGER)
    assert manager.get("/customermergeview/run/").status_code in (302, 403)
    # may run merges but not edit customers
    with app.app_context():
        role = role_admin.create_role(unique("merge-only"))
        role_admin.save_matrix(role, {(P.can(P.READ), P.CUSTOMER), (P.can(P.READ), P.CUSTOMER_MERGE),
                                      (P.can(P.RUN), P.CUSTOMER_MERGE)}, "all")
        username = unique("mo")
        app.appbuilder.sm.add_user(username, "合并", "员", f"{username}@test.local", [role], TEST_PASSWORD)
        db.session.commit()
    client = login_as(username)
    response = client.post_form("/customermergeview/run/", form, form_page="/customermergeview/run/")
    assert response.status_code == 200 and _get(app, Customer, b) is not None
    # a department head merges within his department only
    with app.app_context():
        head = unique("head")
        user = app.appbuilder.sm.add_user(head, "部门", "负责人", f"{head}@test.local",
                                          [app.appbuilder.sm.find_role(P.DEPARTMENT_HEAD)], TEST_PASSWORD)
        db.session.add(Employee(code=head, name=head, department_id=org["departments"]["two"], user_id=user.id))
        db.session.commit()
    head_client = login_as(head)
    response = head_client.post_form("/customermergeview/run/", form, form_page="/customermergeview/run/")
    assert response.status_code == 200 and _get(app, Customer, b) is not None  # both are in department one
    assert codes[a] in response.get_data(as_text=True)
