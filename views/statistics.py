"""统计分析 (issue 8): the quick-desktop editor of the workbench, portfolio statistics, regulatory indicators
and their set-up (weight table, asset classes). The workbench page itself is views/home.py."""
from datetime import date, timedelta

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, lazy_gettext as _l

from app import permissions as P
from app.errors import GuaranteeError
from app.extensions import db
from app.services import regulatory, statistics, workbench
from models.statistics import AssetClassMap, WeightRule
from views.base import BaseModelView, SafeInterface

STATS_MENU = dict(category="Statistics", category_label=_l("Statistics"), category_icon="fa-bar-chart")


def parse_date(text, default: date) -> date:
    try:
        return date.fromisoformat((text or "").strip()) if text else default
    except ValueError:
        flash(gettext("The date %(text)s is not valid (yyyy-mm-dd); %(default)s is used.", text=text,
                      default=default.isoformat()), "warning")
        return default


def date_range(default_days=None):
    """(date_from, date_to) from the query string; default: the current month of the business date."""
    from app.services import business_date

    today = business_date.today()
    start = today - timedelta(days=default_days) if default_days is not None else today.replace(day=1)
    date_from = parse_date(request.args.get("date_from"), start)
    date_to = parse_date(request.args.get("date_to"), today if default_days is None else today + timedelta(days=30))
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    return date_from, date_to


class WorkbenchView(BaseView):
    """快捷桌面: choose and order the quick modules of the workbench."""

    route_base = "/workbench"
    default_view = "desktop"
    class_permission_name = P.WORKBENCH
    base_permissions = [P.can(P.READ), P.can(P.EDIT)]
    method_permission_name = {"desktop": P.READ, "save": P.EDIT}

    def _page(self, chosen_names, error=None):
        available = workbench.available_modules(self.appbuilder)
        by_name = {m.name: m for m in available}
        chosen = [by_name[n] for n in chosen_names if n in by_name]
        return self.render_template("workbench/desktop.html", title=gettext("Quick desktop"), chosen=chosen,
                                    others=[m for m in available if m.name not in chosen_names],
                                    max_modules=workbench.MAX_MODULES, error=error)

    @expose("/desktop")
    @has_access
    def desktop(self):
        return self._page([m.name for m in workbench.desktop(self.appbuilder, g.user)])

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        names = request.form.getlist("modules")
        try:
            if request.form.get("reset"):
                workbench.reset_desktop(g.user)
            else:
                workbench.save_desktop(self.appbuilder, g.user, names)
            db.session.commit()
        except GuaranteeError as ex:
            db.session.rollback()
            return self._page(names, ex.message), 400
        flash(gettext("Your quick desktop is saved."), "success")
        return redirect(self.appbuilder.get_url_for_index)


def _guarantee_list(**filters):
    return url_for("GuaranteeView.list", **filters)


def _drill(dimension, row, date_from, date_to):
    """Links of a row to the lists behind it (where the list can filter by the dimension)."""
    base = {}
    if dimension == "product":
        base = {"_flt_0_product": row.key}
    elif dimension == "bank":
        base = {"_flt_0_bank": row.key}
    elif dimension == "manager" and row.key is not None:
        base = {"_flt_0_manager": row.key}
    elif dimension == "month":
        y, m = row.key
        end = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1))
        return {"new": _guarantee_list(_flt_1_loan_date=date(y, m, 1).isoformat(), _flt_2_loan_date=end.isoformat())}
    elif dimension in ("industry", "region") and row.key:
        url = url_for("CustomerView.list", **{f"_flt_3_{dimension}_code": row.key})
        return {"in_force": url, "new": url}
    else:
        return {}
    return {"in_force": _guarantee_list(_flt_3_stage="in_force", _flt_3_status="active", **base),
            "new": _guarantee_list(_flt_1_loan_date=(date_from - timedelta(days=1)).isoformat(),
                                   _flt_2_loan_date=(date_to + timedelta(days=1)).isoformat(), **base),
            "released": _guarantee_list(_flt_3_status="released", **base)}


class StatisticsView(BaseView):
    """业务统计 (STAT-1, STAT-2): the portfolio of the user's data scope by a dimension, with growth."""

    route_base = "/statistics"
    default_view = "portfolio"
    class_permission_name = P.STATISTICS
    base_permissions = [P.can(P.READ)]
    method_permission_name = {"portfolio": P.READ}

    @expose("/")
    @has_access
    def portfolio(self):
        date_from, date_to = date_range()
        data = statistics.portfolio(request.args.get("dimension", "product"), date_from, date_to)
        for row in data["rows"]:
            row.links = _drill(data["dimension"], row, date_from, date_to)
        for row in data["months"]:
            row.links = _drill("month", row, date_from, date_to)
        return self.render_template("statistics/portfolio.html", title=gettext("Portfolio statistics"), data=data,
                                    dimensions=statistics.DIMENSIONS, figures=regulatory.provided_figures(date_from,
                                                                                                          date_to))


