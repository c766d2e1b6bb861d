"""One guarantee application from submission to in force, in the browser, in Chinese (issue 4, "done when").

Each role logs in through the login form in a browser context of its own and does its part on the
guarantee page: 客户经理 enters and submits the application and the due-diligence report, issues the
letters, registers the fees, signs the contracts and issues the loan notice; 风控专员 approves acceptance
and review, writes the risk report, sends it to the committee and reviews the counter-guarantee contract;
总经理 approves the risk report and signs the committee resolution; three 审保会委员 (made here) hold the
meeting and vote; 出纳 records the fees and the bank's loan confirmation. Every letter is downloaded and
opened with python-docx: the customer's name and the amount in Chinese upper case must be in it.
Screenshots: screenshots/guarantee-walk-NN-<stage>.png.
"""
import io
import os
import re
import uuid
from datetime import date

import docx
import pytest

from app import permissions as P
from tests.conftest import ROLE_USERS, TEST_PASSWORD

from .conftest import SCREENSHOTS, choose, screenshot

AMOUNT = "1000000"
AMOUNT_WORDS = "壹佰万元整"
# demo product (needs a mortgage) and bank of app/services/demo_business.py
PRODUCT_CODE, BANK_CODE = "LOAN-WC", "ICBC-HZ"
WORD_RE = re.compile(r"\b[A-Za-z][A-Za-z'’-]{2,}(?:[ ][A-Za-z][A-Za-z'’-]*)*")
UI_TEXT_JS = """() => [...document.querySelectorAll(
  '.navbar a, .panel-heading, .panel-title, h1, h2, h3, h4, h5, th, label, .btn, .alert, p, .label, dt')]
  .map(e => e.innerText).join('\\n')"""


class Walk:
    """The application's page as one user after another; screenshots numbered in order. English words in the
    pages' own text (candidates for untranslated strings) go to screenshots/untranslated-guarantee-walk.txt."""

    def __init__(self, page_as, live_server):
        self.page_as, self.base = page_as, live_server
        self.shots = 0
        self.page = None
        self.pk = None
        self.english: dict[str, list[str]] = {}

    def login(self, who):
        self.page = self.page_as(who)  # a browser context of its own (closed by the fixture at the end)
        assert "/login" not in self.page.url
        if self.pk is not None:
            self.open()
        return self.page

    def open(self):
        self.page.goto(f"/guarantee/page/{self.pk}")
        assert self.page.locator("#guarantee-page").count() == 1, self.page.content()[:2000]

    @property
    def stage(self):
        return self.page.locator("#guarantee-page").get_attribute("data-stage")

    def shoot(self, name, full_page=True):
        self.shots += 1
        words = WORD_RE.findall(self.page.evaluate(UI_TEXT_JS))
        self.english[name] = [w for w in dict.fromkeys(words) if w not in ("Word", "PDF", "Excel", "English")]
        return screenshot(self.page, f"guarantee-walk-{self.shots:02d}-{name}", full_page=full_page)

    def write_english(self):
        with open(os.path.join(SCREENSHOTS, "untranslated-guarantee-walk.txt"), "w", encoding="utf-8") as fh:
            fh.write("\n".join(f"{name}: {' | '.join(words)}" for name, words in self.english.items() if words) + "\n")

    def ok(self):
        """The last POST answered with a success message and no error."""
        errors = self.page.locator(".alert-danger")
        assert errors.count() == 0, errors.all_inner_texts()
        assert self.page.locator(".alert-success").count() >= 1, self.page.locator(".alert").all_inner_texts()

    def press(self, op):
        with self.page.expect_navigation():
            self.page.click(f"#op-{op} button[type=submit]")
        self.ok()

    def approve(self, comment):
        panel = self.page.locator(".approval-act-form")
        assert panel.count() == 1, "no approval buttons for this user"
        panel.locator("#approval-comment").fill(comment)
        with self.page.expect_navigation():
            panel.locator("button[name=action][value=approve]").click()
        self.ok()

    def letter(self, doc_type, customer_name):
        """Download a letter from the page's document list and open it: (text of the document, file name)."""
        link = self.page.locator(f"#documents a.doc-link[data-doc={doc_type}]")
        assert link.count() == 1, f"no {doc_type} on the page"
        with self.page.expect_download() as info:
            link.click()
        download = info.value
        with open(download.path(), "rb") as fh:
            data = fh.read()
        document = docx.Document(io.BytesIO(data))
        text = "\n".join(p.text for p in document.paragraphs)
        text += "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
        assert customer_name in text, f"{doc_type}: customer name missing"
        assert AMOUNT_WORDS in text, f"{doc_type}: amount in words missing"
        assert "{{" not in text and "{%" not in text, f"{doc_type}: unrendered template tags"
        return text, download.suggested_filename


