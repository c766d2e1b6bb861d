"""RAT-1/2 in a real browser: the administrator adds a qualitative indicator to a scoring model in the screens,
an account manager rates one of his customers with it (answers, calculates, saves, submits for review) and a
risk officer approves the rating on its page; the rating becomes the customer's current one."""
import re
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app import permissions as P
from tests.conftest import ROLE_USERS

from .conftest import screenshot


def _setup(app):
    from flask_appbuilder.security.sqla.models import User

    from app.extensions import db
    from app.services import statements as S
    from app.services.rating_reference import build_corporate
    from models.customers import Customer
    from tests.integration.test_rating import CURRENT, PREVIOUS

    with app.app_context():
        clerk = db.session.execute(select(User.id).where(User.username == ROLE_USERS[P.ACCOUNT_MANAGER])).scalar()
        model = build_corporate()
        model.code, model.name = f"E2E{uuid.uuid4().hex[:6]}", "浏览器测试评级模型"
        db.session.add(model)
        customer = Customer(kind="corporate", name=f"浏览器评级企业{uuid.uuid4().hex[:4]}", id_type="USCC",
                            id_number=uuid.uuid4().hex[:18].upper(), code=f"E2E{uuid.uuid4().hex[:10]}",
                            direct="direct", manager_id=clerk)
        db.session.add(customer)
        db.session.flush()
        for year, values in ((2024, PREVIOUS), (2025, CURRENT)):
            S.save_statement(customer.id, S.StatementInput(period_end=date(year, 12, 31), period_type="annual",
                                                           values={k: Decimal(v) for k, v in values.items()}))
        db.session.commit()
        return model.id, customer.id


def test_admin_adds_indicator_clerk_rates_reviewer_approves(app, page_as):
    from app.extensions import db
    from models.rating import Rating

    model_id, customer_id = _setup(app)

    # 1. the administrator adds a qualitative indicator to the model
    admin = page_as(P.ADMIN)
    admin.goto(f"/ratingmodelview/show/{model_id}")
    admin.click(".nav-tabs li:nth-child(2) a")  # the model's indicators tab
    screenshot(admin, "rating-model-show", full_page=True)
    with admin.expect_navigation():
        admin.locator("a[href*='/ratingindicatorview/add']:visible").first.click()
    assert f"_flt_0_model={model_id}" in admin.url
    admin.fill("#code", "green")
    admin.fill("#name", "环保合规")
    admin.evaluate("$('#kind').val('qualitative').trigger('change')")
    admin.fill("#weight", "5")
    admin.fill("#position", "200")
    admin.fill("#question", "近三年是否受过环保处罚")
    admin.fill("#options", "从未受罚=100\n受过轻微处罚=40\n受过重大处罚=0")
    screenshot(admin, "rating-indicator-add", full_page=True)
    with admin.expect_navigation():
        admin.click("form [type=submit]")
    assert admin.locator(".alert-danger").count() == 0, admin.locator(".alert-danger").all_inner_texts()
    admin.goto(f"/ratingmodelview/show/{model_id}")
    admin.click(".nav-tabs li:nth-child(2) a")
    assert admin.locator("td:visible", has_text="环保合规").count() == 1
    screenshot(admin, "rating-model-with-indicator", full_page=True)

    # 2. the account manager rates his customer with it
    clerk = page_as(P.ACCOUNT_MANAGER)
    clerk.goto(f"/rating/customer/{customer_id}?model_id={model_id}")
    assert clerk.locator(".rating-question[data-code=green]").count() == 1
    for code, index in (("management", 1), ("outlook", 0), ("credit_record", 0), ("collateral", 1), ("green", 1)):
        clerk.check(f"input[name=a_{code}][value='{index}']")
    with clerk.expect_navigation():
        clerk.click("#rating-calculate")
    # 84.4583 of the default model + 40 points × 5 % = 86.4583 → 86.46, AA
    assert clerk.inner_text("#rating-score") == "86.46" and clerk.inner_text("#rating-grade") == "AA"
    assert clerk.locator("#rating-breakdown tr[data-code=green]").inner_text().count("40.00") == 1
    screenshot(clerk, "rating-clerk-calculated", full_page=True)
    with clerk.expect_navigation():
        clerk.click("#rating-save button[type=submit]")
    rating_id = int(re.search(r"/rating/show/(\d+)", clerk.url).group(1))
    with clerk.expect_navigation():
        clerk.click("#rating-submit button[type=submit]")
    assert clerk.locator(".approval-panel .approval-status").count() == 1
    screenshot(clerk, "rating-submitted", full_page=True)

    # 3. the risk officer approves it on the rating's page
    risk = page_as(P.RISK_OFFICER)
    risk.goto(f"/rating/show/{rating_id}")
    risk.fill("#approval-comment", "同意评级")
    with risk.expect_navigation():
        risk.click("button[name=action][value=approve]")
    risk.goto(f"/rating/show/{rating_id}")
    screenshot(risk, "rating-approved", full_page=True)
    with app.app_context():
        rating = db.session.get(Rating, rating_id)
        assert rating.status == "approved" and rating.is_current and rating.grade == "AA"
        assert rating.score == Decimal("86.46") and rating.valid_to is not None
    assert risk.locator("#rating-valid").inner_text().count(str(rating.valid_to)) == 1
