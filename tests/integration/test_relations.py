"""CUS-4 customer relations: the rules, the related-party walk (recursive CTE) on a hand-built graph with a
cycle and an expired link, the relations tab and form, the relation graph JSON (permissions and data scope)
and the customer 360 page."""
from datetime import date

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import ValidationError
from tests.conftest import unique
from tests.integration.datalayer import assert_no_driver_text

#            B ======group====== C
#   shareholder \              / shareholder          (A-B-C-A is a cycle)
#                 A --legal rep-- D ~~spouse~~ E
#                 :                C --guarantor-- F ==same ctrl== G --actual ctrl-- H
#                 : (expired guarantor) Z
NODES = {"A": "corporate", "B": "corporate", "C": "corporate", "D": "individual", "E": "individual",
         "F": "corporate", "G": "corporate", "H": "individual", "Z": "corporate", "Y": "individual"}
EDGES = [  # (customer, related party, kind): "related party is customer's <kind>"
    ("A", "B", "shareholder"), ("B", "C", "group_member"), ("C", "A", "shareholder"),
    ("A", "D", "legal_representative"), ("D", "E", "spouse"), ("C", "F", "guarantor"),
    ("F", "G", "same_controller"), ("G", "H", "actual_controller"),
]
EXPECTED = {1: set("BCD"), 2: set("BCDEF"), 3: set("BCDEFG"), 4: set("BCDEFGH")}


def _customer(tag, key, kind, manager_id=None):
    from models.customers import Customer

    return Customer(code=f"{tag}{key}", kind=kind, name=f"{tag}客户{key}", id_type="PASSPORT",
                    id_number=f"{tag}{key}".upper(), direct="direct", manager_id=manager_id, owner_id=manager_id)


@pytest.fixture(scope="module")
def world(app):
    from app.extensions import db
    from app.services import relations

    tag = unique("rel")
    with app.app_context():
        sm = app.appbuilder.sm
        manager = sm.add_user(f"{tag}-am", "关联", "经理", f"{tag}@test.local", [sm.find_role(P.ACCOUNT_MANAGER)],
                              "Test@12345")
        ids = {}
        for key, kind in NODES.items():
            c = _customer(tag, key, kind, manager.id if key in "AD" else None)
            db.session.add(c)
            db.session.flush()
            ids[key] = c.id
        for a, b, kind in EDGES:
            relations.add_relation(ids[a], ids[b], kind, share_pct=30 if kind == "shareholder" else None)
        relations.add_relation(ids["A"], ids["Z"], "guarantor", valid_from=date(2020, 1, 1),
                               valid_to=date(2021, 1, 1))  # expired
        db.session.commit()
        return {"tag": tag, "ids": ids, "manager": f"{tag}-am"}


def _keys(world, customer_ids):
    by_id = {v: k for k, v in world["ids"].items()}
    return {by_id[i] for i in customer_ids}


# --- the walk ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_related_ids_at_each_depth(app, world, depth):
    from app.services import relations

    with app.app_context():
        assert _keys(world, relations.related_customer_ids(world["ids"]["A"], depth)) == EXPECTED[depth]


def test_related_parties_carry_depth_and_shortest_path(app, world):
    from app.services import relations

    ids = world["ids"]
    with app.app_context():
        parties = {p.customer_id: p for p in relations.related_parties(ids["A"], 3)}
    assert _keys(world, parties) == EXPECTED[3]
    depth = {k: parties[ids[k]].depth for k in EXPECTED[3]}
    assert depth == {"B": 1, "C": 1, "D": 1, "E": 2, "F": 2, "G": 3}
    g = parties[ids["G"]]
    assert g.path == [ids["A"], ids["C"], ids["F"], ids["G"]]
    assert g.kinds == ["shareholder", "guarantor", "same_controller"]
    assert parties[ids["E"]].path == [ids["A"], ids["D"], ids["E"]]
    # read both ways: C stores "A is C's shareholder"; from A that step runs backwards
    assert parties[ids["C"]].forward is False and parties[ids["B"]].forward is True


