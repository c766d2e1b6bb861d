"""BIZ-1 products and BIZ-2 cooperating banks: rules in the service, screens and API through the real stack,
and the line usage that follows the guarantees (biz_guarantee rows made directly)."""
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.errors import ValidationError
from tests.conftest import unique


def make_product(db, **kw):
    from models.products import Product

    values = dict(code=unique("P"), name=unique("产品"), guarantee_kind="loan", amount_min=D("100000"),
                  amount_max=D("5000000"), term_min=3, term_max=36, fee_rate_min=D("0.01"), fee_rate_max=D("0.03"),
                  counter_kinds=["surety"], active=True)
    values.update(kw)
    product = Product(**values)
    db.session.add(product)
    db.session.flush()
    return product


def make_bank(db, **kw):
    from models.products import CooperatingBank

    values = dict(code=unique("B"), name=unique("银行"), total_line=D("10000000"), single_cap=D("3000000"),
                  margin_ratio=D("0.1"), risk_share_ratio=D("0.2"), valid_from=date(2020, 1, 1),
                  valid_to=date(2099, 12, 31), active=True)
    values.update(kw)
    bank = CooperatingBank(**values)
    db.session.add(bank)
    db.session.flush()
    return bank


def make_customer(db, **kw):
    from models.customers import Customer

    values = dict(code=unique("C"), kind="corporate", name=unique("企业"), id_type="OTHER", id_number=unique("N"))
    values.update(kw)
    customer = Customer(**values)
    db.session.add(customer)
    db.session.flush()
    return customer


def make_guarantee(db, customer, product, bank, amount, stage="in_force", status="active", balance=None):
    from models.business import Guarantee

    g = Guarantee(code=unique("G"), customer_id=customer.id, product_id=product.id, bank_id=bank.id,
                  amount=D(amount), term_months=12, fee_rate=D("0.02"), stage=stage, status=status,
                  balance=D(balance if balance is not None else (amount if stage == "in_force" else 0)))
    db.session.add(g)
    db.session.flush()
    return g


# --- products ---------------------------------------------------------------------------------------------

def test_guarantee_kinds_are_a_dictionary_and_new_kinds_need_no_code(db):
    from app.services import products
    from models.products import Product
    from models.system import DictItem, DictType

    kinds = dict(products.guarantee_kind_choices())
    assert kinds["loan"] == "贷款担保" and "litigation" in kinds and "other_non_financing" in kinds
    dict_type = db.session.execute(select(DictType).where(DictType.code == "guarantee_kind")).scalar_one()
    db.session.add(DictItem(type_id=dict_type.id, code="customs", name="海关担保", sort_order=99))
    db.session.flush()
    product = Product(code=unique("P"), name=unique("海关"), guarantee_kind="customs", amount_min=D("1"),
                      amount_max=D("2"), term_min=1, term_max=2, fee_rate_min=D("0"), fee_rate_max=D("0.01"))
    products.validate_product(product)  # accepted: the kind is data
    product.guarantee_kind = "nonsense"
    with pytest.raises(ValidationError) as err:
        products.validate_product(product)
    assert err.value.field == "guarantee_kind"


@pytest.mark.parametrize("change, field", [
    (dict(amount_min=D("600000"), amount_max=D("500000")), "amount_min"),
    (dict(amount_min=D("0")), "amount_min"),
    (dict(term_min=12, term_max=6), "term_min"),
    (dict(term_min=0), "term_min"),
    (dict(term_max=601), "term_max"),
    (dict(fee_rate_min=D("0.05"), fee_rate_max=D("0.03")), "fee_rate_min"),
    (dict(fee_rate_max=D("1.5")), "fee_rate_max"),
    (dict(fee_rate_min=D("-0.01")), "fee_rate_min"),
    (dict(counter_kinds=["pledge", "gold"]), "counter_kinds"),
    (dict(code="坏 code"), "code"),
])
def test_product_rules(db, change, field):
    from app.services import products
    from models.products import Product

    values = dict(code=unique("P"), name=unique("产品"), guarantee_kind="loan", amount_min=D("100000"),
                  amount_max=D("5000000"), term_min=3, term_max=36, fee_rate_min=D("0.01"), fee_rate_max=D("0.03"))
    values.update(change)
    with pytest.raises(ValidationError) as err:
        products.validate_product(Product(**values))
    assert err.value.field == field


