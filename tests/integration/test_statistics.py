"""Issue 8: regulatory figures on a small fixed portfolio computed by hand, portfolio statistics, the workbench
(quick desktop rules, my customers, to-dos) and the pages. Figures are computed over this file's own customers
(the functions take customer ids) so other tests' rows never change them; the `db` fixture rolls back."""
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from app import permissions as P
from app.errors import ValidationError
from app.services import regulatory, settings, statistics, workbench
from tests.conftest import CSRF_RE, unique
from tests.integration.test_guarantees_support import make_bank, make_customer, make_product, user_id


def _guarantee(db, customer, product, bank, balance, **over):
    from models.business import Guarantee

    values = dict(code=unique("G"), customer_id=customer.id, product_id=product.id, bank_id=bank.id,
                  amount=D(balance), term_months=12, fee_rate=D("0.02"), stage="in_force", status="active",
                  balance=D(balance), loan_amount=D(balance), loan_date=date(2062, 3, 10), due_date=date(2063, 3, 9))
    values.update(over)
    g = Guarantee(**values)
    db.session.add(g)
    db.session.flush()
    return g


def _setting(key, value):
    from app.extensions import db

    settings.set_value(key, value)
    db.session.flush()


@pytest.fixture
def portfolio(db):
    """The fixed portfolio (balances in force):
    A  small enterprise (S)                loan     3,000,000            → 75 %  = 2,250,000
    B  micro enterprise (XS), two loans    4,000,000 + 2,000,000 > cap   → 100 % = 6,000,000
    C  farmer (individual, rural)          loan     1,500,000            → 75 %  = 1,125,000
    D  large enterprise                    loan     1,000,000            → 100 % = 1,000,000
    E  individual                          housing fund 800,000          → 30 %  =   240,000
    F  corporate, no rating                bond       500,000            → 100 % =   500,000
    total 12,800,000; weighted 11,115,000. A released and a draft guarantee of A do not count."""
    from models.customer_relations import CustomerRelation

    regulatory.ensure_defaults()
    loan = make_product(db, guarantee_kind="loan")
    housing = make_product(db, guarantee_kind="housing_fund")
    bond = make_product(db, guarantee_kind="bond")
    bank = make_bank(db)
    c = {
        "A": make_customer(db, enterprise_size="S"),
        "B": make_customer(db, enterprise_size="XS"),
        "C": make_customer(db, kind="individual", id_type="ID", household_type="2", name=unique("农户")),
        "D": make_customer(db, enterprise_size="L"),
        "E": make_customer(db, kind="individual", id_type="ID", household_type="1", name=unique("个人")),
        "F": make_customer(db),
    }
    _guarantee(db, c["A"], loan, bank, "3000000")
    _guarantee(db, c["A"], loan, bank, "900000", status="released", stage="released",
               stage_changed_at=datetime(2062, 3, 20, 10, 0))
    _guarantee(db, c["A"], loan, bank, "0", stage="draft", amount=D("700000"), loan_amount=None, loan_date=None)
    _guarantee(db, c["B"], loan, bank, "4000000")
    _guarantee(db, c["B"], loan, bank, "2000000")
    _guarantee(db, c["C"], loan, bank, "1500000")
    _guarantee(db, c["D"], loan, bank, "1000000")
    _guarantee(db, c["E"], housing, bank, "800000")
    _guarantee(db, c["F"], bond, bank, "500000")
    db.session.add(CustomerRelation(customer_id=c["B"].id, related_id=c["A"].id, kind="affiliate"))
    db.session.flush()
    _setting("compliance_net_assets_from_ledger", False)
    _setting("compliance_net_assets", D("62000000"))
    _setting("compliance_leverage_multiple", D("10"))
    _setting("compliance_single_customer_ratio", D("0.10"))
    _setting("compliance_related_group_ratio", D("0.15"))
    return {"customers": c, "ids": [x.id for x in c.values()], "loan": loan, "bank": bank}


def test_weighted_balance_by_the_weight_table(db, portfolio):
    result = regulatory.weighted_balance(portfolio["ids"])
    assert result["balance"] == D("12800000.00")
    assert result["weighted"] == D("11115000.00")
    lines = {(ln.name, ln.within_cap): ln for ln in result["lines"]}
    small = [ln for ln in result["lines"] if ln.rule_id and ln.weight == D("0.75") and ln.customers == 1
             and ln.balance == D("3000000.00")]
    assert small and small[0].weighted == D("2250000.00")
    above = [ln for ln in result["lines"] if ln.rule_id and not ln.within_cap]
    assert len(above) == 1 and above[0].balance == D("6000000.00") and above[0].weight == 1
    assert len(lines) == len(result["lines"])  # one line per rule and cap side