class RegulatoryView(BaseView):
    """监管指标 (STAT-3): the indicators now, with status, and the monthly history."""

    route_base = "/regulatory"
    default_view = "indicators"
    class_permission_name = P.REGULATORY
    base_permissions = [P.can(P.READ), P.can(P.RUN)]
    method_permission_name = {"indicators": P.READ, "recompute": P.RUN}

    @expose("/")
    @has_access
    def indicators(self):
        data = regulatory.indicators()
        return self.render_template("statistics/regulatory.html", title=gettext("Regulatory indicators"), data=data,
                                    history=regulatory.history(), labels=regulatory.STATUS_LABELS,
                                    may_run=self.appbuilder.sm.has_access(P.can(P.RUN), P.REGULATORY))

    @expose("/recompute", methods=["POST"])
    @has_access
    def recompute(self):
        from app.services import business_date

        today = business_date.today()
        period = f"{today.year}-{today.month:02d}"
        regulatory.snapshot(period, g.user.id)
        db.session.commit()
        flash(gettext("The indicators of %(period)s are computed and stored.", period=period), "success")
        return redirect(url_for(".indicators"))


WEIGHT_LABELS = {
    "code": _l("Code"), "name": _l("Name"), "priority": _l("Priority"), "guarantee_kinds": _l("Guarantee kinds"),
    "customer_kind": _l("Customer kind"), "enterprise_sizes": _l("Enterprise sizes"),
    "household_types": _l("Household types"), "product_codes": _l("Product codes"),
    "issuer_grades": _l("Issuer rating grades"), "balance_cap": _l("Per-customer balance cap"),
    "weight": _l("Weight"), "active": _l("Active"), "note": _l("Note"), "account_code": _l("Account code"),
    "asset_class": _l("Asset class"),
}
WEIGHT_COLUMNS = ["code", "name", "priority", "guarantee_kinds", "customer_kind", "enterprise_sizes", "household_types",
                  "product_codes", "issuer_grades", "balance_cap", "weight", "active", "note"]


class WeightRuleView(BaseModelView):
    datamodel = SafeInterface(WeightRule)
    class_permission_name = P.REGULATORY_SETUP
    list_title = _l("Regulatory weight table")
    show_title = add_title = edit_title = _l("Weight rule")
    list_columns = ["priority", "code", "name", "guarantee_kinds", "customer_kind", "enterprise_sizes",
                    "household_types", "issuer_grades", "balance_cap", "weight", "active"]
    add_columns = edit_columns = show_columns = export_columns = WEIGHT_COLUMNS
    search_columns = ["code", "name", "active"]
    base_order = ("priority", "asc")
    label_columns = WEIGHT_LABELS
    description_columns = {
        "guarantee_kinds": _l("Codes of the dictionary 担保种类, comma separated; empty: any"),
        "customer_kind": _l("individual or corporate; empty: any"),
        "enterprise_sizes": _l("Codes of the dictionary 企业规模 (S small, XS micro); empty: any"),
        "household_types": _l("Codes of the dictionary 户口性质 (2 rural: farmers); empty: any"),
        "issuer_grades": _l("Current rating grades of the customer, e.g. AAA,AA+; empty: any"),
        "balance_cap": _l("The weight applies while the customer's balance under this rule is at most this"),
        "weight": _l("0.75 = 75%"),
    }
    validators = (regulatory.validate_rule,)


class AssetClassView(BaseModelView):
    datamodel = SafeInterface(AssetClassMap)
    class_permission_name = P.REGULATORY_SETUP
    list_title = _l("Asset classes of the accounts")
    show_title = add_title = edit_title = _l("Asset class of an account")
    list_columns = add_columns = edit_columns = show_columns = export_columns = ["account_code", "asset_class", "note"]
    search_columns = ["account_code", "asset_class"]
    base_order = ("account_code", "asc")
    label_columns = WEIGHT_LABELS
    description_columns = {"asset_class": _l("I, II, III or deduct (taken off the total assets)")}
    validators = (regulatory.validate_asset_class,)


def register(appbuilder):
    add = appbuilder.add_view
    add(StatisticsView, "PortfolioStatistics", label=_l("Portfolio statistics"), icon="fa-pie-chart", **STATS_MENU)
    add(RegulatoryView, "Regulatory", label=_l("Regulatory indicators"), icon="fa-balance-scale", **STATS_MENU)
    add(WeightRuleView, "RegulatoryWeights", label=_l("Regulatory weight table"), icon="fa-table", **STATS_MENU)
    add(AssetClassView, "AssetClasses", label=_l("Asset classes of the accounts"), icon="fa-list", **STATS_MENU)
    add(WorkbenchView, "QuickDesktop", label=_l("Quick desktop"), icon="fa-th", category="Mine")
