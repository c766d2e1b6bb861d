"""RAT-1/2/4 through the screens: a bad formula is refused on the indicator form with the reason and nothing is
saved; an account manager rates a customer of his (save, submit) and a risk officer approves on the rating's
page; roles without the permission are refused; customers outside the data scope are not found."""
import re
import uuid
from datetime import date

from sqlalchemy import func, select

from app import permissions as P
from models.rating import Rating, RatingIndicator, RatingModel
from tests.integration.test_rating import ANSWERS, CURRENT, PREVIOUS, _user_id, corporate, statement


def _model(db):
    from app.services.rating_reference import build_corporate

    model = build_corporate()
    model.code = f"W{uuid.uuid4().hex[:8]}"
    db.session.add(model)
    db.session.commit()
    return model.id


def test_bad_formula_refused_on_the_form(db, login_as):
    model_id = _model(db)
    web = login_as(P.RISK_OFFICER)
    url = f"/ratingindicatorview/add?_flt_0_model={model_id}"
    form = {"model": str(model_id), "position": "99", "code": "bad", "name": "坏指标", "kind": "quantitative",
            "weight": "5", "formula": "revenue / turnover", "rule": "bands", "direction": "higher",
            "bands": "~=10"}
    page = web.post_form("/ratingindicatorview/add", form, form_page=url)
    assert page.status_code == 200 and "turnover" in page.get_data(as_text=True)
    count = db.session.execute(select(func.count(RatingIndicator.id)).where(RatingIndicator.model_id == model_id,
                                                                            RatingIndicator.code == "bad")).scalar()
    assert count == 0
    form["formula"] = "open('x')"
    assert "open" in web.post_form("/ratingindicatorview/add", form, form_page=url).get_data(as_text=True)
    form["formula"] = "total_assets / 10000"
    page = web.post_form("/ratingindicatorview/add", form, form_page=url)
    assert page.status_code == 302
    db.session.expire_all()
    assert db.session.execute(select(RatingIndicator.formula).where(RatingIndicator.model_id == model_id,
                                                                    RatingIndicator.code == "bad")).scalar() \
        == "total_assets / 10000"