def test_leverage_and_concentration_hand_computed(db, portfolio):
    data = regulatory.indicators(portfolio["ids"])
    ind = {i.code: i for i in data["indicators"]}
    # 11,115,000 / 62,000,000 = 0.17927… → 0.1793 times; limit 10
    assert ind["leverage"].figure == D("0.1793") and ind["leverage"].status == "compliant"
    # largest customer B at 100 %: 6,000,000 / 62,000,000 = 0.0968 ≥ 90 % of 10 % → near the limit
    assert ind["single"].figure == D("0.0968") and ind["single"].status == "near"
    # group B + A: 6,000,000 + 2,250,000 = 8,250,000 / 62,000,000 = 0.1331 (< 13.5 %): compliant
    assert ind["group"].figure == D("0.1331") and ind["group"].status == "compliant"
    # (the post-guarantee rates come from app/services/post_figures.py: tests/integration/test_business_ledgers.py)

    _setting("compliance_net_assets", D("1200000"))  # 11,115,000 / 1,200,000 = 9.2625: ≥ 9 → near
    ind = {i.code: i for i in regulatory.indicators(portfolio["ids"])["indicators"]}
    assert ind["leverage"].figure == D("9.2625") and ind["leverage"].status == "near"
    _setting("compliance_net_assets", D("1000000"))  # 11.115 > 10 → breached
    data = regulatory.indicators(portfolio["ids"])
    assert {i.code: i for i in data["indicators"]}["leverage"].status == "breached" and data["worst"] == "breached"


def test_cap_is_per_customer_and_rules_follow_the_table(db, portfolio):
    from models.statistics import WeightRule
    from sqlalchemy import select

    small = db.session.execute(select(WeightRule).where(WeightRule.code == "SMALL_MICRO")).scalar_one()
    small.balance_cap = D("6000000")  # B now fits under the cap: 6,000,000 × 75 % = 4,500,000
    db.session.flush()
    assert regulatory.weighted_balance(portfolio["ids"])["weighted"] == D("9615000.00")
    small.active = False  # A and B at 100 %: 11,115,000 + 750,000 = 11,865,000
    db.session.flush()
    assert regulatory.weighted_balance(portfolio["ids"])["weighted"] == D("11865000.00")
    with pytest.raises(ValidationError):
        regulatory.validate_rule(WeightRule(code="X", name="x", weight=D("1.5")))


def test_figure_provider_hook(db, portfolio):
    # the post-guarantee module's own providers (app/services/post_figures.py) are put back afterwards
    saved = dict(regulatory._PROVIDERS)
    regulatory.unregister_figure_provider("loss_rate")
    regulatory.register_figure_provider("compensation_rate", "代偿率", lambda f, t: D("0.0125"))
    try:
        figures = {f["key"]: f for f in regulatory.provided_figures()}
        assert figures["compensation_rate"]["value"] == D("0.0125") and figures["loss_rate"]["value"] is None
    finally:
        regulatory._PROVIDERS.clear()
        regulatory._PROVIDERS.update(saved)


def test_asset_classes_and_snapshot_history(db, portfolio):
    snap = regulatory.snapshot("2061-01")
    assert snap.figures["leverage"]["status"] in ("compliant", "near", "breached")
    again = regulatory.snapshot("2061-01")  # recomputing replaces the month
    assert again.id == snap.id
    assert any(h.period == "2061-01" for h in regulatory.history())
    assert regulatory.month_end_snapshot(date(2061, 2, 27)) == 0 and regulatory.month_end_snapshot(date(2061, 2, 28)) == 1


def test_portfolio_statistics_group_in_the_database(db, portfolio):
    from models.business import Guarantee

    mine = (Guarantee.customer_id.in_(portfolio["ids"]),)
    rows = statistics.by_dimension("product", date(2062, 3, 1), date(2062, 3, 31), mine)
    loan = next(r for r in rows if r.key == portfolio["loan"].id)
    assert loan.in_force_count == 5 and loan.balance == D("11500000.00")
    assert loan.new_count == 6 and loan.new_amount == D("12400000.00")  # in force + released (not the draft)
    assert loan.released_count == 1 and loan.released_amount == D("900000.00")
    total = statistics.totals(date(2062, 3, 1), date(2062, 3, 31), mine)
    assert total.balance == D("12800000.00") and total.in_force_count == 7
    months = statistics.by_month(date(2062, 1, 1), date(2062, 12, 31), mine)
    assert [(m.label, m.new_count, m.released_count) for m in months] == [("2062-03", 8, 1)]
    assert statistics.growth(D("120"), D("100")) == D("0.2000") and statistics.growth(D("1"), D("0")) is None
    for dim in statistics.DIMENSIONS:
        statistics.by_dimension(dim, date(2062, 3, 1), date(2062, 3, 31), mine)  # every dimension runs


# --- the workbench ----------------------------------------------------------------------------------------

def _csrf(client, url="/workbench/desktop"):
    return CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)


