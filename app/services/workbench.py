"""我的工作台 (WB-1, WB-2): the quick desktop, my customers and my to-dos.

Quick desktop: up to MAX_MODULES menu entries (FAB menu names) per user, in the user's order
(models.statistics.QuickModule). Only entries the user's roles may open (FAB "menu_access") can be chosen,
checked here, so the form and a hand-made POST meet the same rule. Without a saved choice the user sees the
defaults of the role (ROLE_DEFAULTS), filtered by the same permission.

My customers: the customers of the user's data scope (app/services/data_scope), each counted once, in the
first class that holds: post-guarantee (a guarantee in force), in handling (an active application not yet
in force), recently developed (created within RECENT_DAYS), historical (the rest: released or no business).

To-dos: a registry (register_todo) of counters with the list they open; approvals and vouchers to review
are registered here, the post-guarantee module adds warnings owned and inspections due.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import and_, case, delete, func, or_, select

from app import permissions as P
from app.errors import ValidationError
from app.services.data_scope import apply_scope

MAX_MODULES = 18
RECENT_DAYS = 30
CUSTOMER_CLASSES = {"post_guarantee": _l("In post-guarantee"), "handling": _l("In handling"),
                    "recent": _l("Recently developed"), "historical": _l("Historical")}

# Default desktop per role (FAB menu names; entries the role may not open are skipped).
_BUSINESS = ["Guarantees", "Customers", "CorporateCustomers", "IndividualCustomers", "MyTodo", "MyDone",
             "CustomerRelations", "GuaranteeProducts", "CooperatingBanks", "CreditLimits", "CustomerRating",
             "PortfolioStatistics", "MyExports"]
ROLE_DEFAULTS = {
    P.ACCOUNT_MANAGER: _BUSINESS,
    P.DEPARTMENT_HEAD: _BUSINESS,
    P.RISK_OFFICER: ["MyTodo", "Guarantees", "Customers", "CustomerRating", "CreditLimits", "Regulatory", "PortfolioStatistics",
                     "GuaranteeBackfill", "MyExports"],
    P.COMMITTEE_MEMBER: ["MyTodo", "Guarantees", "Customers", "PortfolioStatistics"],
    P.GENERAL_MANAGER: ["MyTodo", "PortfolioStatistics", "Regulatory", "Guarantees", "Customers", "Vouchers",
                        "LedgerBooks", "CreditLimits", "MyExports"],
    P.ACCOUNTANT: ["Vouchers", "BusinessEvents", "LedgerBooks", "PeriodClose", "ChartOfAccounts", "MyTodo", "MyExports"],
    P.FINANCE_REVIEWER: ["Vouchers", "BusinessEvents", "LedgerBooks", "Regulatory", "MyTodo", "MyExports"],
    P.CASHIER: ["RequestPayments", "Vouchers", "BusinessEvents", "MyTodo", "MyExports"],
    P.AUDITOR: ["PortfolioStatistics", "Regulatory", "Guarantees", "Customers", "Vouchers", "LedgerBooks", "OperationLog"],
}


def _session():
    from app.extensions import db

    return db.session


# --- quick desktop --------------------------------------------------------------------------------------

@dataclass
class Module:
    name: str
    label: str
    icon: str
    url: str
    category: str


def available_modules(appbuilder) -> list[Module]:
    """Every menu entry the current user may open, in menu order."""
    sm = appbuilder.sm
    out = []
    for category in appbuilder.menu.get_list():
        children = category.childs or ([category] if category.baseview or category.href else [])
        for item in children:
            if item.name == "-" or not (item.baseview or item.href):
                continue
            if not sm.has_access("menu_access", item.name):
                continue
            try:
                url = item.get_url()
            except Exception:  # noqa: BLE001 - an entry whose view is not routable is not offered
                continue
            out.append(Module(item.name, str(item.label or item.name), item.icon or "fa-square",
                              url, str(category.label or category.name)))
    return out


def _role_names(user) -> list[str]:
    return [r.name for r in getattr(user, "roles", [])]


def default_names(user, available: dict) -> list[str]:
    names = []
    for role in _role_names(user):
        names += [n for n in ROLE_DEFAULTS.get(role, []) if n in available and n not in names]
    if not names:  # a role without defaults (or the administrator): the first entries it may open
        names = list(available)[:8]
    return names[:MAX_MODULES]


def desktop(appbuilder, user) -> list[Module]:
    """The user's quick modules in order (saved choice, else the role defaults), still permitted ones only."""
    from models.statistics import QuickModule

    available = {m.name: m for m in available_modules(appbuilder)}
    saved = list(_session().execute(select(QuickModule.menu_name).where(QuickModule.user_id == user.id)
                                    .order_by(QuickModule.position, QuickModule.id)).scalars())
    names = [n for n in saved if n in available] if saved else default_names(user, available)
    return [available[n] for n in names]