@pytest.fixture
def walk_data(app):
    """A fresh corporate customer of the test account manager (no relations: the concentration checks see only
    this application) and three fresh committee members; the members are deactivated afterwards so other tests'
    committee steps do not wait for them."""
    from stdnum.cn import uscc

    from app.extensions import db
    from models.customers import Customer
    from models.products import CooperatingBank, Product

    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        sm = app.appbuilder.sm
        manager = sm.find_user(username=ROLE_USERS[P.ACCOUNT_MANAGER])
        body = "91330106" + f"{uuid.uuid4().int % 10**9:09d}"
        customer = Customer(code=f"KW{tag}", kind="corporate", name=f"杭州走查{tag}科技有限公司", id_type="USCC",
                            id_number=body + uscc.calc_check_digit(body), direct="direct", manager_id=manager.id,
                            owner_id=manager.id, legal_representative="王走查", address="杭州市西湖区文三路1号")
        db.session.add(customer)
        members = []
        for n, name in enumerate(("甲", "乙", "丙")):
            username = f"cm{tag}{n}"
            user = sm.add_user(username, "委员", name, f"{username}@test.local", [sm.find_role(P.COMMITTEE_MEMBER)],
                               TEST_PASSWORD)
            members.append((username, user.id))
        db.session.commit()
        product = db.session.query(Product).filter_by(code=PRODUCT_CODE).one()
        bank = db.session.query(CooperatingBank).filter_by(code=BANK_CODE).one()
        data = {"customer_id": customer.id, "customer_code": customer.code, "customer_name": customer.name, "members": members,
                "product_id": product.id, "bank_id": bank.id}
        db.session.remove()
    yield data
    with app.app_context():
        for username, _ in members:
            user = app.appbuilder.sm.find_user(username=username)
            user.active = False
            app.appbuilder.sm.update_user(user)
        db.session.remove()


