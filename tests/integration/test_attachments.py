"""CUS-6: customer attachments — upload, content-type checks, storage outside the web root, download and
preview within permission and data scope, delete by the uploader or an administrator."""
import io
import os
from datetime import date

import pytest
from sqlalchemy import select

from app import permissions as P
from models.attachments import Attachment
from models.customers import Customer
from models.system import OperationLog
from tests.conftest import ROLE_USERS, TEST_PASSWORD, unique
from tests.integration import attachment_files as files
from tests.integration.datalayer import Store, assert_no_driver_text, make_ric


class _TokenClient:
    """A logged-in client for a user who may open no page with a form: the login page's CSRF token."""

    def __init__(self, app, username):
        from tests.conftest import WebClient

        self.client = WebClient(app)
        self.token = self.client.csrf("/login/")
        self.client.http.post("/login/", data={"username": username, "password": TEST_PASSWORD,
                                               "csrf_token": self.token})

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post_form(self, url, data, form_page=None, **kw):
        return self.client.http.post(url, data={**data, "csrf_token": self.token}, **kw)


def _user_id(app, username):
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


@pytest.fixture(scope="module")
def world(app):
    """Two customers of the account manager t_1, one of another manager; a role without customer rights."""
    from app.extensions import db
    from app.services import role_admin

    store = Store(app)
    manager = _user_id(app, ROLE_USERS[P.ACCOUNT_MANAGER])
    admin = _user_id(app, ROLE_USERS[P.ADMIN])
    mine = Customer(code=unique("A"), kind="individual", name=unique("附件客户"), id_type="RIC",
                    id_number=make_ric(date(1985, 5, 5)), phone="13800000001", address="北京市", direct="direct",
                    manager_id=manager, owner_id=manager)
    other = Customer(code=unique("A"), kind="individual", name=unique("他人客户"), id_type="RIC",
                     id_number=make_ric(date(1986, 6, 6)), direct="direct", manager_id=admin, owner_id=admin)
    store.add(mine, other)
    with app.app_context():
        role = role_admin.create_role(unique("无客户"))
        role_admin.save_matrix(role, {(P.can(P.READ), P.DEPARTMENT)}, "all")
        username = unique("nocus")
        app.appbuilder.sm.add_user(username, "无", "客户", f"{username}@test.local", [role], TEST_PASSWORD)
        db.session.commit()
    return {"mine": mine.id, "other": other.id, "manager": manager, "no_customer_user": username}


@pytest.fixture(scope="module")
def manager_web(app, world):
    from tests.conftest import WebClient

    client = WebClient(app)
    assert client.login(ROLE_USERS[P.ACCOUNT_MANAGER]).status_code == 302
    return client


def _root(app):
    with app.test_request_context():
        from app.services.attachments import upload_root

        return upload_root()


def _files_on_disk(app) -> set:
    found = set()
    for folder, _, names in os.walk(_root(app)):
        found.update(os.path.join(folder, n) for n in names)
    return found


def _upload(client, customer_id, data: bytes, name: str, category="ID_CARD", form_page=None, **extra):
    return client.post_form(f"/attachments/upload/{customer_id}",
                            {"file": (io.BytesIO(data), name), "category": category, **extra},
                            form_page=form_page or f"/customerview/show/{customer_id}")


def _rows(app, customer_id):
    return Store(app).all(select(Attachment).where(Attachment.customer_id == customer_id).order_by(Attachment.id))


def test_upload_download_and_preview(app, world, manager_web):
    content = files.png()
    before = len(_rows(app, world["mine"]))
    response = _upload(manager_web, world["mine"], content, "身份证正面.png", description="正面")
    assert response.status_code == 302
    rows = _rows(app, world["mine"])
    assert len(rows) == before + 1
    row = rows[-1]
    import hashlib

    assert (row.content_type, row.extension, row.size) == ("image/png", "png", len(content))
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert row.original_name == "身份证正面.png" and row.created_by_id == world["manager"]

    # stored outside the static folder, under a random name that is not the user's
    path = os.path.join(_root(app), row.stored_name[:2], row.stored_name)
    assert os.path.isfile(path) and open(path, "rb").read() == content
    assert len(row.stored_name) == 32 and "身份证" not in path and not path.endswith(".png")
    static = os.path.realpath(app.static_folder)
    assert os.path.commonpath([os.path.realpath(path), static]) != static

    page = manager_web.get(f"/customerview/show/{world['mine']}").get_data(as_text=True)
    assert "身份证正面.png" in page and 'enctype="multipart/form-data"' in page

    download = manager_web.get(f"/attachments/file/{row.id}?download=1")
    assert download.status_code == 200 and download.data == content
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
    assert "%E8%BA%AB%E4%BB%BD%E8%AF%81" in disposition  # 身份证, RFC 5987
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    inline = manager_web.get(f"/attachments/file/{row.id}")
    assert inline.status_code == 200 and inline.headers["Content-Disposition"].startswith("inline")
    assert inline.mimetype == "image/png"
    assert "default-src 'none'" in inline.headers["Content-Security-Policy"]
    assert "sandbox" in inline.headers["Content-Security-Policy"]

    preview = manager_web.get(f"/attachments/show/{row.id}").get_data(as_text=True)
    assert f'/attachments/file/{row.id}' in preview and "<img" in preview and row.sha256 in preview


