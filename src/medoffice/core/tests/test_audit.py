"""The audit trail: what is written, that nothing can change it, and that tampering is found."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from medoffice.core import audit, db_guards
from medoffice.core.access import get_for_user
from medoffice.core.exceptions import AuditImmutable
from medoffice.core.models import AuditAction, AuditEvent, Location
from medoffice.core.permissions import Perm
from medoffice.testing import factories

pytestmark = pytest.mark.django_db


def _events(**filters):
    return AuditEvent.objects.filter(**filters).order_by("id")


@pytest.fixture
def trail(db):
    """Three events, sealed into the chain."""
    made = [
        audit.record(AuditAction.SECURITY, object_type="test.thing", object_id=str(n))
        for n in range(3)
    ]
    audit.seal()
    return [AuditEvent.objects.get(pk=event.pk) for event in made]


# --- What is written ----------------------------------------------------------------------


def test_a_change_made_on_a_page_is_recorded_with_before_and_after(client_for, users, objects):
    location = objects["location"]
    response = client_for("manager").post(
        reverse("core:location_edit", args=[location.pk]),
        {"name": "Northside Clinic", "phone": "", "place_of_service": "11",
         "address_line1": location.address_line1, "address_line2": "", "city": location.city,
         "state": location.state, "zip_code": location.zip_code},
    )  # fmt: skip
    assert response.status_code == 302
    event = _events(action=AuditAction.UPDATE, object_type="core.location").last()
    assert event.object_id == str(location.pk)
    assert event.actor_id == users["manager"].pk
    assert event.changes == {
        "before": {"name": location.name},
        "after": {"name": "Northside Clinic"},
    }


def test_a_created_record_is_recorded_with_its_values(client_for, users, practice):
    client_for("manager").post(
        reverse("core:location_new"),
        {"name": "Eastside", "place_of_service": "11", "address_line1": "9 Elm St",
         "city": "Springfield", "state": "IL", "zip_code": "62702"},
    )  # fmt: skip
    event = _events(action=AuditAction.CREATE, object_type="core.location").last()
    assert event.changes["after"]["name"] == "Eastside"
    assert event.actor_name == users["manager"].username


def test_an_encrypted_value_is_never_written_to_the_trail(practice):
    from medoffice.core import services

    services.practice_save(actor=None, tax_id="98-7654321")
    event = _events(action=AuditAction.UPDATE, object_type="core.practice").last()
    text = str(event.changes)
    assert "7654321" not in text and "3456789" not in text
    assert "(encrypted value)" in text


def test_a_view_through_the_access_helper_is_recorded(users, objects):
    member = objects["member"]
    before = AuditEvent.objects.count()
    found = get_for_user(
        type(member), users["manager"], Perm.MANAGE_USERS, pk=member.pk, record_view=True
    )
    assert found == member
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("id").last()
    assert (event.action, event.object_type, event.object_id) == (
        AuditAction.VIEW, "core.user", str(member.pk)
    )  # fmt: skip


def test_opening_a_staff_account_page_records_the_view(client_for, users, objects):
    member = objects["member"]
    response = client_for("manager").get(reverse("core:staff_detail", args=[member.pk]))
    assert response.status_code == 200
    event = _events(action=AuditAction.VIEW, object_type="core.user").last()
    assert event.object_id == str(member.pk)
    assert event.actor_id == users["manager"].pk


# --- Nothing can change it ------------------------------------------------------------------


def test_the_app_refuses_to_save_or_delete_an_event(trail):
    event = AuditEvent.objects.get(pk=trail[0].pk)
    event.actor_name = "someone else"
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_name == trail[0].actor_name


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: AuditEvent.objects.filter(seq=1).update(actor_name="x"),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.filter(seq=1).delete(),
        lambda: AuditEvent.objects.bulk_update(list(AuditEvent.objects.all()), ["reason"]),
        lambda: AuditEvent._base_manager.filter(seq=1).update(reason="x"),
        lambda: AuditEvent.objects.update_or_create(seq=1, defaults={"reason": "x"}),
        lambda: AuditEvent.objects.filter(seq=1).update(seq=None, hash=None, prev_hash=None),
        lambda: AuditEvent.objects.bulk_create([AuditEvent(seq=999, prev_hash="0", hash="1")]),
    ],
    ids=["update", "delete-all", "delete-one", "bulk_update", "base-manager", "update_or_create",
         "unseal", "bulk_create"],
)  # fmt: skip
def test_querysets_refuse_bulk_writes(trail, attempt):
    snapshot = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash", "reason"))
    with pytest.raises(AuditImmutable):
        attempt()
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "hash", "reason")) == snapshot


def test_the_database_triggers_are_installed():
    assert db_guards.installed(connection)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditevent SET actor_name = 'someone else'",
        "UPDATE core_auditevent SET flagged = NOT flagged WHERE seq = 2",
        "DELETE FROM core_auditevent WHERE seq = 2",
        "DELETE FROM core_auditevent",
        "UPDATE core_auditevent SET seq = NULL, prev_hash = NULL, hash = NULL, seal_key = NULL",
        "UPDATE core_auditevent SET hash = 'x' WHERE seq = 2",
    ],
)
def test_raw_sql_through_the_apps_connection_is_refused(trail, sql):
    snapshot = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash", "actor_name"))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert (
        list(AuditEvent.objects.order_by("seq").values_list("seq", "hash", "actor_name"))
        == snapshot
    )


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_truncate_is_refused_on_postgresql(trail):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE core_auditevent, core_auditsecret")
    assert AuditEvent.objects.count() == 3


def test_the_chain_of_an_untouched_trail_verifies(trail):
    assert list(audit.verify_chain()) == []


def _drop_guard():
    """What someone with database access could do behind the app's back."""
    db_guards.remove(connection)
    assert not db_guards.installed(connection)


