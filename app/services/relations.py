"""Customer relations (CUS-4): the rules of a relation and the related-party queries other modules call.

    related_customer_ids(customer_id, depth=3) -> set[int]     e.g. the group concentration check (BIZ-15)
    related_parties(customer_id, depth=3) -> list[RelatedParty] who, how far, and by which path

Both walk the relations in either direction (a shareholder is related to its company and the company to
its shareholder) with one recursive CTE that runs on SQLite and PostgreSQL. Only relations in force on
the business date count (valid_from / valid_to), unless `as_of=False`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import Date, Integer, and_, bindparam, literal, or_, select, true, union_all

from app.errors import ValidationError
from models.customer_relations import RELATION_KINDS, SYMMETRIC_KINDS, CustomerRelation
from models.customers import Customer

KIND_LABELS = {
    "shareholder": _l("Shareholder"),
    "actual_controller": _l("Actual controller"),
    "legal_representative": _l("Legal representative"),
    "spouse": _l("Spouse"),
    "guarantor": _l("Guarantor"),
    "group_member": _l("Group member"),
    "same_controller": _l("Same controller"),
}
# How the relation reads from the other end ("B is A's shareholder" seen from B: "A is B's investee").
REVERSE_LABELS = {
    "shareholder": _l("Invested company"),
    "actual_controller": _l("Controlled company"),
    "legal_representative": _l("Represented company"),
    "guarantor": _l("Guaranteed customer"),
}
# Kinds where the customer (A) must be a company: only companies have shareholders, controllers, legal reps.
_COMPANY_KINDS = {"shareholder", "actual_controller", "legal_representative"}
MAX_DEPTH = 6


def kind_label(kind: str, reverse: bool = False) -> str:
    if reverse and kind in REVERSE_LABELS:
        return str(REVERSE_LABELS[kind])
    return str(KIND_LABELS.get(kind, kind or ""))


def _session():
    from app.extensions import db

    return db.session


# --- rules --------------------------------------------------------------------------------------------

def validate_relation(item: CustomerRelation) -> None:
    """Service checks of a relation before it is saved (screen, API and import alike)."""
    session = _session()
    customer = item.customer or (session.get(Customer, item.customer_id) if item.customer_id else None)
    related = item.related or (session.get(Customer, item.related_id) if item.related_id else None)
    if customer is None:
        raise ValidationError(gettext("Choose the customer."), "customer")
    if related is None:
        raise ValidationError(gettext("Choose the related party."), "related")
    if item.kind not in RELATION_KINDS:
        raise ValidationError(gettext("Choose a relation kind from the list."), "kind")
    if customer.id == related.id and customer.id is not None or customer is related:
        raise ValidationError(gettext("A customer cannot be related to itself."), "related")
    if item.kind == "spouse" and not (customer.kind == related.kind == "individual"):
        raise ValidationError(gettext("Spouses must both be individual customers."), "kind")
    if item.kind in _COMPANY_KINDS and customer.kind != "corporate":
        raise ValidationError(
            gettext("Only a corporate customer has a %(kind)s.", kind=kind_label(item.kind)), "kind")
    if item.kind == "legal_representative" and related.kind != "individual":
        raise ValidationError(gettext("The legal representative must be an individual customer."), "related")
    if item.share_pct is not None:
        if item.kind != "shareholder":
            raise ValidationError(gettext("A shareholding applies to shareholders only."), "share_pct")
        if not (Decimal(0) < Decimal(item.share_pct) <= Decimal(100)):
            raise ValidationError(gettext("The shareholding must be more than 0 and at most 100 percent."),
                                  "share_pct")
    if item.valid_from and item.valid_to and item.valid_to < item.valid_from:
        raise ValidationError(gettext("The end date is before the start date."), "valid_to")
    # Symmetric kinds are stored once, the smaller customer id first: the reversed pair is the same relation.
    if item.kind in SYMMETRIC_KINDS and customer.id is not None and related.id is not None \
            and customer.id > related.id:
        customer, related = related, customer
        item.customer, item.related = customer, related
    item.customer_id, item.related_id = customer.id, related.id
    with session.no_autoflush:
        clash = session.execute(
            select(CustomerRelation.id).where(
                CustomerRelation.customer_id == customer.id, CustomerRelation.related_id == related.id,
                CustomerRelation.kind == item.kind, CustomerRelation.id != (item.id or 0))
        ).first()
    if clash is not None:
        raise ValidationError(
            gettext("%(related)s is already recorded as %(kind)s of %(customer)s.",
                    related=related.name, kind=kind_label(item.kind), customer=customer.name), "related")


def add_relation(customer_id: int, related_id: int, kind: str, share_pct=None, valid_from: date | None = None,
                 valid_to: date | None = None, note: str | None = None) -> CustomerRelation:
    """Create a relation (for services, imports and tests); the caller commits."""
    session = _session()
    item = CustomerRelation(customer=session.get(Customer, customer_id), related=session.get(Customer, related_id),
                            kind=kind, share_pct=share_pct, valid_from=valid_from, valid_to=valid_to, note=note)
    validate_relation(item)
    session.add(item)
    session.flush()
    return item


# --- the related-party walk -------------------------------------------------------------------------------

@dataclass
class RelatedParty:
    customer_id: int
    depth: int
    via_id: int  # the customer it was reached from (the start customer at depth 1)
    kind: str  # the relation kind of the last step
    forward: bool  # last step read as stored: this customer is via's <kind>
    path: list[int] = field(default_factory=list)  # start, ..., this customer
    kinds: list[str] = field(default_factory=list)  # kind of each step
    forwards: list[bool] = field(default_factory=list)  # each step read as stored (see `forward`)

    def path_labels(self) -> list[str]:
        """Each step as the next customer's role: 股东 / 担保人 …, or 投资企业 / 被担保客户 … the other way."""
        return [kind_label(k, reverse=not f) for k, f in zip(self.kinds, self.forwards)]


