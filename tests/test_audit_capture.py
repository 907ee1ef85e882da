"""Nothing escapes the trail: every write path of every audited model leaves an event, and
bulk work is one event per unit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction
from django.db.models import ProtectedError, RestrictedError

from medoffice.core import audit, capture
from medoffice.core.context import Actor
from medoffice.core.models import AuditAction, AuditEvent, Location
from medoffice.ledger import services as ledger_services
from medoffice.ledger.models import JournalEntry, ManualEntry
from medoffice.testing import factories

pytestmark = pytest.mark.django_db

# Concrete models of medoffice apps that are not audited, each for a stated reason.
NOT_AUDITED = {
    "core.auditevent": "the trail itself",
    "core.auditsecret": "the trail's encrypted values",
    "core.idempotencykey": "the first answer of a retried request; the write it guards is audited",
    "core.formsubmission": "a form's one-time token; the write it guards is audited",
    "core.auditchainhead": "the trail's own bookkeeping",
    "core.periodicrun": "when the worker last enqueued a periodic job",
    "patients.mrncounter": "a counter; the patient it numbers is audited",
    "reception.receiptsequence": "a counter; the payment it numbers is audited",
    "reception.depositday": "a closed day in a deposit, written with the audited deposit",
    "reception.cardsettlementday": "a closed day's card batch in a settlement, written with the audited settlement",
    "scheduling.occupancy": "cells derived from the appointment, which is audited",
    "core.totpauthenticator": "a second factor: adding one and wrong codes are security events;"
    " its counter moves at every sign-in",
    "core.fieldkeyepoch": "key rotation's bookkeeping (which key generation is current)",
    "core.fieldkeyholder": "heartbeats of the processes holding the field keys",
    "ledger.journalline": "the lines of an audited journal entry, written with it and never"
    " changed (database triggers)",
    "ledger.fiscalperiod": "closing and reopening a period record their own events",
    **{
        f"coding.{name}": "rows of a published code table loaded in bulk; the load is one"
        " audited event (a CodeSetRelease for the dated tables)"
        for name in (
            "procedurecode",
            "modifier",
            "placeofservice",
            "ptpedit",
            "mueedit",
            "addonedit",
            "mpfsrvu",
            "mpfsgpci",
        )
    },
    "claims.claimline": "a claim's copy of its encounter's audited lines, written with the"
    " audited claim",
    "claims.claimdiagnosis": "a claim's copy of its encounter's audited diagnoses, written"
    " with the audited claim",
    "claims.claimevent": "the claim's own history, written with each audited status change",
    "claims.scrubfinding": "the scrubber's derived findings; the claim's status is audited",
    "claims.controlcounter": "a counter; the batch it numbers is audited",
    "claims.appliedfile": "the at-most-once key of an applied response file; the claims it"
    " changes are audited",
}

# Audited models whose rows the database itself refuses to change or delete (triggers): the
# walk checks their CREATE events and that a change is refused.
IMMUTABLE_IN_DATABASE = {"ledger.journalentry"}


def medoffice_models() -> list[type[models.Model]]:
    return [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("medoffice.")
        for model in config.get_models()
        if not model._meta.auto_created and not model._meta.proxy
    ]


def test_every_medoffice_model_is_audited_or_excused():
    unexcused = [
        capture.label_of(m)
        for m in medoffice_models()
        if not capture.is_audited(m) and capture.label_of(m) not in NOT_AUDITED
    ]
    assert unexcused == [], "make these AuditedModel subclasses, or excuse them here"
    wrongly_excused = [label for label in NOT_AUDITED if capture.is_audited(apps.get_model(label))]
    assert wrongly_excused == []


def _events_naming(label: str, pk: object, action: str) -> int:
    """Events of one action that name the row, alone or among a bulk event's ids."""
    events = AuditEvent.objects.filter(object_type=label, action=action)
    count = events.filter(object_id=str(pk)).count()
    for changes in events.filter(object_id="").values_list("changes", flat=True):
        if pk in changes.get("ids", []):
            count += 1
    return count


