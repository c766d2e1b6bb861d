"""Foreclosed assets (抵债资产, POST-7): assets taken from collateral or received in settlement of a debt.

    register(data, user_id)       the asset at its book value; when it settles a paid compensation the
                                  compensation's outstanding amount falls by the book value and the ledger gets
                                  the event foreclosed_asset_received (Dr 抵债资产 / Cr 应收代偿款)
    revalue(asset_id, data, user_id)    a valuation (agency, date, value): the holding's current value
    dispose(asset_id, data, user_id)    sold: proceeds − book value = gain or loss → event
                                  foreclosed_asset_disposal with details book_value / gain / loss
Functions lock the asset row and check its status; they flush, the caller commits.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.errors import Conflict, NotFound, ValidationError
from app.services import compensation as csvc
from app.services import guarantees as gsvc
from models.post_settlement import ForeclosedAsset, ForeclosedValuation

ZERO = Decimal("0.00")
ASSET_KINDS = {"real_estate": _l("Real estate"), "vehicle": _l("Vehicle"), "equipment": _l("Equipment"),
               "inventory": _l("Inventory"), "equity": _l("Equity"), "receivable": _l("Receivable"),
               "other": _l("Other")}
SOURCES = {"collateral": _l("Taken from collateral"), "settlement": _l("Received in settlement")}
STATUS_LABELS = {"holding": _l("Holding"), "disposed": _l("Disposed")}


def _session():
    from app.extensions import db

    return db.session


def get(asset_id, *, lock=False) -> ForeclosedAsset:
    from app.services.data_scope import ensure_visible

    pk = gsvc._id(asset_id, "id", "id")
    query = select(ForeclosedAsset).where(ForeclosedAsset.id == pk)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = _session().execute(query).scalar()
    if item is None:
        raise NotFound(gettext("The foreclosed asset does not exist."))
    return ensure_visible(item)


def register(data: dict, user_id) -> ForeclosedAsset:
    """A foreclosed asset taken over at its book value (against a paid compensation when one is named)."""
    from app.services import ledger_events

    csvc.ensure_reference()
    name = gsvc._text(data.get("name"), 200, "name", gettext("Asset name"), required=True)
    kind = csvc.choice(data.get("kind"), ASSET_KINDS, "kind", gettext("Asset kind"))
    source = csvc.choice(data.get("source"), SOURCES, "source", gettext("Source"))
    book_value = gsvc._money(data.get("book_value"), "book_value", gettext("Book value"))
    acquired_on = gsvc._date(data.get("acquired_on"), "acquired_on", gettext("Date acquired"), required=False) \
        or csvc.today()
    if acquired_on > csvc.today():
        raise ValidationError(gettext("The date acquired cannot be after the business date."), "acquired_on")
    comp, guarantee = None, None
    comp_id = gsvc._id(data.get("compensation_id"), "compensation_id", gettext("Compensation"), required=False)
    if comp_id:
        comp = csvc.get(comp_id, lock=True)
        if comp.status != "paid":
            raise Conflict(gettext("An asset settles a compensation only after the compensation has been paid."))
        outstanding = csvc.outstanding(comp)
        if book_value > outstanding:
            raise ValidationError(gettext("The book value %(value)s exceeds the outstanding compensation %(amount)s.",
                                          value=csvc.money_text(book_value), amount=csvc.money_text(outstanding)),
                                  "book_value")
        guarantee = comp.guarantee
    guarantee_id = gsvc._id(data.get("guarantee_id"), "guarantee_id", gettext("Guarantee"), required=False)
    if guarantee is None and guarantee_id:
        guarantee = gsvc.get(guarantee_id)
    if guarantee is not None:
        customer_id = guarantee.customer_id
    else:
        customer_id = gsvc._id(data.get("customer_id"), "customer_id", gettext("Customer"))
        from app.services.data_scope import ensure_visible
        from models.customers import Customer

        customer = _session().get(Customer, customer_id)
        if customer is None:
            raise ValidationError(gettext("Not a valid choice."), "customer_id")
        ensure_visible(customer)
    collateral_id = gsvc._id(data.get("collateral_id"), "collateral_id", gettext("Collateral no. in the register"),
                             required=False)
    asset = ForeclosedAsset(
        code=csvc.next_code("foreclosed_asset"), name=name, kind=kind, source=source, customer_id=customer_id,
        guarantee_id=guarantee.id if guarantee is not None else None, compensation_id=comp.id if comp else None,
        collateral_id=collateral_id, acquired_on=acquired_on, book_value=book_value, current_value=book_value,
        location=gsvc._text(data.get("location"), 200, "location", gettext("Location")),
        note=gsvc._text(data.get("note"), 1000, "note", gettext("Note")), status="holding")
    _session().add(asset)
    _session().flush()
    _session().add(ForeclosedValuation(asset_id=asset.id, valued_on=acquired_on, value=book_value,
                                       agency=gsvc._text(data.get("agency"), 200, "agency", gettext("Appraisal agency")),
                                       note=gettext("Value at acquisition")))
    if comp is not None:
        event = ledger_events.record_event(
            "foreclosed_asset_received", book_value, acquired_on, "foreclosed_asset", str(asset.id),
            customer_id=customer_id, project_code=guarantee.code if guarantee else None, summary=asset.code)
        asset.acquisition_event_id = event.id
        comp.recovered_amount = csvc.q(Decimal(comp.recovered_amount or 0) + book_value)
    _session().flush()
    return asset


def revalue(asset_id, data: dict, user_id) -> ForeclosedValuation:
    asset = get(asset_id, lock=True)
    if asset.status != "holding":
        raise Conflict(gettext("The asset %(code)s has been disposed of.", code=asset.code))
    on = gsvc._date(data.get("valued_on"), "valued_on", gettext("Valuation date"))
    if on > csvc.today() or on < asset.acquired_on:
        raise ValidationError(gettext("The valuation date lies between the acquisition and the business date."),
                              "valued_on")
    value = gsvc._money(data.get("value"), "value", gettext("Value"), positive=False)
    if value < 0:
        raise ValidationError(gettext("%(label)s cannot be negative.", label=gettext("Value")), "value")
    row = ForeclosedValuation(asset_id=asset.id, valued_on=on, value=value,
                              agency=gsvc._text(data.get("agency"), 200, "agency", gettext("Appraisal agency")),
                              note=gsvc._text(data.get("note"), 500, "note", gettext("Note")))
    _session().add(row)
    asset.current_value = value
    _session().flush()
    return row


def dispose(asset_id, data: dict, user_id) -> ForeclosedAsset:
    """Sold: the gain or loss against the book value goes to the ledger with the proceeds."""
    from app.services import ledger_events

    asset = get(asset_id, lock=True)
    if asset.status != "holding":
        raise Conflict(gettext("The asset %(code)s has already been disposed of.", code=asset.code))
    proceeds = gsvc._money(data.get("disposal_amount"), "disposal_amount", gettext("Disposal proceeds"))
    on = gsvc._date(data.get("disposed_on"), "disposed_on", gettext("Disposal date"), required=False) or csvc.today()
    if on > csvc.today() or on < asset.acquired_on:
        raise ValidationError(gettext("The disposal date lies between the acquisition and the business date."),
                              "disposed_on")
    account = csvc.bank_account_of(data.get("bank_account"))
    gain_loss = csvc.q(proceeds - Decimal(asset.book_value))
    details = {"book_value": asset.book_value, "gain": max(gain_loss, ZERO), "loss": max(-gain_loss, ZERO)}
    event = ledger_events.record_event(
        "foreclosed_asset_disposal", proceeds, on, "foreclosed_asset", str(asset.id), customer_id=asset.customer_id,
        project_code=asset.guarantee.code if asset.guarantee else None, bank_account=account, summary=asset.code,
        details=details)
    asset.status, asset.disposed_on, asset.disposal_amount, asset.gain_loss = "disposed", on, proceeds, gain_loss
    asset.buyer = gsvc._text(data.get("buyer"), 200, "buyer", gettext("Buyer"))
    asset.disposal_event_id = event.id
    _session().flush()
    return asset


def to_json(asset: ForeclosedAsset) -> dict:
    return {"id": asset.id, "code": asset.code, "name": asset.name, "kind": asset.kind, "source": asset.source,
            "status": asset.status, "book_value": str(asset.book_value),
            "current_value": str(asset.current_value) if asset.current_value is not None else None,
            "disposal_amount": str(asset.disposal_amount) if asset.disposal_amount is not None else None,
            "gain_loss": str(asset.gain_loss) if asset.gain_loss is not None else None}
