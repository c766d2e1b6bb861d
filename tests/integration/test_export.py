"""SYS-14: every list exports to Excel with the screen's current filters and order; big exports run as a
background task with progress, and only their owner can fetch the file."""
import io
import os
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import permissions as P
from models.customers import Customer
from models.system import ExportJob
from reports.excel import write_table
from tests.conftest import ROLE_USERS, unique
from tests.integration.datalayer import admin_client, assert_no_driver_text, make_ric, make_uscc, store  # noqa: F401

EXPORT_COLUMNS = ["code", "name", "kind", "id_type", "id_number", "gender", "birth_date", "phone", "region_code",
                  "industry_code", "address", "direct", "manager", "created_at"]


def _customers(store, tag, n, manager_id=None):
    """n customers whose names contain `tag`; individuals and corporates alternate, phones descend."""
    rows = []
    for i in range(n):
        individual = i % 2 == 0
        rows.append(Customer(
            code=unique("E"), kind="individual" if individual else "corporate", name=f"导出{tag}-{i:03d}",
            id_type="RIC" if individual else "USCC",
            id_number=make_ric(date(1980 + i % 30, 1 + i % 12, 1 + i % 28)) if individual else make_uscc(),
            birth_date=date(1980 + i % 30, 1 + i % 12, 1 + i % 28) if individual else None,
            phone=f"139{9999_9999 - i:08d}", region_code="110000", address="地址", direct="direct",
            manager_id=manager_id,
        ))
    store.add(*rows)
    return rows


def _query(tag, kind=None, order="phone", direction="asc"):
    args = {"_flt_2_name": tag}  # 2 = "contains" among the string filters
    if kind:
        args["_flt_3_kind"] = kind  # 3 = "equal to"
    args.update({"_oc_CustomerView": order, "_od_CustomerView": direction})
    return args


def _read(data):
    book = load_workbook(io.BytesIO(data))
    return book.active


def _expected_codes(store, tag, kind, desc_phone=False):
    stmt = select(Customer.code).where(Customer.name.contains(tag))
    if kind:
        stmt = stmt.where(Customer.kind == kind)
    order = Customer.phone.desc() if desc_phone else Customer.phone.asc()
    with store.session() as session:
        return list(session.execute(stmt.order_by(order)).scalars())


def test_export_honours_filters_and_order(app, store, admin_web):
    tag = unique("t")
    _customers(store, tag, 7)
    _customers(store, unique("other"), 2)  # must not appear
    args = _query(tag, kind="individual", order="phone", direction="asc")

    listing = admin_web.get("/customerview/list/", query_string=args).get_data(as_text=True)
    response = admin_web.get("/customerview/export/", query_string=args)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"] and ".xlsx" in response.headers[
        "Content-Disposition"]
    sheet = _read(response.data)
    rows = list(sheet.iter_rows(values_only=True))
    codes = [r[0] for r in rows[1:]]
    expected = _expected_codes(store, tag, "individual")
    assert len(expected) == 4 and codes == expected
    # the list on the screen shows the same rows in the same order
    positions = [listing.index(code) for code in expected]
    assert positions == sorted(positions)
    # the reverse order gives the reverse file
    reverse = admin_web.get("/customerview/export/", query_string=_query(tag, "individual", "phone", "desc"))
    assert [r[0] for r in list(_read(reverse.data).iter_rows(values_only=True))[1:]] == expected[::-1]

    with app.test_request_context():
        from app.services.exporting import find_view

        view = find_view("CustomerView")
        labels = [str(view.label_columns[c]) for c in EXPORT_COLUMNS]
    assert list(rows[0]) == labels
    assert all(r[2] in ("个人", "Individual") for r in rows[1:])  # formatted like the screen