def test_verify_finds_a_record_changed_after_the_trigger_was_dropped(trail):
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET actor_name = 'someone else' WHERE seq = %s", [trail[1].seq]
        )
    problems = list(audit.verify_chain())
    assert [(p.event_id, "digest mismatch" in p.problem) for p in problems] == [
        (trail[1].seq, True)
    ]


def test_verify_finds_a_record_removed_from_the_middle(trail):
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE seq = %s", [trail[1].seq])
    problems = list(audit.verify_chain())
    assert len(problems) == 1
    assert problems[0].event_id == trail[2].seq
    assert f"#{trail[1].seq}" in problems[0].problem and "removed" in problems[0].problem


def test_verify_finds_the_newest_record_removed(trail):
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE seq = %s", [trail[2].seq])
    problems = list(audit.verify_chain())
    assert len(problems) == 1
    assert problems[0].event_id is None and "removed" in problems[0].problem


def test_verify_finds_a_record_rewritten_with_a_fresh_unkeyed_hash(trail):
    """Recomputing the changed record's hash without the key does not help."""
    _drop_guard()
    event = AuditEvent.objects.get(seq=trail[1].seq)
    event.reason = "rewritten"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET reason = %s, hash = %s WHERE seq = %s",
            ["rewritten", audit.event_digest(event), event.seq],
        )
    problems = list(audit.verify_chain())
    assert {p.event_id for p in problems} == {trail[1].seq, trail[2].seq}
    assert any("chain broken" in p.problem for p in problems if p.event_id == trail[2].seq)
    assert any("digest mismatch" in p.problem for p in problems if p.event_id == trail[1].seq)


def test_verify_finds_a_record_appended_outside_the_writer(trail):
    """A record inserted behind the app's back, at the end of the chain, is found."""
    from django.utils import timezone

    forged = AuditEvent(
        seq=trail[-1].seq + 1, at=timezone.now(), action=AuditAction.VIEW,
        prev_hash=trail[-1].hash, actor_name="nobody",
    )  # fmt: skip
    forged.hash = audit.event_digest(forged)
    forged.save(force_insert=True)
    problems = [p.problem for p in audit.verify_chain()]
    assert any("added outside the audit writer" in p for p in problems), problems
    assert any("which this installation does not hold" in p for p in problems), problems


# --- The admin shows it and changes nothing ----------------------------------------------------