def test_walk_from_the_middle_and_expired_links(app, world):
    from app.services import relations

    ids = world["ids"]
    with app.app_context():
        assert _keys(world, relations.related_customer_ids(ids["E"], 2)) == {"D", "A"}
        assert _keys(world, relations.related_customer_ids(ids["H"], 6)) == set("ABCDEFG")
        # the expired guarantor counts only when validity is ignored
        assert "Z" not in _keys(world, relations.related_customer_ids(ids["A"], 1))
        assert "Z" in _keys(world, relations.related_customer_ids(ids["A"], 1, as_of=False))
        assert "A" in _keys(world, relations.related_customer_ids(ids["Z"], 1, as_of=date(2020, 6, 1)))
        assert relations.related_customer_ids(ids["Y"], 3) == set()
        with pytest.raises(ValidationError):
            relations.related_customer_ids(ids["A"], 0)


# --- rules -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("a,b,kind,share,field", [
    ("A", "A", "guarantor", None, "related"),  # self-link
    ("A", "B", "shareholder", None, "related"),  # duplicate
    ("E", "D", "spouse", None, "related"),  # the same symmetric pair read the other way
    ("A", "E", "spouse", None, "kind"),  # spouse only between individuals
    ("D", "A", "shareholder", None, "kind"),  # an individual has no shareholders
    ("A", "B", "legal_representative", None, "related"),  # a company is not a legal representative
    ("A", "G", "shareholder", 150, "share_pct"),
    ("A", "G", "shareholder", 0, "share_pct"),
    ("A", "G", "guarantor", 10, "share_pct"),  # shareholding only for shareholders
    ("A", "G", "cousin", None, "kind"),
])
def test_relation_rules(app, world, a, b, kind, share, field):
    from app.extensions import db
    from app.services import relations
    from models.customer_relations import CustomerRelation

    ids = world["ids"]
    with app.app_context():
        before = db.session.query(CustomerRelation).count()
        with pytest.raises(ValidationError) as err:
            relations.add_relation(ids[a], ids[b], kind, share_pct=share)
        assert err.value.field == field
        db.session.rollback()
        assert db.session.query(CustomerRelation).count() == before


def test_symmetric_kind_is_stored_once_smaller_id_first(app, world):
    from app.extensions import db
    from app.services import relations

    ids = world["ids"]
    with app.app_context():
        rel = relations.add_relation(ids["G"], ids["F"], "group_member")
        assert (rel.customer_id, rel.related_id) == (ids["F"], ids["G"])
        with pytest.raises(ValidationError):
            relations.add_relation(ids["F"], ids["G"], "group_member")
        with pytest.raises(ValidationError) as err:
            relations.add_relation(ids["A"], ids["G"], "guarantor", valid_from=date(2026, 2, 1),
                                   valid_to=date(2026, 1, 1))
        assert err.value.field == "valid_to"
        db.session.rollback()


# --- screens ---------------------------------------------------------------------------------------------

def test_relation_form_from_the_customer_tab(app, world, admin_web):
    from app.extensions import db
    from models.customer_relations import CustomerRelation

    ids, tag = world["ids"], world["tag"]
    add_url = f"/customerrelationview/add?_flt_0_customer={ids['H']}"
    page = admin_web.get(add_url)
    assert page.status_code == 200
    assert f'value="{tag}H"' in page.get_data(as_text=True)  # the tab's customer is filled in
    form = {"customer_ref": f"{tag}H", "related_ref": f"{tag}Y".upper(), "kind": "spouse", "share_pct": "",
            "valid_from": "", "valid_to": "", "note": "婚姻登记"}
    response = admin_web.post_form(add_url, form)
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    with app.app_context():
        rel = db.session.execute(select(CustomerRelation).where(CustomerRelation.kind == "spouse",
                                                                CustomerRelation.related_id == ids["Y"])).scalar()
        assert rel is not None and rel.customer_id == ids["H"]
    # refused input: the form comes back with the message, nothing saved, no database text
    bad = admin_web.post_form(add_url, {**form, "related_ref": f"{tag}H"})
    assert bad.status_code == 200
    assert_no_driver_text(bad.get_data(as_text=True))
    unknown = admin_web.post_form(add_url, {**form, "related_ref": "NO-SUCH-CUSTOMER"})
    assert unknown.status_code == 200 and "NO-SUCH-CUSTOMER" in unknown.get_data(as_text=True)

    # both sides: Y's customer page lists the relation stored under H
    show = admin_web.get(f"/customerview/show/{ids['Y']}")
    assert show.status_code == 200
    text = show.get_data(as_text=True)
    assert f"{tag}客户H" in text and "relation-graph" in text


