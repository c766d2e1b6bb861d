"""BIZ-15 regulatory checks: concentration (single customer, related parties), leverage, bank line, blacklist,
credit limit; each a hard stop or a warning as the settings say, with the figures. Nothing is committed:
the `db` fixture rolls every test back, so the figures depend only on the rows made here (plus the
company-wide total for the leverage check, which the test reads first)."""
from datetime import date
from decimal import Decimal as D, ROUND_CEILING

import pytest
from flask import render_template

from app.errors import ValidationError
from app.services import compliance, settings
from tests.integration.test_products_banks import make_bank, make_customer, make_guarantee, make_product


@pytest.fixture
def en(app):
    """Messages in English (the msgids the assertions read); the UI's default locale is Chinese."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        yield


def setting(key, value):
    """Set a setting and flush: evaluate() runs without autoflush (it may be called on an application that is
    not saved yet), so what it reads must be in the database."""
    from app.extensions import db

    settings.set_value(key, value)
    db.session.flush()


def by_code(results):
    return {r.code: r for r in results}


def setup(db, net_assets="10000000", bank_line="100000000"):
    setting("compliance_net_assets", D(net_assets))
    setting("compliance_net_assets_from_ledger", False)
    setting("compliance_leverage_multiple", D("10"))
    for key in compliance.STOP_SETTINGS.values():
        setting(key, True)
    product = make_product(db, amount_max=D("50000000"))
    bank = make_bank(db, total_line=D(bank_line), single_cap=D(bank_line))
    return product, bank


def test_single_customer_concentration_limit_is_inclusive_and_stops(db, en):
    product, bank = setup(db)  # net assets 10,000,000: one customer at most 1,000,000
    customer = make_customer(db)
    make_guarantee(db, customer, product, bank, "800000", stage="in_force", balance="600000")
    make_guarantee(db, customer, product, bank, "200000", stage="review")  # past acceptance: counts
    make_guarantee(db, customer, product, bank, "5000000", stage="draft")  # not accepted: does not count
    application = make_guarantee(db, customer, product, bank, "200000", stage="investigation")
    result = by_code(compliance.enforce(application, "submission"))["single_customer"]
    assert result.ok and result.figure == D("1000000.00") and result.limit == D("1000000.00")

    application.amount = D("200000.01")
    result = by_code(compliance.evaluate(application, "submission"))["single_customer"]
    assert not result.ok and result.blocking and result.figure == D("1000000.01")
    with pytest.raises(ValidationError) as err:
        compliance.enforce(application, "submission")
    assert "1,000,000.01" in err.value.message and "1,000,000.00" in err.value.message
    assert "10,000,000.00" in err.value.message and "10%" in err.value.message
    assert result.label in err.value.message

    setting("compliance_stop_single_customer", False)  # a warning only
    result = by_code(compliance.enforce(application, "submission"))["single_customer"]
    assert not result.ok and result.severity == "warning" and not result.blocking


def test_an_application_past_acceptance_is_not_counted_twice(db, en):
    product, bank = setup(db)
    customer = make_customer(db)
    application = make_guarantee(db, customer, product, bank, "1000000", stage="committee")
    result = by_code(compliance.evaluate(application, "committee"))["single_customer"]
    assert result.ok and result.figure == D("1000000.00")


def test_related_parties_count_together(db, en):
    from models.customer_relations import CustomerRelation

    product, bank = setup(db)  # related group at most 1,500,000
    customer, sister, stranger = make_customer(db), make_customer(db), make_customer(db)
    db.session.add(CustomerRelation(customer_id=customer.id, related_id=sister.id, kind="affiliate"))
    db.session.flush()
    make_guarantee(db, sister, product, bank, "1000000", stage="in_force")
    make_guarantee(db, stranger, product, bank, "3000000", stage="in_force")
    application = make_guarantee(db, customer, product, bank, "500000", stage="draft")
    results = by_code(compliance.evaluate(application))
    assert results["single_customer"].ok and results["related_group"].ok
    assert results["related_group"].figure == D("1500000.00") and results["related_group"].limit == D("1500000.00")
    application.amount = D("600000")
    results = by_code(compliance.evaluate(application))
    assert results["single_customer"].ok and not results["related_group"].ok
    assert "1 related" in results["related_group"].message and "1,600,000.00" in results["related_group"].message
    with pytest.raises(ValidationError) as err:
        compliance.enforce(application)
    assert "1,600,000.00" in err.value.message and "1,500,000.00" in err.value.message


def test_leverage_against_the_company_total(db, en):
    product, bank = setup(db)
    customer = make_customer(db)
    make_guarantee(db, make_customer(db), product, bank, "2000000", stage="in_force")
    base = compliance.exposure()
    amount = D("100000")
    # net assets so that 10 × net assets is just the total with the application (cents rounded up)
    net = ((base + amount) / 10).quantize(D("0.01"), rounding=ROUND_CEILING)
    setting("compliance_net_assets", net)
    setting("compliance_stop_single_customer", False)
    setting("compliance_stop_related_group", False)
    limit = net * 10
    application = make_guarantee(db, customer, product, bank, str(amount + (limit - base - amount)), stage="draft")
    result = by_code(compliance.evaluate(application))["leverage"]
    assert result.ok and result.figure == result.limit == limit
    application.amount += D("0.01")
    result = by_code(compliance.evaluate(application))["leverage"]
    assert not result.ok and result.blocking and "10 times" in result.message
    setting("compliance_leverage_multiple", D("15"))  # the setting allows up to 15 ×
    assert by_code(compliance.evaluate(application))["leverage"].ok
    with pytest.raises(ValidationError):
        settings.set_value("compliance_leverage_multiple", D("16"))


def test_bank_line_blacklist_and_modes(db, en):
    product, bank = setup(db, bank_line="1000000")
    customer = make_customer(db)
    make_guarantee(db, make_customer(db), product, bank, "900000", stage="in_force")
    application = make_guarantee(db, customer, product, bank, "100000", stage="draft")
    result = by_code(compliance.evaluate(application))["bank_line"]
    assert result.ok and result.figure == D("1000000.00") and result.limit == D("1000000.00")
    application.amount = D("150000")
    result = by_code(compliance.evaluate(application))["bank_line"]
    assert not result.ok and result.figure == D("1050000.00")
    assert "available 100,000.00" in result.message and "150,000.00" in result.message
    with pytest.raises(ValidationError) as err:
        compliance.enforce(application)
    assert bank.name in err.value.message
    setting("compliance_stop_bank_line", False)
    compliance.enforce(application)  # a warning only

    customer.blacklisted = True
    application.amount = D("10000")
    result = by_code(compliance.evaluate(application))["blacklist"]
    assert not result.ok and result.blocking and customer.name in result.message
    with pytest.raises(ValidationError):
        compliance.enforce(application)
    setting("compliance_stop_blacklist", False)
    assert [r.code for r in compliance.enforce(application) if not r.ok] == ["blacklist"]


def test_credit_limit_of_the_joint_guarantee_group(db, en):
    from models.customer_records import GuaranteeGroup, GuaranteeGroupMember

    product, bank = setup(db)
    customer, partner = make_customer(db), make_customer(db)
    application = make_guarantee(db, customer, product, bank, "450000", stage="draft")
    result = by_code(compliance.evaluate(application))["credit_limit"]
    assert result.ok and result.figure is None  # no limit applies

    group = GuaranteeGroup(name=customer.name + "联保体", established_on=date(2026, 1, 1), group_limit=D("800000"),
                           member_limit=D("500000"), status="active")
    db.session.add(group)
    db.session.flush()
    for member in (customer, partner):
        db.session.add(GuaranteeGroupMember(group_id=group.id, customer_id=member.id, joined_on=date(2026, 1, 1)))
    make_guarantee(db, partner, product, bank, "300000", stage="in_force")
    db.session.flush()
    result = by_code(compliance.evaluate(application))["credit_limit"]
    assert result.ok and result.limit in (D("500000"), D("800000"))
    application.amount = D("500000.01")  # over the member limit
    result = by_code(compliance.evaluate(application))["credit_limit"]
    assert not result.ok and result.figure == D("500000.01") and result.limit == D("500000")
    application.amount = D("500000")  # member limit reached exactly, group: 300,000 + 500,000 = 800,000
    assert by_code(compliance.evaluate(application))["credit_limit"].ok
    make_guarantee(db, partner, product, bank, "0.01", stage="intention")
    result = by_code(compliance.evaluate(application))["credit_limit"]
    assert not result.ok and result.figure == D("800000.01") and result.limit == D("800000")
    with pytest.raises(ValidationError):
        compliance.enforce(application)


def test_net_assets_from_the_ledger_when_a_period_is_closed(db, en):
    from app.services import ledger, ledger_books

    setting("compliance_net_assets", D("123456789"))
    setting("compliance_net_assets_from_ledger", True)
    assert compliance.net_assets()[0] == D("123456789.00") or compliance.ledger_equity() is not None
    period = ledger.ensure_period(date(9990, 1, 1))  # later than any other test's period
    period.status = "closed"
    db.session.flush()
    sheet = ledger_books.balance_sheet((9990, 1))
    equity = next(line.values[0] for line in sheet["lines"] if line.name == "所有者权益合计")
    value, source = compliance.net_assets()
    assert value == D(equity).quantize(D("0.01")) and "9990-01" in source
    setting("compliance_net_assets_from_ledger", False)
    assert compliance.net_assets()[0] == D("123456789.00")


def test_results_partial_shows_the_figures(db, app):
    product, bank = setup(db)
    customer = make_customer(db)
    make_guarantee(db, customer, product, bank, "950000", stage="in_force")
    application = make_guarantee(db, customer, product, bank, "100000", stage="draft")
    with app.test_request_context():
        html = render_template("compliance/_results.html", compliance_results=compliance.evaluate(application))
    assert "1,050,000.00" in html and "1,000,000.00" in html and "compliance-single_customer danger" in html
    assert "compliance-leverage success" in html


def test_bank_line_figures_follow_the_rule_that_refused(db, en):
    product, bank = setup(db, bank_line="1000000")
    bank.single_cap = D("300000")
    customer = make_customer(db)
    application = make_guarantee(db, customer, product, bank, "300000.01", stage="draft")
    result = by_code(compliance.evaluate(application))["bank_line"]
    assert not result.ok and result.figure == D("300000.01") and result.limit == D("300000")
    bank.valid_to = date(2000, 1, 1)
    bank.valid_from = date(1999, 1, 1)
    application.amount = D("1000")
    result = by_code(compliance.evaluate(application))["bank_line"]
    assert not result.ok and result.figure is None and "1999-01-01" in result.message
