"""/api/ledger/manual-entries and /api/ledger/entries/{id}/reverse: who may write, the
Idempotency-Key they need, and at most once from threads sent at the same moment."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from medoffice.core.idempotency import HEADER
from medoffice.core.models import AuditEvent, IdempotencyKey
from medoffice.ledger import services
from medoffice.ledger.models import (
    Account,
    EntryKind,
    JournalEntry,
    ManualEntry,
    ManualEntryStatus,
)
from medoffice.ledger.services import Line, Posting
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

URL = "/api/ledger/manual-entries"
WRITERS = ("owner", "manager")
OTHERS = ("biller", "auditor", "front_desk", "clinician", "hr_payroll", "medical_assistant")


def code(key: str) -> str:
    return Account.objects.get(key=key).code


def body(amount: str = "40.00", memo: str = "Reclass gloves") -> dict:
    return {
        "date": timezone.localdate().isoformat(),
        "memo": memo,
        "lines": [
            {"account": code("supplies_expense"), "debit": amount},
            {"account": code("other_expense"), "credit": amount},
        ],
    }


def send(client: Client, url: str, data: dict, key: str | None):
    headers = {HEADER: key} if key is not None else {}
    return client.post(url, json.dumps(data), content_type="application/json", headers=headers)


# --- Manual entries -----------------------------------------------------------------------------


def test_a_manual_entry_posts_and_reads_back(client_for):
    response = send(client_for("manager"), URL, body(), "key-1")
    assert response.status_code == 201, response.content
    answer = response.json()
    draft = ManualEntry.objects.get()
    assert answer["id"] == draft.pk and answer["status"] == ManualEntryStatus.POSTED
    assert answer["entry_id"] == draft.entry_id and answer["total"] == "40.00"
    assert answer["approval_status"] == "approved" and answer["reversed_by_id"] is None
    read = client_for("auditor").get(f"{URL}/{draft.pk}")
    assert read.status_code == 200 and read.json()["entry_id"] == draft.entry_id


def test_over_the_authority_it_waits_with_the_approval_named(client_for):
    response = send(client_for("manager"), URL, body("12000.00"), "key-big")
    assert response.status_code == 201
    answer = response.json()
    draft = ManualEntry.objects.get()
    assert answer["status"] == ManualEntryStatus.PENDING and answer["entry_id"] is None
    assert answer["approval_id"] == draft.approval_id and answer["approval_status"] == "pending"
    assert not JournalEntry.objects.exists()


def test_the_key_is_required(client_for):
    response = send(client_for("manager"), URL, body(), None)
    assert response.status_code == 400
    assert HEADER in response.json()["detail"] and HEADER in response.json()["errors"]
    assert not ManualEntry.objects.exists() and not JournalEntry.objects.exists()


def test_the_same_key_replays_and_another_body_is_refused(client_for):
    manager = client_for("manager")
    first = send(manager, URL, body(), "key-2")
    again = send(manager, URL, body(), "key-2")
    assert again.status_code == 201 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    other = send(manager, URL, body("41.00"), "key-2")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert ManualEntry.objects.count() == 1 and JournalEntry.objects.count() == 1


def test_after_the_stored_answer_expires_the_entry_still_answers_to_its_key(client_for):
    manager = client_for("manager")
    first = send(manager, URL, body(), "key-3")
    IdempotencyKey.objects.all().delete()  # forgotten after 24 hours
    again = send(manager, URL, body(), "key-3")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    IdempotencyKey.objects.all().delete()
    other = send(manager, URL, body("41.00"), "key-3")
    assert other.status_code == 409 and "other content" in other.json()["detail"]
    assert ManualEntry.objects.count() == 1


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_are_refused(client, client_for, role):
    assert send(client, URL, body(), "k").status_code == 401
    assert send(client_for(role), URL, body(), "k").status_code == 403
    assert send(client_for(role), URL, body(), None).status_code == 403  # before the 400
    assert not ManualEntry.objects.exists()


def test_reading_a_manual_entry_needs_the_books(client, client_for):
    draft = send(client_for("manager"), URL, body(), "k").json()
    assert client.get(f"{URL}/{draft['id']}").status_code == 401
    assert client_for("front_desk").get(f"{URL}/{draft['id']}").status_code == 403
    assert client_for("biller").get(f"{URL}/{draft['id']}").status_code == 200
    assert client_for("biller").get(f"{URL}/999999").status_code == 404


def test_bad_lines_are_named_and_nothing_is_written(client_for):
    data = body()
    data["lines"][1]["account"] = "nope"
    data["lines"].append({"account": code("patient_ar"), "debit": "1.00"})
    data["lines"].append({"account": code("other_expense"), "credit": "1.00", "location_id": 9999})
    response = send(client_for("manager"), URL, data, "k-bad")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"lines.4.location_id"}
    del data["lines"][3]["location_id"]
    response = send(client_for("manager"), URL, data, "k-bad")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"lines.2.account", "lines.3.patient"}
    data["date"] = "1900-01-01"
    response = send(client_for("manager"), URL, data, "k-bad")
    assert "01/01/1900" in response.json()["errors"]["date"][0]
    assert not ManualEntry.objects.exists() and not IdempotencyKey.objects.exists()


def test_a_patient_line_names_the_patient_by_id(client_for):
    patient = pf.patient()
    data = body()
    data["lines"] = [
        {"account": code("patient_ar"), "debit": "15.00", "patient_id": patient.pk},
        {"account": code("revenue:office_visits"), "credit": "15.00"},
    ]
    response = send(client_for("manager"), URL, data, "k-pat")
    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["patient_id"] == patient.pk


# --- Reversals ----------------------------------------------------------------------------------


def reverse_url(entry_id: int) -> str:
    return f"/api/ledger/entries/{entry_id}/reverse"


def test_a_manual_entry_is_reversed_once(client_for):
    manager = client_for("manager")
    entry_id = send(manager, URL, body(), "k").json()["entry_id"]
    refused = send(manager, reverse_url(entry_id), {"reason": "wrong account"}, None)
    assert refused.status_code == 400
    done = send(manager, reverse_url(entry_id), {"reason": "wrong account"}, "r1")
    assert done.status_code == 201, done.content
    reversal = done.json()
    assert reversal["kind"] == EntryKind.REVERSAL and reversal["reverses_id"] == entry_id
    assert "wrong account" in reversal["memo"]
    replay = send(manager, reverse_url(entry_id), {"reason": "wrong account"}, "r1")
    assert replay.content == done.content
    second = send(manager, reverse_url(entry_id), {"reason": "again"}, "r2")
    assert second.status_code == 409
    assert f"already reversed, by entry {reversal['id']}" in second.json()["detail"]
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert AuditEvent.objects.filter(
        object_type="ledger.journalentry", object_id=str(entry_id), reason="wrong account"
    ).exists()
    draft = client_for("auditor").get(f"{URL}/{ManualEntry.objects.get().pk}").json()
    assert draft["reversed_by_id"] == reversal["id"]


def test_a_desk_payment_entry_is_refused_pointing_to_void_or_refund(client_for, users):
    patient = pf.patient()
    entry = services.post(
        Posting(source_type="reception.payment", source_id=42, date=timezone.localdate(),
                lines=[Line("bank_operating", debit="25.00"),
                       Line("patient_ar", credit="25.00", patient=patient)]),
        actor=users["manager"],
    )  # fmt: skip
    response = send(client_for("owner"), reverse_url(entry.pk), {"reason": "oops"}, "r")
    assert response.status_code == 409
    assert "void the payment" in response.json()["detail"] and "refund" in response.json()["detail"]
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize("role", OTHERS)
def test_reversing_needs_the_permission(client_for, role):
    entry_id = send(client_for("manager"), URL, body(), "k").json()["entry_id"]
    assert send(client_for(role), reverse_url(entry_id), {"reason": "x"}, "r").status_code == 403
    assert JournalEntry.objects.count() == 1


def test_a_reversal_dated_in_a_closed_month_is_refused_naming_it(client_for, users):
    month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    data = body()
    data["date"] = month.replace(day=3).isoformat()
    entry_id = send(client_for("manager"), URL, data, "k").json()["entry_id"]
    services.close_period(month=month, actor=users["manager"])
    payload = {"reason": "late", "date": month.replace(day=20).isoformat()}
    response = send(client_for("manager"), reverse_url(entry_id), payload, "r")
    assert response.status_code == 422
    assert month.strftime("%B %Y") in response.json()["detail"]
    today = send(client_for("manager"), reverse_url(entry_id), {"reason": "late"}, "r2")
    assert today.status_code == 201  # dated today, in the open month


def test_one_entry_reads_back(client_for):
    entry_id = send(client_for("manager"), URL, body(), "k").json()["entry_id"]
    read = client_for("auditor").get(f"/api/ledger/entries/{entry_id}")
    assert read.status_code == 200 and len(read.json()["lines"]) == 2
    assert client_for("front_desk").get(f"/api/ledger/entries/{entry_id}").status_code == 403
    assert client_for("auditor").get("/api/ledger/entries/999999").status_code == 404


def test_the_openapi_schema_says_the_key_is_required(client_for):
    schema = client_for("manager").get("/api/openapi.json").json()
    for path in ("/api/ledger/manual-entries", "/api/ledger/entries/{entry_id}/reverse"):
        parameters = schema["paths"][path]["post"]["parameters"]
        header = next(p for p in parameters if p["name"] == HEADER)
        assert header["required"] is True


# --- At most once from threads ------------------------------------------------------------------

THREADS = 4
race = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def at_once(user, url: str, data: dict, key: str) -> list[tuple[int, bytes]]:
    clients = []
    for _ in range(THREADS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, bytes]] = []
    failures: list[BaseException] = []

    def call(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            response = send(client, url, data, key)
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
    return answers


@race
def test_one_manual_entry_from_threads_sending_one_key(users):
    answers = at_once(users["manager"], URL, body(), "race-1")
    assert {status for status, _ in answers} == {201}, answers
    assert len({content for _, content in answers}) == 1  # every caller got the first answer
    assert ManualEntry.objects.count() == 1 and JournalEntry.objects.count() == 1
    assert IdempotencyKey.objects.filter(key="race-1").count() == 1


@race
def test_one_reversal_from_threads(users):
    draft = services.manual_entry_submit(
        actor=users["manager"], date=timezone.localdate(), memo="Race",
        lines=[services.ManualLine(code("supplies_expense"), debit="5.00"),
               services.ManualLine(code("other_expense"), credit="5.00")],
    )  # fmt: skip
    same_key = at_once(users["owner"], reverse_url(draft.entry_id), {"reason": "race"}, "rr")
    assert {status for status, _ in same_key} == {201}, same_key
    assert len({content for _, content in same_key}) == 1
    # Other keys: the reversal exists; each is refused naming it.
    clients = []
    for n in range(THREADS):
        answer = send(_logged_in(users["manager"]), reverse_url(draft.entry_id),
                      {"reason": "race"}, f"other-{n}")  # fmt: skip
        clients.append(answer.status_code)
    assert set(clients) == {409}
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