def save_desktop(appbuilder, user, names: list[str]) -> list[str]:
    """Replace the user's quick modules by `names` in that order; refused (nothing changes) when more than
    MAX_MODULES are chosen or one is not a menu entry the user may open. Caller commits."""
    from models.statistics import QuickModule

    names = [n.strip() for n in names if n and n.strip()]
    if len(set(names)) != len(names):
        raise ValidationError(gettext("A module is chosen twice."), "modules")
    if len(names) > MAX_MODULES:
        raise ValidationError(gettext("At most %(n)s quick modules can be chosen.", n=MAX_MODULES), "modules")
    available = {m.name for m in available_modules(appbuilder)}
    refused = [n for n in names if n not in available]
    if refused:
        raise ValidationError(gettext("These modules are not open to your role: %(names)s",
                                      names=", ".join(refused)), "modules")
    session = _session()
    session.execute(delete(QuickModule).where(QuickModule.user_id == user.id))
    for position, name in enumerate(names):
        session.add(QuickModule(user_id=user.id, menu_name=name, position=position))
    session.flush()
    return names


def reset_desktop(user) -> None:
    from models.statistics import QuickModule

    _session().execute(delete(QuickModule).where(QuickModule.user_id == user.id))


# --- my customers ---------------------------------------------------------------------------------------

def customer_classes(today: date, recent_days: int = RECENT_DAYS) -> dict[str, int]:
    """{class: customers} of the user's data scope, each customer in one class (one GROUP BY query)."""
    from models.business import Guarantee
    from models.customers import Customer

    # Flags per customer from the guarantees of the customers in scope (joined, so the scope narrows both
    # sides: an account manager's page reads his customers' guarantees only), then one class per customer.
    flags = apply_scope(
        select(Guarantee.customer_id.label("cid"),
               func.max(case((Guarantee.stage == "in_force", 1), else_=0)).label("in_force"),
               func.max(case((Guarantee.stage != "in_force", 1), else_=0)).label("handling"))
        .join(Customer, Customer.id == Guarantee.customer_id).where(Guarantee.status == "active"), Customer
    ).group_by(Guarantee.customer_id).subquery()
    since = datetime.combine(today - timedelta(days=recent_days), datetime.min.time())
    klass = case((flags.c.in_force == 1, "post_guarantee"), (flags.c.handling == 1, "handling"),
                 (Customer.created_at >= since, "recent"), else_="historical").label("klass")
    rows = _session().execute(apply_scope(select(klass, func.count()).select_from(Customer)
                                          .outerjoin(flags, flags.c.cid == Customer.id), Customer)
                              .group_by(klass)).all()
    counts = dict.fromkeys(CUSTOMER_CLASSES, 0)
    counts.update({k: n for k, n in rows})
    return counts