def test_quick_desktop_save_and_validation(login_as, db):
    from models.statistics import QuickModule
    from sqlalchemy import select

    am = login_as(P.ACCOUNT_MANAGER)
    page = am.get("/workbench/desktop").get_data(as_text=True)
    assert 'id="desktop-form"' in page and 'data-name="Guarantees"' in page and 'data-name="RoleAdmin"' not in page
    token = _csrf(am)
    r = am.post("/workbench/save", data={"csrf_token": token, "modules": ["Customers", "Guarantees"]})
    assert r.status_code == 302
    uid = user_id(P.ACCOUNT_MANAGER)
    saved = db.session.execute(select(QuickModule.menu_name).where(QuickModule.user_id == uid)
                               .order_by(QuickModule.position)).scalars().all()
    assert saved == ["Customers", "Guarantees"]
    home = am.get("/").get_data(as_text=True)
    assert home.index('data-module="Customers"') < home.index('data-module="Guarantees"')

    r = am.post("/workbench/save", data={"csrf_token": token, "modules": ["Guarantees", "RoleAdmin"]})
    assert r.status_code == 400 and "RoleAdmin" in r.get_data(as_text=True)  # not open to the role
    r = am.post("/workbench/save", data={"csrf_token": token, "modules": [f"M{i}" for i in range(19)]})
    assert r.status_code == 400 and "18" in r.get_data(as_text=True)
    r = am.post("/workbench/save", data={"modules": ["Customers"]})  # no CSRF token
    assert r.status_code in (400, 302) and r.status_code != 200
    db.session.expire_all()
    assert db.session.execute(select(QuickModule.menu_name).where(QuickModule.user_id == uid)
                              .order_by(QuickModule.position)).scalars().all() == ["Customers", "Guarantees"]
    am.post("/workbench/save", data={"csrf_token": token, "reset": "1"})
    db.session.expire_all()
    assert not db.session.execute(select(QuickModule.id).where(QuickModule.user_id == uid)).first()


def test_role_defaults_are_permitted_modules(app):
    with app.test_request_context():
        from flask import g
        from flask_login import login_user

        sm = app.appbuilder.sm
        for role in (P.ACCOUNT_MANAGER, P.GENERAL_MANAGER, P.ACCOUNTANT):
            from tests.conftest import ROLE_USERS

            user = sm.find_user(username=ROLE_USERS[role])
            login_user(user)
            g.user = user
            modules = workbench.desktop(app.appbuilder, user)
            names = [m.name for m in modules]
            assert 0 < len(names) <= workbench.MAX_MODULES
            assert all(sm.has_access("menu_access", n) for n in names)
        assert "Vouchers" in names and "Guarantees" not in names  # the accountant's desk is the ledger


def test_workbench_counts_my_customers_and_links(login_as, db, new_user):
    from app.extensions import db as _db
    from flask_appbuilder.security.sqla.models import User
    from models.business import Guarantee
    from sqlalchemy import select

    username = new_user(P.ACCOUNT_MANAGER)
    manager = _db.session.execute(select(User).where(User.username == username)).scalar_one()
    product, bank = make_product(db), make_bank(db)
    in_force = make_customer(db, manager_id=manager.id)
    handling = make_customer(db, manager_id=manager.id)
    recent = make_customer(db, manager_id=manager.id)
    old = make_customer(db, manager_id=manager.id, created_at=datetime(2020, 1, 1))
    for cust, stage, status in ((in_force, "in_force", "active"), (handling, "review", "active"),
                                (old, "released", "released")):
        _guarantee(db, cust, product, bank, "100000", stage=stage, status=status, manager_id=manager.id,
                   owner_id=manager.id, due_date=date.today())
    db.session.commit()
    client = login_as(username)
    html = client.get("/").get_data(as_text=True)
    for key, n in (("post_guarantee", 1), ("handling", 1), ("recent", 1), ("historical", 1), ("maturities", 1)):
        assert f'id="count-{key}" href="' in html and f'>{n}</a>' in html.split(f'id="count-{key}"')[1][:400]
    assert 'id="customer-chart"' in html and "echarts.min.js" in html and 'id="wb-customers"' in html
    link = html.split('id="count-post_guarantee" href="')[1].split('"')[0].replace("&amp;", "&")
    codes = {g.stage: g.code for g in db.session.execute(
        select(Guarantee).where(Guarantee.manager_id == manager.id)).scalars()}
    listing = client.get(link).get_data(as_text=True)
    assert codes["in_force"] in listing and codes["review"] not in listing
    link = html.split('id="count-handling" href="')[1].split('"')[0].replace("&amp;", "&")
    listing = client.get(link).get_data(as_text=True)  # in handling: active and not yet in force
    assert codes["review"] in listing and codes["in_force"] not in listing and codes["released"] not in listing
    assert 'id="todo-approvals"' in html


def test_statistics_and_regulatory_pages(login_as, admin_web):
    gm = login_as(P.GENERAL_MANAGER)
    html = gm.get("/statistics/?dimension=bank&date_from=2062-01-01&date_to=2062-12-31").get_data(as_text=True)
    assert 'id="stats-table"' in html and 'id="dimension-chart"' in html
    html = gm.get("/regulatory/").get_data(as_text=True)
    assert 'id="reg-weighted"' in html and 'id="indicator-leverage"' in html
    r = gm.post("/regulatory/recompute", data={"csrf_token": _csrf(gm, "/regulatory/")})
    assert r.status_code == 302
    assert login_as(P.ACCOUNT_MANAGER).get("/regulatory/").status_code in (302, 403)
    assert admin_web.get("/weightruleview/list/").status_code == 200
    for dim in statistics.DIMENSIONS:
        assert gm.get(f"/statistics/?dimension={dim}").status_code == 200