def test_one_application_from_submission_to_in_force(page_as, live_server, walk_data, app):
    walk = Walk(page_as, live_server)
    name = walk_data["customer_name"]

    # 1. 客户经理: the application
    page = walk.login(P.ACCOUNT_MANAGER)
    page.goto("/guarantee/add")
    choose(page, "customer_id", walk_data["customer_code"])  # the picker searches as the user types
    page.select_option("#product_id", str(walk_data["product_id"]))
    page.select_option("#bank_id", str(walk_data["bank_id"]))
    page.fill("#amount", AMOUNT)
    page.fill("#term_months", "12")
    page.fill("#fee_rate", "0.02")
    page.select_option("#repayment_method", "interest_first")
    page.fill("#purpose", "补充流动资金")
    page.select_option("#measure-0-kind", "mortgage")
    page.fill("[name=measure-0-description]", "杭州市西湖区文三路1号厂房")
    page.fill("[name=measure-0-value]", "1600000")
    page.select_option("#fee-0-fee_type", "guarantee")
    page.select_option("#fee-0-basis", "ratio")
    page.fill("#fee-0-rate", "0.02")
    page.select_option("#fee-0-frequency", "one_off")
    page.select_option("#fee-1-fee_type", "service")
    page.select_option("#fee-1-basis", "fixed")
    page.fill("#fee-1-amount", "3000")
    page.select_option("#fee-1-frequency", "one_off")
    walk.shoot("application-form")
    with page.expect_navigation():
        page.click("#application-save")
    walk.ok()
    walk.pk = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    assert walk.stage == "draft" and name in page.locator("#guarantee-page h4").inner_text()
    assert "贷款担保" in page.content() or "流动资金" in page.content()
    walk.press("submit_application")
    assert walk.stage == "investigation"
    for key, text in (("company_overview", "成立十年，经营稳定。"), ("financial_analysis", "资产负债率52%，现金流充足。"),
                      ("repayment_source", "经营收入，厂房抵押。"), ("conclusion", "风险可控，建议受理。")):
        page.fill(f"#inv-{key}", text)
    page.select_option("#inv-recommendation", "recommend")
    with page.expect_navigation():
        page.click("#investigation-form button[type=submit]")
    walk.ok()
    walk.press("submit_for_acceptance")
    assert walk.stage == "acceptance"
    walk.shoot("acceptance-waiting")

    # 2. 风控专员: acceptance approval
    walk.login(P.RISK_OFFICER)
    walk.approve("资料完整，同意受理。")
    assert walk.stage == "intention"
    walk.shoot("acceptance-approved", full_page=False)

    # 3. 客户经理: intention letter (the review approval starts with it)
    walk.login(P.ACCOUNT_MANAGER)
    walk.press("issue_intention_letter")
    assert walk.stage == "review"
    walk.letter("intention_letter", name)
    walk.shoot("intention-letter-issued")

    # 4. 风控专员: review approval, the risk report, sent to the general manager
    walk.login(P.RISK_OFFICER)
    walk.approve("评审通过。")
    assert walk.stage == "risk"
    walk.shoot("review-approved", full_page=False)
    page = walk.page
    page.fill("#risk-risk_points", "对单一客户依赖较高。")
    page.fill("#risk-mitigation", "落实厂房抵押登记，按季保后检查。")
    page.select_option("#risk-risk_level", "medium")
    page.fill("#risk-opinion", "风险可控，同意提交审保会。")
    with page.expect_navigation():
        page.click("#risk-form button[type=submit]")
    walk.ok()
    walk.press("submit_risk_approval")
    walk.shoot("risk-report")

    # 5. 总经理: approves the risk report
    walk.login(P.GENERAL_MANAGER)
    walk.approve("同意。")
    assert walk.stage == "committee"

    # 6. 风控专员: to the review committee (the regulatory checks run again)
    walk.login(P.RISK_OFFICER)
    walk.press("submit_to_committee")
    assert walk.page.locator(".approval-current-step").count() == 1
    walk.shoot("sent-to-committee", full_page=False)

    # 7. three 审保会委员: the first holds the meeting with the three present and chairs; each votes
    members = walk_data["members"]
    page = walk.login(members[0][0])
    form = page.locator(".approval-meeting-form")
    assert form.count() == 1, "the committee member cannot hold the meeting"
    for box in form.locator("input[name=present]").all():
        box.set_checked(int(box.get_attribute("value")) in {uid for _, uid in members})
    form.locator("#meeting-chair").select_option(str(members[0][1]))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    walk.ok()
    walk.shoot("committee-meeting", full_page=False)
    opinions = ["同意，反担保措施充分。", "同意，建议按季检查。", "同意。"]
    for (username, _), opinion in zip(members, opinions):
        page = walk.login(username)
        vote = page.locator(".approval-vote-form")
        assert vote.count() == 1, f"{username} cannot vote"
        vote.locator("input[name=vote][value=agree]").check()
        vote.locator("#vote-opinion").fill(opinion)
        with page.expect_navigation():
            vote.locator("button[type=submit]").click()
        walk.ok()
    walk.shoot("committee-voted")
    assert walk.page.locator(".approval-votes tbody tr").count() >= 3
    assert walk.stage == "committee"  # the general manager signs next

    # 8. 总经理: signs the company resolution
    walk.login(P.GENERAL_MANAGER)
    walk.approve("同意审保会决议。")
    assert walk.stage == "confirmation"
    walk.letter("committee_resolution", name)
    walk.shoot("company-resolution")

    # 9. 客户经理: confirmation letter, fee registration (contracts drafted)
    page = walk.login(P.ACCOUNT_MANAGER)
    walk.press("issue_confirmation_letter")
    assert walk.stage == "fee_registration"
    walk.letter("confirmation_letter", name)
    with page.expect_navigation():
        page.click("#fee-registration-form button[type=submit]")
    walk.ok()
    assert walk.stage == "contract"
    walk.shoot("fees-registered")
    # the guarantee contract and the mortgage's counter-guarantee contract
    assert page.locator("#contracts tbody tr").count() == 2

    # 10. 风控专员: reviews the counter-guarantee contract
    page = walk.login(P.RISK_OFFICER)
    review = page.locator("form.review-contract")
    assert review.count() == 1
    review.locator("[name=comment]").fill("条款无误。")
    with page.expect_navigation():
        review.locator("button[type=submit]").click()
    walk.ok()

    # 11. 客户经理: signs both contracts, records the mortgage registration, contracts complete
    page = walk.login(P.ACCOUNT_MANAGER)
    while page.locator("form.sign-contract").count():
        with page.expect_navigation():
            page.locator("form.sign-contract button[type=submit]").first.click()
        walk.ok()
    with page.expect_navigation():
        page.locator("button.register-measure").first.click()
    walk.ok()
    walk.letter("guarantee_contract", name)
    walk.shoot("contracts-signed")
    walk.press("complete_contracts")
    assert walk.stage == "fee_collection"

    # 12. 出纳: records the fees received, closes the fee collection
    page = walk.login(P.CASHIER)
    received = 0
    while page.locator("form.collect-fee").count():
        form = page.locator("form.collect-fee").first
        form.locator("[name=reference]").fill(f"YH{received + 1:04d}")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        walk.ok()
        received += 1
    assert received == 2  # guarantee fee 20,000.00 and service fee 3,000.00, both due at once
    assert "20,000.00" in page.locator("#fee-schedule").inner_text()
    walk.shoot("fees-received")
    walk.press("finish_fee_collection")
    assert walk.stage == "loan_notice"

    # 13. 客户经理: loan notice to the bank
    walk.login(P.ACCOUNT_MANAGER)
    walk.press("issue_loan_notice")
    assert walk.stage == "loan_confirmation"
    walk.letter("loan_notice", name)
    walk.shoot("loan-notice", full_page=False)

    # 14. 出纳: the bank's loan confirmation → in force
    page = walk.login(P.CASHIER)
    page.fill("#loan_number", f"JK{date.today():%Y%m%d}01")
    with page.expect_navigation():
        page.click("#loan-form button[type=submit]")
    walk.ok()
    assert walk.stage == "in_force"
    assert "1,000,000.00" in page.locator("#in-force-note").inner_text()
    walk.shoot("in-force")
    walk.write_english()
    assert "客户" in page.locator("#application-details").inner_text()  # the page speaks Chinese
    history = page.locator("#history tbody tr")
    assert history.count() >= 20

    with app.app_context():
        from app.extensions import db
        from models.business import Guarantee

        item = db.session.get(Guarantee, walk.pk)
        assert item.stage == "in_force" and item.status == "active" and not item.backfilled
        assert str(item.balance) == "1000000.00" and item.loan_number
        users = {h.user_id for h in item.history}
        sm = app.appbuilder.sm
        for role in (P.ACCOUNT_MANAGER, P.RISK_OFFICER, P.GENERAL_MANAGER, P.CASHIER):
            assert sm.find_user(username=ROLE_USERS[role]).id in users, role
        db.session.remove()


