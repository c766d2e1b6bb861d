"""The list parameters of a screen (filters, sort column, page, page size), checked before FAB queries.

Used by every list screen and by its Excel export, so both refuse the same malformed input with a
400 and a translated message instead of a database error.
"""
from flask_babel import gettext

from app.errors import GuaranteeError

MAX_PAGE_SIZE = 100  # the list offers 25…100 rows a page
MAX_PAGE = 10_000_000
MAX_FILTER_VALUE = 500  # characters
_INT64 = 2**63 - 1
_BOOLEAN_TEXT = {"y", "n", "yes", "no", "true", "false", "t", "f", "on", "off", "1", "0"}


def _bad_list_query():
    return GuaranteeError(gettext("The list's filter, sort order or page is not valid."))


def check_list_query(view, filters=None, order_column="", page=None, page_size=None) -> None:
    """Refuse malformed list parameters before they reach the database (a 400 with a message, not a 500).

    FAB passes the sort column to ORDER BY as given, and relation and number filters to the driver as
    typed; a name that is not a sortable column, a page past any real offset or a filter value that is
    not a key of the related table would otherwise fail inside the database.
    """
    if order_column and order_column not in (view.order_columns or []) and order_column != (
            view.base_order or ("",))[0]:
        raise _bad_list_query()
    if page is not None and not 0 <= page <= MAX_PAGE:
        raise _bad_list_query()
    if page_size is not None and not 1 <= page_size <= max(MAX_PAGE_SIZE, view.page_size or 0):
        raise _bad_list_query()
    if filters is None:
        return
    datamodel = view.datamodel
    for flt, value in zip(filters.filters, filters.values):
        column = flt.column_name
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None:
                continue
            text = str(item)
            if len(text) > MAX_FILTER_VALUE:
                raise _bad_list_query()
            if datamodel.is_boolean(column) and text.strip().lower() not in _BOOLEAN_TEXT:
                raise _bad_list_query()  # FAB passes anything but "y" through; PostgreSQL refuses it
            if datamodel.is_relation(column) or datamodel.is_integer(column):
                try:
                    number = int(text)
                except ValueError:
                    if datamodel.is_relation(column):
                        raise _bad_list_query() from None
                    continue  # FAB turns a non-number into "no value" for number columns
                if abs(number) > _INT64:
                    raise _bad_list_query()
