"""Every event names who acted: the page's user, the token's user, the CLI's --as user, a
job's enqueuing user plus the job, and the user a service was given."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from medoffice import cli
from medoffice.core import services
from medoffice.core.context import SYSTEM, acting_as
from medoffice.core.models import AuditAction, AuditEvent, Location, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(db, practice, users):
    from medoffice.testing import factories

    location = factories.location()
    provider = factories.provider(locations=[location])
    return {"location": location, "provider": provider}


def _location_form(location: Location, **changes: str) -> dict:
    values = {
        "name": location.name, "phone": "", "place_of_service": "11",
        "address_line1": location.address_line1, "address_line2": "", "city": location.city,
        "state": location.state, "zip_code": location.zip_code,
    }  # fmt: skip
    values.update(changes)
    return values


def test_a_page_write_names_the_signed_in_user(client_for, users, objects):
    location = objects["location"]
    response = client_for("manager").post(
        reverse("core:location_edit", args=[location.pk]), _location_form(location, name="Annex")
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="core.location")
    assert (event.actor_id, event.actor_name) == (users["manager"].pk, users["manager"].username)
    assert event.changes["after"] == {"name": "Annex"}


def test_an_api_write_names_the_tokens_user(client, users, objects):
    from django.test import Client

    _, raw = services.api_token_create(user=users["manager"], name="script")
    location = objects["location"]
    response = Client().patch(
        f"/api/locations/{location.pk}", {"name": "Annex"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="core.location")
    assert (event.actor_id, event.actor_name) == (users["manager"].pk, users["manager"].username)


def test_a_service_given_a_user_names_that_user_whatever_the_context(users, objects):
    """A service called from the system context (a job, a command) still names its actor."""
    location = objects["location"]
    with acting_as(SYSTEM):
        services.location_save(actor=users["manager"], location=location, name="Annex")
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="core.location")
    assert event.actor_id == users["manager"].pk


# --- The command line -----------------------------------------------------------------------


def _password(tmp_path) -> str:
    secret = tmp_path / "password"
    secret.write_text("plum-orchard-lantern-42\n")
    return str(secret)


def test_a_command_run_as_a_user_names_that_user(users, tmp_path):
    owner = users["owner"]
    args = ["createadmin", "--username", "eve", "--password-file", _password(tmp_path)]
    assert cli.main([*args, "--as", owner.username]) == 0
    eve = User.objects.get(username="eve")
    created = AuditEvent.objects.get(
        action=AuditAction.CREATE, object_type="core.user", object_id=str(eve.pk)
    )
    assert (created.actor_id, created.actor_name) == (owner.pk, owner.username)
    assert created.user_agent == "medoffice command line"


def test_a_command_that_writes_without_as_refuses_in_one_line(users, tmp_path, capsys):
    before = AuditEvent.objects.count()
    args = ["createadmin", "--username", "eve", "--password-file", _password(tmp_path)]
    assert cli.main(args) == 1
    line = capsys.readouterr().err.strip()
    assert line == (
        "medoffice: this command writes practice records (creating a user): "
        "name the user it acts for with --as USERNAME"
    )
    assert not User.objects.filter(username="eve").exists()
    assert AuditEvent.objects.count() == before


def test_any_other_command_is_refused_before_it_writes(users, objects):
    """`medoffice shell` and other Django commands run as CLI_UNNAMED without --as: every
    write path of an audited model refuses before the database is touched."""
    from medoffice.core.capture import ActorRequired
    from medoffice.core.context import CLI_UNNAMED
    from medoffice.testing import factories

    location = objects["location"]
    before = (Location.objects.count(), AuditEvent.objects.count())
    with acting_as(CLI_UNNAMED):
        attempts = [
            lambda: factories.location(name="Sneaky"),
            lambda: Location.objects.filter(pk=location.pk).update(name="Sneaky"),
            lambda: Location.objects.bulk_create([Location(practice=location.practice, name="B")]),
            location.delete,
            lambda: objects["provider"].locations.clear(),
        ]
        for attempt in attempts:
            with pytest.raises(ActorRequired, match="--as USERNAME"), transaction.atomic():
                attempt()
        assert Location.objects.filter(name="Sneaky").count() == 0  # reads still work
    assert (Location.objects.count(), AuditEvent.objects.count()) == before
    assert objects["provider"].locations.count() == 1


def test_an_unknown_as_user_is_one_line(capsys, practice, tmp_path):
    args = ["createadmin", "--username", "x", "--password-file", _password(tmp_path)]
    assert cli.main([*args, "--as", "nobody"]) == 1
    assert capsys.readouterr().err.strip() == (
        "medoffice: --as nobody: there is no active user of that name"
    )


def test_the_first_account_of_a_new_installation_needs_no_as(db, tmp_path):
    assert not User.objects.exists()
    args = ["createadmin", "--username", "first", "--password-file", _password(tmp_path)]
    assert cli.main(args) == 0
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="core.user")
    assert (event.actor_id, event.actor_name) == (None, "system")


# --- Background jobs ------------------------------------------------------------------------


@pytest.fixture
def sms_only(settings, tmp_path):
    settings.MEDOFFICE_REMINDER_HOURS = [2]
    settings.MEDOFFICE_REMINDER_CHANNELS = ["sms"]
    settings.MEDOFFICE_BASE_URL = "https://office.example.org"
    settings.MEDOFFICE_SMS_BACKEND = "medoffice.scheduling.sms.FileSmsBackend"
    settings.MEDOFFICE_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return settings


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_names_its_enqueuing_user_and_the_job(users, sms_only):
    from datetime import timedelta

    from django.utils import timezone

    from medoffice.core.jobs import WorkerOptions, enqueue_as, run_worker
    from medoffice.scheduling.tasks import send_due_reminders
    from medoffice.testing import reminders_factories as rf

    appointment = rf.appointment(start=timezone.now() + timedelta(hours=1.5))
    manager = users["manager"]
    enqueue_as(send_due_reminders, actor=manager)
    run_worker(WorkerOptions(batch=True, schedule=False, handle_signals=False))

    events = AuditEvent.objects.filter(object_type="scheduling.reminder")
    assert events.exists()
    job = "scheduling.tasks.send_due_reminders"
    assert {(e.actor_id, e.actor_name) for e in events} == {
        (manager.pk, f"{manager.username} via job {job}")
    }
    assert all(e.patient_id == str(appointment.patient_id) for e in events)


def test_a_job_nobody_enqueued_acts_as_the_system_via_the_job(users, sms_only):
    from datetime import timedelta

    from django.utils import timezone

    from medoffice.scheduling.tasks import send_due_reminders
    from medoffice.testing import reminders_factories as rf

    rf.appointment(start=timezone.now() + timedelta(hours=1.5))
    send_due_reminders.call()
    names = set(
        AuditEvent.objects.filter(object_type="scheduling.reminder").values_list(
            "actor_name", flat=True
        )
    )
    assert names == {"system via job scheduling.tasks.send_due_reminders"}
