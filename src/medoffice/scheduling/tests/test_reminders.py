"""Appointment reminders: delivered to a real SMTP server and a file / HTTP SMS gateway,
exactly once per (appointment, channel, offset), with bounded retries, and the patient's
confirm / cancel link."""

from __future__ import annotations

import email
import json
import re
import threading
import time
import zoneinfo
from datetime import timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from medoffice.core.models import AuditEvent, Practice
from medoffice.scheduling import reminders, sms, tasks
from medoffice.scheduling.models import (
    AppointmentConfirmation,
    AppointmentStatus,
    Reminder,
    ReminderChannel,
    ReminderStatus,
)
from medoffice.testing import reminders_factories as rf

SMTP_PORTS = range(8025, 8050)


class Inbox:
    """An aiosmtpd handler keeping what it accepted; it can refuse the next messages."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse_next = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_next:
                self.refuse_next -= 1
                return "451 4.3.0 Mailbox temporarily unavailable"
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


@pytest.fixture
def smtp():
    inbox = Inbox()
    last_error = None
    for port in SMTP_PORTS:
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        try:
            controller.start()
        except Exception as exc:  # port taken by another test run
            last_error = exc
            continue
        inbox.port = port
        try:
            yield inbox
        finally:
            controller.stop()
        return
    pytest.fail(f"no free SMTP test port in {SMTP_PORTS}: {last_error}")


@pytest.fixture
def reminder_settings(settings, smtp, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "reminders@practice.example.org"
    settings.MEDOFFICE_REMINDER_HOURS = [48, 2]
    settings.MEDOFFICE_REMINDER_MAX_ATTEMPTS = 3
    settings.MEDOFFICE_REMINDER_RETRY_MINUTES = 15
    settings.MEDOFFICE_BASE_URL = "https://office.example.org"
    settings.MEDOFFICE_SMS_BACKEND = "medoffice.scheduling.sms.FileSmsBackend"
    settings.MEDOFFICE_SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return settings


def sms_sent(settings) -> list[dict]:
    return sms.FileSmsBackend(path=settings.MEDOFFICE_SMS_FILE_PATH).messages()


def hours_ahead(hours: float):
    return timezone.now() + timedelta(hours=hours)


# --- Sending exactly once -------------------------------------------------------------------


@pytest.mark.django_db
def test_email_reminder_reaches_smtp_once_when_the_task_runs_twice(
    practice, reminder_settings, smtp
):
    appointment = rf.appointment(start=hours_ahead(24))
    address = appointment.patient.email

    first = tasks.send_due_reminders.call()
    second = tasks.send_due_reminders.call()

    assert len(smtp.to(address)) == 1
    assert first["sent"] == 2  # the email and the text message
    assert second == {"sent": 0, "failed": 0, "skipped": 0, "abandoned": 0}
    reminder = Reminder.objects.get(appointment=appointment, channel=ReminderChannel.EMAIL)
    assert (reminder.status, reminder.offset_hours, reminder.attempts) == (
        ReminderStatus.SENT,
        48,
        1,
    )
    assert reminder.sent_at is not None
    message = smtp.to(address)[0]
    assert message["X-Medoffice-Reminder"] == str(reminder.pk)
    assert message["From"] == "reminders@practice.example.org"
    assert "Appointment reminder" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "https://office.example.org/scheduling/r/" in body
    assert appointment.patient.last_name not in body  # first name only


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_reminder_once(
    practice, reminder_settings, smtp, monkeypatch
):
    appointments = [rf.appointment(start=hours_ahead(20 + i)) for i in range(4)]
    # Both workers compute the same list of due reminders before either claims one.
    barrier = threading.Barrier(2, timeout=20)
    original = reminders.due_reminders

    def due_then_wait(**kwargs):
        found = original(**kwargs)
        barrier.wait()
        return found

    monkeypatch.setattr(reminders, "due_reminders", due_then_wait)
    results, errors = [], []

    def worker():
        try:
            results.append(tasks.send_due_reminders.call())
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(r["sent"] for r in results) == 8  # 4 emails + 4 texts, between both workers
    assert sum(r["skipped"] for r in results) == 8  # each lost race is a skip, not a send
    for appointment in appointments:
        assert len(smtp.to(appointment.patient.email)) == 1
        texts = [m for m in sms_sent(reminder_settings) if m["to"] == appointment.patient.phone]
        assert len(texts) == 1
    assert len(smtp.messages) == 4
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 8


@pytest.mark.django_db
def test_sms_reminder_through_the_file_backend_once(practice, reminder_settings):
    appointment = rf.appointment(start=hours_ahead(1.5))
    tasks.send_due_reminders.call()
    tasks.send_due_reminders.call()

    texts = [m for m in sms_sent(reminder_settings) if m["to"] == appointment.patient.phone]
    assert len(texts) == 1
    assert "https://office.example.org/scheduling/r/" in texts[0]["body"]
    reminder = Reminder.objects.get(appointment=appointment, channel=ReminderChannel.SMS)
    assert (reminder.status, reminder.offset_hours, reminder.message_id) == (
        ReminderStatus.SENT, 2, texts[0]["id"],
    )  # fmt: skip


@pytest.mark.django_db
def test_no_reminders_for_cancelled_unreachable_or_unconsenting(practice, reminder_settings, smtp):
    start = hours_ahead(10)
    cancelled = rf.appointment(start=start, status=AppointmentStatus.CANCELLED)
    no_consent = rf.appointment(
        start=start,
        patient=rf.reachable_patient(contact_by_email=False, contact_by_sms=False),
    )
    no_contact = rf.appointment(start=start, patient=rf.reachable_patient(email="", phone=""))
    landline = rf.appointment(
        start=start, patient=rf.reachable_patient(phone_type="home", contact_by_email=False)
    )
    inactive = rf.appointment(start=start, patient=rf.reachable_patient(is_active=False))
    too_far = rf.appointment(start=hours_ahead(49))
    too_close = rf.appointment(start=timezone.now() + timedelta(minutes=10))
    past = rf.appointment(start=hours_ahead(-3))

    run = reminders.send_due_reminders()

    assert run.sent == 0
    assert smtp.messages == []
    assert sms_sent(reminder_settings) == []
    assert not Reminder.objects.exists()
    del cancelled, no_consent, no_contact, landline, inactive, too_far, too_close, past


@pytest.mark.django_db
def test_nothing_goes_out_while_the_scheduling_module_is_off(practice, reminder_settings, smtp):
    from medoffice.core.models import ModuleSwitch

    ModuleSwitch.objects.create(module="scheduling", enabled=False)
    rf.appointment(start=hours_ahead(10))
    assert reminders.send_due_reminders().sent == 0
    assert smtp.messages == []
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_sms_is_off_without_a_backend(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    appointment = rf.appointment(start=hours_ahead(10))
    reminders.send_due_reminders()
    assert list(Reminder.objects.values_list("channel", flat=True)) == [ReminderChannel.EMAIL]
    assert len(smtp.to(appointment.patient.email)) == 1


@pytest.mark.django_db
def test_each_offset_once_and_no_burst_for_late_bookings(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    now = timezone.now()
    early = rf.appointment(start=now + timedelta(hours=30))
    late = rf.appointment(start=now + timedelta(hours=1))

    reminders.send_due_reminders(now=now)
    assert set(Reminder.objects.values_list("appointment_id", "offset_hours")) == {
        (early.pk, 48), (late.pk, 2),  # the late booking gets the 2-hour one only
    }  # fmt: skip

    later = now + timedelta(hours=28, minutes=30)  # 1.5 hours before the early appointment
    reminders.send_due_reminders(now=later)
    reminders.send_due_reminders(now=later + timedelta(minutes=5))
    assert sorted(
        Reminder.objects.filter(appointment=early).values_list("offset_hours", flat=True)
    ) == [2, 48]
    assert len(smtp.to(early.patient.email)) == 2
    assert len(smtp.to(late.patient.email)) == 1


# --- Failures and retries ---------------------------------------------------------------------


@pytest.mark.django_db
def test_failures_are_recorded_and_retried_up_to_the_limit(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    smtp.refuse_next = 100
    now = timezone.now()
    appointment = rf.appointment(start=now + timedelta(hours=40))

    reminders.send_due_reminders(now=now)
    reminder = Reminder.objects.get(appointment=appointment)
    assert (reminder.status, reminder.attempts) == (ReminderStatus.FAILED, 1)
    assert "451" in reminder.last_error
    assert reminder.next_attempt_at == now + timedelta(minutes=15)

    reminders.send_due_reminders(now=now + timedelta(minutes=5))  # not due yet
    reminder.refresh_from_db()
    assert reminder.attempts == 1

    reminders.send_due_reminders(now=now + timedelta(minutes=15))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.FAILED, 2)
    assert reminder.next_attempt_at == now + timedelta(minutes=15 + 30)  # backs off

    reminders.send_due_reminders(now=now + timedelta(minutes=45))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.next_attempt_at) == (
        ReminderStatus.FAILED, 3, None,
    )  # fmt: skip

    run = reminders.send_due_reminders(now=now + timedelta(hours=10))
    reminder.refresh_from_db()
    assert reminder.attempts == 3
    assert run.sent == run.failed == 0
    assert smtp.messages == []
    assert smtp.refuse_next == 97  # the server saw exactly three attempts


@pytest.mark.django_db
def test_a_retry_delivers_once(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    smtp.refuse_next = 1
    now = timezone.now()
    appointment = rf.appointment(start=now + timedelta(hours=40))

    reminders.send_due_reminders(now=now)
    reminders.send_due_reminders(now=now + timedelta(minutes=15))
    reminders.send_due_reminders(now=now + timedelta(minutes=60))

    reminder = Reminder.objects.get(appointment=appointment)
    assert (reminder.status, reminder.attempts) == (ReminderStatus.SENT, 2)
    assert len(smtp.to(appointment.patient.email)) == 1


@pytest.mark.django_db
def test_no_retry_once_the_appointment_is_cancelled(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    smtp.refuse_next = 1
    now = timezone.now()
    appointment = rf.appointment(start=now + timedelta(hours=40))
    reminders.send_due_reminders(now=now)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save(update_fields=["status"])

    reminders.send_due_reminders(now=now + timedelta(minutes=20))
    assert Reminder.objects.get(appointment=appointment).attempts == 1
    assert smtp.messages == []


@pytest.mark.django_db
def test_a_claim_left_by_a_stopped_worker_is_never_resent(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    now = timezone.now()
    appointment = rf.appointment(start=now + timedelta(hours=40))
    Reminder.objects.create(
        appointment=appointment, channel=ReminderChannel.EMAIL, offset_hours=48,
        status=ReminderStatus.SENDING, recipient=appointment.patient.email, attempts=1,
        claimed_at=now - timedelta(hours=1),
    )  # fmt: skip

    run = reminders.send_due_reminders(now=now)
    reminders.send_due_reminders(now=now + timedelta(hours=5))

    reminder = Reminder.objects.get(appointment=appointment)
    assert run.abandoned == 1
    assert (reminder.status, reminder.next_attempt_at) == (ReminderStatus.FAILED, None)
    assert "outcome is unknown" in reminder.last_error
    assert smtp.messages == []


class Gateway(BaseHTTPRequestHandler):
    """A tiny SMS gateway: records JSON posts; answers with the status the test sets."""

    received: list = []
    status = 200

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.received.append(
            {"body": json.loads(self.rfile.read(length)), "auth": self.headers.get("Authorization")}
        )
        answer = json.dumps({"id": f"gw-{len(self.received)}"} if self.status < 300 else {})
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    handler = type("TestGateway", (Gateway,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_webhook_backend_posts_json_to_the_gateway(practice, reminder_settings, gateway, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = "medoffice.scheduling.sms.WebhookSmsBackend"
    reminder_settings.MEDOFFICE_SMS_WEBHOOK_URL = gateway.url
    reminder_settings.MEDOFFICE_SMS_WEBHOOK_TOKEN = "gateway-secret"
    reminder_settings.MEDOFFICE_SMS_FROM = "+12175550000"
    appointment = rf.appointment(start=hours_ahead(5))

    reminders.send_due_reminders()
    reminders.send_due_reminders()

    assert len(gateway.received) == 1
    posted = gateway.received[0]
    assert posted["auth"] == "Bearer gateway-secret"
    assert posted["body"]["to"] == appointment.patient.phone
    assert posted["body"]["from"] == "+12175550000"
    assert "/scheduling/r/" in posted["body"]["body"]
    reminder = Reminder.objects.get(appointment=appointment, channel=ReminderChannel.SMS)
    assert (reminder.status, reminder.message_id) == (ReminderStatus.SENT, "gw-1")


@pytest.mark.django_db
def test_webhook_refusal_is_recorded_as_a_failure(practice, reminder_settings, gateway, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = "medoffice.scheduling.sms.WebhookSmsBackend"
    reminder_settings.MEDOFFICE_SMS_WEBHOOK_URL = gateway.url
    gateway.status = 503
    appointment = rf.appointment(start=hours_ahead(5))

    run = reminders.send_due_reminders()

    reminder = Reminder.objects.get(appointment=appointment, channel=ReminderChannel.SMS)
    assert reminder.status == ReminderStatus.FAILED
    assert "HTTP 503" in reminder.last_error
    assert (run.sent, run.failed) == (1, 1)  # the email still went


def test_webhook_backend_refuses_other_schemes(settings):
    with pytest.raises(sms.SmsError):
        sms.WebhookSmsBackend(url="file:///etc/passwd")


# --- Message content ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_times_are_shown_in_the_practice_time_zone(practice, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    Practice.objects.filter(pk=practice.pk).update(time_zone="America/Los_Angeles")
    start = (timezone.now() + timedelta(hours=30)).replace(minute=15, second=0, microsecond=0)
    appointment = rf.appointment(start=start)
    reminders.send_due_reminders()

    local = start.astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    expected = f"{int(local.strftime('%I'))}:{local:%M} {local:%p}"  # e.g. "9:15 AM"
    body = smtp.to(appointment.patient.email)[0].get_body(("plain",)).get_content()
    assert expected in body


# --- The confirm / cancel link -----------------------------------------------------------------------


def _link_from(message) -> str:
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"https://office\.example\.org(/scheduling/r/[^/\s]+/)", body)
    assert found, body
    return found.group(1)


@pytest.mark.django_db
def test_the_link_in_the_email_confirms_idempotently(practice, reminder_settings, smtp):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # as a browser: the form's CSRF token is needed
    appointment = rf.appointment(start=hours_ahead(20))
    reminders.send_due_reminders()
    path = _link_from(smtp.to(appointment.patient.email)[0])

    page = client.get(path)
    assert page.status_code == 200
    assert b"Confirm, I will come" in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    assert client.post(path, {"answer": "confirm"}).status_code == 403  # no token, no change
    assert not AppointmentConfirmation.objects.exists()

    done = client.post(path, {"answer": "confirm", "csrfmiddlewaretoken": csrf})
    assert done.status_code == 200
    assert b"is confirmed" in done.content
    again = client.post(path, {"answer": "confirm", "csrfmiddlewaretoken": csrf})
    assert b"was already confirmed" in again.content

    confirmation = AppointmentConfirmation.objects.get(appointment=appointment)
    assert confirmation.reminder.appointment_id == appointment.pk
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    created = AuditEvent.objects.filter(
        object_type="scheduling.appointmentconfirmation", action="create"
    )
    assert created.count() == 1
    assert created.get().actor_name == "patient (reminder link)"
    assert created.get().patient_id == str(appointment.patient_id)
    assert AuditEvent.objects.filter(
        object_type="scheduling.appointment", object_id=str(appointment.pk), action="view"
    ).exists()


@pytest.fixture
def link_for(practice):
    def make(appointment):
        reminder = Reminder.objects.create(
            appointment=appointment, channel=ReminderChannel.EMAIL, offset_hours=48,
            status=ReminderStatus.SENT, recipient=appointment.patient.email, attempts=1,
            claimed_at=timezone.now(), sent_at=timezone.now(),
        )  # fmt: skip
        return reverse("scheduling:reminder_link", args=[reminders.link_token(reminder)])

    return make


@pytest.mark.django_db
def test_the_link_cancels_through_the_scheduling_service(client, link_for, users):
    appointment = rf.appointment(start=hours_ahead(20))
    path = link_for(appointment)

    done = client.post(path, {"answer": "cancel"})
    assert done.status_code == 200
    assert b"is cancelled" in done.content
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "cancelled by patient via reminder"
    assert appointment.cancelled_by is None
    event = AuditEvent.objects.filter(
        object_type="scheduling.appointment", object_id=str(appointment.pk), action="update"
    ).get()
    assert event.actor_name == "patient (reminder link)"
    from medoffice.core import audit

    assert audit.readable_changes(event, users["auditor"])["after"]["status"] == "cancelled"

    again = client.post(path, {"answer": "cancel"})
    assert b"already cancelled" in again.content
    confirm_after = client.post(path, {"answer": "confirm"})
    assert b"already cancelled" in confirm_after.content
    assert not AppointmentConfirmation.objects.exists()
    assert (
        AuditEvent.objects.filter(
            object_type="scheduling.appointment", object_id=str(appointment.pk), action="update"
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_a_tampered_link_changes_nothing(client, link_for):
    appointment = rf.appointment(start=hours_ahead(20))
    path = link_for(appointment)
    token = path.split("/")[-2]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    events = AuditEvent.objects.count()

    for attempt in ("confirm", "cancel"):
        response = client.post(
            reverse("scheduling:reminder_link", args=[forged]), {"answer": attempt}
        )
        assert response.status_code == 400
        assert b"not valid" in response.content
    assert client.get(reverse("scheduling:reminder_link", args=["nonsense"])).status_code == 400

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert not AppointmentConfirmation.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_an_expired_link_changes_nothing(client, practice, settings):
    settings.MEDOFFICE_REMINDER_LINK_HOURS = 72
    appointment = rf.appointment(start=hours_ahead(20))
    reminder = Reminder.objects.create(
        appointment=appointment, channel=ReminderChannel.EMAIL, offset_hours=48,
        status=ReminderStatus.SENT, recipient=appointment.patient.email, attempts=1,
        claimed_at=timezone.now(), sent_at=timezone.now(),
    )  # fmt: skip
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 73 * 3600):
        token = reminders.link_token(reminder)

    response = client.post(reverse("scheduling:reminder_link", args=[token]), {"answer": "cancel"})
    assert response.status_code == 400
    assert b"expired" in response.content
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


@pytest.mark.django_db
def test_a_link_to_a_moved_appointment_changes_nothing(client, link_for):
    appointment = rf.appointment(start=hours_ahead(20))
    path = link_for(appointment)
    appointment.start += timedelta(hours=2)
    appointment.end += timedelta(hours=2)
    appointment.save(update_fields=["start", "end"])

    response = client.post(path, {"answer": "cancel"})
    assert response.status_code == 400
    assert b"changed since the reminder" in response.content
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


@pytest.mark.django_db
def test_a_started_or_checked_in_appointment_cannot_be_changed(client, link_for):
    appointment = rf.appointment(start=hours_ahead(1))
    path = link_for(appointment)
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.save(update_fields=["status"])

    response = client.post(path, {"answer": "cancel"})
    assert b"can no longer be changed" in response.content
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CHECKED_IN


# --- Staff page ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reminders_page_permissions(client, client_for, reminder_settings, smtp):
    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    smtp.refuse_next = 1
    rf.appointment(start=hours_ahead(20))
    reminders.send_due_reminders()
    url = reverse("scheduling:reminders")

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert reverse("core:login") in anonymous["Location"]
    assert client_for("hr_payroll").get(url).status_code == 403
    page = client_for("front_desk").get(url + "?status=failed")
    assert page.status_code == 200
    assert b"Mailbox temporarily unavailable" in page.content


# --- Through the background worker ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_scheduled_reminder_job(practice, reminder_settings, smtp):
    from medoffice.core.jobs import WorkerOptions, run_worker

    reminder_settings.MEDOFFICE_SMS_BACKEND = ""
    assert (
        reminder_settings.MEDOFFICE_SCHEDULE["medoffice.scheduling.tasks.send_due_reminders"] <= 600
    )
    appointment = rf.appointment(start=hours_ahead(3))

    run_worker(WorkerOptions(batch=True))
    tasks.send_due_reminders.enqueue()  # an extra run, as a second worker would add
    run_worker(WorkerOptions(batch=True))

    assert len(smtp.to(appointment.patient.email)) == 1
    assert Reminder.objects.get(appointment=appointment).status == ReminderStatus.SENT
