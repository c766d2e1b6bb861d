"""BIZ-5/6/7/11/12 documents: the shipped default templates filled with a full context (read back with
python-docx), the read-only PDF copy, the administrator's template uploads (refusals leave nothing stored),
versions and the switch between them, the variables page and the permissions of the screen."""
import io
import os
import re
import zipfile

import pypdf
import pytest
from docx import Document
from sqlalchemy import func, select

from app import permissions as P
from app.services import documents
from models.documents import DocumentTemplate

BASE = "/documenttemplates"

CONTEXT = {
    "company": {"name": "浙江安信融资担保有限公司"},
    "customer": {"name": "杭州青禾食品有限公司", "id_number": "91330106MA2KX7Q31T",
                 "address": "浙江省杭州市西湖区文一西路88号", "legal_rep": "王建国"},
    "bank": {"name": "杭州银行股份有限公司科技支行"},
    "product": {"name": "小微企业流动资金贷款担保"},
    "guarantee": {"code": "DB202611280007", "amount": "1,234,567.89", "amount_words": "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分",
                  "term_months": 12, "start_date": "2026年12月1日", "end_date": "2027年11月30日",
                  "fee_rate": "1.80%", "purpose": "采购原材料 & 支付货款 <一期>"},
    "counter_measures": [
        {"kind": "抵押", "description": "西湖区文一西路88号厂房（浙(2024)杭州市不动产权第0099887号）", "value": "2,000,000.00"},
        {"kind": "保证", "description": "王建国提供个人连带责任保证", "value": ""},
    ],
    "loan": {"number": "JJ2026120100042", "amount": "1,200,000.00", "date": "2026年12月1日"},
    "contract": {"number": "WS202611280003", "counterparty": ""},
    "doc": {"number": "WS202611280003", "date": "2026年11月28日"},
}


def docx_text(data: bytes) -> str:
    """Everything a reader sees: paragraphs, tables (nested too), headers and footers."""
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]

    def cells(tables):
        for table in tables:
            for row in table.rows:
                for cell in row.cells:
                    parts.append(cell.text)
                    cells(cell.tables)

    cells(document.tables)
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    # pypdf reads fpdf2's CJK text with a NUL before each glyph
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def make_docx(*paragraphs, header=None, split_runs=False) -> bytes:
    """A small Word document; split_runs writes each paragraph in two runs, cut inside the {{ }} as
    Word does after an edit."""
    document = Document()
    for text in paragraphs:
        p = document.add_paragraph()
        if split_runs and len(text) > 6:
            middle = len(text) // 2
            p.add_run(text[:middle])
            p.add_run(text[middle:]).bold = True
        else:
            p.add_run(text)
    if header:
        document.sections[0].header.paragraphs[0].text = header
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def template_count(db, code=None):
    query = select(func.count()).select_from(DocumentTemplate)
    if code:
        query = query.where(DocumentTemplate.doc_type == code)
    return db.session.execute(query).scalar()


def upload(client, code, data, name="模板.docx", activate=True, note=""):
    fields = {"file": (io.BytesIO(data), name), "note": note}
    if activate:
        fields["activate"] = "1"
    return client.post_form(f"{BASE}/upload/{code}", fields, form_page=f"{BASE}/type/{code}",
                            content_type="multipart/form-data", follow_redirects=True)


