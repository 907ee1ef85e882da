"""Input no field of medoffice can hold, refused at the door with the field named.

Before any page or endpoint runs, every query parameter, form field and JSON value is checked:

- text with a NUL character (PostgreSQL cannot store it; no paperwork has one);
- a whole number beyond 64 bits in a query parameter, a path segment or a JSON number (no id,
  offset or count reaches it, and the databases cannot compare one);
- a search text longer than SEARCH_MAX_LENGTH (SQLite refuses long LIKE patterns);
- a JSON body that is a bare value (a string, a number) where every endpoint takes an object.

Pages answer 400 and the API 422, each naming the field; nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.html import escape

from medoffice.core.input_words import sentence

INT64_MAX = 2**63 - 1
SEARCH_MAX_LENGTH = 200
# Query parameters that are search text, wherever they appear.
SEARCH_PARAMETERS = frozenset({"q", "query", "search", "user", "patient"})
_WHOLE_NUMBER = re.compile(r"^\s*[+-]?\d+\s*$")


def _too_big(text: str) -> bool:
    return bool(_WHOLE_NUMBER.match(text)) and abs(int(text)) > INT64_MAX


def _names_an_id(path: str) -> bool:
    """Whether the field at `path` holds ids: "patient_id", "id", or an item of "form_ids"."""
    names = [part for part in path.split(".") if not part.isdigit()]
    name = names[-1] if names else ""
    return name == "id" or name.endswith("_id") or name.endswith("_ids")


def _json_problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "body", "must not contain NUL characters"
    elif isinstance(value, bool):
        # A schema reads a JSON true as the number 1: an id sent as true would name record 1.
        if path and _names_an_id(path):
            yield path, "must be a whole number, not true or false"
        return
    elif isinstance(value, int):
        if abs(value) > INT64_MAX:
            yield path or "body", "number too large"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield name, "must not contain NUL characters"
            yield from _json_problems(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            number = index + 1  # counted from 1, as the services name lines
            yield from _json_problems(item, f"{path}.{number}" if path else str(number))


def problems(request: HttpRequest) -> dict[str, list[str]]:
    """The fields of this request no medoffice field can hold, with what is wrong."""
    found: dict[str, list[str]] = {}

    def note(field: str, message: str) -> None:
        found.setdefault(field, []).append(message)

    if "\x00" in request.path:
        note("path", "must not contain NUL characters")
    for segment in request.path.split("/"):
        if _too_big(segment):
            note("path", "number too large")
    for key, values in request.GET.lists():
        for value in values:
            if "\x00" in key or "\x00" in value:
                note(key, "must not contain NUL characters")
            elif _too_big(value):
                note(key, f"number too large (at most {INT64_MAX})")
            elif key in SEARCH_PARAMETERS and len(value) > SEARCH_MAX_LENGTH:
                note(key, f"search text too long (at most {SEARCH_MAX_LENGTH} characters)")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = request.content_type or ""
        if content_type == "application/json":
            try:
                body = json.loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                body = {}  # the endpoint answers a malformed body itself
            if not isinstance(body, dict | list):
                # Every endpoint takes an object (or a list of them); a bare string would be
                # read attribute by attribute ("hello".title) as if it were one.
                note("body", "must be a JSON object")
            for field, message in _json_problems(body, ""):
                note(field, message)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, values in request.POST.lists():
                for value in values:
                    if "\x00" in key or "\x00" in value:
                        note(key, "must not contain NUL characters")
    return found


def refusal(request: HttpRequest, found: dict[str, list[str]]) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": sentence(found), "code": "invalid", "errors": found}, status=422
        )
    lines = "".join(
        f"<li>{escape(field.replace(chr(0), ''))}: {escape('; '.join(messages))}</li>"
        for field, messages in found.items()
    )
    return HttpResponseBadRequest(
        f"<!doctype html><title>Invalid input</title><h1>Invalid input</h1><ul>{lines}</ul>"
    )


class InputGuardMiddleware:
    """Refuse input no field can hold before a view or a database sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = problems(request)
        if found:
            return refusal(request, found)
        return self.get_response(request)
