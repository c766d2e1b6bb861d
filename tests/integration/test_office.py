"""Office (issue 9: WB-3, WB-6, OA-2, SYS-11) through the real stack: messages reach exactly their recipients
(users, departments with sub-departments, roles), nobody reads another's message by URL or API, approval
notices arrive, address-book exports, file-cabinet permissions, the own password under the policy, help."""
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import permissions as P
from tests.conftest import TEST_PASSWORD, unique
from tests.integration.attachment_files import EXE, pdf, png

PDF, PNG = pdf("Contract"), png()

YEAR = 2046


@pytest.fixture(scope="module")
def org(app):
    """A department with a sub-department and one beside them, each with staff; a user of its own role."""
    from app.extensions import db
    from models.system import Department, Employee

    with app.app_context():
        sm = app.appbuilder.sm
        parent = Department(code=unique("D"), name=unique("总部"))
        other = Department(code=unique("D"), name=unique("其他部"))
        db.session.add_all([parent, other])
        db.session.flush()
        child = Department(code=unique("D"), name=unique("分部"), parent_id=parent.id)
        db.session.add(child)
        db.session.flush()
        role = sm.add_role(unique("办公角色"))
        users = {}
        for key, dept, roles in [("sender", other, [P.ACCOUNT_MANAGER]), ("p1", parent, [P.ACCOUNT_MANAGER]),
                                 ("c1", child, [P.CASHIER]), ("o1", other, [P.RISK_OFFICER]),
                                 ("r1", other, [P.AUDITOR]), ("gone", parent, [P.ACCOUNT_MANAGER]),
                                 ("outsider", other, [P.ACCOUNT_MANAGER])]:
            username = unique(f"oa{key}")
            role_objs = [sm.find_role(r) for r in roles] + ([role] if key == "r1" else [])
            user = sm.add_user(username, "办公", key, f"{username}@test.local", role_objs, TEST_PASSWORD)
            db.session.add(Employee(code=unique("E"), name=f"员工{key}", department_id=dept.id, user_id=user.id,
                                    phone=f"1380000{len(users):04d}", email=f"{username}@test.local"))
            users[key] = user.id
        gone = sm.get_user_by_id(users["gone"])
        gone.active = False  # an inactive user never receives anything
        db.session.commit()
        return {"users": users, "usernames": {k: sm.get_user_by_id(v).username for k, v in users.items()},
                "parent": parent.id, "child": child.id, "other": other.id, "role": role.id}


def _recipients(db, message_id):
    from models.office import OfficeMessageRecipient

    return set(db.session.execute(select(OfficeMessageRecipient.user_id).where(
        OfficeMessageRecipient.message_id == message_id)).scalars())


def test_message_reaches_exactly_users_departments_and_roles(db, org):
    from app.services import messages

    u = org["users"]
    message = messages.send(u["sender"], "部门通知", "正文", user_ids=[u["o1"]], department_ids=[org["parent"]],
                            role_ids=[org["role"]])
    # parent department includes its sub-department; the inactive user and the outsider do not get it
    assert _recipients(db, message.id) == {u["o1"], u["p1"], u["c1"], u["r1"]}
    assert "总部" in message.addressed_to
    # a user named twice (directly and by department) gets it once; the sender only when named
    again = messages.send(u["sender"], "再发", "", user_ids=[u["p1"], u["sender"]], department_ids=[org["child"]])
    assert _recipients(db, again.id) == {u["p1"], u["sender"], u["c1"]}


def test_bad_messages_are_refused_and_leave_nothing(db, org):
    from app.errors import ValidationError
    from app.services import messages
    from models.office import OfficeMessage

    before = db.session.execute(select(OfficeMessage.id).order_by(OfficeMessage.id.desc())).scalars().first()
    u = org["users"]
    with pytest.raises(ValidationError):
        messages.send(u["sender"], "没人", "", user_ids=[u["gone"]])  # inactive only: nobody to deliver to
    with pytest.raises(ValidationError):
        messages.send(u["sender"], "", "正文", user_ids=[u["p1"]])
    with pytest.raises(ValidationError):
        messages.send(u["sender"], "附件", "", user_ids=[u["p1"]], files=[(io.BytesIO(EXE), "a.pdf")])
    after = db.session.execute(select(OfficeMessage.id).order_by(OfficeMessage.id.desc())).scalars().first()
    assert after == before