def range_figures(date_from: date, date_to: date) -> dict[str, tuple[int, object]]:
    """Guarantees of the user's scope: maturities (due_date in range, in force) and releases in the range;
    {key: (count, amount)}. One query."""
    from models.business import Guarantee

    due = and_(Guarantee.stage == "in_force", Guarantee.status == "active", Guarantee.due_date >= date_from,
               Guarantee.due_date <= date_to)
    released = and_(Guarantee.status == "released",
                    Guarantee.stage_changed_at >= datetime.combine(date_from, datetime.min.time()),
                    Guarantee.stage_changed_at < datetime.combine(date_to + timedelta(days=1), datetime.min.time()))
    row = _session().execute(apply_scope(select(
        func.sum(case((due, 1), else_=0)), func.sum(case((due, Guarantee.balance), else_=0)),
        func.sum(case((released, 1), else_=0)),
        func.sum(case((released, func.coalesce(Guarantee.loan_amount, Guarantee.amount)), else_=0)),
    ).select_from(Guarantee).where(or_(due, released)), Guarantee)).one()
    return {"maturities": (int(row[0] or 0), row[1] or 0), "releases": (int(row[2] or 0), row[3] or 0)}


# --- to-dos ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Todo:
    key: str
    label: object
    count: Callable  # count(user) -> int
    url: Callable  # url() -> str
    allowed: Callable | None = None  # allowed(security_manager) -> bool; None: everyone


_TODOS: dict[str, Todo] = {}


def register_todo(key: str, label, count_func: Callable, url_func: Callable, allowed: Callable | None = None):
    """Add a counter to the workbench's to-dos (the post-guarantee module: warnings owned, inspections due).
    count_func(user) -> int, url_func() -> the list it opens; allowed(sm) decides who sees it."""
    _TODOS[key] = Todo(key, label, count_func, url_func, allowed)


def unregister_todo(key: str) -> None:
    _TODOS.pop(key, None)


def todos(sm, user) -> list[dict]:
    out = []
    for todo in _TODOS.values():
        if todo.allowed is not None and not todo.allowed(sm):
            continue
        out.append({"key": todo.key, "label": str(todo.label), "count": todo.count(user), "url": todo.url()})
    return out


def _approvals_count(user) -> int:
    from app.services import approval

    return approval.todo(user.id, 0, 1)[1]


def _vouchers_count(user) -> int:
    """Draft vouchers made by someone else (a reviewer never reviews his own)."""
    from models.ledger import Voucher

    return _session().execute(select(func.count()).select_from(Voucher).where(
        Voucher.status == "draft", Voucher.maker_id != user.id)).scalar()


def _url(endpoint, **args):
    from flask import url_for

    return lambda: url_for(endpoint, **args)


register_todo("approvals", _l("Approvals waiting"), _approvals_count, _url("MyApprovalsView.todo"),
              lambda sm: sm.has_access(P.can(P.READ), P.APPROVAL_TASK))
register_todo("vouchers", _l("Vouchers to review"), _vouchers_count, _url("VoucherView.list", _flt_3_status="draft"),
              lambda sm: sm.has_access(P.can(P.RUN), P.VOUCHER_REVIEW))


# --- figures of the date range other modules add (the post-guarantee module: recoveries, overdue collections) --

@dataclass(frozen=True)
class RangeFigure:
    key: str
    label: object
    func: Callable  # func(date_from, date_to) -> (count, amount), in the user's data scope
    url: Callable  # url() -> the list behind it
    allowed: Callable | None = None


_RANGE_FIGURES: dict[str, RangeFigure] = {}


def register_range_figure(key: str, label, func: Callable, url_func: Callable, allowed: Callable | None = None):
    _RANGE_FIGURES[key] = RangeFigure(key, label, func, url_func, allowed)


def extra_range_figures(sm, date_from: date, date_to: date) -> list[dict]:
    out = []
    for figure in _RANGE_FIGURES.values():
        if figure.allowed is not None and not figure.allowed(sm):
            continue
        count, amount = figure.func(date_from, date_to)
        out.append({"key": figure.key, "label": str(figure.label), "count": count, "amount": amount,
                    "url": figure.url()})
    return out