def _in_force(as_of):
    """Relations in force on `as_of` (a date or a bind parameter); None: every relation."""
    if as_of is None:
        return None
    return and_(or_(CustomerRelation.valid_from.is_(None), CustomerRelation.valid_from <= as_of),
                or_(CustomerRelation.valid_to.is_(None), CustomerRelation.valid_to >= as_of))


def _edges(as_of):
    """Every relation as two directed steps: (from, to, kind, forward)."""
    r = CustomerRelation
    condition = _in_force(as_of)
    forward = select(r.customer_id.label("src"), r.related_id.label("dst"), r.kind.label("kind"),
                     literal(1).label("fwd"))
    backward = select(r.related_id.label("src"), r.customer_id.label("dst"), r.kind.label("kind"),
                      literal(0).label("fwd"))
    if condition is not None:
        forward, backward = forward.where(condition), backward.where(condition)
    return union_all(forward, backward).subquery("edges")


def _build_walk(dialect: str, dated: bool):
    """The recursive CTE with bind parameters :start, :max_depth (and :as_of when `dated`).

    Termination and size: the depth is bounded, the start customer is never re-entered and a step straight
    back to where the walk came from is skipped; UNION (not UNION ALL) drops repeated rows, so the rows are
    at most depth × the relations around the start customer (a row carries its predecessor, not the whole
    path: the number of paths grows exponentially with depth, the number of steps does not). The shortest
    path of every customer is rebuilt from the predecessors in Python.

    On PostgreSQL each step is a LATERAL subquery: two index lookups per customer reached (customer_id via
    uq_relation_pair_kind, related_id via ix_relation_related_customer). A plain join lets the planner,
    which cannot estimate the recursion, hash the whole relation table at every step (80 ms at 15k
    relations instead of 2 ms). SQLite has no LATERAL and runs its nested loop with the indexes anyway.
    """
    r = CustomerRelation
    start, max_depth = bindparam("start", type_=Integer), bindparam("max_depth", type_=Integer)
    as_of = bindparam("as_of", type_=Date) if dated else None
    condition = _in_force(as_of)
    edges = _edges(as_of)
    anchor = select(edges.c.dst.label("node"), literal(1).label("depth"), edges.c.src.label("via"),
                    edges.c.kind.label("kind"), edges.c.fwd.label("fwd")).where(edges.c.src == start)
    walk = anchor.cte("related_walk", recursive=True)
    if dialect == "postgresql":
        forward = select(r.related_id.label("dst"), r.kind.label("kind"), literal(1).label("fwd")) \
            .where(r.customer_id == walk.c.node)
        backward = select(r.customer_id.label("dst"), r.kind.label("kind"), literal(0).label("fwd")) \
            .where(r.related_id == walk.c.node)
        if condition is not None:
            forward, backward = forward.where(condition), backward.where(condition)
        steps = union_all(forward, backward).subquery().lateral("steps")
        step = (
            select(steps.c.dst, (walk.c.depth + 1), walk.c.node, steps.c.kind, steps.c.fwd)
            .select_from(walk).join(steps, true())
            .where(walk.c.depth < max_depth, steps.c.dst != start, steps.c.dst != walk.c.via)
        )
    else:
        step_edges = _edges(as_of).alias("step")
        step = (
            select(step_edges.c.dst, (walk.c.depth + 1), step_edges.c.src, step_edges.c.kind, step_edges.c.fwd)
            .join_from(walk, step_edges, step_edges.c.src == walk.c.node)
            .where(walk.c.depth < max_depth, step_edges.c.dst != start, step_edges.c.dst != walk.c.via)
        )
    walk = walk.union(step)
    return select(walk.c.node, walk.c.depth, walk.c.via, walk.c.kind, walk.c.fwd)


