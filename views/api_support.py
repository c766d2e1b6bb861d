"""What makes every REST API of the system answer bad input with a 4xx and a translated message.

Out of the box FAB's ModelRestApi answers 500 (or the database's own text) to: ids that are out of
range for the column, `q` arguments of the wrong shape (a list instead of an object, a negative page,
a filter value of the wrong type or with characters the database cannot store), request bodies that
are not a JSON object, related ids that do not exist (marshmallow-sqlalchemy then even builds a new
related row from the posted dict), strings longer than the column (SQLite stores them, PostgreSQL
raises) and duplicate values. The mixin below closes these holes in one place for the entity APIs
(views.base.BaseApi) and for FAB's own security APIs (users, roles, permissions …; registered in their
hardened form by app.security.GuaranteeSecurityManager):

* ids: `SafeInterface.get` treats a non-numeric or out-of-range id as "no such record" (404);
* `q`: page and page size, and every filter (column allowed, operation allowed for the column, value
  of the column's type) are checked before FAB builds the query; boolean filters work both ways;
* bodies: must be a JSON object; the load schemas get the checks the database would make (length,
  integer range, storable text) and related ids must name an existing record;
* database errors: IntegrityError / DataError become the project's typed errors (app.db_errors);
* FAB's own messages (English, sometimes carrying SQL) are replaced by translated ones.

Anything else still answers 500 (logged, with a translated message): that is a bug to fix, not a
client error to hide.
"""
import logging
import re
import sys
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import jsonschema
import prison
import sqlalchemy as sa
from flask import request
from flask_appbuilder import api as fab_api
from flask_appbuilder.api import expose, safe
from flask_appbuilder.const import API_RESULT_RES_KEY
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from flask_appbuilder.security.sqla import apis as fab_apis
from flask_appbuilder.security.sqla.models import Group, Permission, PermissionView, Role, User, ViewMenu
from flask_babel import gettext
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from marshmallow_sqlalchemy import field_for
from marshmallow_sqlalchemy.fields import Related
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app import db_errors
from app.errors import GuaranteeError, http_message

log = logging.getLogger(__name__)

INT32 = (-(2**31), 2**31 - 1)
MAX_OFFSET = 2**31 - 1  # rows skipped by a page: far beyond any real list, and safe for every database
_DIGITS = re.compile(r"-?[0-9]{1,19}")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8)

STRING_OPS = {"sw", "nsw", "ew", "new", "ct", "nct"}
LIST_OPS = {"in", "not_in"}
RELATION_OPS = {"rel_o_m", "nrel_o_m"}
RELATION_LIST_OPS = {"rel_m_m"}


# --- FAB's q parsing and validation ----------------------------------------------------------------

