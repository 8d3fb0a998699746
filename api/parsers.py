"""The API's JSON parser: DRF's (strict: no NaN or Infinity), refusing text that holds a
NUL character anywhere in the document — PostgreSQL cannot store one, so without this a
"\\u0000" in a nested field would reach the database and fail there, as a 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if holds_nul(data):
            raise ParseError("Text in the body may not contain NUL (\\u0000) characters.")
        return data