def flashes(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture
def clean_type(db):
    """Each test that uploads starts with the type back on its shipped default."""
    made = []

    def use(code):
        documents.use_default(code)
        made.append(code)
        return code

    yield use
    for code in made:
        documents.use_default(code)


# --- the shipped defaults ------------------------------------------------------------------------------

@pytest.mark.parametrize("code", list(documents.DOC_TYPES))
def test_default_template_fills_every_variable(db, code):
    documents.use_default(code)
    data = documents.render_docx(code, CONTEXT)
    text = docx_text(data)
    assert "{{" not in text and "{%" not in text and "}}" not in text, text
    assert "WS202611280003" in text  # 编号：{{ doc.number }}
    assert "编号：WS202611280003" in text
    assert "杭州青禾食品有限公司" in text and "杭州银行股份有限公司科技支行" in text
    assert "浙江安信融资担保有限公司" in text
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in text and "1,234,567.89" in text
    assert "2026年11月28日" in text
    spec = documents.DOC_TYPES[code]
    if "counter_measures" in spec.variables:
        assert "西湖区文一西路88号厂房" in text and "王建国提供个人连带责任保证" in text
        assert "2,000,000.00" in text
    if "loan.number" in spec.variables:
        assert "JJ2026120100042" in text
        assert "壹佰贰拾万元整" in text  # the loan amount through the amount_words filter
    # a value with & and < stays text (the XML is escaped), not broken markup
    assert "采购原材料 & 支付货款 <一期>" in text
    # every default uses only its own type's variables
    assert not documents.analyse(code, documents.default_bytes(code)).unknown


def test_amount_words_follow_from_the_amount_when_left_out(db):
    context = {**CONTEXT, "guarantee": {**CONTEXT["guarantee"], "amount": "1,000,000.00"}}
    del context["guarantee"]["amount_words"]
    assert "壹佰万元整" in docx_text(documents.render_docx("intention_letter", context))


def test_missing_values_leave_blanks_not_errors(db):
    """A document of an item that has no loan yet still renders (the loan lines stay empty)."""
    context = {key: value for key, value in CONTEXT.items() if key != "loan"}
    text = docx_text(documents.render_docx("loan_notice", context))
    assert "{{" not in text and "JJ2026120100042" not in text
    assert "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in text  # falls back to the guarantee amount


@pytest.mark.parametrize("code", ["committee_resolution", "guarantee_contract", "loan_notice"])
def test_pdf_copy(db, code):
    data = documents.render_pdf(code, CONTEXT)
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.is_encrypted  # read-only: owner password, printing and copying allowed
    text = pdf_text(data)
    assert "杭州青禾食品有限公司" in text
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in text
    assert "编号：WS202611280003" in text
    assert "{{" not in text
    if code == "committee_resolution":
        assert "西湖区文一西路88号厂房" in text  # table rows reach the PDF


def test_unknown_document_type(db):
    from app.errors import NotFound

    with pytest.raises(NotFound):
        documents.render_docx("no_such_letter", CONTEXT)


# --- uploads ---------------------------------------------------------------------------------------------

GOOD = ("意向函（客户自定义版）", "编号：{{ doc.number }}", "致{{ bank.name }}：",
        "借款人{{ customer.name }}，金额{{ guarantee.amount_words }}（{{ guarantee.amount | amount_words }}）。",
        "{{ company.name }}　{{ doc.date }}")


def test_upload_refusals_store_nothing(app, db, admin_web, clean_type):
    code = clean_type("intention_letter")
    before = template_count(db)
    from tests.integration import attachment_files as files

    cases = [
        (files.png(), "模板.docx", "不是 Word 文档"),  # a picture named .docx
        (b"%PDF-1.4 not really", "模板.docx", "不是 Word 文档"),
        (_plain_zip(), "模板.docx", "不是 Word 文档"),  # a renamed zip
        (files.docx(main=False), "模板.docx", "不是 Word 文档"),  # a zip claiming another main part
        (b"", "模板.docx", None),  # empty
        (make_docx(*GOOD), "模板.pdf", ".docx"),  # right content, wrong name
        (make_docx("借款人{{ customer.nmae }}，银行{{ bank.name }}", "{{ guarantee.amout }}"), "模板.docx",
         "customer.nmae"),
        (make_docx("{{ loan.number }}"), "模板.docx", "loan.number"),  # a variable of another type
        (make_docx("{% for m in counter_measures %}{{ m.kind }}{% endfor %}"), "模板.docx", "counter_measures"),
        (make_docx("{{ customer.name | shout }}"), "模板.docx", "shout"),  # unknown filter
        (make_docx("{{ customer.name "), "模板.docx", None),  # syntax error
        (make_docx("{% if customer.name %}没有结束"), "模板.docx", None),
        (make_docx("正文", header="页眉 {{ secret_key }}"), "模板.docx", "secret_key"),  # headers are checked too
        (make_docx("{{ customer.__class__ }}"), "模板.docx", "__class__"),  # Python internals
        (make_docx("{{ ''.__class__.__mro__ }}"), "模板.docx", "__mro__"),
        (make_docx("{{ customer['_sa_instance_state'] }}"), "模板.docx", "_sa_instance_state"),
    ]
    for data, name, expected in cases:
        response = upload(admin_web, code, data, name)
        assert response.status_code == 200, (name, expected, flashes(response)[-300:])
        page = flashes(response)
        assert "alert-danger" in response.get_data(as_text=True), (name, expected, page[:300])
        if expected:
            assert expected in page, (expected, page[:2000])
        assert template_count(db) == before, (name, expected)
    assert documents.active_template(code) is None
    # the unknown-variable message names every unknown variable, not just the first
    page = flashes(upload(admin_web, code, make_docx("{{ customer.nmae }} {{ guarantee.amout }}")))
    assert "customer.nmae" in page and "guarantee.amout" in page


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("readme.txt", "just a zip")
    return buffer.getvalue()


def test_upload_too_large(app, db, admin_web, clean_type):
    code = clean_type("confirmation_letter")
    before = template_count(db)
    document = Document()
    document.add_paragraph("{{ customer.name }}")
    out = io.BytesIO()
    document.save(out)
    # pad the package with incompressible data past the (lowered) limit
    buffer = io.BytesIO(out.getvalue())
    with zipfile.ZipFile(buffer, "a") as z:
        z.writestr("word/media/padding.bin", os.urandom(1_300_000), compress_type=zipfile.ZIP_STORED)
    app.config["DOCUMENT_TEMPLATE_MAX_MB"] = 1
    try:
        response = upload(admin_web, code, buffer.getvalue())
    finally:
        app.config.pop("DOCUMENT_TEMPLATE_MAX_MB")
    assert "1 MB" in flashes(response)
    assert template_count(db) == before


def test_zip_bomb_refused(db):
    from app.errors import ValidationError

    buffer = io.BytesIO(make_docx("{{ customer.name }}"))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/zeros.bin", b"\0" * (documents.MAX_UNPACKED + 1))
    with pytest.raises(ValidationError):
        documents.check_word_file(buffer.getvalue(), "x.docx")


def test_versions_and_switch(app, db, admin_web, clean_type):
    code = clean_type("intention_letter")
    first_count = template_count(db, code)
    # version 1: Word split the placeholders into several runs; docxtpl joins them again
    response = upload(admin_web, code, make_docx(*GOOD, split_runs=True), "意向函-一版.docx", note="第一版")
    assert "alert-success" in response.get_data(as_text=True)
    v1 = documents.active_template(code)
    assert v1 is not None and v1.version == first_count + 1 and v1.original_name == "意向函-一版.docx"
    assert "customer.name" in v1.variables and "guarantee.amount" in v1.variables
    text = docx_text(documents.render_docx(code, CONTEXT))
    assert "意向函（客户自定义版）" in text and "借款人杭州青禾食品有限公司" in text
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分（壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分）" in text

    # version 2, uploaded without switching: version 1 stays in use
    upload(admin_web, code, make_docx("第二版 {{ customer.name }}"), "二版.docx", activate=False)
    assert documents.active_template(code).id == v1.id
    # version 3, switched on at upload
    upload(admin_web, code, make_docx("第三版 {{ customer.name }} {{ doc.number }}"), "三版.docx")
    v3 = documents.active_template(code)
    assert v3.version == v1.version + 2
    assert "第三版 杭州青禾食品有限公司 WS202611280003" in docx_text(documents.render_docx(code, CONTEXT))
    # back to version 1 from the versions page
    response = admin_web.post_form(f"{BASE}/activate/{v1.id}", {}, form_page=f"{BASE}/type/{code}",
                                   follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert documents.active_template(code).id == v1.id
    active = db.session.execute(select(func.count()).select_from(DocumentTemplate).where(
        DocumentTemplate.doc_type == code, DocumentTemplate.active.is_(True))).scalar()
    assert active == 1
    assert "意向函（客户自定义版）" in docx_text(documents.render_docx(code, CONTEXT))
    # the operation log has who uploaded and switched what, not the file's bytes
    from models.system import OperationLog

    logs = db.session.execute(select(OperationLog).where(OperationLog.table_name == "biz_document_template",
                                                         OperationLog.record_id == str(v1.id))
                                  .order_by(OperationLog.id)).scalars().all()
    assert [log.action for log in logs][:1] == ["insert"] and any(log.action == "update" for log in logs)
    assert v1.sha256 in logs[0].changes and "PK" not in logs[0].changes
    assert any(log.username for log in logs)
    # the page lists the versions and the one in use
    page = admin_web.get(f"{BASE}/type/{code}").get_data(as_text=True)
    assert "意向函-一版.docx" in page and "二版.docx" in page and "三版.docx" in page and "第一版" in page
    # downloads: the template in use and a given version are the uploaded bytes
    assert admin_web.get(f"{BASE}/download/{code}").data == v1.content
    assert admin_web.get(f"{BASE}/version/{v3.id}/download").data == v3.content
    # sample fills of the version in use
    pdf = admin_web.get(f"{BASE}/preview/{code}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and "意向函（客户自定义版）" in pdf_text(pdf.data)
    sample = admin_web.get(f"{BASE}/preview/{code}/docx?version={v3.id}")
    assert "第三版" in docx_text(sample.data)
    # back to the shipped default
    response = admin_web.post_form(f"{BASE}/default/{code}", {}, form_page=f"{BASE}/type/{code}",
                                   follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert documents.active_template(code) is None
    text = docx_text(documents.render_docx(code, CONTEXT))
    assert "担 保 意 向 函" in text and "意向函（客户自定义版）" not in text
    assert admin_web.get(f"{BASE}/download/{code}").data == documents.default_bytes(code)
    assert admin_web.get(f"{BASE}/download/{code}?default=1").data == documents.default_bytes(code)


def test_loop_variables_of_lists_are_checked(db, clean_type):
    from app.errors import ValidationError

    code = clean_type("counter_contract")
    good = make_docx("{% for m in counter_measures %}{{ loop.index }}. {{ m.kind }}：{{ m.description }}"
                     "（{{ m.value }}）{% endfor %}", "共{{ counter_measures | length }}项")
    assert documents.check_template(code, good).used >= {"counter_measures.kind", "counter_measures.value"}
    with pytest.raises(ValidationError) as refused:
        documents.check_template(code, make_docx("{% for m in counter_measures %}{{ m.owner }}{% endfor %}"))
    assert "counter_measures.owner" in refused.value.message
    template = documents.store_template(code, io.BytesIO(good), "反担保.docx")
    text = docx_text(documents.render_docx(code, CONTEXT))
    assert "1. 抵押：西湖区文一西路88号厂房" in text and "2. 保证：王建国提供个人连带责任保证" in text
    assert "共2项" in text
    assert template.active


# --- pages and permissions -------------------------------------------------------------------------------

def test_pages(admin_web, db):
    page = admin_web.get(f"{BASE}/").get_data(as_text=True)
    for spec in documents.DOC_TYPES.values():
        assert f'data-type="{spec.code}"' in page
    variables = admin_web.get(f"{BASE}/variables").get_data(as_text=True)
    assert "{{ customer.name }}" in variables and "{{ m.kind }}" in variables and "amount_words" in variables
    for spec in documents.DOC_TYPES.values():
        assert f'id="type-{spec.code}"' in variables
    page = admin_web.get(f"{BASE}/type/loan_notice").get_data(as_text=True)
    assert "{{ loan.number }}" in page and "{{ m.kind }}" not in page
    assert admin_web.get(f"{BASE}/type/nothing").status_code == 404
    assert admin_web.get(f"{BASE}/preview/loan_notice/exe").status_code == 404
    assert admin_web.get(f"{BASE}/version/999999/download").status_code == 404


def test_only_the_administrator_manages_templates(app, db):
    from tests.conftest import ROLE_USERS, TEST_PASSWORD, WebClient

    manager = WebClient(app)
    token = manager.csrf("/login/")  # the manager opens no page with a form here: the login page's token
    manager.http.post("/login/", data={"username": ROLE_USERS[P.ACCOUNT_MANAGER], "password": TEST_PASSWORD,
                                       "csrf_token": token})
    for url in (f"{BASE}/", f"{BASE}/variables", f"{BASE}/type/intention_letter",
                f"{BASE}/download/intention_letter"):
        assert manager.get(url).status_code in (302, 403), url
    before = template_count(db)
    response = manager.post(f"{BASE}/upload/intention_letter", data={
        "file": (io.BytesIO(make_docx(*GOOD)), "x.docx"), "activate": "1", "csrf_token": token},
        content_type="multipart/form-data")
    assert response.status_code in (302, 403)
    assert template_count(db) == before


def test_upload_needs_csrf(app, db, admin_web):
    before = template_count(db)
    response = admin_web.post(f"{BASE}/upload/intention_letter", data={
        "file": (io.BytesIO(make_docx(*GOOD)), "x.docx"), "activate": "1"}, content_type="multipart/form-data")
    assert response.status_code in (302, 400)  # refused by the CSRF check (app/web_hooks.py)
    assert template_count(db) == before


def test_the_database_keeps_one_active_version_per_type(db, clean_type):
    """The partial unique index: even a write that bypasses the service cannot make two versions active."""
    from sqlalchemy.exc import IntegrityError

    code = clean_type("guarantee_contract")
    data = make_docx("{{ customer.name }}")
    first = documents.store_template(code, io.BytesIO(data), "a.docx")
    second = documents.store_template(code, io.BytesIO(data), "b.docx", activate=False)
    assert first.active and not second.active
    second.active = True
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # the service switches in one transaction: off first, then on
    documents.activate(second.id)
    db.session.expire_all()
    assert documents.active_template(code).id == second.id


def test_download_name(db):
    assert documents.download_name("loan_notice", CONTEXT, "pdf").endswith("-WS202611280003.pdf")
    assert documents.download_name("loan_notice", {"doc": {"number": 'A/B:1 "x"'}}).endswith("-A_B_1_x_.docx")


def test_model_values_are_written_as_the_documents_write_them(db):
    """A caller passing Decimals and dates instead of the contract's strings still gets proper figures."""
    from datetime import date
    from decimal import Decimal

    context = {**CONTEXT, "guarantee": {**CONTEXT["guarantee"], "amount": Decimal("2500000"), "amount_words": "",
                                        "fee_rate": Decimal("0.0125"), "start_date": date(2027, 1, 5)}}
    text = docx_text(documents.render_docx("confirmation_letter", context))
    assert "¥2,500,000.00元" in text and "人民币贰佰伍拾万元整" in text
    assert "自2027年1月5日至" in text
    text = docx_text(documents.render_docx("intention_letter", context))
    assert "年担保费率为1.25%" in text


def test_counter_contract_names_the_counter_guarantor(db):
    """A surety's counter-guarantee contract is signed by the guarantor; without one, by the customer."""
    documents.use_default("counter_contract")
    text = docx_text(documents.render_docx("counter_contract", CONTEXT))
    assert "乙方（反担保人）：杭州青禾食品有限公司" in text
    context = {**CONTEXT, "contract": {"number": "FDB202600031", "counterparty": "王建国"},
               "doc": {**CONTEXT["doc"], "number": "FDB202600031"}}
    text = docx_text(documents.render_docx("counter_contract", context))
    assert "乙方（反担保人）：王建国" in text and "债务人：杭州青禾食品有限公司" in text
    assert "编号：FDB202600031" in text


def test_pdf_keeps_the_letterhead(db):
    data = documents.docx_to_pdf(documents.fill_template(
        make_docx("致{{ bank.name }}", header="{{ company.name }} 文书"), CONTEXT))
    text = pdf_text(data)
    assert "浙江安信融资担保有限公司文书" in text and "致杭州银行股份有限公司科技支行" in text



def test_concurrent_switches_leave_one_version_in_use(app, db, clean_type):
    """Two administrators switching the same type at the same moment: each gets a result or a clear
    conflict message, and exactly one version is in use afterwards."""
    import threading

    from app.errors import Conflict

    code = clean_type("loan_notice")
    ids = [documents.store_template(code, io.BytesIO(make_docx(f"第{n}版 {{{{ customer.name }}}}")), f"{n}.docx",
                                    activate=False).id for n in range(3)]
    documents.activate(ids[0])
    barrier = threading.Barrier(2)
    outcomes = []

    def switch(template_id):
        with app.app_context():
            from app.extensions import db as local

            barrier.wait()
            try:
                documents.activate(template_id)
                outcomes.append("ok")
            except Conflict as ex:
                outcomes.append(ex.message)
            finally:
                local.session.remove()

    threads = [threading.Thread(target=switch, args=(pk,)) for pk in ids[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2 and "ok" in outcomes
    db.session.expire_all()
    active = db.session.execute(select(DocumentTemplate.id).where(DocumentTemplate.doc_type == code,
                                                                 DocumentTemplate.active.is_(True))).scalars().all()
    assert len(active) == 1 and active[0] in ids[1:]
