"""CUS-7: fields the administrator adds to customers appear in the add/edit forms, are checked (required,
number, date, dictionary value), stored, filterable in the list and the API, shown, exported, and
readable/writable through the API as the nested object `extra` — without a code change."""
import html
import io
import re

import prison
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import permissions as P
from models.customer_extras import CustomerFieldDef
from models.customers import Customer
from tests.conftest import unique
from tests.integration.datalayer import (  # noqa: F401  admin_client is a fixture
    Store, admin_client, assert_no_driver_text, customer_form, make_uscc,
)


@pytest.fixture(scope="module")
def fields(app):
    """Four extra fields: text and choice for both kinds, a number for corporates (required), a date."""
    tag = unique("f")[:8]
    defs = {
        "text": CustomerFieldDef(code=f"{tag}_wechat", label=f"微信号{tag}", kind="both", field_type="text",
                                 required=False, sort_order=1, enabled=True),
        "number": CustomerFieldDef(code=f"{tag}_staff", label=f"社保人数{tag}", kind="corporate",
                                   field_type="number", required=True, sort_order=2, enabled=True),
        "date": CustomerFieldDef(code=f"{tag}_visit", label=f"走访日期{tag}", kind="both", field_type="date",
                                 required=False, sort_order=3, enabled=True),
        "choice": CustomerFieldDef(code=f"{tag}_size", label=f"规模{tag}", kind="both", field_type="choice",
                                   dict_type="enterprise_size", required=False, sort_order=4, enabled=True),
    }
    store = Store(app)
    store.add(*defs.values())
    yield {k: (d.code, d.label) for k, d in defs.items()}
    with store.session() as session:  # other modules create customers without these fields
        for d in defs.values():
            session.delete(session.get(CustomerFieldDef, d.id))
        session.commit()


def _code(fields, key):
    return fields[key][0]


def _names(app, name):
    return Store(app).all(select(Customer).where(Customer.name == name))


def test_fields_appear_in_the_add_form_and_search(admin_web, fields):
    page = admin_web.get("/customerview/add").get_data(as_text=True)
    for code, label in fields.values():
        assert f'name="extra__{code}"' in page and label in page
    corporate = admin_web.get("/corporatecustomerview/add").get_data(as_text=True)
    individual = admin_web.get("/individualcustomerview/add").get_data(as_text=True)
    assert f'name="extra__{_code(fields, "number")}"' in corporate
    assert f'name="extra__{_code(fields, "number")}"' not in individual  # corporate-only field
    listing = admin_web.get("/customerview/list/").get_data(as_text=True)
    assert f"extra__{_code(fields, 'text')}" in listing  # offered as a filter


@pytest.mark.parametrize("key, value", [("number", "十二"), ("date", "2026-13-45"), ("choice", "HUGE")])
def test_bad_values_are_refused_beside_the_field(app, admin_web, fields, key, value):
    name = unique("坏值")
    form = customer_form(kind="corporate", name=name, id_type="USCC", id_number=make_uscc(), phone="")
    form[f"extra__{_code(fields, 'number')}"] = "12"
    form[f"extra__{_code(fields, key)}"] = value
    response = admin_web.post_form("/customerview/add", form, form_page="/customerview/add")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert fields[key][1] in text and ("has-error" in text or "help-block" in text)
    assert_no_driver_text(text)
    assert not _names(app, name)


def test_required_field_of_the_kind(app, admin_web, fields):
    name = unique("缺必填")
    form = customer_form(kind="corporate", name=name, id_type="USCC", id_number=make_uscc(), phone="")
    response = admin_web.post_form("/customerview/add", form, form_page="/customerview/add")
    assert response.status_code == 200 and not _names(app, name)
    assert fields["number"][1] in html.unescape(response.get_data(as_text=True))
    # the corporate-only required field does not concern individuals
    individual = unique("个人")
    assert admin_web.post_form("/customerview/add", customer_form(name=individual),
                               form_page="/customerview/add").status_code == 302
    assert _names(app, individual)


