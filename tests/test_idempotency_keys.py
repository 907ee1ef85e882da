"""Every API endpoint that takes an Idempotency-Key checks it the same way (docs/adr/0010):
one pattern and one schema in the OpenAPI document, and the same 400 naming the header for a
missing key (where required) and for a malformed one, before the body is read and with
nothing written. The endpoints are found in the OpenAPI document and the mounted routers, so
a new one is walked here without being listed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from medoffice.core import idempotency
from medoffice.core.idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH
from medoffice.core.models import AuditEvent, IdempotencyKey, Role
from medoffice.testing import factories

pytestmark = pytest.mark.django_db

MALFORMED = {
    "empty": "",
    "space": "two words",
    "too long": "k" * (MAX_KEY_LENGTH + 1),
    "not ASCII": "clé-1",
    "tab": "key\t1",
}


def _document() -> dict[str, Any]:
    from medoffice.api import api

    return api.get_openapi_schema()


def _keyed_operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, the header's parameter) of each operation documenting the header."""
    found = []
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"].lower() == HEADER.lower():
                    found.append((method, path, parameter))
    return found


def _views() -> Iterator[tuple[str, Any]]:
    """(method, view) of every operation of every mounted router."""
    from medoffice.api import api

    def walk(router: Any) -> Iterator[tuple[str, Any]]:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for method in operation.methods:
                    yield method.lower(), operation.view_func
        for _prefix, child in getattr(router, "_routers", []):
            yield from walk(child)

    for _prefix, router in api._routers:
        yield from walk(router)


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)  # the key is refused before the ids are looked up


@pytest.fixture
def everyone(practice) -> Client:
    """A user holding every role: no endpoint refuses it for want of a permission."""
    user = factories.user(None)
    user.roles.set(Role.objects.all())
    client = Client()
    client.force_login(user)
    return client


def _send(client: Client, method: str, path: str, key: str | None):
    headers = {} if key is None else {HEADER: key}
    return getattr(client, method)(_url(path), "{}", content_type="application/json",
                                   headers=headers)  # fmt: skip


def test_the_endpoints_that_take_the_key_are_found():
    keyed = {(method, path) for method, path, _ in _keyed_operations()}
    # The ADR's money writes and the writes that require the key are among them.
    assert {
        ("post", "/api/reception/payments"),
        ("post", "/api/ledger/manual-entries"),
        ("post", "/api/claims/eligibility-requests"),
        ("post", "/api/claims/{claim_id}/void"),
        ("post", "/api/coding/fees"),
    } <= keyed
    assert len(keyed) == len(_keyed_operations())  # each documents the header once
    # Every @idempotent view is documented with the header (its router adds honour_keys),
    # and none documents it by hand without the shared check.
    idempotent = {view for _method, view in _views() if idempotency.key_rule(view) is not None}
    assert len(idempotent) == len(keyed)


def test_every_endpoint_documents_one_pattern_and_the_400():
    one = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN}
    assert [p["schema"] for _m, _p, p in _keyed_operations()] == [one] * len(_keyed_operations())
    for method, path, parameter in _keyed_operations():
        words = parameter["description"]
        assert "1 to 255 printable characters without spaces" in words, (method, path)
        assert "is a 400 naming the header" in words, (method, path)


def test_a_missing_or_malformed_key_gets_the_same_400_everywhere_and_writes_nothing(everyone):
    events = AuditEvent.objects.count()
    required = 0
    for method, path, parameter in _keyed_operations():
        where = f"{method.upper()} {path}"
        for name, key in MALFORMED.items():
            answer = _send(everyone, method, path, key)
            assert answer.status_code == 400, (where, name, answer.content)
            body = answer.json()
            assert body["code"] == "invalid" and list(body["errors"]) == [HEADER], (where, name)
            assert "1 to 255 printable characters" in body["detail"], (where, name)
        if parameter["required"]:
            required += 1
            answer = _send(everyone, method, path, None)
            assert answer.status_code == 400, (where, answer.content)
            body = answer.json()
            assert body["code"] == "required" and list(body["errors"]) == [HEADER], where
            assert HEADER in body["detail"], where
        # A well-formed key of the longest length passes the check (what follows may refuse
        # the empty body or the made-up id, but not the key).
        answer = _send(everyone, method, path, "k" * MAX_KEY_LENGTH)
        assert answer.status_code != 400 or HEADER not in answer.json().get("errors", {}), where
    assert required >= 5  # the manual entry and its reversal, the 270, a void and a resubmit
    assert not IdempotencyKey.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_caller_without_the_permission_gets_403_before_the_key_is_looked_at(client_for):
    desk = client_for("front_desk")
    for key in (None, "two words"):
        answer = _send(desk, "post", "/api/ledger/manual-entries", key)
        assert answer.status_code == 403, answer.content
    assert Client().post("/api/ledger/manual-entries", "{}",
                         content_type="application/json").status_code == 401  # fmt: skip