def test_workbook_layout_header_widths_and_formats(store, admin_web):
    tag = unique("f")
    _customers(store, tag, 3)
    response = admin_web.get("/customerview/export/", query_string=_query(tag))
    sheet = _read(response.data)

    assert sheet.freeze_panes == "A2"  # header row frozen
    header = sheet["A1"]
    assert header.font.b and header.fill.fgColor.rgb.endswith("DDEBF7") and header.border.bottom.style == "thin"
    assert sheet.auto_filter.ref.startswith("A1:")
    widths = {col: sheet.column_dimensions[col].width for col in ("A", "B", "E", "N")}
    assert all(w and w >= 8 for w in widths.values()), widths
    assert widths["E"] >= 18  # the ID number column is wide enough for 18 digits
    created = sheet.cell(row=2, column=EXPORT_COLUMNS.index("created_at") + 1)
    assert isinstance(created.value, datetime) and created.number_format == "yyyy-mm-dd hh:mm:ss"
    birth = [sheet.cell(row=r, column=EXPORT_COLUMNS.index("birth_date") + 1) for r in range(2, 5)]
    dated = [c for c in birth if c.value is not None]
    assert dated and all(c.number_format == "yyyy-mm-dd" for c in dated)
    phone = sheet.cell(row=2, column=EXPORT_COLUMNS.index("phone") + 1)
    assert isinstance(phone.value, str)  # numbers held as text stay text (no 1.39E+10)


def test_money_and_number_formats(tmp_path):
    path = tmp_path / "t.xlsx"
    n = write_table(str(path), "金额", ["名称", "金额", "笔数", "日期"],
                    [["甲", Decimal("1234567.5"), 3, date(2026, 1, 31)], ["乙", Decimal("-0.01"), 0, None]])
    assert n == 2
    sheet = load_workbook(path).active
    assert sheet["B2"].value == 1234567.5 and sheet["B2"].number_format == "#,##0.00"
    assert sheet["B3"].value == -0.01
    assert sheet["C2"].value == 3 and sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet["D3"].value is None


def test_direct_download_leaves_no_file_behind(app, store, admin_web):
    tag = unique("d")
    _customers(store, tag, 1)
    before = set(os.listdir(app.config["EXPORT_DIR"])) if os.path.isdir(app.config["EXPORT_DIR"]) else set()
    response = admin_web.get("/customerview/export/", query_string=_query(tag))
    assert response.status_code == 200 and len(list(_read(response.data).iter_rows())) == 2
    response.close()
    assert set(os.listdir(app.config["EXPORT_DIR"])) <= before


@pytest.fixture
def async_threshold(app):
    old = app.config["EXPORT_ASYNC_THRESHOLD"]
    app.config["EXPORT_ASYNC_THRESHOLD"] = 3
    yield 3
    app.config["EXPORT_ASYNC_THRESHOLD"] = old


