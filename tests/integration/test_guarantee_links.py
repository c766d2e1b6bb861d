"""The ways between the guarantee screens (review of issue 4): guarantee page -> customer 360 page, customer 360
page -> the customer's guarantees, an approval message on 待办事项 -> its item, and the select of item kinds on
the approval rule form."""
import re

from app import permissions as P
from tests.integration.test_guarantees_support import (
    application_data, make_bank, make_customer, make_product, to_stage, user_id,
)


def _application(db):
    from app.services import guarantees as svc

    am = user_id(P.ACCOUNT_MANAGER)
    product, bank = make_product(db), make_bank(db)
    customer = make_customer(db, manager_id=am)
    db.session.commit()
    g = svc.create_application(application_data(customer, product, bank), am)
    db.session.commit()
    return g


def test_guarantee_page_and_customer_360_link_each_other(db, login_as):
    g = _application(db)
    am = login_as(P.ACCOUNT_MANAGER)
    page = am.get(f"/guarantee/page/{g.id}").get_data(as_text=True)
    assert f'href="/customer360/{g.customer_id}"' in page and 'href="/myapprovals/todo"' in page
    c360 = am.get(f"/customer360/{g.customer_id}").get_data(as_text=True)
    assert 'id="section-guarantees"' in c360 and f'href="/guarantee/page/{g.id}"' in c360 and g.code in c360


def test_approval_message_links_to_its_item(db, login_as):
    g = _application(db)
    to_stage(db, g.id, "acceptance")  # submitted for 受理审批: the risk officer gets a message
    db.session.commit()
    risk = login_as(P.RISK_OFFICER)
    html = risk.get("/myapprovals/todo").get_data(as_text=True)
    messages = html[html.index('id="approval-messages"'):html.index("</ul>", html.index('id="approval-messages"'))]
    assert f'href="/guarantee/page/{g.id}"' in messages


def test_rule_form_offers_the_item_kinds(db, admin_web):
    html = admin_web.get("/approvalruleview/add").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="kind".*?</select>', html, re.S)
    assert select and 'value="guarantee.review"' in select.group(0)
    flows = re.search(r'<select[^>]*name="flow_code".*?</select>', html, re.S)
    assert flows and 'value="guarantee.acceptance"' in flows.group(0)


def test_todo_lists_the_stages_waiting_for_the_user(db, login_as):
    g = _application(db)  # a draft: the account manager's work, not finance's
    html = login_as(P.ACCOUNT_MANAGER).get("/myapprovals/todo").get_data(as_text=True)
    assert 'id="work-queues"' in html and "_flt_3_stage=draft" in html
    cashier = login_as(P.CASHIER).get("/myapprovals/todo").get_data(as_text=True)
    assert "_flt_3_stage=draft" not in cashier
    listed = login_as(P.ACCOUNT_MANAGER).get("/guarantee/list/?_flt_3_stage=draft&_flt_3_status=active")
    assert g.code in listed.get_data(as_text=True)
