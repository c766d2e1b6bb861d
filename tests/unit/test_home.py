"""The home page: business date, customer overview counted in the database, chart from a local file."""
from sqlalchemy import func, select

from app import permissions as P


def test_home_counts_customers_and_loads_echarts_locally(admin_web, db):
    from models.customers import Customer

    html = admin_web.get("/").get_data(as_text=True)
    individual = db.session.execute(select(func.count()).where(Customer.kind == "individual")).scalar()
    assert f'id="count-individual">{individual}<' in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "http://" not in html.split("<body")[1].replace("http://localhost", "")
    script = admin_web.get("/static/vendor/echarts/echarts.min.js")
    assert script.status_code == 200 and b"echarts" in script.data[:5000]


def test_read_only_role_sees_the_overview(login_as):
    html = login_as(P.AUDITOR).get("/").get_data(as_text=True)
    assert 'id="industry-chart"' in html and "业务日期" in html
