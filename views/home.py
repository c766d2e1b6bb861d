"""我的工作台 (WB-1, WB-2): the first page after login — quick desktop, my customers, my figures for a date range
and my to-dos (rules in app/services/workbench.py)."""
from datetime import timedelta

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app import permissions as P


def customer_links() -> dict:
    """The list behind each class of my customers."""
    guarantees = lambda **f: url_for("GuaranteeView.list", **f)  # noqa: E731
    return {
        "post_guarantee": guarantees(_flt_3_stage="in_force", _flt_3_status="active"),
        "handling": guarantees(_flt_7_stage="in_force", _flt_3_status="active"),
        "recent": url_for("CustomerView.list", _oc_CustomerView="id", _od_CustomerView="desc"),
        "historical": guarantees(_flt_3_status="released"),
    }


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login"))
        from app.services import business_date, workbench
        from views.statistics import date_range

        sm = self.appbuilder.sm
        today = business_date.today()
        date_from, date_to = date_range(default_days=0)
        customers = figures = links = None
        extra_figures = []
        if sm.has_access(P.can(P.READ), P.GUARANTEE) and sm.has_access(P.can(P.READ), P.CUSTOMER):
            customers = workbench.customer_classes(today)
            figures = workbench.range_figures(date_from, date_to)
            links = customer_links()
            # the list's date filters are strict (greater / smaller): one day outside the range on each side
            links["maturities"] = url_for("GuaranteeView.list", _flt_3_stage="in_force", _flt_3_status="active",
                                          _flt_1_due_date=(date_from - timedelta(days=1)).isoformat(),
                                          _flt_2_due_date=(date_to + timedelta(days=1)).isoformat())
            links["releases"] = url_for("GuaranteeView.list", _flt_3_status="released")
            extra_figures = workbench.extra_range_figures(sm, date_from, date_to)
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, business_date=today,
            modules=workbench.desktop(self.appbuilder, g.user),
            may_edit_desktop=sm.has_access(P.can(P.EDIT), P.WORKBENCH),
            customers=customers, customer_labels={k: str(v) for k, v in workbench.CUSTOMER_CLASSES.items()},
            links=links, figures=figures, extra_figures=extra_figures, date_from=date_from, date_to=date_to,
            todos=workbench.todos(sm, g.user), recent_days=workbench.RECENT_DAYS)