class _PrecompiledJsonSchema:
    """Stands in for the `jsonschema` module inside flask_appbuilder.api.

    FAB's @rison decorator calls `jsonschema.validate(q, schema)` on every list, item and info request,
    and `validate` first checks FAB's constant schema against the JSON-Schema meta-schema: about 10 ms
    of every API call. This does the same validation (same validator class, same best error) with one
    validator built per schema.
    """

    ValidationError = jsonschema.ValidationError

    def __init__(self):
        self._validators = {}

    def validate(self, instance, schema):
        validator = self._validators.get(id(schema))
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[id(schema)] = (cls(schema), schema)  # keep schema alive: id stays unique
        error = jsonschema.exceptions.best_match(validator[0].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


class _TotalRison:
    """Stands in for the `prison` module inside flask_appbuilder.api.

    prison's parser fails on some malformed input with other exceptions than its ParserException
    (`q=(((` recurses until RecursionError), which FAB's @rison decorator does not catch: a 500.
    Any failure to parse the client's string is a ParserException here, which FAB answers with 400.
    """

    decoder = prison.decoder

    def loads(self, value, *args, **kwargs):
        try:
            return prison.loads(value, *args, **kwargs)
        except prison.decoder.ParserException:
            raise
        except Exception as ex:  # noqa: BLE001 - only the client's string is parsed here
            raise prison.decoder.ParserException(str(ex)[:100]) from ex

    def __getattr__(self, name):
        return getattr(prison, name)


fab_api.jsonschema = _PrecompiledJsonSchema()
fab_api.prison = _TotalRison()


# --- messages -----------------------------------------------------------------------------------

def _q_invalid() -> str:
    return gettext("The query parameter q is not valid.")


# FAB's own 400 texts -> ours. Only the first group of a match is ever shown (a column name).
_FAB_MESSAGES = [
    (re.compile(r"^Not a valid rison"), lambda m: _q_invalid()),
    (re.compile(r"^Cannot use both select and sel columns"), lambda m: _q_invalid()),
    (re.compile(r"^Invalid order by column: (.*)$", re.S),
     lambda m: gettext("Sorting by %(column)s is not allowed.", column=m[1][:60])),
    (re.compile(r"^Filter column: (.*) not allowed to filter$", re.S),
     lambda m: gettext("Filtering on %(column)s is not allowed.", column=m[1][:60])),
    (re.compile(r"^Filter operation: .* not allowed on column: (.*)$", re.S),
     lambda m: gettext("This filter operation is not allowed on %(column)s.", column=m[1][:60])),
    (re.compile(r"^Request is not JSON"), lambda m: gettext("The request body must be a JSON object.")),
]

# marshmallow's default field messages -> translated ones. Messages our own checks raise are already
# translated and pass through unchanged.
_SCHEMA_MESSAGES = [
    (re.compile(r"^(Missing data for required field|Field may not be null)\.$"),
     lambda m: gettext("A required field is missing.")),
    (re.compile(r"^Unknown field\.$"), lambda m: gettext("Unknown field.")),
    (re.compile(r"^(Not a valid (integer|number|decimal)|Number too large|Special numeric values.*)\.?$"),
     lambda m: gettext("Not a valid number.")),
    (re.compile(r"^Not a valid string\.$"), lambda m: gettext("Not a valid text.")),
    (re.compile(r"^Not a valid boolean\.$"), lambda m: gettext("Not a valid yes/no value.")),
    (re.compile(r"^Not a valid (date|datetime|time)\.$"), lambda m: gettext("Not a valid date.")),
    (re.compile(r"^Not a valid list\.$"), lambda m: gettext("Not a valid list.")),
    (re.compile(r"^Not a valid (email address|mapping type)\.$"), lambda m: gettext("The input is not valid.")),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: gettext("At most %(max)s characters.", max=m[1])),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), lambda m: gettext("At least %(min)s characters.", min=m[1])),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
     lambda m: gettext("Between %(min)s and %(max)s characters.", min=m[1], max=m[2])),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     lambda m: gettext("Must be between %(min)s and %(max)s.", min=m[1], max=m[2])),
    (re.compile(r"^Must be greater than (\S+) and less than (\S+)\.$"),
     lambda m: gettext("Must be between %(min)s and %(max)s.", min=m[1], max=m[2])),
    (re.compile(r"^Invalid input type\.$"), lambda m: gettext("The request body must be a JSON object.")),
    (re.compile(r"^Invalid value\.$"), lambda m: gettext("The input is not valid.")),
    (re.compile(r"^Could not deserialize related value"), lambda m: gettext("The selected record does not exist.")),
    (re.compile(r"^At least one of 'roles' or 'groups'"), lambda m: gettext("Choose at least one role or group.")),
]


def translate_schema_message(text) -> str:
    text = str(text)
    for pattern, make in _SCHEMA_MESSAGES:
        match = pattern.match(text)
        if match:
            return make(match)
    return text