@pytest.fixture(scope="module")
def saved(app, fields, admin_client):
    """A corporate customer entered through the screen with every extra field, and a second one."""
    names = {}
    for key, (staff, wechat, size) in {"a": ("1,200.50", "wx_a", "L"), "b": ("80", "wx_b", "S")}.items():
        name = unique(f"要素{key}")
        form = customer_form(kind="corporate", name=name, id_type="USCC", id_number=make_uscc(), phone="")
        form.update({f"extra__{_code(fields, 'number')}": staff, f"extra__{_code(fields, 'text')}": wechat,
                     f"extra__{_code(fields, 'date')}": "2026-03-01", f"extra__{_code(fields, 'choice')}": size})
        response = admin_client.post_form("/customerview/add", form, form_page="/customerview/add")
        assert response.status_code == 302, html.unescape(response.get_data(as_text=True))[-3000:]
        names[key] = name
    customers = {k: _names(app, n)[0] for k, n in names.items()}
    return {k: (c.id, c.name) for k, c in customers.items()}


def test_values_are_stored_normalised_and_shown(app, admin_web, fields, saved):
    customer = Store(app).get(Customer, saved["a"][0])
    assert customer.extra == {_code(fields, "number"): "1200.5", _code(fields, "text"): "wx_a",
                              _code(fields, "date"): "2026-03-01", _code(fields, "choice"): "L"}
    page = admin_web.get(f"/customerview/show/{customer.id}").get_data(as_text=True)
    assert fields["number"][1] in page and "1200.5" in page and "大型" in page  # the dictionary name
    edit = admin_web.get(f"/customerview/edit/{customer.id}").get_data(as_text=True)
    assert 'value="wx_a"' in edit


def test_edit_keeps_and_changes_values(app, admin_web, fields, saved):
    pk = saved["b"][0]
    page = admin_web.get(f"/customerview/edit/{pk}").get_data(as_text=True)
    customer = Store(app).get(Customer, pk)
    form = customer_form(kind="corporate", name=customer.name, id_type="USCC", id_number=customer.id_number,
                         phone="")
    form.update({f"extra__{_code(fields, 'number')}": "81", f"extra__{_code(fields, 'text')}": "",
                 f"extra__{_code(fields, 'date')}": "2026-03-01", f"extra__{_code(fields, 'choice')}": "S"})
    assert "extra__" in page
    response = admin_web.post_form(f"/customerview/edit/{pk}", form)
    assert response.status_code == 302
    extra = Store(app).get(Customer, pk).extra
    assert extra[_code(fields, "number")] == "81" and _code(fields, "text") not in extra


def test_list_filters(admin_web, fields, saved):
    def names(args):
        text = admin_web.get("/customerview/list/", query_string={**args, "psize_CustomerView": 100})
        body = text.get_data(as_text=True)
        assert text.status_code == 200, " ".join(re.sub(r"<[^>]+>", " ", body).split())[-600:]
        return {k for k, (_, name) in saved.items() if name in body}

    code = _code(fields, "text")
    assert names({f"_flt_0_extra__{code}": "wx_a"}) == {"a"}  # equal to
    assert names({f"_flt_1_extra__{code}": "wx_"}) >= {"a"}  # contains
    staff = _code(fields, "number")
    assert names({f"_flt_1_extra__{staff}": "100"}) == {"a"}  # greater than (as a number, not as text)
    assert names({f"_flt_2_extra__{staff}": "100"}) == {"b"}  # smaller than
    assert names({f"_flt_0_extra__{_code(fields, 'choice')}": "S"}) == {"b"}
    assert names({f"_flt_1_extra__{_code(fields, 'date')}": "2026-01-01"}) >= {"a", "b"}
    bad = admin_web.get("/customerview/list/", query_string={f"_flt_1_extra__{staff}": "abc"})
    assert bad.status_code == 400
    assert_no_driver_text(bad.get_data(as_text=True))


def test_export_has_the_extra_columns(admin_web, fields, saved):
    code = _code(fields, "text")
    response = admin_web.get("/customerview/export/", query_string={f"_flt_0_extra__{code}": "wx_a"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0] if h is not None]
    headers = " ".join(str(h) for h in rows[0])
    assert fields["text"][1] in headers and fields["choice"][1] in headers
    data = [r for r in rows[1:] if saved["a"][1] in [str(v) for v in r]]
    assert len(data) == 1 and "wx_a" in data[0] and "大型" in data[0]
    assert header