def test_clerk_rates_and_risk_officer_approves(db, login_as):
    clerk = _user_id(db, P.ACCOUNT_MANAGER)
    customer = corporate(db, manager_id=clerk)
    statement(customer, 2024, PREVIOUS)
    statement(customer, 2025, CURRENT)
    db.session.commit()
    model_id = _model(db)
    web = login_as(P.ACCOUNT_MANAGER)
    answers = {f"a_{k}": str(v) for k, v in ANSWERS.items()}
    page = web.get(f"/rating/customer/{customer.id}", query_string={"model_id": model_id, **answers})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="rating-score">84.46<' in html and 'id="rating-grade">AA<' in html
    response = web.post_form(f"/rating/rate/{customer.id}", {"model_id": str(model_id), **answers},
                             form_page=f"/rating/customer/{customer.id}")
    assert response.status_code == 302
    rating_id = int(re.search(r"/rating/show/(\d+)", response.headers["Location"]).group(1))
    response = web.post_form(f"/rating/submit/{rating_id}", {}, form_page=f"/rating/show/{rating_id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Rating, rating_id).status == "pending"

    risk = login_as(P.RISK_OFFICER)
    html = risk.get(f"/rating/show/{rating_id}").get_data(as_text=True)
    assert 'value="approve"' in html
    instance_id = re.search(r"/approval/act/(\d+)", html).group(1)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    response = risk.post_form(f"/approval/act/{instance_id}", {"action": "approve", "comment": "同意",
                                                               "version": version,
                                                               "next": f"/rating/show/{rating_id}"},
                              form_page=f"/rating/show/{rating_id}")
    assert response.status_code == 302
    db.session.expire_all()
    rating = db.session.get(Rating, rating_id)
    assert rating.status == "approved" and rating.is_current and rating.valid_to is not None
    html = web.get(f"/rating/customer/{customer.id}").get_data(as_text=True)
    assert "84.46" in html and str(rating.valid_to) in html

    # the customer's page has the tab 评级记录; its row opens the rating's page
    html = web.get(f"/corporatecustomerview/show/{customer.id}").get_data(as_text=True)
    assert "评级记录" in html and "84.46" in html and f"/customerratings/show/{rating_id}" in html
    assert web.get(f"/customerratings/show/{rating_id}").headers["Location"].endswith(f"/rating/show/{rating_id}")


def _token(client):
    """A CSRF token of the client's session (from a page with a form: the approval delegation screen)."""
    return client.csrf("/delegationview/add")


def test_permissions_and_data_scope(db, login_as):
    other = corporate(db, manager_id=None)
    db.session.commit()
    clerk = login_as(P.ACCOUNT_MANAGER)
    assert clerk.get(f"/rating/customer/{other.id}").status_code == 404  # not his customer
    assert clerk.get("/ratingbatch/").status_code in (302, 403)
    assert clerk.get("/ratingmodelview/add").status_code in (302, 403)
    cashier = login_as(P.CASHIER)
    assert cashier.get("/rating/").status_code == 200
    token = _token(cashier)
    assert cashier.post(f"/rating/rate/{other.id}", data={"csrf_token": token, "model_id": "1"}).status_code \
        in (302, 403)
    assert db.session.execute(select(func.count(Rating.id)).where(Rating.customer_id == other.id)).scalar() == 0
    hidden = Rating(customer_id=other.id, model_id=_model(db), status="approved", score=61.5, grade="B",
                    breakdown=[], rated_on=date(2026, 1, 5))
    db.session.add(hidden)
    db.session.commit()
    listing = clerk.get(f"/customerratings/list/?_flt_0_customer={other.id}").get_data(as_text=True)
    assert "61.5" not in listing  # the ratings tab keeps the customer's data scope
    risk = login_as(P.RISK_OFFICER)
    for url in ("/rating/", "/ratingbatch/", "/ratingmodelview/list/"):
        assert risk.get(url).status_code == 200, url
    model = db.session.execute(select(RatingModel).where(RatingModel.active.is_(True))).scalars().first()
    assert risk.get(f"/ratingmodelview/show/{model.id}").status_code == 200


def test_batch_screens(db, login_as):
    from models.rating import RatingBatch

    for pending in db.session.execute(select(RatingBatch).where(RatingBatch.status == "pending")).scalars():
        pending.status = "discarded"
    db.session.commit()
    customer = corporate(db)
    statement(customer, 2025, CURRENT)
    db.session.commit()
    risk = login_as(P.RISK_OFFICER)
    assert 'id="batch-start"' in risk.get("/ratingbatch/").get_data(as_text=True)
    response = risk.post_form("/ratingbatch/start", {"scope": "all"}, form_page="/ratingbatch/")
    assert response.status_code == 302
    batch_id = int(re.search(r"/ratingbatch/show/(\d+)", response.headers["Location"]).group(1))
    html = risk.get(f"/ratingbatch/show/{batch_id}").get_data(as_text=True)
    assert 'id="batch-review"' in html and 'id="batch-grades"' in html
    # the one who started it cannot accept it: refused with the reason, nothing changes
    risk.post_form(f"/ratingbatch/accept/{batch_id}", {}, form_page=f"/ratingbatch/show/{batch_id}")
    db.session.expire_all()
    assert db.session.get(RatingBatch, batch_id).status == "pending"
    assert db.session.get(RatingBatch, batch_id).total >= 1
    manager = login_as(P.GENERAL_MANAGER)
    response = manager.post_form(f"/ratingbatch/accept/{batch_id}", {}, form_page=f"/ratingbatch/show/{batch_id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(RatingBatch, batch_id).status == "accepted"
    from app.services import rating as R

    assert R.current_rating(customer.id).batch_id == batch_id
    clerk = login_as(P.ACCOUNT_MANAGER)
    token = _token(clerk)
    before = db.session.execute(select(func.count(RatingBatch.id))).scalar()
    assert clerk.post("/ratingbatch/start", data={"csrf_token": token, "scope": "all"}).status_code in (302, 403)
    assert db.session.execute(select(func.count(RatingBatch.id))).scalar() == before  # no permission: no batch


def test_api_meets_the_same_checks(db, api_as):
    model_id = _model(db)
    api = api_as(P.RISK_OFFICER)
    body = {"model": model_id, "position": 5, "code": "api_bad", "name": "接口指标", "kind": "quantitative",
            "weight": 5, "formula": "revenue / nonsense", "rule": "bands", "direction": "higher", "bands": "~=10"}
    response = api.post("/api/v1/rating_indicator/", json=body)
    assert response.status_code == 422 and "nonsense" in response.get_data(as_text=True)
    body["formula"] = "revenue / total_assets"
    response = api.post("/api/v1/rating_indicator/", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    listed = api.get(f"/api/v1/rating_model/{model_id}").get_json()["result"]
    assert listed["code"].startswith("W")
    clerk = api_as(P.ACCOUNT_MANAGER)
    assert clerk.post("/api/v1/rating_indicator/", json=body).status_code == 403
    assert clerk.get("/api/v1/rating/").status_code == 200
    assert clerk.post("/api/v1/rating/", json={}).status_code in (403, 404, 405)


def test_rating_api_follows_the_customer_scope(db, api_as):
    from app.services import rating as R

    clerk_id = _user_id(db, P.ACCOUNT_MANAGER)
    mine, other = corporate(db, manager_id=clerk_id), corporate(db)
    model = db.session.get(RatingModel, _model(db))
    for customer in (mine, other):
        R.rate_customer(customer.id, model.id, ANSWERS, None)  # rated by nobody in particular (like a batch)
    db.session.commit()
    clerk = api_as(P.ACCOUNT_MANAGER)
    seen = {r["customer_id"] for r in clerk.get("/api/v1/rating/?page_size=100").get_json()["result"]}
    assert mine.id in seen and other.id not in seen