# Audited models whose rows are made by an import in a unit of its own (one event for the
# whole file, counting the rows by model) even when the demo itself runs row by row.
MADE_IN_UNITS = {"coding.codesetrelease", "coding.fee", "coding.feeimport"}


def _unit_creates(label: str) -> int:
    """How many rows of a model the unit events say they created."""
    total = 0
    for changes in AuditEvent.objects.exclude(object_id="").values_list("changes", flat=True):
        if isinstance(changes, dict) and isinstance(changes.get("rows"), dict):
            total += int(changes["rows"].get(label, {}).get("created", 0))
    return total


def _field_to_change(model: type[models.Model]) -> models.Field | None:
    """A plain field a walk can change: text, then a flag, an amount or a time."""
    candidates = [
        f for f in capture._audited_fields(model)
        if f.editable and not f.primary_key and not f.is_relation and not f.choices
        and "key" not in f.name and "digest" not in f.name and "prefix" not in f.name
    ]  # fmt: skip
    kinds = (models.CharField, models.TextField, models.BooleanField, models.DecimalField,
             models.DateTimeField)  # fmt: skip
    for kind in kinds:
        for f in candidates:
            if isinstance(f, kind):
                return f
    return None


_walk = iter(range(1, 1_000_000))


def _new_value(f: models.Field, old: object) -> object:
    if isinstance(f, models.BooleanField):
        return not old
    if isinstance(f, models.DecimalField):
        return (old or Decimal("0")) + 1
    if isinstance(f, models.DateTimeField):
        return old + dt.timedelta(minutes=1)
    text = f"Audit walk {next(_walk)}"
    return text[-f.max_length :] if f.max_length else text


