"""Bulk customer import from Excel through the real screen (login, CSRF, multipart upload) and the CLI.

Happy path: every row imported with numbers, manager, department, one operation-log entry. Bad rows:
nothing written, and the error workbook marks exactly the wrong cells (red fill and a comment). A
renamed non-xlsx file is refused; a role that may not add customers gets 403.
"""
import html
import io
import itertools
import re

import openpyxl
from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from app import permissions as P
from models.customers import Customer
from models.system import OperationLog

_seq = itertools.count(1)
TOKEN_LINK = re.compile(r'href="(/customerimport/errors/[^"]+)"')


def _ric(n):
    body = f"11010519850630{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _uscc(n):
    body = "91110105" + f"{n:09d}"[-9:]
    return body + uscc.calc_check_digit(body)


def _fresh(base):
    """Identity numbers no other test (nor a rerun against the same database) has used."""
    import uuid

    return int(uuid.uuid4().int % 10**8) + base


def _person(n, **over):
    row = {"客户类型": "个人", "客户名称": f"导入个人{n}", "证件类型": "居民身份证", "证件号码": _ric(n),
           "手机号码": "13800138000", "所属地区": "杭州市", "所属行业": "制造业"}
    row.update(over)
    return row


def _company(n, **over):
    row = {"客户类型": "企业", "客户名称": f"导入企业{n}有限公司", "证件类型": "统一社会信用代码", "证件号码": _uscc(n),
           "所属地区": "330100", "所属行业": "C", "法定代表人": "张三", "注册资本": "500万元", "客户经理": "admin"}
    row.update(over)
    return row


def _headers(app):
    """The template's headers (field → header text), as the screen's language writes them."""
    from app.services import customer_import as CI
    from reports.customer_import import header_text

    with app.test_request_context():
        return {c.field: header_text(c) for c in CI.COLUMNS}, {str(c.label): c.field for c in CI.COLUMNS}


CHINESE_TO_FIELD = {"客户类型": "kind", "客户名称": "name", "证件类型": "id_type", "证件号码": "id_number",
                    "手机号码": "phone", "所属地区": "region_code", "所属行业": "industry_code", "法定代表人": "legal_representative",
                    "注册资本": "registered_capital", "客户经理": "manager_id"}
ENGLISH_VALUES = {"个人": "individual", "企业": "corporate"}  # codes are accepted wherever names are


def _workbook(client, app, rows) -> bytes:
    template = client.get("/customerimport/template")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    sheet = book.worksheets[0]
    header_cells = [c.value for c in sheet[1]]
    by_field, _ = _headers(app)
    column_of = {field: header_cells.index(text) for field, text in by_field.items()}
    for r, row in enumerate(rows, start=2):
        for chinese, value in row.items():
            field = CHINESE_TO_FIELD[chinese]
            if field in ("kind",):
                value = ENGLISH_VALUES.get(value, value)  # the code, whatever language the screen speaks
            if field == "id_type":
                value = {"居民身份证": "RIC", "统一社会信用代码": "USCC"}.get(value, value)
            if field == "industry_code":
                value = {"制造业": "C"}.get(value, value)
            if field == "region_code":
                value = {"杭州市": "330100"}.get(value, value)
            sheet.cell(row=r, column=column_of[field] + 1, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), column_of


