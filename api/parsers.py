"""The API's JSON parser: DRF's (strict: no NaN or Infinity), refusing text that holds a
NUL character anywhere in the document — PostgreSQL cannot store one, so without this a
"\\u0000" in a nested field would reach the database and fail there, as a 500 — and
documents nested deeper than any request needs (``MAX_DEPTH``): 2,000 levels used to
crash the decoder with a ``RecursionError``, another 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

#: No request body the API takes is nested more than a few levels (a telemetry batch is
#: three: body → events → event); this leaves room and stays far from Python's stack.
MAX_DEPTH = 32

TOO_DEEP = f"The JSON body is nested too deeply: at most {MAX_DEPTH} levels."


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def depth_of(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), counted without
    recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # TRICKY: the decoder recurses once per level; past Python's limit it raises
            # this, which DRF does not catch (it is not a ValueError).
            raise ParseError(TOO_DEEP) from None
        if depth_of(data) > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        if holds_nul(data):
            raise ParseError("Text in the body may not contain NUL (\\u0000) characters.")
        return data