def test_large_export_runs_in_the_background(app, store, login_as, async_threshold):
    manager = login_as(P.ACCOUNT_MANAGER)
    tag = unique("a")
    with app.app_context():
        owner = app.appbuilder.sm.find_user(username=ROLE_USERS[P.ACCOUNT_MANAGER])
    _customers(store, tag, 250, manager_id=owner.id)  # an account manager sees (and exports) only own customers
    args = _query(tag, order="phone", direction="desc")

    response = manager.get("/customerview/export/", query_string=args)

    assert response.status_code == 302
    match = re.search(r"/exportjobview/progress/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    job_id = int(match.group(1))
    job = store.get(ExportJob, job_id)
    assert job.user_id == owner.id and job.view_name == "CustomerView" and job.total == 250

    progress = manager.get(f"/exportjobview/progress/{job_id}")
    assert progress.status_code == 200
    html = progress.get_data(as_text=True)
    assert 'id="export-bar"' in html and f"/exportjobview/status/{job_id}" in html

    status = manager.get(f"/exportjobview/status/{job_id}").get_json()  # tasks run eagerly without Redis
    assert status["status"] == "done" and status["done"] == status["total"] == 250 and status["error"] is None
    assert status["url"].endswith(f"/exportjobview/file/{job_id}")

    listing = manager.get("/exportjobview/list/").get_data(as_text=True)
    assert f"/exportjobview/file/{job_id}" in listing

    download = manager.get(status["url"])
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    codes = [r[0] for r in list(_read(download.data).iter_rows(values_only=True))[1:]]
    assert codes == _expected_codes(store, tag, None, desc_phone=True)

    # another user (even one allowed to export customers) cannot see or fetch this job
    other = login_as(P.RISK_OFFICER)
    for url in (f"/exportjobview/progress/{job_id}", f"/exportjobview/status/{job_id}",
                f"/exportjobview/file/{job_id}", f"/exportjobview/show/{job_id}"):
        answer = other.get(url)
        assert answer.status_code == 404, url
        assert_no_driver_text(answer.get_data(as_text=True))
    assert f"/exportjobview/file/{job_id}" not in other.get("/exportjobview/list/").get_data(as_text=True)


def test_small_export_stays_direct_below_the_threshold(store, admin_web, async_threshold):
    tag = unique("s")
    _customers(store, tag, 3)
    response = admin_web.get("/customerview/export/", query_string=_query(tag))
    assert response.status_code == 200 and len(list(_read(response.data).iter_rows())) == 4


def test_export_needs_the_export_permission(login_as):
    # the committee member may read customers but not export them
    client = login_as(P.COMMITTEE_MEMBER)
    assert client.get("/customerview/list/").status_code == 200
    assert "export-excel" not in client.get("/customerview/list/").get_data(as_text=True)
    assert client.get("/customerview/export/").status_code == 403


@pytest.mark.parametrize("view", ["departmentview", "dicttypeview", "numberingruleview", "systemsettingview",
                                  "operationlogview", "loginlogview", "dayendrunview", "employeeview",
                                  "approvalpostview", "companyinfoview"])
def test_every_list_has_the_export_button(admin_client, view):
    html = admin_client.get(f"/{view}/list/").get_data(as_text=True)
    assert f"/{view}/export/" in html
    response = admin_client.get(f"/{view}/export/")
    assert response.status_code == 200, view
    sheet = _read(response.data)
    assert sheet.freeze_panes == "A2" and sheet.max_row >= 1


def test_day_end_purges_old_and_orphaned_export_files(app, db):
    from datetime import timedelta

    from app.services import dayend

    directory = app.config["EXPORT_DIR"]
    os.makedirs(directory, exist_ok=True)
    old_job_file, orphan, fresh = (f"{unique('p')}.xlsx" for _ in range(3))
    for name in (old_job_file, orphan, fresh):
        with open(os.path.join(directory, name), "wb") as fh:
            fh.write(b"x")
    two_days_ago = (datetime.now() - timedelta(days=2)).timestamp()
    os.utime(os.path.join(directory, orphan), (two_days_ago, two_days_ago))
    user_id = app.appbuilder.sm.find_user(username=ROLE_USERS[P.ADMIN]).id
    job = ExportJob(user_id=user_id, view_name="CustomerView", title="旧导出", status="done", total=1, done=1,
                    filename=old_job_file, finished_at=datetime.now() - timedelta(days=8))
    db.session.add(job)
    db.session.commit()

    assert dayend.purge_old_exports(date.today()) >= 2
    db.session.commit()

    remaining = set(os.listdir(directory))
    assert old_job_file not in remaining and orphan not in remaining and fresh in remaining
    assert db.session.get(ExportJob, job.id).filename is None


def test_unreachable_broker_fails_the_job_with_a_message(app, store, admin_web, async_threshold, monkeypatch):
    """If Redis is down when a big export is requested, the user is told, and no job waits for ever."""
    from kombu.exceptions import OperationalError

    from app import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.export_list, "delay", broker_down)
    tag = unique("b")
    _customers(store, tag, 5)
    last = store.scalar(select(ExportJob.id).order_by(ExportJob.id.desc()).limit(1)) or 0

    response = admin_web.get("/customerview/export/", query_string=_query(tag), follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Connection refused" not in html and "127.0.0.1:6379" not in html
    from tests.integration.datalayer import assert_message, msg

    assert_message(html, *msg(app, "The background export could not be started. Please try again later."))
    job = store.one(select(ExportJob).where(ExportJob.id > last).order_by(ExportJob.id.desc()).limit(1))
    assert job.status == "failed" and job.finished_at is not None