def _flatten(messages, prefix=""):
    """marshmallow's nested {field: [msg] | {index: [msg]}} -> [(field, msg)]."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
            yield from _flatten(value, name)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            yield from _flatten(value, prefix)
    else:
        yield prefix, translate_schema_message(messages)


def schema_errors(messages) -> tuple[str, dict]:
    """A one-line translated message naming the fields, and {field: [translated messages]}."""
    errors: dict[str, list[str]] = {}
    for field, text in _flatten(messages):
        field = field or "_schema"
        errors.setdefault(field, [])
        if text not in errors[field]:
            errors[field].append(text)
    parts = [("" if field == "_schema" else f"{field}: ") + " ".join(texts) for field, texts in errors.items()]
    return gettext("The input is not valid.") + " " + "; ".join(parts), errors


# --- values -------------------------------------------------------------------------------------

def int_bounds(sqltype) -> tuple[int, int] | None:
    if isinstance(sqltype, sa.BigInteger):
        return -(2**63), 2**63 - 1
    if isinstance(sqltype, sa.SmallInteger):
        return -(2**15), 2**15 - 1
    if isinstance(sqltype, sa.Integer):
        return INT32
    return None


def as_int(value, bounds=INT32) -> int:
    """An integer within bounds from an int, an integral float or a string of ASCII digits."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise ValueError(value)
    return value


def storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def check_storable_text(value):
    """marshmallow validator: text every supported database can store."""
    if isinstance(value, str) and not storable(value):
        raise SchemaError(gettext("The text contains characters that cannot be stored."))


class SafeRelated(Related):
    """A related record given by its id: the id must be an integer naming an existing record.

    marshmallow-sqlalchemy's Related builds a *new* related object from whatever it is given when no
    row matches (a posted dict becomes an INSERT into the related table, without that table's
    permission or validation); here an unknown id is a validation error.
    """

    def _deserialize(self, value, *args, **kwargs):
        keys = self.related_keys
        if isinstance(value, dict) and len(keys) == 1 and set(value) == {keys[0].key}:
            value = value[keys[0].key]
        if len(keys) != 1:
            raise SchemaError(gettext("The input is not valid."))
        try:
            pk = as_int(value, int_bounds(keys[0].columns[0].type) or INT32)
        except ValueError:
            raise SchemaError(gettext("The selected record does not exist.")) from None
        result = self.session.get(self.related_model, pk)
        if result is None:
            raise SchemaError(gettext("The selected record does not exist."))
        return result


def _harden_field(field, column):
    if isinstance(field, fields.List):
        _harden_field(field.inner, None)
        return
    if isinstance(field, Related):
        field.__class__ = SafeRelated  # same field, stricter lookup (see SafeRelated)
        return
    if isinstance(field, fields.String):
        field.validators.append(check_storable_text)
        length = getattr(getattr(column, "type", None), "length", None)
        if length and not any(isinstance(v, validate.Length) for v in field.validators):
            field.validators.append(validate.Length(max=length))
    elif isinstance(field, fields.Integer):
        field.strict = True  # 1.5 or "12" is not silently turned into 1 or 12
        bounds = (int_bounds(column.type) if column is not None else None) or INT32
        field.validators.append(validate.Range(*bounds))
    elif isinstance(field, (fields.Decimal, fields.Float)):
        precision = getattr(getattr(column, "type", None), "precision", None)
        scale = getattr(getattr(column, "type", None), "scale", None) or 0
        if precision:
            limit = 10 ** (precision - scale)
            field.validators.append(_Magnitude(limit))


class _Magnitude(validate.Validator):
    """|value| < limit (the column's precision). Not a validate.Range: apispec would serialise a Range's
    bounds with the field, and a Decimal field that serialises as a string gives the spec string bounds."""

    def __init__(self, limit):
        self.limit = limit

    def __call__(self, value):
        if value is not None and abs(value) >= self.limit:
            raise SchemaError(f"Must be greater than {-self.limit} and less than {self.limit}.")
        return value


def harden_schema(schema: Schema, model=None) -> None:
    """Give a load schema the checks the database would make (and SQLite does not): text length and
    storability, integer range, numeric precision, existing related records; untyped fields of a
    model column become typed."""
    model = model or getattr(getattr(schema, "opts", None), "model", None) or getattr(schema, "model_cls", None)
    columns = sa.inspect(model).columns if model is not None else {}
    for name, field in list(schema.fields.items()):
        if field.dump_only:
            continue
        column = columns.get(field.attribute or name)
        if isinstance(field, fields.Inferred) and column is not None:
            typed = field_for(model, field.attribute or name)
            typed.required, typed.allow_none = field.required, field.allow_none or typed.allow_none
            typed._bind_to_schema(name, schema)
            for mapping in (schema.fields, schema.load_fields, schema.dump_fields, schema.declared_fields):
                if name in mapping:
                    mapping[name] = typed
            field = typed
        _harden_field(field, column)


