"""The customer 360 page (客户全景视图): one page per customer, made of sections that modules register.

A module adds its section where it is built (ratings, applications, guarantees in force, collateral,
warnings, inspections…):

    from app.services.customer_360 import Section, section

    @section("ratings", _l("Credit ratings"), order=40, resource=P.RATING)
    def ratings(customer) -> Section:
        return Section(columns=[...], rows=[[...], ...])

The page shows, in `order`, every registered section whose resource the user may read. A provider
returns `Section(fields=[(label, value), ...])` for a record or `Section(columns=[...], rows=[...])` for a
table; the rows are plain values (the page escapes them). A provider must only read.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import permissions as P


@dataclass
class Section:
    fields: list = field(default_factory=list)  # [(label, value)]
    columns: list = field(default_factory=list)  # table header
    rows: list = field(default_factory=list)  # table rows
    note: str = ""  # a line under the title (counts, "none")
    widget: str = ""  # a named extra the template draws (e.g. "relation_graph")


@dataclass
class SectionProvider:
    key: str
    title: object
    provider: Callable
    order: int = 100
    resource: str | None = None  # READ on it is needed to see the section


_SECTIONS: dict[str, SectionProvider] = {}


def section(key: str, title, order: int = 100, resource: str | None = None):
    """Register a section provider (decorator); registering a key again replaces it."""

    def register(fn):
        _SECTIONS[key] = SectionProvider(key, title, fn, order, resource)
        return fn

    return register


def unregister(key: str) -> None:
    _SECTIONS.pop(key, None)


def providers(can_read: Callable[[str], bool] | None = None) -> list[SectionProvider]:
    found = sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))
    if can_read is None:
        return found
    return [s for s in found if s.resource is None or can_read(s.resource)]


def build(customer, can_read=None) -> list[tuple[SectionProvider, Section]]:
    return [(s, s.provider(customer)) for s in providers(can_read)]


# --- the sections that exist now --------------------------------------------------------------------------

def _session():
    from app.extensions import db

    return db.session


def _user_name(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name or ''}{user.last_name or ''}" or user.username


@section("identity", _l("Identity"), order=10, resource=P.CUSTOMER)
def identity(customer) -> Section:
    from views.customers import DIRECTNESS, KINDS
    from views.labels import dict_label

    def choice(choices, value):
        return str(choices.get(value, value or ""))

    rows = [
        (gettext("Customer no."), customer.code),
        (gettext("Customer name"), customer.name),
        (gettext("Customer kind"), choice(KINDS, customer.kind)),
        (gettext("ID type"), dict_label("id_type")(customer.id_type)),
        (gettext("ID number"), customer.id_number),
    ]
    if customer.kind == "individual":
        rows += [(gettext("Gender"), dict_label("gender")(customer.gender)),
                 (gettext("Birth date"), customer.birth_date or "")]
    else:
        rows += [(gettext("Legal representative"), customer.legal_representative or ""),
                 (gettext("Registered capital"), customer.registered_capital or "")]
    rows += [
        (gettext("Mobile phone"), customer.phone or ""),
        (gettext("Region"), dict_label("region")(customer.region_code)),
        (gettext("Industry"), dict_label("industry")(customer.industry_code)),
        (gettext("Address"), customer.address or ""),
        (gettext("Direct / indirect"), choice(DIRECTNESS, customer.direct)),
        (gettext("Account manager"), _user_name(customer.manager)),
        (gettext("Department"), customer.department.name if customer.department else ""),
    ]
    return Section(fields=rows)


LIST_LIMIT = 100


@section("relations", _l("Related parties"), order=20, resource=P.CUSTOMER_RELATION)
def relations(customer) -> Section:
    from app.services.data_scope import apply_scope
    from app.services.relations import related_parties
    from models.customers import Customer

    parties = related_parties(customer.id, depth=3)
    total = len(parties)
    parties = parties[:LIST_LIMIT]  # nearest first
    ids = [p.customer_id for p in parties]
    names = {}
    if ids:
        visible = apply_scope(select(Customer.id, Customer.code, Customer.name).where(Customer.id.in_(ids)), Customer)
        names = {cid: (code, name) for cid, code, name in _session().execute(visible)}
    hidden = gettext("Customer outside your scope")
    rows = []
    for p in parties:
        code, name = names.get(p.customer_id, ("", hidden))
        via = " → ".join(p.path_labels())
        rows.append([p.depth, code, name, via])
    note = gettext("%(count)s related parties within three steps.", count=total) if rows \
        else gettext("No related parties recorded.")
    if total > len(rows):
        note += " " + gettext("The nearest %(shown)s are listed.", shown=len(rows))
    return Section(columns=[gettext("Depth"), gettext("Customer no."), gettext("Customer name"),
                            gettext("Relation path")], rows=rows, note=note, widget="relation_graph")


@section("transfers", _l("Transfer history"), order=80, resource=P.CUSTOMER)
def transfers(customer) -> Section:
    from models.customer_relations import CustomerTransfer

    history = _session().execute(select(CustomerTransfer).where(CustomerTransfer.customer_id == customer.id)
                                 .order_by(CustomerTransfer.transferred_at.desc())).scalars().all()
    rows = [[t.transferred_at.strftime("%Y-%m-%d %H:%M"), _user_name(t.from_manager), _user_name(t.to_manager),
             t.to_department.name if t.to_department else "", t.reason, _user_name(t.transferred_by)]
            for t in history]
    return Section(columns=[gettext("Time"), gettext("From account manager"), gettext("To account manager"),
                            gettext("New department"), gettext("Reason"), gettext("Transferred by")],
                   rows=rows, note="" if rows else gettext("Never transferred."))


@section("merges", _l("Merged duplicates"), order=85, resource=P.CUSTOMER)
def merges(customer) -> Section:
    from models.customer_relations import CustomerMerge

    history = _session().execute(select(CustomerMerge).where(CustomerMerge.survivor_id == customer.id)
                                 .order_by(CustomerMerge.merged_at.desc())).scalars().all()
    if not history:
        return Section(note=gettext("No duplicates merged into this customer."))
    rows = [[m.merged_at.strftime("%Y-%m-%d %H:%M"), m.duplicate_code, m.duplicate_name, m.rows_moved, m.reason,
             _user_name(m.merged_by)] for m in history]
    return Section(columns=[gettext("Time"), gettext("Customer no."), gettext("Customer name"),
                            gettext("Rows moved"), gettext("Reason"), gettext("Merged by")], rows=rows)


def _register_watch_list():
    """Watch-list status (CUS-5), when the watch-list model exists."""
    try:
        from models.customer_records import WatchEntry
    except ImportError:  # pragma: no cover - the watch lists are another module's
        return

    labels = {"vip": _l("VIP customer"), "potential": _l("Potential customer"), "blacklist": _l("Blacklist")}

    @section("watch", _l("Watch lists"), order=15, resource=P.CUSTOMER)
    def watch(customer) -> Section:
        entries = _session().execute(select(WatchEntry).where(WatchEntry.customer_id == customer.id)
                                     .order_by(WatchEntry.active.desc(), WatchEntry.set_on.desc())).scalars().all()
        rows = [[str(labels.get(e.list_kind, e.list_kind)), e.set_on, e.reason,
                 gettext("Active") if e.active else gettext("Removed on %(day)s", day=e.removed_on or "")]
                for e in entries]
        return Section(columns=[gettext("List"), gettext("Since"), gettext("Reason"), gettext("Status")], rows=rows,
                       note="" if rows else gettext("Not on any watch list."))


_register_watch_list()


def _register_statements():
    """The last financial statements (CUS-2), when the statement service exists."""
    try:
        from app.services import statements
    except ImportError:  # pragma: no cover - the statements are another module's
        return

    columns = ("total_assets", "total_liabilities", "total_equity", "revenue", "net_profit")

    @section("statements", _l("Financial statements"), order=30, resource=P.CUSTOMER)
    def financial_statements(customer) -> Section:
        if customer.kind != "corporate":
            return Section(note=gettext("Only corporate customers have financial statements."))
        history = statements.statement_history(customer.id, n=3)
        rows = [[f.period_end, str(statements.PERIOD_TYPES.get(f.period_type, f.period_type)),
                 gettext("Yes") if f.audited else gettext("No"),
                 *[statements.money(f.values[c]) if f.values.get(c) is not None else "" for c in columns]]
                for f in history]
        return Section(columns=[gettext("Period end"), gettext("Period type"), gettext("Audited"),
                                *[statements.ITEM_BY_CODE[c].label for c in columns]],
                       rows=rows, note="" if rows else gettext("No financial statements entered."))


_register_statements()