def test_check_terms_names_the_range(db, app):
    from app.services import products

    product = make_product(db, name="流贷通", amount_min=D("100000"), amount_max=D("5000000"), term_min=3,
                           term_max=36, fee_rate_min=D("0.01"), fee_rate_max=D("0.03"))
    products.check_terms(product, D("100000"), 3, D("0.01"))  # the bounds are inside
    products.check_terms(product, D("5000000"), 36, D("0.03"))
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(ValidationError) as err:
            products.check_terms(product, D("6000000"), 12, D("0.02"))
        assert err.value.field == "amount"
        assert "6,000,000.00" in err.value.message and "100,000.00" in err.value.message
        assert "5,000,000.00" in err.value.message
        with pytest.raises(ValidationError) as err:
            products.check_terms(product, D("200000"), 48, D("0.02"))
        assert err.value.field == "term_months" and "3" in err.value.message and "36" in err.value.message
        with pytest.raises(ValidationError) as err:
            products.check_terms(product, D("200000"), 12, D("0.035"))
        assert err.value.field == "fee_rate" and "1%" in err.value.message and "3%" in err.value.message
        product.active = False
        with pytest.raises(ValidationError):
            products.check_terms(product, D("200000"), 12, D("0.02"))
        with pytest.raises(ValidationError) as err:
            products.check_counter_kinds(make_product(db, counter_kinds=["pledge", "surety"]), ["surety"])
        assert "Pledge" in err.value.message and "Surety" not in err.value.message


def test_counter_kinds_constant():
    from app.services.products import COUNTER_KINDS as from_service
    from models.products import COUNTER_KINDS

    assert from_service is COUNTER_KINDS
    assert COUNTER_KINDS == {"pledge": "质押", "mortgage": "抵押", "surety": "保证", "credit": "信用", "lien": "留置",
                             "deposit": "保证金"}