@pytest.fixture
def superuser_client(db, practice):
    admin_user = factories.user(None, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_lists_events_for_superusers(superuser_client, trail):
    response = superuser_client.get("/django-admin/core/auditevent/")
    assert response.status_code == 200
    assert b"test.thing" in response.content


def test_the_admin_offers_no_add_change_or_delete(superuser_client, trail):
    event = trail[0]
    assert superuser_client.get("/django-admin/core/auditevent/add/").status_code == 403
    assert (
        superuser_client.get(f"/django-admin/core/auditevent/{event.pk}/delete/").status_code == 403
    )
    page = superuser_client.get(f"/django-admin/core/auditevent/{event.pk}/change/")
    assert page.status_code == 200  # a read-only view
    assert b'name="_save"' not in page.content
    response = superuser_client.post(
        f"/django-admin/core/auditevent/{event.pk}/change/", {"actor_name": "someone else"}
    )
    assert response.status_code == 403
    response = superuser_client.post(
        "/django-admin/core/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert AuditEvent.objects.filter(pk=event.pk, actor_name=event.actor_name).exists()


def test_the_admin_is_closed_to_staff_who_are_not_superusers(client_for, users):
    users["manager"].is_staff = True
    users["manager"].save()
    client = Client()
    client.force_login(users["manager"])
    assert client.get("/django-admin/core/auditevent/").status_code == 403


def test_the_api_has_no_endpoint_that_writes_to_the_trail(client_for, trail):
    client = client_for("auditor")
    for method in ("post", "put", "patch", "delete"):
        for url in ("/api/audit", f"/api/audit/{trail[0].seq}"):
            response = getattr(client, method)(url, {}, content_type="application/json")
            assert response.status_code in (404, 405), (method, url, response.status_code)
    assert AuditEvent.objects.filter(seq=trail[0].seq, hash=trail[0].hash).exists()


# --- Auditors search and export ----------------------------------------------------------------


@pytest.fixture
def dated_trail(monkeypatch, users):
    """Events by different people, about different patients and objects, on different days."""
    from medoffice.core.context import actor_for_user

    class _Clock:
        at = None

        @classmethod
        def now(cls):
            return cls.at

    monkeypatch.setattr(audit, "timezone", _Clock)
    made = {}
    # 03:00 UTC on Jan 10 is still Jan 9 in the practice's zone (America/Chicago).
    for key, when, who, patient, obj in [
        ("jan9", datetime(2026, 1, 10, 3, 0, tzinfo=UTC), "biller", "41", ("patients.patient", "41")),
        ("jan10", datetime(2026, 1, 10, 18, 0, tzinfo=UTC), "front_desk", "42", ("patients.patient", "42")),
        ("jan12", datetime(2026, 1, 12, 15, 0, tzinfo=UTC), "front_desk", "", ("core.location", "7")),
    ]:  # fmt: skip
        _Clock.at = when
        made[key] = audit.record(
            AuditAction.VIEW, object_type=obj[0], object_id=obj[1], patient_id=patient or None,
            actor=actor_for_user(users[who]),
        )  # fmt: skip
    monkeypatch.undo()
    return made


def _seqs(response) -> set[int]:
    return {row["seq"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("patient=42", {"jan10"}),
        ("object_type=patients.patient&object_id=41", {"jan9"}),
        ("object_type=core.location", {"jan12"}),
        ("from=2026-01-09&to=2026-01-09", {"jan9"}),
        ("from=2026-01-10&to=2026-01-11", {"jan10"}),
        ("from=2026-01-12", {"jan12"}),
    ],
)
def test_auditors_search_by_patient_object_and_date(client_for, dated_trail, query, expected):
    response = client_for("auditor").get(f"/api/audit?{query}&action=view")
    assert response.status_code == 200
    assert _seqs(response) == {dated_trail[key].seq for key in expected}


def test_auditors_search_by_user(client_for, users, dated_trail):
    client = client_for("auditor")
    response = client.get(f"/api/audit?user={users['biller'].username}&action=view")
    assert _seqs(response) == {dated_trail["jan9"].seq}
    page = client.get(
        reverse("core:audit"), {"user": users["front_desk"].last_name, "action": "view"}
    )
    assert page.status_code == 200
    assert page.context["page"].paginator.count == 2


def test_the_search_page_filters_like_the_api(client_for, dated_trail):
    page = client_for("auditor").get(reverse("core:audit"), {"patient": "42"})
    assert [event.seq for event in page.context["page"]] == [dated_trail["jan10"].seq]


def test_the_csv_export_holds_the_filtered_events_and_is_itself_audited(
    client_for, users, dated_trail
):
    response = client_for("auditor").get(reverse("core:audit_export"), {"patient": "42"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["seq"] for row in rows] == [str(dated_trail["jan10"].seq)]
    export = _events(action=AuditAction.EXPORT).last()
    assert export.actor_id == users["auditor"].pk
    assert export.object_type == "core.auditevent"
    assert export.changes == {"filters": {"patient_id": "42"}, "rows": 1}


def test_the_api_export_is_audited_too(client_for, users, dated_trail):
    response = client_for("auditor").get("/api/audit/export.csv?object_type=core.location")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("seq,at,time_zone,actor_name,action")
    assert len(body.strip().splitlines()) == 2
    export = _events(action=AuditAction.EXPORT).last()
    assert export.actor_id == users["auditor"].pk
    assert export.changes["filters"] == {"object_type": "core.location"}


def test_a_csv_cell_cannot_run_as_a_spreadsheet_formula():
    from medoffice.core.exports import csv_cell

    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("+1") == "'+1"
    assert csv_cell("plain") == "plain"


def test_a_bad_date_in_the_api_search_names_the_field(client_for):
    response = client_for("auditor").get("/api/audit?from=yesterday")
    assert response.status_code == 422
    assert "from" in response.json()["errors"]


def test_location_model_is_audited_but_the_trail_itself_is_not():
    from medoffice.core.capture import is_audited

    assert is_audited(Location)
    assert not is_audited(AuditEvent)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flush_empties_the_database_and_puts_the_guard_back():
    """Emptying every table (a test run, a demo reset) is the one act that removes the trail."""
    from django.core.management import call_command

    audit.record(AuditAction.SECURITY, object_type="test.thing", object_id="1")
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    assert db_guards.installed(connection)
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        audit.record(AuditAction.SECURITY, object_type="test.thing", object_id="2")
        cursor.execute("DELETE FROM core_auditevent")


def test_the_audit_verify_command_finds_tampering_behind_the_apps_back(trail, capsys):
    from medoffice import cli

    assert cli.main(["audit", "verify"]) == 0
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET reason = 'edited' WHERE seq = %s", [trail[0].seq]
        )
        cursor.execute("DELETE FROM core_auditevent WHERE seq = %s", [trail[1].seq])
    capsys.readouterr()
    assert cli.main(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert captured.err.strip() == "medoffice: the audit trail has 2 problem(s)"
    assert f"record #{trail[0].seq}: was changed" in out
    assert f"#{trail[1].seq} before it was removed" in out