class SafeInterface(SQLAInterface):
    """SQLAInterface that finds no record for an impossible id and whose write errors carry a
    translated message instead of the driver's text."""

    def pk_value(self, pk):
        """The id as the primary key's type, or None when no row can have it."""
        if self.is_pk_composite():
            return pk
        column = self.obj.__mapper__.primary_key[0]
        bounds = int_bounds(column.type)
        if bounds is None:
            return pk if isinstance(pk, str) and storable(pk) else None
        try:
            return as_int(pk, bounds)
        except ValueError:
            return None

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):
        pk = self.pk_value(id)
        if pk is None:
            return None
        return super().get(pk, filters, select_columns, outer_default_load)

    # Data scope (issue 11, app/services/data_scope.py): every query FAB builds through the datamodel (lists,
    # counts, get by id for show/edit/delete/actions, exports, related tabs, relation-field choices) is limited
    # to the records the current user may see; an out-of-scope id is "no such record".
    def _apply_inner_all(self, query, *args, **kwargs):
        from app.services.data_scope import apply_scope

        return super()._apply_inner_all(apply_scope(query, self.obj), *args, **kwargs)

    def _get_base_query(self, query, *args, **kwargs):
        from app.services.data_scope import apply_scope

        return super()._get_base_query(apply_scope(query, self.obj), *args, **kwargs)

    def _guarded(self, method, item, commit):
        try:
            method(item, commit)
        except (SQLAlchemyError, GuaranteeError) as ex:
            self.session.rollback()
            raise db_errors.translate(ex) from None
        except Exception as ex:  # FAB wraps the driver error in DatabaseException
            self.session.rollback()
            if isinstance(ex.__cause__, SQLAlchemyError):
                raise db_errors.translate(ex.__cause__) from None
            raise

    def add(self, item, commit=True):
        self._guarded(super().add, item, commit)

    def edit(self, item, commit=True):
        self._guarded(super().edit, item, commit)

    def delete(self, item, commit=True):
        self._guarded(super().delete, item, commit)


# --- the mixin ------------------------------------------------------------------------------------