def test_product_screen_add_refuses_bad_ranges_and_saves_good_ones(admin_web, db):
    from models.products import Product

    code = unique("P")
    form = {"code": code, "name": unique("产品"), "guarantee_kind": "performance", "amount_min": "500000",
            "amount_max": "100000", "term_min": "1", "term_max": "12", "fee_rate_min": "0.01",
            "fee_rate_max": "0.02", "counter_kinds": ["pledge", "surety"], "flow_code": "", "description": "",
            "active": "y"}
    response = admin_web.post_form("/productview/add", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "500,000.00" in html and "100,000.00" in html  # the message, at its field
    assert db.session.execute(select(Product).where(Product.code == code)).scalar() is None
    form["amount_max"] = "3000000"
    response = admin_web.post_form("/productview/add", form)
    assert response.status_code == 302
    db.session.expire_all()
    product = db.session.execute(select(Product).where(Product.code == code)).scalar_one()
    assert product.counter_kinds == ["pledge", "surety"] and product.amount_max == D("3000000")
    html = admin_web.get(f"/productview/list/?_flt_0_code={code}").get_data(as_text=True)  # other tests add more
    assert code in html and "履约担保" in html and any(t in html for t in ("质押、保证", "Pledge、Surety"))
    html = admin_web.get(f"/productview/edit/{product.id}").get_data(as_text=True)
    import re
    selected = re.findall(r'<option selected value="(\w+)"', html)
    assert "pledge" in selected and "surety" in selected and "performance" in selected and "mortgage" not in selected


def test_product_api_same_rules(api_as, db):
    from models.products import Product

    api = api_as("系统管理员")
    body = {"code": unique("P"), "name": unique("产品"), "guarantee_kind": "bond", "amount_min": 1000,
            "amount_max": 2000, "term_min": 1, "term_max": 12, "fee_rate_min": 0.01, "fee_rate_max": 0.005,
            "counter_kinds": ["credit"], "active": True}
    response = api.post("/api/v1/product/", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    body["fee_rate_max"] = 0.02
    body["counter_kinds"] = ["credit", "pledge", "credit"]
    response = api.post("/api/v1/product/", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    product = db.session.get(Product, response.get_json()["id"])
    assert product.counter_kinds == ["pledge", "credit"]  # canonical order, no repeats
    listed = api.get(f"/api/v1/product/{product.id}").get_json()["result"]
    assert listed["guarantee_kind"] == "bond"


def test_products_and_banks_are_read_only_for_the_business_roles(login_as, api_as):
    manager = login_as("客户经理")
    assert manager.get("/productview/list/").status_code == 200
    assert manager.get("/bankview/list/").status_code == 200
    assert manager.get("/productview/add").status_code in (302, 403)
    api = api_as("客户经理")
    response = api.post("/api/v1/bank/", json={"code": unique("B"), "name": "x", "total_line": 1, "single_cap": 1,
                                               "margin_ratio": 0, "risk_share_ratio": 0,
                                               "valid_from": "2026-01-01", "valid_to": "2026-12-31"})
    assert response.status_code == 403
    assert api_as("风控专员").get("/api/v1/product/").status_code == 200


# --- banks --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    (dict(single_cap=D("20000000")), "single_cap"),
    (dict(total_line=D("0")), "total_line"),
    (dict(margin_ratio=D("1.2")), "margin_ratio"),
    (dict(risk_share_ratio=D("-0.1")), "risk_share_ratio"),
    (dict(valid_from=date(2027, 1, 1), valid_to=date(2026, 1, 1)), "valid_to"),
])
def test_bank_rules(db, change, field):
    from app.services import banks
    from models.products import CooperatingBank

    values = dict(code=unique("B"), name=unique("银行"), total_line=D("10000000"), single_cap=D("3000000"),
                  margin_ratio=D("0.1"), risk_share_ratio=D("0.2"), valid_from=date(2020, 1, 1),
                  valid_to=date(2099, 12, 31))
    values.update(change)
    with pytest.raises(ValidationError) as err:
        banks.validate_bank(CooperatingBank(**values))
    assert err.value.field == field


def test_line_usage_follows_guarantees_in_force_and_past_acceptance(db, app):
    from app.services import banks

    product, customer = make_product(db), make_customer(db)
    bank = make_bank(db, total_line=D("10000000"), single_cap=D("3000000"))
    make_guarantee(db, customer, product, bank, "2000000", stage="in_force", balance="1500000")  # balance counts
    make_guarantee(db, customer, product, bank, "1000000", stage="review")  # past acceptance: amount counts
    make_guarantee(db, customer, product, bank, "900000", stage="acceptance")  # not yet accepted
    make_guarantee(db, customer, product, bank, "800000", stage="draft")
    make_guarantee(db, customer, product, bank, "700000", stage="committee", status="rejected")
    make_guarantee(db, customer, product, bank, "600000", stage="released", status="released", balance="0")
    pending = make_guarantee(db, customer, product, bank, "500000", stage="loan_notice")
    usage = banks.line_usage(bank)
    assert usage == {"total": D("10000000.00"), "used": D("3000000.00"), "available": D("7000000.00"),
                     "in_force": D("1500000.00"), "pending": D("1500000.00")}
    assert banks.line_usage(bank, exclude_guarantee_id=pending.id)["used"] == D("2500000.00")
    banks.check_line(bank, D("3000000"))
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(ValidationError) as err:
            banks.check_line(bank, D("3000000.01"))  # over the single-loan cap
        assert "3,000,000.01" in err.value.message and "3,000,000.00" in err.value.message
        make_guarantee(db, customer, product, bank, "3000000", stage="in_force")
        make_guarantee(db, customer, product, bank, "3000000", stage="contract")
        # used 9,000,000 of 10,000,000: 1,000,000 available
        banks.check_line(bank, D("1000000"))
        with pytest.raises(ValidationError) as err:
            banks.check_line(bank, D("1000000.01"))
        message = err.value.message
        assert "10,000,000.00" in message and "9,000,000.00" in message and "1,000,000.00" in message
        assert "1,000,000.01" in message
        # the application being checked is not counted twice
        banks.check_line(bank, D("1500000"), exclude_guarantee_id=pending.id)


def test_expired_or_inactive_bank_is_refused(db):
    from app.services import banks, business_date

    today = business_date.today()
    with pytest.raises(ValidationError):
        banks.check_line(make_bank(db, valid_to=today - timedelta(days=1), valid_from=date(2020, 1, 1)), D("1"))
    with pytest.raises(ValidationError):
        banks.check_line(make_bank(db, valid_from=today + timedelta(days=1)), D("1"))
    with pytest.raises(ValidationError):
        banks.check_line(make_bank(db, active=False), D("1"))


def test_bank_list_show_and_api_show_usage(admin_web, api_as, db):
    product, customer = make_product(db), make_customer(db)
    bank = make_bank(db, name=unique("用量银行"), total_line=D("8000000"), single_cap=D("2000000"))
    make_guarantee(db, customer, product, bank, "1200000", stage="in_force", balance="1234567.89")
    db.session.commit()
    html = admin_web.get(f"/bankview/list/?_flt_0_code={bank.code}").get_data(as_text=True)
    assert bank.name in html and "1,234,567.89" in html and "6,765,432.11" in html and "8,000,000.00" in html
    html = admin_web.get(f"/bankview/show/{bank.id}").get_data(as_text=True)
    assert "1,234,567.89" in html and "6,765,432.11" in html
    usage = api_as("风控专员").get(f"/api/v1/bank/{bank.id}/usage").get_json()["result"]
    assert usage["used"] == "1234567.89" and usage["available"] == "6765432.11" and usage["total"] == "8000000.00"
    assert api_as("风控专员").get("/api/v1/bank/999999999/usage").status_code == 404


def test_used_product_and_bank_cannot_be_deleted(admin_web, db):
    from models.products import CooperatingBank, Product

    product, customer, bank = make_product(db), make_customer(db), make_bank(db)
    make_guarantee(db, customer, product, bank, "100000", stage="draft")
    db.session.commit()
    admin_web.post_form(f"/productview/delete/{product.id}", {}, form_page="/productview/list/")
    admin_web.post_form(f"/bankview/delete/{bank.id}", {}, form_page="/bankview/list/")
    db.session.expire_all()
    assert db.session.get(Product, product.id) is not None and db.session.get(CooperatingBank, bank.id) is not None


def test_bank_screen_add(admin_web, db):
    from models.products import CooperatingBank

    code = unique("B")
    form = {"code": code, "name": unique("银行"), "total_line": "5000000", "single_cap": "6000000",
            "margin_ratio": "0.1", "risk_share_ratio": "0.2", "valid_from": "2026-01-01", "valid_to": "2027-12-31",
            "contact_person": "", "contact_phone": "", "note": "", "active": "y"}
    response = admin_web.post_form("/bankview/add", form)
    assert response.status_code == 200
    assert db.session.execute(select(CooperatingBank).where(CooperatingBank.code == code)).scalar() is None
    form["single_cap"] = "1000000"
    assert admin_web.post_form("/bankview/add", form).status_code == 302


def test_default_flow_must_be_an_active_approval_flow(db):
    from app.services import products
    from models.approval import ApprovalFlow

    product = make_product(db)
    product.flow_code = unique("nope")
    with pytest.raises(ValidationError) as err:
        products.validate_product(product)
    assert err.value.field == "flow_code"
    flow = ApprovalFlow(code=unique("F"), kind="guarantee.review", name="评审流程", version=1, active=True)
    db.session.add(flow)
    db.session.flush()
    product.flow_code = flow.code
    products.validate_product(product)
    assert (flow.code, f"评审流程 ({flow.code})") in products.flow_choices()


def test_bank_export_carries_the_usage(admin_web, db):
    import io

    from openpyxl import load_workbook

    product, customer = make_product(db), make_customer(db)
    bank = make_bank(db, total_line=D("5000000"), single_cap=D("1000000"))
    make_guarantee(db, customer, product, bank, "700000", stage="in_force", balance="654321.00")
    make_guarantee(db, customer, product, bank, "100000", stage="intention")
    db.session.commit()
    response = admin_web.get(f"/bankview/export/?_flt_0_code={bank.code}")
    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    data = [row for row in rows if bank.code in [str(v) for v in row]]
    assert len(data) == 1
    values = [str(v) for v in data[0]]
    assert any(v in ("754321.00", "754,321.00", "754321", "754321.0") for v in values), values
    assert any(v in ("4245679.00", "4,245,679.00", "4245679", "4245679.0") for v in values), values



def test_api_refuses_bad_input_with_a_message_and_changes_nothing(api_as, db):
    from models.products import CooperatingBank

    api = api_as("系统管理员")
    product = {"code": unique("P"), "name": unique("产品"), "guarantee_kind": "loan", "amount_min": 1000,
               "amount_max": 2000, "term_min": 1, "term_max": 12, "fee_rate_min": 0.01, "fee_rate_max": 0.02}
    for bad in ({"counter_kinds": {"pledge": 1}}, {"counter_kinds": ["gold"]}, {"guarantee_kind": "x"},
                {"amount_min": "abc"}, {"term_min": 1.5}, {"fee_rate_max": 2}):
        response = api.post("/api/v1/product/", json={**product, **bad})
        assert response.status_code in (400, 422), (bad, response.status_code)
        assert response.get_json()["message"], bad
    bank = make_bank(db, total_line=D("1000000"), single_cap=D("500000"))
    make_guarantee(db, make_customer(db), make_product(db), bank, "100000", stage="in_force")
    db.session.commit()
    response = api.put(f"/api/v1/bank/{bank.id}", json={"single_cap": 2000000})
    assert response.status_code == 422 and "1,000,000.00" in response.get_json()["message"]
    response = api.put(f"/api/v1/bank/{bank.id}", json={"valid_from": "2030-01-01", "valid_to": "2029-01-01"})
    assert response.status_code == 422
    response = api.delete(f"/api/v1/bank/{bank.id}")
    assert response.status_code == 422 and response.get_json()["message"]
    db.session.expire_all()
    kept = db.session.get(CooperatingBank, bank.id)
    assert kept is not None and kept.single_cap == D("500000") and kept.valid_from == date(2020, 1, 1)