def test_api_reads_writes_and_filters_extra(app, api_as, fields, saved):
    api = api_as(P.ADMIN)
    body = api.get(f"/api/v1/customer/{saved['a'][0]}").get_json()
    assert body["result"]["extra"][_code(fields, "text")] == "wx_a"
    # write: checked like the screen
    new = {"kind": "corporate", "name": unique("接口要素"), "id_type": "USCC", "id_number": make_uscc(),
           "direct": "direct", "extra": {_code(fields, "number"): "abc"}}
    bad = api.post("/api/v1/customer/", json=new)
    assert bad.status_code == 422 and fields["number"][1] in bad.get_json()["message"]
    assert api.post("/api/v1/customer/", json={**new, "extra": {"nope": 1}}).status_code == 422
    assert api.post("/api/v1/customer/", json={**new, "extra": "x"}).status_code in (400, 422)
    assert api.post("/api/v1/customer/", json={**new, "extra": {}}).status_code == 422  # required missing
    assert not _names(app, new["name"])
    created = api.post("/api/v1/customer/", json={**new, "extra": {_code(fields, "number"): 33,
                                                                   _code(fields, "date"): "2026-02-03"}})
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    assert Store(app).get(Customer, pk).extra == {_code(fields, "number"): "33", _code(fields, "date"): "2026-02-03"}
    # a partial update merges; null removes
    changed = api.put(f"/api/v1/customer/{pk}", json={"extra": {_code(fields, "text"): "wx_api",
                                                                _code(fields, "date"): None}})
    assert changed.status_code == 200, changed.get_json()
    assert Store(app).get(Customer, pk).extra == {_code(fields, "number"): "33", _code(fields, "text"): "wx_api"}
    # filter
    q = prison.dumps({"filters": [{"col": f"extra__{_code(fields, 'text')}", "opr": "xeq", "value": "wx_api"}]})
    found = api.get(f"/api/v1/customer/?q={q}").get_json()
    assert [r["name"] for r in found["result"]] == [new["name"]]
    q = prison.dumps({"filters": [{"col": f"extra__{_code(fields, 'text')}", "opr": "gt", "value": "x"}]})
    assert api.get(f"/api/v1/customer/?q={q}").status_code == 400


def test_disabled_field_disappears(app, admin_web, fields):
    code = _code(fields, "date")
    with Store(app).session() as session:
        row = session.execute(select(CustomerFieldDef).where(CustomerFieldDef.code == code)).scalar_one()
        row.enabled = False
        session.commit()
    try:
        assert f"extra__{code}" not in admin_web.get("/customerview/add").get_data(as_text=True)
    finally:
        with Store(app).session() as session:
            row = session.execute(select(CustomerFieldDef).where(CustomerFieldDef.code == code)).scalar_one()
            row.enabled = True
            session.commit()


@pytest.mark.parametrize("overrides, field", [
    ({"code": "Bad Code"}, "code"), ({"code": "name"}, "code"), ({"code": "extra_x"}, "code"),
    ({"field_type": "choice", "dict_type": ""}, "dict_type"), ({"kind": "alien"}, "kind"),
])
def test_field_definition_checks(app, admin_web, overrides, field):
    form = {"code": unique("ok_")[:20].lower(), "label": "标签", "kind": "both", "field_type": "text",
            "dict_type": "", "required": "", "sort_order": "9", "enabled": "y", **overrides}
    response = admin_web.post_form("/customerfielddefview/add", form, form_page="/customerfielddefview/add")
    assert response.status_code == 200
    assert_no_driver_text(response.get_data(as_text=True))
    assert Store(app).scalar(select(CustomerFieldDef.id).where(CustomerFieldDef.code == form["code"])) is None


def test_field_admin_screen_is_the_administrators(login_as):
    assert login_as(P.ACCOUNT_MANAGER).get("/customerfielddefview/list/").status_code == 403
    assert login_as(P.AUDITOR).get("/customerfielddefview/list/").status_code == 200
