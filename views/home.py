"""The first page after login (the workbench of issue 8 replaces its body)."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose
from sqlalchemy import func, select

from app import permissions as P


def customer_overview(session):
    """Customers per kind and per industry section, counted in the database."""
    from models.customers import Customer
    from models.system import DictItem, DictType

    by_kind = dict(session.execute(select(Customer.kind, func.count()).group_by(Customer.kind)).all())
    industry_names = dict(
        session.execute(
            select(DictItem.code, DictItem.name).join(DictType, DictItem.type_id == DictType.id)
            .where(DictType.code == "industry")
        ).all()
    )
    by_industry = session.execute(
        select(Customer.industry_code, func.count()).group_by(Customer.industry_code)
        .order_by(func.count().desc())
    ).all()
    return {
        "individual": by_kind.get("individual", 0),
        "corporate": by_kind.get("corporate", 0),
        "industries": [{"name": industry_names.get(code, code or "-"), "value": n} for code, n in by_industry],
    }


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login"))
        from app.extensions import db
        from app.services import business_date

        overview = None
        if self.appbuilder.sm.has_access(P.can(P.READ), P.CUSTOMER):
            overview = customer_overview(db.session)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    business_date=business_date.today(), overview=overview)