def test_pdf_and_office_documents(app, world, manager_web):
    assert _upload(manager_web, world["mine"], files.pdf(), "征信报告.pdf", "CREDIT_REPORT").status_code == 302
    assert _upload(manager_web, world["mine"], files.docx(), "章程.docx", "ARTICLES").status_code == 302
    rows = _rows(app, world["mine"])
    by_ext = {r.extension: r for r in rows}
    assert by_ext["pdf"].content_type == "application/pdf"
    assert by_ext["docx"].content_type.endswith("wordprocessingml.document")
    pdf = manager_web.get(f"/attachments/file/{by_ext['pdf'].id}")
    assert pdf.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" not in pdf.headers["Content-Security-Policy"]
    word = manager_web.get(f"/attachments/file/{by_ext['docx'].id}")  # never inline
    assert word.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("data, name, category", [
    (files.EXE, "营业执照.pdf", "LICENSE"),  # a program renamed .pdf
    (files.HTML, "photo.png", "SITE_PHOTO"),  # a web page renamed .png
    (files.pdf(), "scan.jpg", "ID_CARD"),  # a real PDF under an image name: refused, not guessed
    (files.bmp(), "photo.bmp", "SITE_PHOTO"),  # a known type the administrator does not allow
    (files.docx(main=False), "fake.docx", "OTHER"),  # a zip that is not a Word document
    (b"", "empty.png", "OTHER"),
    (files.png(), "ok.png", "NO_SUCH_CATEGORY"),
    (files.png(), "../../etc/passwd.png", "ID_CARD"),  # accepted, but only as data (checked below)
])
def test_refused_uploads_leave_nothing(app, world, manager_web, data, name, category):
    rows_before, disk_before = len(_rows(app, world["mine"])), _files_on_disk(app)
    response = _upload(manager_web, world["mine"], data, name, category)
    assert response.status_code == 302
    if name.startswith("../"):
        row = _rows(app, world["mine"])[-1]
        assert row.original_name == "passwd.png" and ".." not in row.stored_name
        return
    page = manager_web.get(response.headers["Location"]).get_data(as_text=True)
    assert 'alert-danger' in page
    assert_no_driver_text(page)
    assert len(_rows(app, world["mine"])) == rows_before
    assert _files_on_disk(app) == disk_before


def test_oversize_refused(app, world, manager_web):
    from app.extensions import db
    from app.services import settings

    with app.app_context():
        settings.set_value("attachment_max_mb", 1)
        db.session.commit()
    try:
        rows_before, disk_before = len(_rows(app, world["mine"])), _files_on_disk(app)
        big = files.png() + b"\x00" * (1024 * 1024 + 10)
        response = _upload(manager_web, world["mine"], big, "big.png")
        assert response.status_code == 302
        assert len(_rows(app, world["mine"])) == rows_before and _files_on_disk(app) == disk_before
    finally:
        with app.app_context():
            settings.set_value("attachment_max_mb", 20)
            db.session.commit()


def test_allowed_types_setting_is_checked(app):
    from app.errors import ValidationError
    from app.services import attachments, settings  # noqa: F401  registers the check

    with app.app_context():
        with pytest.raises(ValidationError):
            settings.parse("attachment_allowed_types", "jpg,exe")
        with pytest.raises(ValidationError):
            settings.parse("attachment_allowed_types", " , ")
        assert settings.parse("attachment_allowed_types", "JPG, pdf，mp4") == "JPG, pdf，mp4"


def test_permission_and_data_scope(app, world, manager_web, login_as):
    row = _rows(app, world["mine"])[0]
    # a role without read permission on customers: 403 on every endpoint
    outsider = _TokenClient(app, world["no_customer_user"])
    for url in (f"/attachments/file/{row.id}", f"/attachments/show/{row.id}"):
        assert outsider.get(url).status_code == 403
    assert _upload(outsider, world["mine"], files.png(), "x.png").status_code == 403
    # read but no edit (risk officer): sees and downloads, cannot upload or delete
    risk = _TokenClient(app, ROLE_USERS[P.RISK_OFFICER])
    assert risk.get(f"/attachments/file/{row.id}").status_code == 200
    assert _upload(risk, world["mine"], files.png(), "x.png").status_code == 403
    assert risk.post_form(f"/attachments/remove/{row.id}", {}).status_code == 403
    # the account manager's data scope ("own") excludes the other manager's customer: 404, as if missing
    with app.app_context():
        from app.extensions import db

        foreign = Attachment(customer_id=world["other"], category="OTHER", original_name="f.png",
                             stored_name=unique("").ljust(32, "0")[:32], content_type="image/png", extension="png",
                             size=1, sha256="0" * 64)
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    assert manager_web.get(f"/attachments/file/{foreign_id}").status_code == 404
    assert manager_web.get(f"/attachments/show/{foreign_id}").status_code == 404
    assert _upload(manager_web, world["other"], files.png(), "x.png", form_page="/customerview/list/").status_code == 404
    assert manager_web.get(f"/customerview/show/{world['other']}").status_code == 404
    # FAB's generic screens of the attachment model stay closed
    assert manager_web.get("/attachments/list/").status_code in (403, 404)
    assert manager_web.get("/attachments/add").status_code in (403, 404)