def test_backfill_screen_imports_a_filled_template(page_as, app, tmp_path):
    """历史补录 in the browser as the risk officer: the template downloaded from the page, filled in, uploaded;
    a wrong file is refused with row, column and reason, the right one lands in force."""
    import openpyxl

    from app.extensions import db
    from models.customers import Customer

    with app.app_context():
        customer = db.session.query(Customer).filter(Customer.kind == "corporate").order_by(Customer.id).first()
        id_number, customer_name = customer.id_number, customer.name
        db.session.remove()
    page = page_as(P.RISK_OFFICER)
    page.goto("/guaranteebackfill/")
    screenshot(page, "guarantee-backfill-01-page")
    with page.expect_download() as info:
        page.click("#download-template")
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as fh:
        book = openpyxl.load_workbook(io.BytesIO(fh.read()))
    sheet = book.worksheets[0]
    headers = [str(c.value).rstrip("*") for c in sheet[1]]
    tag = uuid.uuid4().hex[:6]

    def fill(values):
        for column, value in values.items():
            sheet.cell(row=2, column=headers.index(column) + 1, value=value)
        path = tmp_path / f"backfill-{uuid.uuid4().hex[:4]}.xlsx"
        book.save(path)
        return str(path)

    with app.test_request_context():
        from app.services.guarantee_backfill import COLUMNS

        label = {c.field: str(c.label) for c in COLUMNS}
    row = {label["id_number"]: id_number, label["product"]: "工程履约保函", label["bank"]: "HZB",
           label["amount"]: 500000, label["term_months"]: 12, label["fee_rate"]: "1%",
           label["loan_number"]: f"BL{tag}", label["loan_amount"]: 500000, label["loan_date"]: date(2026, 1, 5),
           label["balance"]: 400000, label["customer_name"]: "不是这个客户"}
    page.set_input_files("#backfill-file", fill(row))
    with page.expect_navigation():
        page.click("#backfill-submit")
    errors = page.locator("#backfill-errors tbody tr")
    assert errors.count() == 1 and label["customer_name"] in errors.first.inner_text()
    assert page.locator("#rows-imported").inner_text() == "0"
    screenshot(page, "guarantee-backfill-02-errors")
    row[label["customer_name"]] = customer_name
    page.set_input_files("#backfill-file", fill(row))
    with page.expect_navigation():
        page.click("#backfill-submit")
    assert page.locator("#rows-imported").inner_text() == "1", page.locator(".alert").all_inner_texts()
    assert "400,000.00" in page.locator("#total-balance").inner_text()
    screenshot(page, "guarantee-backfill-03-imported")
    code = page.locator("#backfilled-codes").inner_text().strip()
    with app.app_context():
        from models.business import Guarantee

        item = db.session.query(Guarantee).filter_by(code=code).one()
        assert item.in_force and item.backfilled and item.loan_number == f"BL{tag}"
        pk = item.id
        db.session.remove()
    page = page_as(P.ADMIN)
    page.goto(f"/guarantee/page/{pk}")
    assert page.locator("#guarantee-page").get_attribute("data-stage") == "in_force"
    screenshot(page, "guarantee-backfill-04-guarantee-page", full_page=True)
