"""The home page is the workbench (issue 8): business date, quick desktop, my customers (counted in the database,
chart from a local file) and to-dos."""
from app import permissions as P


def test_home_is_the_workbench_and_loads_echarts_locally(admin_web):
    html = admin_web.get("/").get_data(as_text=True)
    assert 'id="wb-desktop"' in html and 'id="wb-customers"' in html and 'id="wb-todos"' in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "http://" not in html.split("<body")[1].replace("http://localhost", "")
    script = admin_web.get("/static/vendor/echarts/echarts.min.js")
    assert script.status_code == 200 and b"echarts" in script.data[:5000]


def test_read_only_role_sees_its_workbench(login_as):
    html = login_as(P.AUDITOR).get("/").get_data(as_text=True)
    assert 'id="customer-chart"' in html and "业务日期" in html and 'class="btn btn-default wb-module"' in html
