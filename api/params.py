"""Query-parameter checks shared by the HTTP routes: a typo is an error, never ignored.

Typed query parameters (``Literal`` choices, ``int`` and ``float`` with bounds, ``bool``)
are declared with :data:`Blank` so that an empty value (``?zones=``) means "not given",
as it always has; FastAPI then checks the rest against the declared type and the
OpenAPI says what is accepted. A refused value answers 422 with the one error body in
the words of its schema (:func:`beatgrid.api.errors.param_words`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import Request
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from beatgrid.gis.errors import InputError

T = TypeVar("T")


def blank_to_none(value: Any) -> Any:
    """``None`` for an empty (or blank) query value, the value itself otherwise.

    Examples
    --------
    >>> blank_to_none(""), blank_to_none("  "), blank_to_none("3")
    (None, None, '3')
    """
    if isinstance(value, str) and not value.strip():
        return None
    return value


class BlankIsNone:
    """``Annotated`` metadata of an optional typed query parameter: empty means not given.

    Validation reads an empty value as ``None`` (:func:`blank_to_none`) before the
    declared type is checked; the JSON schema adds the empty text to what is accepted,
    so the OpenAPI says so.

    Examples
    --------
    >>> from typing import Annotated
    >>> from pydantic import TypeAdapter
    >>> ta = TypeAdapter(Annotated[int | None, Blank])
    >>> ta.validate_python(""), ta.validate_python("3")
    (None, 3)
    >>> ta.json_schema()["anyOf"][-1]
    {'enum': [''], 'type': 'string'}
    """

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(blank_to_none, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = dict(handler(schema))
        options = json_schema.pop("anyOf", None)
        if options is None:
            options, json_schema = [json_schema], {}
        return {**json_schema, "anyOf": [*options, {"enum": [""], "type": "string"}]}


#: ``Annotated`` metadata of an optional typed query parameter: empty means not given.
Blank = BlankIsNone()


def reject_unknown(request: Request, allowed: tuple[str, ...], *,
                   none_hint: str = "no parameters") -> None:
    """Raise :class:`InputError` for a query parameter the endpoint does not know.

    ``none_hint`` is the fix shown when the endpoint takes no query parameter at all.
    """
    for name in request.query_params:
        if name not in allowed:
            raise InputError(f"unknown query parameter {name!r} for {request.url.path}",
                             fix="use " + (", ".join(allowed) if allowed else none_hint))


def choice(name: str, value: Any, allowed: Sequence[str], default: T) -> Any | T:
    """``value`` when it is one of ``allowed``, ``default`` when empty, else an error.

    Examples
    --------
    >>> choice("zones", "beats", ("grids", "beats"), "auto")
    'beats'
    >>> choice("zones", "", ("grids", "beats"), "auto")
    'auto'
    """
    if value is None or value == "":
        return default
    if value not in allowed:
        raise InputError(f"{name}={value!r} is not allowed",
                         fix="use one of: " + ", ".join(allowed))
    return value