def test_no_one_reads_another_users_message_by_url_or_api(db, org, login_as, api_as):
    from app.services import messages

    u, names = org["users"], org["usernames"]
    message = messages.send(u["sender"], "机密", "只给p1", kind="mail", user_ids=[u["p1"]],
                            files=[(io.BytesIO(PDF), "合同.pdf")])
    file_id = message.files[0].id
    mid = message.id
    db.session.commit()

    outsider = login_as(names["outsider"])
    for url in (f"/office/mail/show/{mid}", f"/office/messages/show/{mid}", f"/office/mail/file/{file_id}"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post_form(f"/office/mail/delete/{mid}", {}, form_page="/office/mail/inbox").status_code == 302
    assert "机密" not in outsider.get("/office/mail/inbox").get_data(as_text=True)
    api = api_as(names["outsider"])
    assert api.get(f"/api/v1/office_message/{mid}").status_code == 404
    assert all(r["id"] != mid for r in api.get("/api/v1/office_message/?box=mail").get_json()["result"])

    # the recipient reads it (screen: marks it read), downloads the file; the API shows it too
    reader = login_as(names["p1"])
    before = messages.unread_count(u["p1"])
    page = reader.get(f"/office/mail/show/{mid}")
    assert page.status_code == 200 and "只给p1" in page.get_data(as_text=True)
    db.session.expire_all()
    assert messages.unread_count(u["p1"]) == before - 1
    download = reader.get(f"/office/mail/file/{file_id}")
    assert download.status_code == 200 and download.data == PDF
    body = api_as(names["p1"]).get(f"/api/v1/office_message/{mid}").get_json()["result"]
    assert body["subject"] == "机密" and body["files"][0]["name"] == "合同.pdf"
    # the sender sees it in his sent list with who read it
    sender = login_as(names["sender"])
    assert sender.get(f"/office/mail/show/{mid}").status_code == 200
    # the outsider's delete attempt above changed nothing
    db.session.expire_all()
    assert u["p1"] in _recipients(db, mid)


def test_send_through_screen_and_api_and_unread_badge(db, org, login_as, api_as):
    from app.services import messages

    u, names = org["users"], org["usernames"]
    reader = login_as(names["o1"])
    count = messages.unread_count(u["o1"])
    sender = login_as(names["sender"])
    response = sender.post_form("/office/messages/compose", {"users": [str(u["o1"])], "subject": "屏幕发送",
                                                             "body": "你好"})
    assert response.status_code == 302
    assert f'id="unread-badge" style="background:#d9534f">{count + 1}<' in reader.get("/office/help/").get_data(
        as_text=True)
    api = api_as(names["sender"])
    created = api.post("/api/v1/office_message/", json={"subject": "接口发送", "users": [u["o1"]], "kind": "mail"})
    assert created.status_code == 201 and created.get_json()["recipients"] == 1
    assert api.post("/api/v1/office_message/", json={"subject": "无人", "users": []}).status_code == 422
    assert api_as(names["o1"]).get("/api/v1/office_message/unread_count").get_json()["count"] == count + 2


def test_inbox_pages_through_more_messages_than_a_page_holds(db, org, login_as):
    """A full inbox has a next page and it opens (the pager once hid the translation function: a 400)."""
    from app.services import messages, personal

    u, names = org["users"], org["usernames"]
    personal.set_rows_per_page(u["c1"], 10)
    db.session.commit()
    for n in range(11):
        messages.send(u["sender"], f"分页{n}", "内容", user_ids=[u["c1"]])
    reader = login_as(names["c1"])
    first = reader.get("/office/messages/inbox")
    assert first.status_code == 200 and "page=1" in first.get_data(as_text=True)
    second = reader.get("/office/messages/inbox?page=1")
    assert second.status_code == 200 and "page=0" in second.get_data(as_text=True)


def test_approval_step_sends_a_notice_to_its_approvers(db, org):
    from app.services import approval, messages
    from models.office import OfficeMessage, OfficeMessageRecipient
    from models.system import ApprovalPost

    kind = unique("oa.")
    approval.register_kind(kind, label="办公测试", model=ApprovalPost, attributes=lambda o: {},
                           on_decided=lambda o, outcome, i: None, url=lambda o: f"/approvalposts/show/{o.id}")
    u = org["users"]
    flow = approval.create_flow(kind, unique("f"), "通知流程", [{"name": "审核", "mode": "any",
                                                              "user_ids": [u["p1"], u["c1"]]}])
    from models.approval import ApprovalRule

    db.session.add(ApprovalRule(kind=kind, priority=1, flow_code=flow.code, active=True))
    item = ApprovalPost(code=unique("it"), name=unique("事项"))
    db.session.add(item)
    db.session.flush()
    approval.submit(kind, item, u["sender"], title="报销单 X")
    db.session.commit()
    notice = db.session.execute(select(OfficeMessage).where(OfficeMessage.kind == "notice",
                                                            OfficeMessage.subject.contains("报销单 X"))).scalar_one()
    assert notice.sender_id is None and notice.link == f"/approvalposts/show/{item.id}"
    assert _recipients(db, notice.id) == {u["p1"], u["c1"]}
    assert messages.send_notice([u["gone"]], "无效") == 0  # inactive users get nothing
    assert db.session.execute(select(OfficeMessageRecipient).where(
        OfficeMessageRecipient.message_id == notice.id, OfficeMessageRecipient.read_at.is_not(None))).first() is None


def test_address_books_and_excel_export(app, db, org, login_as):
    web_app = app
    from app.services import address_book
    from models.office import Contact, ContactGroup

    u, names = org["users"], org["usernames"]
    group = ContactGroup(owner_id=u["p1"], name="银行")
    db.session.add(group)
    db.session.flush()
    db.session.add_all([Contact(owner_id=u["p1"], group_id=group.id, name="王经理", company="工商银行",
                                mobile="13900001111", email="wang@bank.cn"),
                        Contact(owner_id=u["o1"], name="别人的联系人", company="某公司")])
    db.session.commit()
    client = login_as(names["p1"])
    page = client.get("/office/addressbook/personal").get_data(as_text=True)
    assert "王经理" in page and "别人的联系人" not in page
    response = client.get("/office/addressbook/personal/export/xlsx?q=王")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    with web_app.test_request_context("/"):  # the headers as the page's language names them (中文 by default)
        assert [c.value for c in sheet[1]] == address_book.headers("personal")
    assert [c.value for c in sheet[2]][:5] == ["银行", "王经理", "工商银行", None, "13900001111"]
    assert sheet.max_row == 2
    # company book: generated from the employees, searchable
    company = client.get("/office/addressbook/company/export/xlsx?q=员工c1")
    rows = list(load_workbook(io.BytesIO(company.data)).active.iter_rows(values_only=True))
    from models.system import Department

    assert rows[1][1] == "员工c1" and rows[1][0] == db.session.get(Department, org["child"]).name
    pdf = client.get("/office/addressbook/company/export/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # another user's groups are not offered on the contact form, nor his contacts on the contact screen
    db.session.add(ContactGroup(owner_id=u["o1"], name="别人的分组"))
    db.session.commit()
    form = client.get("/office/contacts/add").get_data(as_text=True)
    assert "银行" in form and "别人的分组" not in form
    other = db.session.execute(select(Contact.id).where(Contact.owner_id == u["o1"])).scalars().first()
    assert client.get(f"/office/contacts/show/{other}").status_code == 404


def test_customer_book_follows_the_data_scope(db, org, login_as):
    from models.customers import Customer

    u, names = org["users"], org["usernames"]
    mine, theirs = unique("我的客户"), unique("别人客户")
    for name, manager in ((mine, u["p1"]), (theirs, u["outsider"])):
        db.session.add(Customer(code=unique("C"), kind="corporate", name=name, id_type="uscc",
                                id_number=unique("N")[:18], phone="02100000000", manager_id=manager,
                                owner_id=manager, legal_representative="法人"))
    db.session.commit()
    page = login_as(names["p1"]).get("/office/addressbook/customer").get_data(as_text=True)
    assert mine in page and theirs not in page


def test_file_cabinet_permissions(db, org, login_as):
    from models.office import CabinetFile, CabinetFolder

    u, names = org["users"], org["usernames"]
    from models.system import Department

    dept_folder = CabinetFolder(name=unique("部门柜"), scope="public",
                                departments=[db.session.get(Department, org["parent"])])
    personal = CabinetFolder(name=unique("个人柜"), scope="personal", owner_id=u["p1"])
    db.session.add_all([dept_folder, personal])
    db.session.commit()
    member, child_member = login_as(names["p1"]), login_as(names["c1"])
    outsider = login_as(names["outsider"])

    # a member of a sub-department uploads; the checks of the attachment rules apply
    upload = child_member.post_form(f"/office/cabinet/folder/{dept_folder.id}/upload",
                                    {"file": (io.BytesIO(PNG), "图.png")}, form_page="/office/cabinet/",
                                    content_type="multipart/form-data")
    assert upload.status_code == 302
    refused = child_member.post_form(f"/office/cabinet/folder/{dept_folder.id}/upload",
                                     {"file": (io.BytesIO(PNG), "图.pdf")}, form_page="/office/cabinet/",
                                     content_type="multipart/form-data")
    assert refused.status_code == 302
    files = db.session.execute(select(CabinetFile).where(CabinetFile.folder_id == dept_folder.id)).scalars().all()
    assert [f.original_name for f in files] == ["图.png"]
    file_id = files[0].id
    assert member.get(f"/office/cabinet/file/{file_id}").data == PNG
    # outside the department: neither the folder nor the file exist for him
    assert outsider.get(f"/office/cabinet/folder/{dept_folder.id}").status_code == 404
    assert outsider.get(f"/office/cabinet/file/{file_id}").status_code == 404
    assert dept_folder.name not in outsider.get("/office/cabinet/").get_data(as_text=True)
    assert outsider.get(f"/office/cabinet/folder/{personal.id}").status_code == 404
    # a member who did not upload it cannot delete it; the uploader can
    member.post_form(f"/office/cabinet/file/{file_id}/delete", {}, form_page="/office/cabinet/")
    db.session.expire_all()
    assert db.session.get(CabinetFile, file_id) is not None
    child_member.post_form(f"/office/cabinet/file/{file_id}/delete", {}, form_page="/office/cabinet/")
    db.session.expire_all()
    assert db.session.get(CabinetFile, file_id) is None
    # a folder opened to a role
    from flask_appbuilder.security.sqla.models import Role

    role_folder = CabinetFolder(name=unique("角色柜"), scope="public", roles=[db.session.get(Role, org["role"])])
    db.session.add(role_folder)
    db.session.commit()
    assert login_as(names["r1"]).get(f"/office/cabinet/folder/{role_folder.id}").status_code == 200
    assert outsider.get(f"/office/cabinet/folder/{role_folder.id}").status_code == 404
    # public folders are kept by their administrators only
    assert outsider.get("/office/publicfolders/list/").status_code in (302, 403)


def test_change_own_password_under_the_policy(db, new_user, login_as, web):
    username = new_user(P.ACCOUNT_MANAGER)
    client = login_as(username)
    page = "/mine/settings/"
    cases = [("wrong", "Better@2046x", "Better@2046x", "当前密码不正确"),
             (TEST_PASSWORD, "short", "short", "密码"),
             (TEST_PASSWORD, "alllowercase1", "alllowercase1", "三种"),
             (TEST_PASSWORD, "Better@2046x", "Other@2046x", "两次")]
    for current, new, repeat, text in cases:
        response = client.post_form("/mine/settings/password", {"current_password": current, "new_password": new,
                                                                 "repeat_password": repeat}, form_page=page)
        assert response.status_code == 400
    assert web.login(username, TEST_PASSWORD).status_code == 302  # still the old password
    ok = client.post_form("/mine/settings/password", {"current_password": TEST_PASSWORD,
                                                      "new_password": "Better@2046x",
                                                      "repeat_password": "Better@2046x"}, form_page=page)
    assert ok.status_code == 302
    from tests.conftest import WebClient

    fresh = WebClient(web.app)
    assert "/login" not in fresh.login(username, "Better@2046x").headers["Location"]


def test_rows_per_page_and_delegation_from_personal_settings(db, org, login_as):
    from models.approval import ApprovalDelegation
    from models.office import Contact

    u, names = org["users"], org["usernames"]
    client = login_as(names["o1"])
    for i in range(12):
        db.session.add(Contact(owner_id=u["o1"], name=f"联系人{i:02d}"))
    db.session.commit()
    assert client.post_form("/mine/settings/rows", {"rows_per_page": "7"}, form_page="/mine/settings/"
                            ).status_code == 302  # not a choice: refused
    client.post_form("/mine/settings/rows", {"rows_per_page": "10"}, form_page="/mine/settings/")
    page = client.get("/office/contacts/list/").get_data(as_text=True)
    assert page.count("联系人") >= 10 and "联系人11" not in page  # ten rows per page in a list screen
    client.post_form("/mine/settings/delegate", {"to_user": str(u["p1"]), "date_from": f"{YEAR}-01-01",
                                                 "date_to": f"{YEAR}-01-31", "reason": "休假"},
                     form_page="/mine/settings/")
    d = db.session.execute(select(ApprovalDelegation).where(ApprovalDelegation.from_user_id == u["o1"],
                                                            ApprovalDelegation.date_from == date(YEAR, 1, 1))).scalar()
    assert d is not None and d.to_user_id == u["p1"]


def test_help_pages_edited_by_admin_read_by_everyone(db, admin_web, login_as):
    question = unique("如何修改密码")
    response = admin_web.post_form("/office/helpentries/add", {"kind": "faq", "title": question,
                                                                "body": "在 我的 → 个人设置 中修改。",
                                                                "sort_order": "1", "active": "y"})
    assert response.status_code == 302
    reader = login_as(P.CASHIER)
    assert question in reader.get("/office/help/").get_data(as_text=True)
    assert reader.get("/office/helpentries/add").status_code in (302, 403)


def test_every_office_page_renders(admin_web, login_as):
    pages = ["/office/messages/inbox", "/office/messages/sent", "/office/messages/compose", "/office/mail/inbox",
             "/office/addressbook/", "/office/addressbook/company", "/office/addressbook/customer",
             "/office/contacts/list/", "/office/contacts/add", "/office/contactgroups/add", "/office/cabinet/",
             "/office/publicfolders/list/", "/office/publicfolders/add", "/office/help/", "/office/helpentries/list/",
             "/office/helpentries/add", "/mine/settings/"]
    for url in pages:
        assert admin_web.get(url).status_code == 200, url
    staff = login_as(P.CASHIER)
    for url in pages:
        expected = 302 if "publicfolders" in url or "helpentries" in url else 200
        assert staff.get(url).status_code in ((302, 403) if expected == 302 else (200,)), url


class _SmtpSink:
    """A minimal SMTP server on a free local port that keeps what it receives (RCPT TO and the data)."""

    def __init__(self):
        import socketserver
        import threading

        self.mails: list[tuple[list[str], str]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink\r\n")
                to = []
                while True:
                    line = self.rfile.readline().decode("utf-8", "replace")
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250 sink\r\n")
                    elif verb == "RCPT":
                        to.append(line.split(":", 1)[1].strip().strip("<>"))
                        self.wfile.write(b"250 ok\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 go\r\n")
                        data = []
                        while (chunk := self.rfile.readline().decode("utf-8", "replace")) not in (".\r\n", ""):
                            data.append(chunk)
                        sink.mails.append((list(to), "".join(data)))
                        to.clear()
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # MAIL, RSET, NOOP
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_email_copies_only_when_smtp_is_switched_on(db, org):
    import time

    from app.services import messages, settings
    from models.office import OfficeMessageRecipient

    u, names = org["users"], org["usernames"]
    off = messages.send(u["sender"], "不发邮件", "正文", user_ids=[u["p1"]])
    assert messages.email_copies(off.id) == 0  # SMTP is off by default: nothing leaves the system
    sink = _SmtpSink()
    try:
        for key, value in (("smtp_enabled", True), ("smtp_host", "127.0.0.1"), ("smtp_port", sink.port),
                           ("smtp_sender", "oa@test.local")):
            settings.set_value(key, value)
        db.session.commit()
        message = messages.send(u["sender"], "邮件副本", "请查收", user_ids=[u["p1"], u["c1"]])
        deadline = time.time() + 10  # sent after the commit, in the background
        while len(sink.mails) < 2 and time.time() < deadline:
            time.sleep(0.1)
        assert sorted(to[0] for to, _ in sink.mails) == sorted(f"{names[k]}@test.local" for k in ("p1", "c1"))
        marks = []
        while time.time() < deadline:  # the background sender marks the deliveries it mailed
            db.session.rollback()
            marks = db.session.execute(select(OfficeMessageRecipient.emailed_at).where(
                OfficeMessageRecipient.message_id == message.id)).scalars().all()
            if all(marks):
                break
            time.sleep(0.1)
        assert len(marks) == 2 and all(marks)
    finally:
        settings.set_value("smtp_enabled", False)
        settings.set_value("smtp_host", "")
        db.session.commit()
        sink.close()