def _rows_demo_does_not_make(users) -> None:
    """One row of each audited model the demo practice leaves out, written the usual way."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from medoffice.core import services
    from medoffice.core.models import ModuleSwitch
    from medoffice.patients.models import Patient, PatientDocument
    from medoffice.reception.models import WallDisplayLink
    from medoffice.scheduling import services as scheduling_services
    from medoffice.scheduling.models import (
        Appointment,
        AppointmentConfirmation,
        CalendarFeedToken,
        Reminder,
        SchedulingSettings,
        WaitlistEntry,
        WaitlistOffer,
    )  # fmt: skip

    now = timezone.now()
    manager = users["manager"]
    ModuleSwitch.objects.create(module="walk", enabled=True)
    services.approval_request(
        requested_by=manager, kind="purchase", amount=Decimal("10.00"), description="gloves"
    )
    services.api_token_create(user=manager, name="walk")
    patient = Patient.objects.order_by("-pk").first()
    services.emergency_access_open(
        user=users["hr_payroll"], obj=patient, perm="patients.view",
        reason="walk of the audit capture",
    )  # fmt: skip
    PatientDocument.objects.create(
        patient=patient, kind="other", file=ContentFile(b"%PDF-1.4\n", name="walk.pdf"), content_type="application/pdf",
        document_date=now.date(), uploaded_by=manager,
    )  # fmt: skip
    SchedulingSettings.objects.get_or_create(pk=1)
    appointment = Appointment.objects.order_by("pk").first()  # the walk deletes the newest
    entry = WaitlistEntry.objects.order_by("pk").first()
    WaitlistOffer.objects.create(
        entry=entry, provider=appointment.provider, location=appointment.location,
        start=appointment.start, end=appointment.end,
    )  # fmt: skip
    reminder = Reminder.objects.create(
        appointment=appointment, channel="email", offset_hours=2, recipient="a@example.org",
        claimed_at=now, next_attempt_at=now,
    )  # fmt: skip
    AppointmentConfirmation.objects.create(
        appointment=appointment, reminder=reminder, confirmed_at=now
    )
    CalendarFeedToken.objects.create(
        provider=appointment.provider, digest="d" * 64, prefix="walk", created_at=now,
        created_by=manager,
    )  # fmt: skip
    WallDisplayLink.objects.create(
        location=appointment.location, name="Back office", digest="w" * 64, prefix="walk",
        created_at=now, created_by=manager,
    )  # fmt: skip
    assert scheduling_services
    ManualEntry.objects.create(
        date=now.date(), memo="walk", lines=[], total_cents=100, prepared_by=manager,
        prepared_at=now,
    )  # fmt: skip
    from medoffice.reception import services as reception_services
    from medoffice.reception.models import Payment

    paid = Payment.objects.order_by("pk").first()
    reception_services.refund_request(
        patient=paid.patient, amount="1.00", method="card", reason="audit walk",
        requested_by=users["front_desk"], location=paid.location,
    )  # fmt: skip
    from medoffice.claims.models import BatchJob, Clearinghouse, MailboxReceipt, MailboxSubmission

    house = Clearinghouse.objects.create(
        name="Walk portal", transport="folder", outbound_path="/walk/out", inbound_path="/walk/in"
    )
    MailboxSubmission.objects.create(
        clearinghouse=house, name="walk.x12", sha256="a" * 64, size=10, status="sent",
        sent_by=manager,
    )  # fmt: skip
    MailboxReceipt.objects.create(
        clearinghouse=house, name="walk.999", sha256="b" * 64, size=10,
        file=ContentFile(b"ISA", name="walk.999"),
    )  # fmt: skip
    BatchJob.objects.create(
        requested_by=manager, clearinghouse=house, send=False, idempotency_key="walk"
    )
    if not JournalEntry.objects.exists():  # until the demo posts its payments
        ledger_services.post(
            ledger_services.Posting(
                source_type="tests.walk", source_id="1", date=now.date(),
                lines=[
                    ledger_services.Line("bank_operating", debit="1.00"),
                    ledger_services.Line("revenue:other", credit="1.00"),
                ],
            ),
            actor=manager,
        )  # fmt: skip


def test_every_write_path_of_every_audited_model_leaves_an_event():
    """Load the demo practice with per-row capture (no unit), then walk each audited model:
    created rows are named by CREATE events; save, queryset update, bulk_update, delete and
    queryset delete each leave an event naming the row and the field."""
    from medoffice.core import demo
    from medoffice.core.models import User

    seeded = {  # rows the migrations seeded (roles, their permissions and limits)
        capture.label_of(m): set(m._default_manager.values_list("pk", flat=True))
        for m in medoffice_models()
    }
    demo.load_demo(size="small", as_unit=False)
    users = {
        code: User.objects.filter(roles__code=code).order_by("pk").first()
        for code in ("manager", "front_desk", "hr_payroll")
    }
    _rows_demo_does_not_make(users)
    problems: list[str] = []
    walked = 0
    for model in medoffice_models():
        if not capture.is_audited(model):
            continue
        label = capture.label_of(model)
        rows = list(model._default_manager.order_by("-pk")[:3])
        if not rows:
            problems.append(f"{label}: the demo creates no row to walk")
            continue
        walked += 1
        missing = [
            r.pk for r in rows
            if r.pk not in seeded[label] and _events_naming(label, r.pk, AuditAction.CREATE) == 0
        ]  # fmt: skip
        if missing and label in MADE_IN_UNITS and _unit_creates(label) >= len(missing):
            missing = []  # a file's import: one unit event counts the rows it made
        if missing:
            problems.append(f"{label}: created rows {missing} have no CREATE event")
        if label in IMMUTABLE_IN_DATABASE:
            with pytest.raises(DatabaseError), transaction.atomic():
                model._default_manager.filter(pk=rows[0].pk).update(memo="changed")
            continue
        f = _field_to_change(model)
        if f is None:
            problems.append(f"{label}: no plain field to change (give the walk one)")
            continue
        obj = rows[0]
        paths = {
            "save": lambda o=obj, f=f: (setattr(o, f.attname, _new_value(f, getattr(o, f.attname))), o.save()),
            "queryset update": lambda o=obj, f=f, model=model: model._default_manager.filter(pk=o.pk).update(
                **{f.name: _new_value(f, getattr(o, f.attname))}
            ),
            "bulk_update": lambda o=obj, f=f, model=model: (
                setattr(o, f.attname, _new_value(f, model._default_manager.values_list(f.attname, flat=True).get(pk=o.pk))),
                model._default_manager.bulk_update([o], [f.name]),
            ),
        }  # fmt: skip
        for path, write in paths.items():
            before = _events_naming(label, obj.pk, AuditAction.UPDATE)
            with transaction.atomic():
                write()
            if _events_naming(label, obj.pk, AuditAction.UPDATE) != before + 1:
                problems.append(f"{label}: {path} left no UPDATE event")
                continue
            latest = AuditEvent.objects.filter(object_type=label, action=AuditAction.UPDATE).first()
            if f.name not in str(latest.changes):
                problems.append(f"{label}: {path} event does not name the field {f.name}")
        for path, delete in (
            ("delete", lambda r: r.delete()),
            (
                "queryset delete",
                lambda r, model=model: model._default_manager.filter(pk=r.pk).delete(),
            ),
        ):
            deleted = None
            for row in rows:
                pk = row.pk
                try:
                    with transaction.atomic():
                        delete(row)
                except (ProtectedError, RestrictedError):
                    continue
                deleted = pk
                break
            if deleted is None:
                continue  # every row is protected by others: nothing was deleted
            if _events_naming(label, deleted, AuditAction.DELETE) != 1:
                problems.append(f"{label}: {path} left no DELETE event naming row {deleted}")
            rows = [r for r in rows if r.pk not in (deleted, None)]
            if not rows:
                break
    assert problems == [], "\n".join(problems)
    assert walked >= 24


def test_a_queryset_update_is_one_event_naming_the_rows_and_the_fields(practice):
    a, b, c = (factories.location(city="Springfield") for _ in range(3))
    Location.objects.filter(pk=c.pk).update(city="Peoria")
    before = AuditEvent.objects.count()
    changed = Location.objects.filter(city="Springfield").update(city="Decatur", phone="555")
    assert changed == 2
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.first()
    assert (event.action, event.object_type, event.object_repr) == (
        AuditAction.UPDATE, "core.location", "2 locations",
    )  # fmt: skip
    assert sorted(event.changes["ids"]) == sorted([a.pk, b.pk])
    assert event.changes["fields"] == ["city", "phone"]
    assert event.changes["after"] == {"city": "Decatur", "phone": "555"}
    assert event.changes["before"][str(a.pk)] == {"city": "Springfield", "phone": ""}


def test_a_save_needs_no_extra_select_to_know_what_changed(practice):
    location = Location.objects.get(pk=factories.location().pk)
    location.name = "Renamed"
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        location.save()
    reads_of_the_row = [
        q["sql"] for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and '"core_location"' in q["sql"]
    ]  # fmt: skip
    assert reads_of_the_row == []
    event = AuditEvent.objects.first()
    assert event.changes == {"before": {"name": event.changes["before"]["name"]},
                             "after": {"name": "Renamed"}}  # fmt: skip


def test_a_change_left_out_of_update_fields_is_recorded_when_it_is_saved(practice):
    location = Location.objects.get(pk=factories.location(name="Old", city="Springfield").pk)
    location.name = "New"
    location.city = "Peoria"
    location.save(update_fields=["city"])
    event = AuditEvent.objects.first()
    assert event.changes == {"before": {"city": "Springfield"}, "after": {"city": "Peoria"}}
    location.save()  # the name is written now: it changed in the database now
    event = AuditEvent.objects.first()
    assert event.changes == {"before": {"name": "Old"}, "after": {"name": "New"}}
    before = AuditEvent.objects.count()
    location.save()
    assert AuditEvent.objects.count() == before  # nothing changed


def test_a_value_set_again_is_no_change_and_one_shown_differently_is(practice):
    from medoffice.patients.models import Patient
    from medoffice.testing import patients_factories

    location = Location.objects.get(pk=factories.location(name="Main").pk)
    location.name = "".join(["Ma", "in"])  # equal, another object
    before = AuditEvent.objects.count()
    location.save()
    assert AuditEvent.objects.count() == before
    location.name = "Main "
    location.save()
    assert AuditEvent.objects.first().changes["after"] == {"name": "Main "}

    patient = Patient.objects.get(
        pk=patients_factories.patient(date_of_birth=dt.date(1980, 1, 2)).pk
    )
    patient.date_of_birth = "1980-01-02"  # another type, shown the same in the trail
    before = AuditEvent.objects.count()
    patient.save()
    assert AuditEvent.objects.count() == before
    patient.date_of_birth = dt.date(1980, 1, 3)
    patient.save()
    event = AuditEvent.objects.first()
    assert (event.object_id, sorted(event.changes["after"])) == (str(patient.pk), ["date_of_birth"])
    assert audit.readable_changes(event, None)["after"] == {"date_of_birth": "(protected)"}


def test_the_admin_change_form_is_captured(admin_client, practice):
    location = factories.location()
    response = admin_client.post(
        f"/django-admin/core/location/{location.pk}/change/",
        {"practice": practice.pk, "name": "Admin renamed", "address_line1": location.address_line1,
         "city": location.city, "state": location.state, "zip_code": location.zip_code,
         "place_of_service": "11", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.filter(
        object_type="core.location", action=AuditAction.UPDATE
    ).first()
    assert event.changes["after"] == {"name": "Admin renamed"}


# --- Units of bulk work --------------------------------------------------------------------


def test_a_unit_is_one_event_with_file_counts_and_totals(users, tmp_path):
    """A CSV-like batch of locations: one event naming who, the file, counts and totals."""
    from medoffice.core.context import actor_for_user

    source = tmp_path / "locations.csv"
    source.write_bytes(b"name,city\nEast,Springfield\nWest,Springfield\n")
    practice = factories.practice()
    manager = users["manager"]
    before = AuditEvent.objects.count()
    with audit.unit(
        AuditAction.CREATE,
        actor=actor_for_user(manager),
        what="core.location_import",
        file=source,
        description="locations.csv imported",
    ) as batch:
        made = Location.objects.bulk_create(
            [Location(practice=practice, name=n, address_line1="1 Main", city="Springfield",
                      state="IL", zip_code="62701") for n in ("East", "West")]
        )  # fmt: skip
        made[0].phone = "217-555-0100"
        made[0].save()
        batch.counts["rows"] = 2
        batch.totals["amount"] = Decimal("12.50")
    assert AuditEvent.objects.count() == before + 1
    event = audit.unit_event(batch.key)
    assert event == AuditEvent.objects.first()
    assert (event.actor_id, event.object_type, event.object_id) == (
        manager.pk, "core.location_import", batch.key,
    )  # fmt: skip
    import hashlib

    assert event.changes["file"] == {
        "name": "locations.csv", "size": source.stat().st_size,
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
    }  # fmt: skip
    assert event.changes["counts"] == {"rows": 2}
    assert event.changes["totals"] == {"amount": "12.50"}
    assert event.changes["rows"] == {"core.location": {"created": 2, "updated": 1}}


def test_a_failed_unit_writes_nothing(practice):
    before = (Location.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValueError), audit.unit(AuditAction.CREATE, actor=Actor(None, "system")):
        factories.location()
        raise ValueError("row 2 is bad")
    assert (Location.objects.count(), AuditEvent.objects.count()) == before


def test_the_demo_load_is_one_unit(db):
    from medoffice.core import demo

    demo.load_demo(size="small", only=("foundation", "patients"))
    events = list(AuditEvent.objects.filter(action=AuditAction.CREATE))
    assert len(events) == 1
    rows = events[0].changes["rows"]
    from medoffice.patients.models import Patient

    assert rows["patients.patient"]["created"] == Patient.objects.count()
    assert events[0].actor_name == "demo-loader"


def test_bulk_create_outside_a_unit_is_one_event_with_the_ids(practice):
    before = AuditEvent.objects.count()
    made = Location.objects.bulk_create(
        [Location(practice=practice, name=f"L{n}", address_line1="1 Main", city="X",
                  state="IL", zip_code="62701") for n in range(3)]
    )  # fmt: skip
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.first()
    assert sorted(event.changes["ids"]) == sorted(m.pk for m in made)
    assert event.changes["after"][str(made[0].pk)]["name"] == "L0"