def test_delete_by_uploader_or_admin_is_logged(app, world, manager_web, admin_web, login_as):
    assert _upload(manager_web, world["mine"], files.png(color=(0, 0, 255)), "现场.png", "SITE_PHOTO").status_code == 302
    row = _rows(app, world["mine"])[-1]
    path = os.path.join(_root(app), row.stored_name[:2], row.stored_name)
    # an administrator uploads one; the account manager (not the uploader) may not delete it
    assert _upload(admin_web, world["mine"], files.png(color=(0, 255, 0)), "管理员.png", "OTHER").status_code == 302
    admins = _rows(app, world["mine"])[-1]
    assert manager_web.post_form(f"/attachments/remove/{admins.id}", {},
                                 form_page=f"/customerview/show/{world['mine']}").status_code == 403
    # the uploader deletes his own
    response = manager_web.post_form(f"/attachments/remove/{row.id}", {},
                                     form_page=f"/customerview/show/{world['mine']}")
    assert response.status_code == 302 and not os.path.exists(path)
    assert Store(app).get(Attachment, row.id) is None
    logged = Store(app).all(select(OperationLog).where(OperationLog.table_name == "cus_attachment",
                                                      OperationLog.record_id == str(row.id)))
    assert {entry.action for entry in logged} == {"insert", "delete"}
    # the administrator deletes anyone's
    assert admin_web.post_form(f"/attachments/remove/{admins.id}", {},
                               form_page=f"/customerview/show/{world['mine']}").status_code == 302
    assert Store(app).get(Attachment, admins.id) is None
    # GET never deletes
    assert manager_web.get(f"/attachments/remove/{row.id}").status_code == 405


def test_attach_to_a_credit_report(app, world, manager_web):
    from models.customer_records import CreditReport

    report = CreditReport(customer_id=world["mine"], query_date=date(2026, 1, 5), query_reason="APPLY",
                          result="clean")
    foreign = CreditReport(customer_id=world["other"], query_date=date(2026, 1, 6), query_reason="APPLY",
                           result="clean")
    Store(app).add(report, foreign)
    page = manager_web.get(f"/customerview/show/{world['mine']}").get_data(as_text=True)
    assert f"credit_report:{report.id}" in page  # offered in the upload form
    response = _upload(manager_web, world["mine"], files.pdf("Report"), "征信.pdf", "CREDIT_REPORT",
                       record=f"credit_report:{report.id}")
    assert response.status_code == 302
    row = _rows(app, world["mine"])[-1]
    assert (row.record_type, row.record_id, row.customer_id) == ("credit_report", report.id, world["mine"])
    listing = manager_web.get(f"/attachments/record/credit_report/{report.id}").get_data(as_text=True)
    assert "征信.pdf" in listing
    # another customer's report (outside the scope) or an unknown record type: refused, nothing stored
    count = len(_rows(app, world["mine"]))
    assert _upload(manager_web, world["mine"], files.pdf(), "x.pdf", "CREDIT_REPORT",
                   record=f"credit_report:{foreign.id}").status_code == 404
    assert _upload(manager_web, world["mine"], files.pdf(), "x.pdf", "CREDIT_REPORT",
                   record="nothing:1").status_code == 302
    assert len(_rows(app, world["mine"])) == count
    assert manager_web.get(f"/attachments/record/credit_report/{foreign.id}").status_code == 404


def test_sub_record_registry_is_generic(app, world):
    """Any model with a customer_id can take files once registered."""
    from app.errors import NotFound, ValidationError
    from app.services import attachments

    attachments.register_subrecord("test_shareholder", "models.customer_records:Shareholder", "股东")
    try:
        with app.test_request_context():
            with pytest.raises(NotFound):
                attachments.subrecord_for("test_shareholder", 10**9, world["mine"])
            with pytest.raises(ValidationError):
                attachments.subrecord_for("no_such_type", 1, world["mine"])
    finally:
        attachments.SUBRECORD_TYPES.pop("test_shareholder")


def test_clean_name():
    from app.services.attachments import clean_name

    assert clean_name('C:\\Users\\张三\\身份证 "正面".png') == "身份证 _正面_.png"
    assert clean_name("a\r\nb.pdf") == "a__b.pdf"
    assert clean_name("..") == "file"
    assert len(clean_name("长" * 300 + ".pdf")) <= 200 and clean_name("长" * 300 + ".pdf").endswith(".pdf")