_WALKS: dict = {}  # (dialect, dated) -> statement: built once, so SQLAlchemy's compiled cache is hit


def _walk(dialect: str, dated: bool):
    key = (dialect, dated)
    if key not in _WALKS:
        _WALKS[key] = _build_walk(dialect, dated)
    return _WALKS[key]


def walk_statement(customer_id: int, depth: int, as_of=None, dialect: str | None = None):
    """The walk from `customer_id` with its parameters bound (for EXPLAIN, subqueries)."""
    dialect = dialect or _session().get_bind().dialect.name
    params = {"start": customer_id, "max_depth": depth}
    if as_of is not None:
        params["as_of"] = as_of
    return _walk(dialect, as_of is not None).params(**params)


def _run_walk(customer_id: int, depth: int, as_of):
    session = _session()
    dialect = session.get_bind().dialect.name
    params = {"start": customer_id, "max_depth": depth}
    if as_of is not None:
        params["as_of"] = as_of
    return session.execute(_walk(dialect, as_of is not None), params).all()


def _as_of(as_of):
    if as_of is False:
        return None
    if as_of is None:
        from app.services import business_date

        return business_date.today()
    return as_of


def _check_depth(depth: int) -> int:
    depth = int(depth)
    if depth < 1 or depth > MAX_DEPTH:
        raise ValidationError(gettext("The depth must be between 1 and %(max)s.", max=MAX_DEPTH), "depth")
    return depth


def related_parties(customer_id: int, depth: int = 3, as_of=None) -> list[RelatedParty]:
    """Every customer related to `customer_id` within `depth` steps (either direction), nearest first, each
    with the shortest path by which it is reached. The start customer is not in the list."""
    depth = _check_depth(depth)
    rows = _run_walk(customer_id, depth, _as_of(as_of))
    best: dict[int, RelatedParty] = {}
    for node, d, via, kind, fwd in sorted(rows, key=lambda r: (r[1], r[2], r[3], r[0])):
        if node not in best:  # the first row of a customer has its least depth
            best[node] = RelatedParty(node, d, via, kind, bool(fwd))
    for party in best.values():
        path, kinds, forwards, cursor = [party.customer_id], [party.kind], [party.forward], party
        while cursor.depth > 1:
            cursor = best[cursor.via_id]  # the predecessor was reached one step earlier (shortest path)
            path.append(cursor.customer_id)
            kinds.append(cursor.kind)
            forwards.append(cursor.forward)
        party.path = [customer_id, *reversed(path)]
        party.kinds = list(reversed(kinds))
        party.forwards = list(reversed(forwards))
    return sorted(best.values(), key=lambda p: (p.depth, p.customer_id))


def related_customer_ids(customer_id: int, depth: int = 3, as_of=None) -> set[int]:
    """The ids of every customer related to `customer_id` within `depth` steps (not the customer itself)."""
    depth = _check_depth(depth)
    return {row[0] for row in _run_walk(customer_id, depth, _as_of(as_of))}


def direct_relations(customer_id: int) -> list[CustomerRelation]:
    """The relations of one customer, either side, for its pages."""
    r = CustomerRelation
    return list(_session().execute(
        select(r).where(or_(r.customer_id == customer_id, r.related_id == customer_id)).order_by(r.kind, r.id)
    ).scalars())


# --- the relation graph -----------------------------------------------------------------------------------