def test_graph_json_for_the_administrator(app, world, admin_web):
    ids, tag = world["ids"], world["tag"]
    response = admin_web.get(f"/customerrelationview/graph/{ids['A']}?depth=2")
    assert response.status_code == 200
    data = response.get_json()
    names = {n["name"] for n in data["nodes"]}
    assert {f"{tag}客户{k}" for k in "ABCDEF"} <= names and f"{tag}客户G" not in names
    assert not any(n["masked"] for n in data["nodes"])
    start = next(n for n in data["nodes"] if n["start"])
    assert start["id"] == str(ids["A"]) and start["url"].endswith(f"/customer360/{ids['A']}")
    edge = next(e for e in data["edges"] if e["kind"] == "legal_representative")
    assert (edge["source"], edge["target"]) == (str(ids["D"]), str(ids["A"]))
    assert any(e["kind"] == "shareholder" and "30%" in e["label"] for e in data["edges"])
    assert admin_web.get(f"/customerrelationview/graph/{ids['A']}?depth=9").status_code == 422


def test_graph_json_follows_permissions_and_scope(app, world, login_as):
    ids, tag = world["ids"], world["tag"]
    manager = login_as(world["manager"])  # an account manager who manages A and D only
    response = manager.get(f"/customerrelationview/graph/{ids['A']}?depth=2")
    assert response.status_code == 200
    nodes = {n["id"]: n for n in response.get_json()["nodes"]}
    assert nodes[str(ids["A"])]["name"] == f"{tag}客户A" and nodes[str(ids["D"])]["name"] == f"{tag}客户D"
    for key in "BCEF":  # out of his scope: the link is shown, the customer is not
        node = nodes[str(ids[key])]
        assert node["masked"] and node["url"] == "" and tag not in node["name"] and node["code"] == ""
    # a customer outside the scope is "not found"; a role without the relation permission is refused
    assert manager.get(f"/customerrelationview/graph/{ids['B']}").status_code == 404
    cashier = login_as(P.CASHIER)
    assert cashier.get(f"/customerrelationview/graph/{ids['A']}").status_code in (302, 403)


def test_customer_360_page_sections(app, world, admin_web):
    from app.services import customer_360

    ids, tag = world["ids"], world["tag"]

    @customer_360.section("test_extra", "测试板块", order=99)
    def extra(customer):
        return customer_360.Section(columns=["列"], rows=[[f"额外-{customer.code}"]])

    try:
        page = admin_web.get(f"/customer360/{ids['A']}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        for key in ("identity", "watch", "statements", "relations", "transfers", "merges", "test_extra"):
            assert f'id="section-{key}"' in text, key
        assert f"额外-{tag}A" in text and "测试板块" in text
        assert f"{tag}客户G" in text  # three steps away, listed with its path
        assert "relation-graph" in text and "echarts.min.js" in text
    finally:
        customer_360.unregister("test_extra")
    assert 'id="section-test_extra"' not in admin_web.get(f"/customer360/{ids['A']}").get_data(as_text=True)
    assert admin_web.get("/customer360/999999999").status_code == 404


def test_customer_360_follows_scope(app, world, login_as):
    ids, tag = world["ids"], world["tag"]
    manager = login_as(world["manager"])
    page = manager.get(f"/customer360/{ids['A']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"{tag}客户D" in text and f"{tag}客户B" not in text  # B is out of his scope: masked
    assert 'id="c360-transfer"' not in text and 'id="c360-merge"' not in text
    assert manager.get(f"/customer360/{ids['B']}").status_code == 404
