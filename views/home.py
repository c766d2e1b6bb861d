"""The first page after login (the workbench of issue 8 replaces its body)."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login"))
        from app.services import business_date

        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    business_date=business_date.today())
