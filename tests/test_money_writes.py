"""Every API call that writes money honours Idempotency-Key, and refuses bad money with a 422.

Each endpoint is sent twice with one key (one write, the same answer), with the key reused for
another body (422, nothing written), from several threads at once (exactly one write, every
caller gets the first answer), and with amounts such as 1e400 and 10**40 (422 naming the
field, nothing written). The threaded tests run on whichever database the suite runs on;
``@pytest.mark.postgres`` copies of them run only on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from medoffice.core.idempotency import HEADER
from medoffice.core.models import ApprovalRequest, AuthorityLimit, IdempotencyKey
from medoffice.patients.models import Coverage, EligibilityCheck
from medoffice.reception.models import Payment

BAD_AMOUNTS = ["1e400", 1e400, 10**40, "10" * 20, "NaN", "Infinity", "1,00,0", "--5", "1.234"]


@dataclass
class Endpoint:
    method: str
    url: str
    body: Any
    role: str
    count: Callable[[], int]  # rows the call writes
    amount: Callable[[Any, Any], Any]  # the body with another amount
    field: str  # where the amount is, as the 422 names it
    status: int = 201


def _with(body: dict, path: tuple, value: Any) -> dict:
    copy = json.loads(json.dumps(body))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


def endpoints(day) -> dict[str, Endpoint]:
    a = day.appointment.pk
    payment = {"patient_id": day.patient.pk, "amount": "12.50", "method": "cash"}
    check_in = {
        "demographics_confirmed": True,
        "coverage_confirmed": True,
        "copay": {"amount": "25.00", "method": "card", "reference": "AUTH9"},
    }
    coverage = {
        "patient_id": day.patient.pk, "payer_id": day.coverage.payer_id, "member_id": "SEC1",
        "effective_date": "2024-01-01", "priority": 2, "copay": "20.00",
    }  # fmt: skip
    limits = [{"role": "front_desk", "kind": "refund", "amount": "75.00"}]
    return {
        "payment": Endpoint(
            "post", "/api/reception/payments", payment, "front_desk",
            Payment.objects.count, lambda b, v: _with(b, ("amount",), v), "amount",
        ),
        "check_in": Endpoint(
            "post", f"/api/reception/appointments/{a}/check-in", check_in, "front_desk",
            Payment.objects.count,  # the copay (check-in also writes its one visit)
            lambda b, v: _with(b, ("copay", "amount"), v), "copay.amount", 200,
        ),
        "approval": Endpoint(
            "post", "/api/approvals", {"kind": "purchase", "amount": "60.00",
                                       "description": "Exam table paper"}, "manager",
            ApprovalRequest.objects.count, lambda b, v: _with(b, ("amount",), v), "amount",
        ),
        "coverage": Endpoint(
            "post", "/api/coverages", coverage, "front_desk",
            Coverage.objects.count, lambda b, v: _with(b, ("copay",), v), "copay",
        ),
        "eligibility": Endpoint(
            "post", f"/api/coverages/{day.coverage.pk}/eligibility",
            {"status": "active", "copay_reported": "30.00"}, "front_desk",
            EligibilityCheck.objects.count, lambda b, v: _with(b, ("copay_reported",), v),
            "copay_reported",
        ),
        "coverage_patch": Endpoint(
            "patch", f"/api/coverages/{day.coverage.pk}", {"copay": "21.00"}, "front_desk",
            lambda: Coverage.objects.filter(copay=Decimal("21.00")).count(),
            lambda b, v: _with(b, ("copay",), v), "copay", 200,
        ),
        "limits": Endpoint(
            "put", "/api/practice/limits", limits, "owner",
            lambda: AuthorityLimit.objects.filter(
                role__code="front_desk", kind="refund", amount=Decimal("75.00")
            ).count(),
            lambda b, v: _with(b, (0, "amount"), v), "1.amount", 200,
        ),
    }  # fmt: skip


NAMES = ["payment", "check_in", "approval", "coverage", "coverage_patch", "eligibility", "limits"]


def send(client: Client, endpoint: Endpoint, body: Any = None, key: str | None = None):
    headers = {HEADER: key} if key is not None else {}
    return getattr(client, endpoint.method)(
        endpoint.url,
        json.dumps(endpoint.body if body is None else body),
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.parametrize("name", NAMES)
def test_a_retry_with_the_same_key_replays_the_first_answer_and_writes_nothing(
    client_for, desk_day, name
):
    endpoint = endpoints(desk_day)[name]
    client = client_for(endpoint.role)
    before = endpoint.count()
    first = send(client, endpoint, key=f"{name}-1")
    assert first.status_code == endpoint.status, first.content
    assert endpoint.count() == before + 1
    again = send(client, endpoint, key=f"{name}-1")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again["Idempotent-Replayed"] == "true"
    assert endpoint.count() == before + 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.parametrize("name", NAMES)
def test_the_same_key_with_another_body_is_422_and_writes_nothing(client_for, desk_day, name):
    endpoint = endpoints(desk_day)[name]
    client = client_for(endpoint.role)
    first = send(client, endpoint, key="k-1")
    assert first.status_code == endpoint.status, first.content
    after_first = endpoint.count()
    other = send(client, endpoint, endpoint.amount(endpoint.body, "99.00"), key="k-1")
    assert other.status_code == 422
    assert HEADER in other.json()["errors"]
    assert endpoint.count() == after_first


def test_a_key_is_per_user_and_endpoint(client_for, desk_day):
    points = endpoints(desk_day)
    payment = points["payment"]
    first = send(client_for("front_desk"), payment, key="shared")
    second = send(client_for("manager"), payment, key="shared")  # another user: its own key
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert Payment.objects.count() == 2


def test_a_refused_request_keeps_no_key_so_it_can_be_corrected(client_for, desk_day):
    payment = endpoints(desk_day)["payment"]
    client = client_for("front_desk")
    bad = send(client, payment, payment.amount(payment.body, "0"), key="fix-me")
    assert bad.status_code == 422
    assert not IdempotencyKey.objects.exists() and not Payment.objects.exists()
    good = send(client, payment, key="fix-me")
    assert good.status_code == 201
    assert Payment.objects.count() == 1


def test_without_the_header_the_endpoint_works_as_before(client_for, desk_day):
    payment = endpoints(desk_day)["payment"]
    client = client_for("front_desk")
    assert send(client, payment).status_code == 201
    assert send(client, payment).status_code == 201
    assert Payment.objects.count() == 2 and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "é"])
def test_a_malformed_key_is_refused_before_anything_is_written(client_for, desk_day, key):
    payment = endpoints(desk_day)["payment"]
    response = send(client_for("front_desk"), payment, key=key)
    assert response.status_code == 400
    assert HEADER in response.json()["errors"]
    assert not Payment.objects.exists()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_amounts_are_422_naming_the_field_and_write_nothing(client_for, desk_day, name, amount):
    endpoint = endpoints(desk_day)[name]
    before = endpoint.count()
    body = json.dumps(endpoint.amount(endpoint.body, amount))
    if amount == 1e400:
        body = body.replace("Infinity", "1e400")  # the number as a client would send it
    response = getattr(client_for(endpoint.role), endpoint.method)(
        endpoint.url, body, content_type="application/json", headers={HEADER: "bad"}
    )
    assert response.status_code == 422, response.content
    assert endpoint.field in response.json()["errors"], response.json()
    assert endpoint.count() == before
    assert not IdempotencyKey.objects.exists()


# --- Concurrency ------------------------------------------------------------------------------

THREADS = 4


def _race(desk_day, users, name: str) -> None:
    endpoint = endpoints(desk_day)[name]
    user = users[endpoint.role]
    clients = []
    for _ in range(THREADS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    before = endpoint.count()
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, bytes]] = []
    failures: list[BaseException] = []

    def call(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            response = send(client, endpoint, key=f"race-{name}")
            answers.append((response.status_code, response.content))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(answers) == THREADS
    assert {status for status, _ in answers} == {endpoint.status}, answers
    assert len({body for _, body in answers}) == 1  # every caller got the first answer
    assert endpoint.count() == before + 1
    assert IdempotencyKey.objects.filter(key=f"race-{name}").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", NAMES)
def test_concurrent_requests_with_one_key_write_once(desk_day, users, name):
    _race(desk_day, users, name)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", NAMES)
def test_concurrent_requests_with_one_key_write_once_on_postgresql(desk_day, users, name):
    if connection.vendor != "postgresql":
        pytest.skip("the unique index's wait between transactions: PostgreSQL only")
    _race(desk_day, users, name)


def test_expired_answers_are_forgotten(client_for, desk_day):
    from datetime import timedelta

    from django.utils import timezone

    from medoffice.core.tasks import expire_idempotency_keys

    payment = endpoints(desk_day)["payment"]
    client = client_for("front_desk")
    assert send(client, payment, key="old").status_code == 201
    assert send(client, payment, key="new").status_code == 201
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert expire_idempotency_keys.call() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_stored_answers_are_encrypted_at_rest(client_for, desk_day):
    payment = endpoints(desk_day)["payment"]
    first = send(client_for("front_desk"), payment, key="enc")
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM core_idempotencykey")
        (stored,) = cursor.fetchone()
    assert first.json()["receipt_number"] not in stored


# --- Every money input is the one money type, and every money write takes a key -------------


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _money_inputs(schema: dict, components: dict, seen: frozenset = frozenset()) -> list[dict]:
    """Every property schema under a request body schema (following refs, arrays, unions)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _money_inputs(components[name], components, seen | {name})
    found = [schema]
    for child in [*schema.get("anyOf", []), *schema.get("allOf", []), *schema.get("oneOf", [])]:
        found += _money_inputs(child, components, seen)
    if "items" in schema:
        found += _money_inputs(schema["items"], components, seen)
    for child in schema.get("properties", {}).values():
        found += _money_inputs(child, components, seen)
    return found


