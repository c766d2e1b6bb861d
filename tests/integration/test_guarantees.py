"""The guarantee business from application to in force (BIZ-3..7, BIZ-9..12) through the real services,
the real approval engine and the database: the happy path with a different person for each role, the fee
event for the ledger, and every refusal (skipped stages, closed items, line, concentration, blacklist, terms)."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import permissions as P
from app.errors import Conflict, Forbidden, ValidationError
from tests.integration.test_guarantees_support import (
    application_data, committee_members, make_bank, make_customer, make_product, to_stage, user_id,
)


@pytest.fixture(scope="module")
def members(app):
    return committee_members(app, 3)


@pytest.fixture
def setup(db):
    am = user_id(P.ACCOUNT_MANAGER)
    product, bank = make_product(db), make_bank(db)
    customer = make_customer(db, manager_id=am)
    db.session.commit()
    return {"am": am, "product": product, "bank": bank, "customer": customer}


def _new(db, setup, **over):
    from app.services import guarantees as svc

    g = svc.create_application(application_data(setup["customer"], setup["product"], setup["bank"], **over),
                               setup["am"])
    db.session.commit()
    return g


def test_application_stores_measures_fee_plan_and_schedule(db, setup):
    g = _new(db, setup)
    assert g.code.startswith("DB") and g.stage == "draft" and g.status == "active"
    assert g.manager_id == setup["am"] and g.apply_date is not None
    assert [(m.kind, m.value) for m in g.measures] == [("mortgage", Decimal("1500000.00"))]
    assert [(f.fee_type, f.basis) for f in g.fee_items] == [("guarantee", "ratio"), ("service", "fixed")]
    # one-off: 1,000,000 × 2 % × 12/12 = 20,000 and the fixed 2,000, both due at the start
    assert sorted((r.fee_type, r.amount) for r in g.schedule) == [("guarantee", Decimal("20000.00")),
                                                                 ("service", Decimal("2000.00"))]
    assert [h.action for h in g.history] == ["created"]


def test_quarterly_fee_schedule_is_stored(db, setup):
    g = _new(db, setup, fee_items=[{"fee_type": "guarantee", "basis": "ratio", "frequency": "quarterly"}])
    # 1,000,000 × 2 % / 4 = 5,000 per quarter, four quarters
    assert [r.amount for r in g.schedule] == [Decimal("5000.00")] * 4
    assert g.schedule[1].period_from.month != g.schedule[0].period_from.month


def test_full_path_to_in_force_with_a_person_per_role(db, setup, members):
    from app.services import guarantees as svc
    from models.ledger import BusinessEvent

    g = _new(db, setup)
    g = to_stage(db, g.id, "in_force", members)
    assert g.stage == "in_force" and g.status == "active"
    assert g.balance == g.loan_amount == Decimal("1000000.00")
    assert g.due_date == svc.add_months(g.loan_date, 12)
    assert g.contract_status == "signed" and g.approval_status == "approved"
    docs = {d.doc_type: d for d in g.documents}
    for doc_type in ("investigation_report", "intention_letter", "risk_report", "committee_resolution",
                     "confirmation_letter", "loan_notice"):
        assert doc_type in docs
    assert docs["committee_resolution"].number.startswith("JY")
    assert {c.kind for c in g.contracts} == {"guarantee", "counter"}
    counter = next(c for c in g.contracts if c.kind == "counter")
    assert counter.reviewed_by_id == user_id(P.RISK_OFFICER) and counter.status == "signed"
    stages = [h.to_stage for h in g.history if h.from_stage != h.to_stage]
    assert stages == ["investigation", "acceptance", "intention", "review", "risk", "committee", "confirmation",
                      "fee_registration", "contract", "fee_collection", "loan_notice", "loan_confirmation", "in_force"]
    # who moved each approval stage: the approvers of the engine
    decided = {h.action: h.user_id for h in g.history}
    assert decided["acceptance_approved"] == user_id(P.RISK_OFFICER)
    assert decided["committee_approved"] == user_id(P.GENERAL_MANAGER)
    # fee collection went to finance's review queue as business events (guarantee fee income)
    events = db.session.execute(select(BusinessEvent).where(BusinessEvent.project_code == g.code)).scalars().all()
    assert sorted(e.amount for e in events) == [Decimal("2000.00"), Decimal("20000.00")]
    assert {e.kind for e in events} == {"fee_received"} and all(e.status == "pending" for e in events)
    assert all(r.event_id for r in g.receipts)
    assert all(e.customer_id == g.customer_id for e in events)


def test_document_context_has_the_contract_keys(db, setup, members):
    from app.services import guarantees as svc

    g = to_stage(db, _new(db, setup).id, "loan_confirmation", members)
    ctx = svc.guarantee_document_context(g, "loan_notice")
    assert ctx["guarantee"]["amount"] == "1,000,000.00"
    assert ctx["guarantee"]["amount_words"].startswith("壹佰万")
    assert ctx["guarantee"]["fee_rate"] == "2%"
    assert ctx["customer"]["name"] == setup["customer"].name and ctx["bank"]["name"] == setup["bank"].name
    assert ctx["doc"]["number"] == svc.document(g, "loan_notice").number and "年" in ctx["doc"]["date"]
    assert ctx["counter_measures"][0]["kind"] in ("抵押", "Mortgage")
    data, name = svc.render_document(g.id, "intention_letter")
    assert data[:2] == b"PK" and name.endswith(".docx")
    with pytest.raises(Conflict):
        svc.render_document(to_stage(db, _new(db, setup).id, "draft").id, "intention_letter")


def test_stages_cannot_be_skipped_or_repeated(db, setup, members):
    from app.services import guarantees as svc

    am, cashier = setup["am"], user_id(P.CASHIER)
    g = _new(db, setup)
    for skip in (lambda: svc.submit_for_acceptance(g.id, am), lambda: svc.issue_intention_letter(g.id, am),
                 lambda: svc.issue_confirmation_letter(g.id, am), lambda: svc.register_fees(g.id, am),
                 lambda: svc.issue_loan_notice(g.id, am),
                 lambda: svc.confirm_loan(g.id, cashier, "L1", "1000000"),
                 lambda: svc.submit_to_committee(g.id, am)):
        with pytest.raises(Conflict, match="stage|环节"):
            skip()
        db.session.rollback()
    svc.submit_application(g.id, am)
    db.session.commit()
    with pytest.raises(Conflict):  # no second submission
        svc.submit_application(g.id, am)
    db.session.rollback()
    # the report is required before the acceptance approval
    with pytest.raises(ValidationError, match="report|报告"):
        svc.submit_for_acceptance(g.id, am)
    db.session.rollback()
    g = to_stage(db, g.id, "acceptance", members)
    # an approval stage moves only by the engine: nothing of the stage functions applies
    with pytest.raises(Conflict):
        svc.issue_intention_letter(g.id, am)
    db.session.rollback()
    assert svc.get(g.id).stage == "acceptance" and svc.get(g.id).approval_status == "pending"


def test_self_approval_refused_and_rejection_closes(db, setup, members):
    from app.services import approval, guarantees as svc

    g = to_stage(db, _new(db, setup).id, "acceptance", members)
    inst = approval.open_instance("guarantee.acceptance", g.id)
    with pytest.raises(Forbidden):  # the account manager who submitted never approves
        approval.act(inst.id, setup["am"], "approve")
    db.session.rollback()
    approval.act(inst.id, user_id(P.RISK_OFFICER), "reject", "资料不实")
    db.session.commit()
    g = svc.get(g.id)
    assert g.status == "rejected" and g.approval_status == "rejected" and g.stage == "acceptance"
    # acting on a closed item
    with pytest.raises(Conflict, match="nothing more|不能再办理"):
        svc.issue_intention_letter(g.id, setup["am"])
    db.session.rollback()
    with pytest.raises(Conflict):
        svc.withdraw_application(g.id, setup["am"], "客户放弃")
    db.session.rollback()


def test_withdrawn_application_is_closed(db, setup):
    from app.services import guarantees as svc

    g = _new(db, setup)
    with pytest.raises(ValidationError):
        svc.withdraw_application(g.id, setup["am"], "")  # a reason is required
    db.session.rollback()
    svc.withdraw_application(g.id, setup["am"], "客户放弃")
    db.session.commit()
    with pytest.raises(Conflict, match="nothing more|不能再办理"):
        svc.submit_application(g.id, setup["am"])
    db.session.rollback()


def test_approval_withdrawn_steps_back_and_can_be_resubmitted(db, setup, members):
    from app.services import approval, guarantees as svc

    g = to_stage(db, _new(db, setup).id, "acceptance", members)
    inst = approval.open_instance("guarantee.acceptance", g.id)
    approval.act(inst.id, setup["am"], "withdraw", "补充材料")
    db.session.commit()
    g = svc.get(g.id)
    assert g.stage == "investigation" and g.approval_status == "none"
    svc.submit_for_acceptance(g.id, setup["am"])
    db.session.commit()
    assert svc.get(g.id).stage == "acceptance"


def test_blacklisted_customer_refused(db, setup):
    from app.services import guarantees as svc
    from models.customer_records import WatchEntry

    customer = make_customer(db, manager_id=setup["am"])
    db.session.add(WatchEntry(customer_id=customer.id, list_kind="blacklist", reason="恶意逃债", set_on=date(2026, 1, 5),
                              active=True))
    customer.blacklisted = True
    db.session.commit()
    with pytest.raises(ValidationError, match="blacklisted|黑名单"):
        svc.create_application(application_data(customer, setup["product"], setup["bank"]), setup["am"])
    db.session.rollback()
    # a blacklisted guarantor (surety) is refused too
    with pytest.raises(ValidationError, match="blacklisted|黑名单"):
        svc.create_application(application_data(setup["customer"], setup["product"], setup["bank"], measures=[
            {"kind": "surety", "guarantor_id": customer.id}]), setup["am"])
    db.session.rollback()


def test_blacklisted_after_application_stops_the_submission(db, setup):
    from app.services import guarantees as svc
    from models.customer_records import WatchEntry

    customer = make_customer(db, manager_id=setup["am"])
    db.session.commit()
    g = svc.create_application(application_data(customer, setup["product"], setup["bank"]), setup["am"])
    db.session.add(WatchEntry(customer_id=customer.id, list_kind="blacklist", reason="涉诉", set_on=date(2026, 1, 5),
                              active=True))
    customer.blacklisted = True
    db.session.commit()
    with pytest.raises(ValidationError, match="blacklisted|黑名单"):
        svc.submit_application(g.id, setup["am"])
    db.session.rollback()
    assert svc.get(g.id).stage == "draft"


@pytest.mark.parametrize("field,value,match", [
    ("amount", "60000000", "outside the range|超出"), ("term_months", 72, "outside the range|超出"),
    ("fee_rate", "0.08", "outside the range|超出"), ("amount", "abc", "amount|金额"), ("term_months", "x", "whole number|整数"),
])
def test_terms_outside_the_product_refused(db, setup, field, value, match):
    from app.services import guarantees as svc

    data = application_data(setup["customer"], setup["product"], setup["bank"], **{field: value})
    if field == "fee_rate":
        data["fee_items"] = [{"fee_type": "service", "basis": "fixed", "amount": "100", "frequency": "one_off"}]
    with pytest.raises(ValidationError, match=match):
        svc.create_application(data, setup["am"])
    db.session.rollback()


def test_required_counter_kind_and_measure_rules(db, setup):
    from app.services import guarantees as svc

    product = make_product(db, counter_kinds=["surety"])
    db.session.commit()
    with pytest.raises(ValidationError, match="requires|要求"):
        svc.create_application(application_data(setup["customer"], product, setup["bank"]), setup["am"])
    db.session.rollback()
    for measures, match in (([{"kind": "surety"}], "guarantor|保证人"),
                            ([{"kind": "pledge", "value": "10"}], "describe|描述"),
                            ([{"kind": "gift"}], "valid choice|有效"),
                            ([{"kind": "surety", "guarantor_id": setup["customer"].id}], "own guarantor|自己提供保证")):
        with pytest.raises(ValidationError, match=match):
            svc.create_application(application_data(setup["customer"], setup["product"], setup["bank"],
                                                    measures=measures), setup["am"])
        db.session.rollback()
    guarantor = make_customer(db)
    db.session.commit()
    g = svc.create_application(application_data(setup["customer"], product, setup["bank"], measures=[
        {"kind": "surety", "guarantor_id": guarantor.id}, {"kind": "credit"}]), setup["am"])
    db.session.commit()
    assert [m.guarantor_id for m in g.measures] == [guarantor.id, None]


def test_over_bank_line_refused_with_figures(db, setup, members):
    from app.services import guarantees as svc

    bank = make_bank(db, total_line=Decimal("1500000"), single_cap=Decimal("1500000"))
    db.session.commit()
    other = make_customer(db, manager_id=setup["am"])
    db.session.commit()
    first = svc.create_application(application_data(setup["customer"], setup["product"], bank), setup["am"])
    db.session.commit()
    # the line counts applications past acceptance: accept the first one through the engine
    to_stage(db, first.id, "intention", members)
    with pytest.raises(ValidationError) as refused:
        svc.create_application(application_data(other, setup["product"], bank), setup["am"])
    assert "1,500,000.00" in refused.value.message or "500,000.00" in refused.value.message
    db.session.rollback()


def test_over_concentration_refused_at_submission_and_before_committee(db, setup, members):
    from app.services import guarantees as svc, settings

    g = to_stage(db, _new(db, setup).id, "committee", members)
    # net assets 5,000,000: the single-customer limit is 500,000 < 1,000,000 → hard stop before the committee
    settings.set_value("compliance_net_assets", Decimal("5000000"))
    db.session.commit()
    try:
        with pytest.raises(ValidationError, match="regulatory|监管指标"):
            svc.submit_to_committee(g.id, user_id(P.RISK_OFFICER))
        db.session.rollback()
        g2 = _new(db, setup)
        with pytest.raises(ValidationError, match="regulatory|监管指标"):
            svc.submit_application(g2.id, setup["am"])
        db.session.rollback()
        assert svc.get(g2.id).stage == "draft"
        results = svc.compliance_results(svc.get(g2.id))
        assert any(r.code == "single_customer" and not r.ok for r in results)
    finally:
        settings.set_value("compliance_net_assets", Decimal("200000000"))
        db.session.commit()


def test_contract_rules(db, setup, members):
    from app.services import guarantees as svc

    g = to_stage(db, _new(db, setup).id, "contract", members)
    am, risk = setup["am"], user_id(P.RISK_OFFICER)
    counter = next(c for c in g.contracts if c.kind == "counter")
    main = next(c for c in g.contracts if c.kind == "guarantee")
    assert counter.number.startswith("FDB") and main.counterparty == setup["bank"].name
    with pytest.raises(ValidationError, match="reviewed before|先审查"):
        svc.sign_contract(counter.id, am)
    db.session.rollback()
    with pytest.raises(ValidationError, match="account manager|客户经理"):
        svc.review_contract(counter.id, am)
    db.session.rollback()
    svc.sign_contract(main.id, am)
    with pytest.raises(ValidationError, match="not signed|尚未签订"):
        svc.complete_contracts(g.id, am)
    db.session.rollback()
    svc.review_contract(counter.id, risk)
    svc.sign_contract(counter.id, am)
    svc.sign_contract(main.id, am)
    db.session.commit()
    with pytest.raises(ValidationError, match="not registered|尚未登记"):
        svc.complete_contracts(g.id, am)
    db.session.rollback()
    with pytest.raises(Conflict, match="signed already|已签订"):
        svc.sign_contract(main.id, am)
    db.session.rollback()


def test_fee_collection_rules(db, setup, members):
    from app.services import guarantees as svc

    g = to_stage(db, _new(db, setup).id, "fee_collection", members)
    cashier = user_id(P.CASHIER)
    row = g.schedule[0]
    with pytest.raises(ValidationError, match="unpaid|尚未收取"):
        svc.finish_fee_collection(g.id, cashier)
    db.session.rollback()
    with pytest.raises(ValidationError, match="exceeds|超过"):
        svc.collect_fee(g.id, cashier, row.id, row.amount + 1)
    db.session.rollback()
    with pytest.raises(ValidationError, match="after the business date|晚于业务日期"):
        svc.collect_fee(g.id, cashier, row.id, "1", received_on=date(2999, 1, 1))
    db.session.rollback()
    svc.collect_fee(g.id, cashier, row.id, "1000.00")
    svc.collect_fee(g.id, cashier, row.id, row.amount - Decimal("1000.00"))
    db.session.commit()
    with pytest.raises(Conflict, match="in full|全额"):
        svc.collect_fee(g.id, cashier, row.id, "1")
    db.session.rollback()


def test_loan_confirmation_rules(db, setup, members):
    from app.services import guarantees as svc

    g = to_stage(db, _new(db, setup).id, "loan_confirmation", members)
    cashier = user_id(P.CASHIER)
    with pytest.raises(ValidationError, match="exceeds|超过"):
        svc.confirm_loan(g.id, cashier, "JK1", "1000000.01")
    db.session.rollback()
    with pytest.raises(ValidationError, match="Loan number|借据|贷款合同号|请填写"):
        svc.confirm_loan(g.id, cashier, "", "1000")
    db.session.rollback()
    svc.confirm_loan(g.id, cashier, "JK-8", "800000")
    db.session.commit()
    g = svc.get(g.id)
    assert g.in_force and g.balance == Decimal("800000.00")
    with pytest.raises(Conflict):  # no second confirmation
        svc.confirm_loan(g.id, cashier, "JK-9", "800000")
    db.session.rollback()


def test_green_channel_skips_the_review_step(db, setup, members):
    from app.services import approval, guarantees as svc

    g = to_stage(db, _new(db, setup, green_channel=True).id, "review", members)
    # the default review flow's only step does not apply to the green channel: the stage passed without approval
    assert g.stage == "risk" and approval.open_instance("guarantee.review", g.id) is None
    assert "review_skipped" in [h.action for h in g.history]
    assert svc.action_label("review_skipped")


def _parallel(app, calls):
    """Run the calls at the same moment in their own sessions; returns "ok" or the exception of each."""
    import threading

    from app.extensions import db as _db

    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        with app.app_context():
            try:
                barrier.wait()
                call()
                _db.session.commit()
                results[i] = "ok"
            except Exception as ex:  # noqa: BLE001  the test looks at what each got
                _db.session.rollback()
                results[i] = ex
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_stage_moves_give_one_result(app, db, setup, members, dialect):
    """Two clerks press the same button at once: one moves the stage, the other gets a clear Conflict; the same
    fee collected twice at once is received once."""
    from app.services import guarantees as svc
    from models.business import FeeReceipt, StageHistory

    g = to_stage(db, _new(db, setup).id, "fee_collection", members)
    gid, row_id, amount = g.id, g.schedule[0].id, g.schedule[0].amount
    if dialect != "postgresql":
        pytest.skip("parallel row locks need PostgreSQL (SQLite serialises the whole database)")
    cashier, accountant = user_id(P.CASHIER), user_id(P.ACCOUNTANT)
    results = _parallel(app, [lambda: svc.collect_fee(gid, cashier, row_id, amount),
                              lambda: svc.collect_fee(gid, accountant, row_id, amount)])
    assert sorted(type(r).__name__ if r != "ok" else "ok" for r in results) == ["Conflict", "ok"]
    db.session.expire_all()
    assert len(db.session.execute(select(FeeReceipt).where(FeeReceipt.schedule_id == row_id)).scalars().all()) == 1
    to_stage(db, gid, "loan_notice", members)
    am = setup["am"]
    results = _parallel(app, [lambda: svc.issue_loan_notice(gid, am), lambda: svc.issue_loan_notice(gid, am)])
    assert sorted(type(r).__name__ if r != "ok" else "ok" for r in results) == ["Conflict", "ok"]
    db.session.expire_all()
    moves = db.session.execute(select(StageHistory).where(StageHistory.guarantee_id == gid,
                                                          StageHistory.to_stage == "loan_confirmation")).scalars().all()
    assert len(moves) == 1 and svc.get(gid).stage == "loan_confirmation"


def test_draft_can_be_changed_and_schedule_follows(db, setup):
    from app.services import guarantees as svc

    g = _new(db, setup)
    svc.update_application(g.id, application_data(setup["customer"], setup["product"], setup["bank"], amount="500000",
                                                  fee_items=[]), setup["am"])
    db.session.commit()
    g = svc.get(g.id)
    assert g.amount == Decimal("500000.00") and [r.amount for r in g.schedule] == [Decimal("10000.00")]
    svc.submit_application(g.id, setup["am"])
    db.session.commit()
    with pytest.raises(Conflict):  # no longer a draft
        svc.update_application(g.id, application_data(setup["customer"], setup["product"], setup["bank"]), setup["am"])
    db.session.rollback()