class ApiHardeningMixin:
    """Mix in before a FAB ModelRestApi (or BaseApi) class; see the module docstring."""

    def _init_model_schemas(self):
        super()._init_model_schemas()  # FAB builds the schemas when the blueprint is created
        model = self.datamodel.obj
        seen = set()
        for name in dir(self):
            if not name.endswith("_schema") or name.startswith(("list_", "show_")):
                continue  # only the schemas that load request bodies
            schema = getattr(self, name, None)
            if isinstance(schema, Schema) and id(schema) not in seen:
                seen.add(id(schema))
                harden_schema(schema, model if name in ("add_model_schema", "edit_model_schema") else None)

    # -- answers -------------------------------------------------------------------------------------

    def _client_error(self, ex, status=None):
        """The 4xx answer for an exception caused by the request, or None for a server fault."""
        if isinstance(ex, GuaranteeError):
            return self.response(ex.status, message=ex.message)
        if isinstance(ex, SchemaError):
            message, errors = schema_errors(ex.messages)
            return self.response(status or 422, message=message, errors=errors)
        if isinstance(ex, HTTPException) and ex.code and 400 <= ex.code < 500:
            return self.response(ex.code, message=http_message(ex.code))
        cause = ex.__cause__ if isinstance(ex, DatabaseException) else ex
        if isinstance(cause, (IntegrityError, DataError)):
            self._rollback()
            err = db_errors.translate(cause)
            return self.response(err.status, message=err.message)
        return None

    def _rollback(self):
        try:
            self.datamodel.session.rollback()
        except Exception:  # noqa: BLE001 - the answer matters more than a failed rollback
            log.exception("rollback failed")

    def _error(self, status, message):
        ex = sys.exc_info()[1]
        if ex is not None:  # FAB answers from inside an except block: judge the exception, not its text
            response = self._client_error(ex, status)
            if response is not None:
                return response
        if isinstance(message, (dict, list)):
            text, errors = schema_errors(message)
            return self.response(status, message=text, errors=errors)
        if isinstance(message, str):
            for pattern, make in _FAB_MESSAGES:
                match = pattern.match(message)
                if match:
                    return self.response(status, message=make(match))
        return self.response(status, message=http_message(status))

    def response_400(self, message=None):
        return self._error(400, message)

    def response_422(self, message=None):
        return self._error(422, message)

    def response_401(self):
        return self.response(401, message=http_message(401))

    def response_403(self):
        return self.response(403, message=http_message(403))

    def response_404(self, message=None):  # FAB's UserApi passes a message the base class does not take
        return self.response(404, message=http_message(404))

    def response_500(self, message=None):
        ex = sys.exc_info()[1]  # FAB's @safe calls this from its except block
        if ex is not None:
            self._rollback()
            response = self._client_error(ex)
            if response is not None:
                return response
        return self.response(500, message=gettext("Something went wrong on our side. The error has been logged."))

    def _guarded(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as ex:
            response = self._client_error(ex)
            if response is None:
                raise
            self._rollback()
            return response

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        info = super()._get_field_info(field, filter_rel_field, page=page, page_size=page_size)
        if not self.description_columns.get(field.name):
            info["description"] = ""  # gettext("") would answer the catalogue's header
        return info

    # -- query arguments -------------------------------------------------------------------------

    def _sanitize_page_args(self, page, page_size):
        try:
            page = None if page is None else as_int(page, (0, MAX_OFFSET))
            page_size = None if page_size is None else as_int(page_size, (-1, MAX_OFFSET))
        except ValueError:
            raise GuaranteeError(gettext("The page or page size is not valid.")) from None
        page, page_size = super()._sanitize_page_args(page, page_size)
        if page and page_size and page * page_size > MAX_OFFSET:
            raise GuaranteeError(gettext("The page or page size is not valid."))
        return page, page_size

    def _handle_filters_args(self, rison_args):
        self._filters.clear_filters()
        self._filters.rest_add_filters(self._checked_filters(rison_args.get("filters", [])))
        return self._filters.get_joined_filters(self._base_filters)

    def _checked_filters(self, raw) -> list[dict]:
        if not isinstance(raw, list):
            raise GuaranteeError(_q_invalid())
        allowed = self._filters.get_search_filters()
        checked = []
        for item in raw:
            if not isinstance(item, dict) or not {"col", "opr", "value"} <= set(item):
                raise GuaranteeError(_q_invalid())
            col, opr, value = item["col"], item["opr"], item["value"]
            if not isinstance(col, str) or col not in self.search_columns:
                raise GuaranteeError(gettext("Filtering on %(column)s is not allowed.", column=str(col)[:60]))
            if not isinstance(opr, str) or opr not in {f.arg_name for f in allowed.get(col, [])}:
                raise GuaranteeError(gettext("This filter operation is not allowed on %(column)s.", column=col))
            try:
                opr, value = self._filter_value(col, opr, value)
            except (TypeError, ValueError, ArithmeticError):
                raise GuaranteeError(gettext("The filter value for %(column)s is not valid.", column=col)) from None
            checked.append({"col": col, "opr": opr, "value": value})
        return checked

    def _filter_value(self, col, opr, value):
        """(operation, value) as FAB's filter for the column expects it; ValueError when impossible."""
        dm = self.datamodel
        if opr in RELATION_OPS or opr in RELATION_LIST_OPS:
            model = dm.get_related_model(col)
            bounds = int_bounds(model.__mapper__.primary_key[0].type) or INT32
            if opr in RELATION_LIST_OPS and isinstance(value, list):
                return opr, [as_int(v, bounds) for v in value]
            return opr, as_int(value, bounds)
        if opr in STRING_OPS:
            return opr, self._text(value)
        if opr in LIST_OPS:
            if not isinstance(value, list):
                raise ValueError(value)
            return opr, [self._scalar(col, v) for v in value]
        value = self._scalar(col, value)
        if dm.is_boolean(col) and value is not None:
            # FAB's boolean filter understands only "y" (= true): false is "not equal to true".
            return ("eq" if (opr == "eq") == value else "neq"), "y"
        return opr, value

    @staticmethod
    def _text(value) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(value)
        value = str(value)
        if not storable(value):
            raise ValueError(value)
        return value

    def _scalar(self, col, value):
        dm = self.datamodel
        if value is None:
            return None
        if dm.is_integer(col):
            return as_int(value, int_bounds(dm.list_columns[col].type) or INT32)
        if dm.is_boolean(col):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("y", "true", "1"):
                return True
            if text in ("n", "false", "0"):
                return False
            raise ValueError(value)
        if dm.is_float(col) or dm.is_numeric(col):
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError(value)
            try:
                number = Decimal(str(value).strip())
            except InvalidOperation:
                raise ValueError(value) from None
            if not number.is_finite() or abs(number) >= 10**18:
                raise ValueError(value)
            return float(number) if dm.is_float(col) else number
        if dm.is_datetime(col):
            if not isinstance(value, str):
                raise ValueError(value)
            return datetime.fromisoformat(value.strip())
        if dm.is_date(col):
            if not isinstance(value, str):
                raise ValueError(value)
            return date.fromisoformat(value.strip()[:10])
        return self._text(value)

    # -- endpoints ---------------------------------------------------------------------------------

    def _json_object(self) -> dict:
        data = request.get_json(silent=True) if request.is_json else None
        if not isinstance(data, dict):
            raise GuaranteeError(gettext("The request body must be a JSON object."))
        return data

    def info_headless(self, **kwargs):
        return self._guarded(super().info_headless, **kwargs)

    def get_headless(self, pk, **kwargs):
        return self._guarded(super().get_headless, pk, **kwargs)

    def get_list_headless(self, **kwargs):
        return self._guarded(super().get_list_headless, **kwargs)

    def delete_headless(self, pk):
        return self._guarded(super().delete_headless, pk)

    def post_headless(self):
        return self._guarded(self._post)

    def put_headless(self, pk):
        return self._guarded(self._put, pk)

    def _post(self):
        item = self.add_model_schema.load(self._json_object())
        self.pre_add(item)
        self.datamodel.add(item)
        self.post_add(item)
        return self.response(201, **{API_RESULT_RES_KEY: self.add_model_schema.dump(item, many=False),
                                     "id": self.datamodel.get_pk_value(item)})

    def _put(self, pk):
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        data = self._merge_update_item(item, self._json_object())
        item = self.edit_model_schema.load(data, instance=item)
        self.pre_update(item)
        self.datamodel.edit(item)
        self.post_update(item)
        return self.response(200, **{API_RESULT_RES_KEY: self.edit_model_schema.dump(item, many=False)})


# --- FAB's security APIs, hardened (same class names, so endpoints and OpenAPI names stay FAB's) ---

class UserApi(ApiHardeningMixin, fab_apis.UserApi):
    datamodel = SafeInterface(User)

    @expose("/<pk>", methods=("PUT",))
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        # FAB's put reads the user before checking that it exists (AttributeError -> 500).
        if self.datamodel.get(pk, self._base_filters) is None:
            return self.response_404()
        return super().put(pk)

    put.__doc__ = fab_apis.UserApi.put.__doc__


class RoleApi(ApiHardeningMixin, fab_apis.RoleApi):
    datamodel = SafeInterface(Role)


class GroupApi(ApiHardeningMixin, fab_apis.GroupApi):
    datamodel = SafeInterface(Group)


class PermissionApi(ApiHardeningMixin, fab_apis.PermissionApi):
    datamodel = SafeInterface(Permission)


class ViewMenuApi(ApiHardeningMixin, fab_apis.ViewMenuApi):
    datamodel = SafeInterface(ViewMenu)


class PermissionViewMenuApi(ApiHardeningMixin, fab_apis.PermissionViewMenuApi):
    datamodel = SafeInterface(PermissionView)