def graph(customer_id: int, depth: int = 2, visible=None, max_nodes: int = 60) -> dict:
    """Nodes and edges around a customer for the relation graph (ECharts graph series).

    `visible(ids) -> set` says which customers the viewer may see; the others are shown as masked nodes
    (the link exists and matters for risk, the name is not the viewer's business) and cannot be opened.
    """
    session = _session()
    parties = related_parties(customer_id, depth)
    while depth > 1 and len(parties) > max_nodes:  # a readable picture: fewer steps rather than a hairball
        depth -= 1
        parties = [p for p in parties if p.depth <= depth]
    ids = {customer_id, *(p.customer_id for p in parties)}
    customers = {c.id: c for c in session.execute(select(Customer).where(Customer.id.in_(ids))).scalars()}
    allowed = visible(ids) if visible is not None else ids
    r = CustomerRelation
    condition = _in_force(_as_of(None))
    stmt = select(r.customer_id, r.related_id, r.kind, r.share_pct).where(
        r.customer_id.in_(ids), r.related_id.in_(ids))
    if condition is not None:
        stmt = stmt.where(condition)
    depth_of = {customer_id: 0, **{p.customer_id: p.depth for p in parties}}
    nodes = []
    for cid in sorted(ids, key=lambda i: (depth_of[i], i)):
        c = customers.get(cid)
        if c is None:
            continue
        shown = cid in allowed
        nodes.append({
            "id": str(cid), "name": c.name if shown else gettext("Customer outside your scope"),
            "code": c.code if shown else "", "kind": c.kind, "depth": depth_of[cid], "masked": not shown,
            "start": cid == customer_id,
        })
    edges = []
    for a, b, kind, share in session.execute(stmt):
        label = kind_label(kind)
        if share is not None:
            label += f" {Decimal(share).normalize():f}%"
        # arrow from the related party to the customer: "B -> A: 股东" reads "B is A's shareholder"
        edges.append({"source": str(b), "target": str(a), "kind": kind, "label": label,
                      "symmetric": kind in SYMMETRIC_KINDS})
    return {"nodes": nodes, "edges": edges, "depth": depth}


# --- demo and benchmark data ----------------------------------------------------------------------------

def generate_relations(count: int, seed: int = 2026, neighbourhood: int = 40) -> int:
    """Insert about `count` plausible relations between the existing customers, in bulk (one COPY on
    PostgreSQL), following the rules above: a customer is mostly related to customers near it in id order
    (groups, families: cycles and several steps) and sometimes to anyone. Returns the rows inserted."""
    import random

    from app.services.demo import bulk_insert

    session = _session()
    kinds = dict(session.execute(select(Customer.id, Customer.kind).order_by(Customer.id)).all())
    ids = list(kinds)
    if len(ids) < 2 or count <= 0:
        return 0
    rng = random.Random(seed)
    index = {cid: i for i, cid in enumerate(ids)}
    existing = set(session.execute(select(CustomerRelation.customer_id, CustomerRelation.related_id,
                                          CustomerRelation.kind)).all())
    choices = {
        ("corporate", "corporate"): ["shareholder", "group_member", "same_controller", "guarantor"],
        ("corporate", "individual"): ["shareholder", "actual_controller", "legal_representative", "guarantor"],
        ("individual", "individual"): ["spouse", "guarantor", "guarantor"],
        ("individual", "corporate"): ["guarantor"],
    }
    from datetime import datetime

    stamp = datetime.now()

    def rows():
        made = attempts = 0
        while made < count and attempts < count * 5:
            attempts += 1
            a = rng.choice(ids)
            if rng.random() < 0.8:
                b = ids[min(len(ids) - 1, max(0, index[a] + rng.randint(-neighbourhood, neighbourhood)))]
            else:
                b = rng.choice(ids)
            if a == b:
                continue
            kind = rng.choice(choices[(kinds[a], kinds[b])])
            x, y = (min(a, b), max(a, b)) if kind in SYMMETRIC_KINDS else (a, b)
            if (x, y, kind) in existing:
                continue
            existing.add((x, y, kind))
            made += 1
            share = Decimal(rng.choice([5, 10, 20, 30, 51, 60])) if kind == "shareholder" else None
            yield {"customer_id": x, "related_id": y, "kind": kind, "share_pct": share,
                   "valid_from": None, "valid_to": None, "note": None,
                   "created_at": stamp, "updated_at": stamp, "created_by_id": None, "updated_by_id": None}

    inserted = bulk_insert(session, CustomerRelation.__table__, rows())
    session.commit()
    return inserted