def test_every_api_write_of_money_reads_it_strictly_and_honours_a_key(client_for):
    from medoffice.core.money import JSON_PATTERN

    schema = client_for("owner").get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    writes, loose = set(), set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            parts = _money_inputs(body["schema"], components)
            if any(part.get("pattern") == JSON_PATTERN for part in parts):
                writes.add((method.upper(), path))
            # pydantic's own Decimal (number or string, exponents and all) must not be an input
            if any(
                {"type": "number"} in part.get("anyOf", []) and part.get("anyOf", [])
                for part in parts
            ):
                loose.add((method.upper(), path))
            if any(part.get("type") == "number" for part in parts):
                loose.add((method.upper(), path))
    assert not loose, f"inputs read as numbers, not through core.money: {sorted(loose)}"
    keyed = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == HEADER for p in operation.get("parameters", []))
    }
    assert writes, "no money inputs found: the check itself is broken"
    assert writes <= keyed, f"money writes without Idempotency-Key: {sorted(writes - keyed)}"
    assert {
        ("POST", "/api/reception/payments"),
        ("POST", "/api/reception/appointments/{appointment_id}/check-in"),
        ("PUT", "/api/practice/limits"),
        ("POST", "/api/approvals"),
        ("POST", "/api/coverages"),
    } <= writes