def _upload(client, data, name="customers.xlsx"):
    token = client.csrf("/customerimport/")
    return client.post("/customerimport/upload", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _customers(db):
    db.session.rollback()
    return db.session.execute(select(func.count(Customer.id))).scalar()


def test_import_happy_path_numbers_managers_and_one_log_entry(db, admin_web, app):
    n = _fresh(100)
    rows = [_person(n), _person(n + 1, 客户经理="admin"), _company(n + 2), _company(n + 3, 所属地区="浙江省")]
    data, _ = _workbook(admin_web, app, rows)
    before = _customers(db)
    logs_before = db.session.execute(select(func.count(OperationLog.id))).scalar()
    response = _upload(admin_web, data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'id="rows-imported">4<' in page, page[:3000]
    assert _customers(db) == before + 4
    imported = db.session.execute(select(Customer).where(Customer.id_number.in_([_ric(n), _uscc(n + 2)]))).scalars().all()
    from tests.conftest import ROLE_USERS

    clerk_id = app.appbuilder.sm.find_user(username=ROLE_USERS[P.ADMIN]).id  # who uploaded
    admin_id = app.appbuilder.sm.find_user(username="admin").id
    person = next(c for c in imported if c.kind == "individual")
    assert person.code and person.manager_id == clerk_id and person.owner_id == clerk_id  # like a single add
    expected_gender = "M" if int(person.id_number[16]) % 2 else "F"
    assert person.gender == expected_gender and str(person.birth_date) == "1985-06-30"  # read from the ID number
    assert person.region_code == "330100" and person.industry_code == "C" and person.direct == "direct"
    company = next(c for c in imported if c.kind == "corporate")
    assert company.legal_representative == "张三" and company.id_type == "USCC"
    assert company.manager_id == admin_id and company.owner_id == clerk_id  # the manager named in the file
    logs = db.session.execute(select(OperationLog).where(OperationLog.action == "import")
                              .order_by(OperationLog.id.desc())).scalars().first()
    assert db.session.execute(select(func.count(OperationLog.id))).scalar() == logs_before + 1
    assert logs.table_name == "cus_customer" and '"rows"' in logs.changes


def test_bad_rows_write_nothing_and_the_error_workbook_marks_exactly_those_cells(db, admin_web, app):
    n = _fresh(300)
    existing_rows = [_person(n)]
    data, _ = _workbook(admin_web, app, existing_rows)
    assert _upload(admin_web, data).status_code == 200
    bad_ric = _ric(n + 5)[:-1] + ("0" if _ric(n + 5)[-1] != "0" else "1")
    bad_uscc = _uscc(n + 6)[:-1] + ("0" if _uscc(n + 6)[-1] != "0" else "1")
    rows = [
        _person(n + 1),                                   # row 2: fine
        _person(n + 2, 证件号码=bad_ric),                  # row 3: ID check digit
        _company(n + 3, 证件号码=bad_uscc),                # row 4: credit code
        _person(n + 4),                                   # row 5: fine, duplicated by row 6
        _person(n + 4, 客户名称="重复"),                    # row 6: duplicate inside the file
        _person(n, 客户名称="已存在"),                      # row 7: duplicate of a customer in the database
        _company(n + 7, 所属地区="火星"),                   # row 8: unknown dictionary value
        _company(n + 8, 客户名称=None),                    # row 9: required name missing
    ]
    data, column_of = _workbook(admin_web, app, rows)
    before = _customers(db)
    response = _upload(admin_web, data)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'id="rows-imported">0<' in page and 'id="rows-with-errors">6<' in page, page[:3000]
    assert _customers(db) == before  # nothing written, not even the good rows
    link = TOKEN_LINK.search(page)
    assert link, "no error workbook link"
    workbook = admin_web.get(link.group(1))
    assert workbook.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(workbook.data))
    sheet = book.worksheets[0]
    expected = {(3, "id_number"), (4, "id_number"), (6, "id_number"), (7, "id_number"), (8, "region_code"),
                (9, "name")}
    expected_cells = {(row, column_of[field] + 1) for row, field in expected}
    marked = set()
    for row in sheet.iter_rows(min_row=2, max_col=len(column_of)):
        for cell in row:
            red = cell.fill is not None and cell.fill.fgColor is not None and str(cell.fill.fgColor.rgb).upper().endswith("FFC7CE")
            if red or cell.comment is not None:
                marked.add((cell.row, cell.column))
                assert red and cell.comment is not None and cell.comment.text.strip()
    assert marked == expected_cells
    messages = {cell.row: cell.value for cell in sheet[openpyxl.utils.get_column_letter(len(column_of) + 1)][1:]}
    assert messages[2] is None and messages[5] is None and all(messages[r] for r in (3, 4, 6, 7, 8, 9))
    assert "火星" in messages[8]
    # another user cannot fetch this user's error workbook
    other = TOKEN_LINK.search(page).group(1).replace("/errors/", "/errors/999999")
    assert admin_web.get(other).status_code == 404


def test_a_renamed_non_xlsx_file_is_refused(db, admin_web):
    before = _customers(db)
    for data in (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .xls", "客户名称,证件号码\n张三,1\n".encode(), b""):
        response = _upload(admin_web, data, "customers.xlsx")
        assert response.status_code == 302
        page = html.unescape(admin_web.get(response.headers["Location"]).get_data(as_text=True))
        assert "xlsx" in page or "empty" in page or "空" in page
        assert "Traceback" not in page and "BadZipFile" not in page
    assert _customers(db) == before


def test_a_role_without_customer_add_cannot_import(db, login_as, app):
    risk = login_as(P.RISK_OFFICER)
    assert risk.get("/customerimport/").status_code == 403
    assert risk.get("/customerimport/template").status_code == 403
    token = risk.csrf("/customerview/list/")
    response = risk.post("/customerimport/upload", data={"csrf_token": token, "file": (io.BytesIO(b"x"), "a.xlsx")},
                         content_type="multipart/form-data")
    assert response.status_code == 403
    manager = login_as(P.ACCOUNT_MANAGER)
    assert manager.get("/customerimport/").status_code == 200


def test_cli_imports_or_writes_the_error_workbook(db, app, admin_web, tmp_path):
    n = _fresh(600)
    good, _ = _workbook(admin_web, app, [_person(n), _company(n + 1)])
    path = tmp_path / "good.xlsx"
    path.write_bytes(good)
    before = _customers(db)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-customers", str(path), "--user", "admin"])
    assert result.exit_code == 0, result.output
    assert _customers(db) == before + 2
    bad, _ = _workbook(admin_web, app, [_person(n + 2, 所属行业="不存在的行业")])
    bad_path = tmp_path / "bad.xlsx"
    bad_path.write_bytes(bad)
    result = runner.invoke(args=["import-customers", str(bad_path)])
    assert result.exit_code != 0
    assert (tmp_path / "bad.errors.xlsx").exists()
    assert _customers(db) == before + 2
