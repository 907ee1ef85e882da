"""Appointment reminders by email and text message, and the patient's answer to them.

Rules:

- Reminders go out `MEDOFFICE_REMINDER_HOURS` before the visit (default 48 and 2 hours).
  The offsets split the time before a visit into windows: an appointment starting within
  (next smaller offset, offset] hours gets that offset's reminder. An appointment booked
  late gets only the reminder of the window it is in, never a burst of several at once.
- Only booked appointments of active patients, by a channel the patient agreed to
  (`contact_by_email` with an email address; `contact_by_sms` with a mobile number, and
  only while an SMS backend is configured), and not within
  `MEDOFFICE_REMINDER_MIN_LEAD_MINUTES` of the start.
- Never twice: one `Reminder` row per (appointment, channel, offset), unique in the
  database, written in its own transaction (the claim) before the message is sent. A
  worker that loses the race gets an IntegrityError and moves on.
- A failed send is recorded with its error and retried after
  `MEDOFFICE_REMINDER_RETRY_MINUTES` x attempts, up to `MEDOFFICE_REMINDER_MAX_ATTEMPTS`
  attempts in all. A claim left "sending" (worker stopped mid-send) is marked failed and
  NOT retried, because the message may have gone out.
- Each reminder carries a signed, expiring link to a public page where the patient
  confirms or cancels; both answers are idempotent and audited.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zoneinfo
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.exceptions import MedofficeError
from medoffice.core.selectors import practice_or_none, practice_time_zone
from medoffice.scheduling import sms
from medoffice.scheduling.models import (
    REMINDER_TRANSITIONS,
    Appointment,
    AppointmentConfirmation,
    AppointmentStatus,
    Reminder,
    ReminderChannel,
    ReminderStatus,
)

logger = logging.getLogger(__name__)

PATIENT_CANCEL_REASON = "cancelled by patient via reminder"
LINK_SALT = "medoffice.scheduling.reminder-link"
STALE_CLAIM_MINUTES = 30
MOBILE = "mobile"


# --- Settings ------------------------------------------------------------------------------


def reminder_hours() -> list[int]:
    """The offsets in hours before a visit, smallest first."""
    hours = getattr(settings, "MEDOFFICE_REMINDER_HOURS", (48, 2))
    return sorted({int(h) for h in hours if int(h) > 0})


def reminder_channels() -> list[str]:
    wanted = getattr(settings, "MEDOFFICE_REMINDER_CHANNELS", ReminderChannel.values)
    channels = [c for c in ReminderChannel.values if c in wanted]
    if not sms.sms_enabled():
        channels = [c for c in channels if c != ReminderChannel.SMS]
    return channels


def max_attempts() -> int:
    return max(1, int(getattr(settings, "MEDOFFICE_REMINDER_MAX_ATTEMPTS", 3)))


def retry_minutes() -> int:
    return max(0, int(getattr(settings, "MEDOFFICE_REMINDER_RETRY_MINUTES", 15)))


def min_lead() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "MEDOFFICE_REMINDER_MIN_LEAD_MINUTES", 30)))


def link_max_age() -> timedelta:
    """How long a reminder's link works (default: the largest offset plus a day)."""
    hours = getattr(settings, "MEDOFFICE_REMINDER_LINK_HOURS", None)
    if hours is None:
        hours = max(reminder_hours(), default=48) + 24
    return timedelta(hours=int(hours))


def base_url() -> str:
    """Where patients reach this deployment, for the links in reminders."""
    url = getattr(settings, "MEDOFFICE_BASE_URL", None) or os.environ.get(
        "MEDOFFICE_BASE_URL", "http://localhost:8000"
    )
    return url.rstrip("/")


# --- Selectors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueReminder:
    appointment_id: int
    channel: str
    offset_hours: int
    recipient: str


def _reachable(appointments: QuerySet, channel: str) -> QuerySet:
    if channel == ReminderChannel.EMAIL:
        return appointments.filter(patient__contact_by_email=True).exclude(patient__email="")
    return appointments.filter(patient__contact_by_sms=True, patient__phone_type=MOBILE).exclude(
        patient__phone=""
    )


_RECIPIENT_FIELD: dict[str, str] = {
    ReminderChannel.EMAIL: "patient__email",
    ReminderChannel.SMS: "patient__phone",
}


def due_reminders(*, now: datetime, limit: int = 500) -> list[DueReminder]:
    """Reminders that should go out now and have no row yet (a few queries, no loops over rows)."""
    found: list[DueReminder] = []
    earliest = now + min_lead()
    lower = 0
    for offset in reminder_hours():
        window = Appointment.objects.filter(
            status=AppointmentStatus.BOOKED,
            start__gt=max(earliest, now + timedelta(hours=lower)),
            start__lte=now + timedelta(hours=offset),
            patient__is_active=True,
        )
        for channel in reminder_channels():
            already = Reminder.objects.filter(
                appointment=OuterRef("pk"), channel=channel, offset_hours=offset
            )
            rows = (
                _reachable(window, channel)
                .exclude(Exists(already))
                .order_by("start", "pk")
                .values_list("pk", _RECIPIENT_FIELD[channel])[: max(0, limit - len(found))]
            )
            found.extend(DueReminder(pk, channel, offset, to) for pk, to in rows)
        lower = offset
    return found


def reminders_to_retry(*, now: datetime, limit: int = 200) -> list[int]:
    """Failed reminders whose next attempt is due, while the appointment is still ahead."""
    return list(
        Reminder.objects.filter(
            status=ReminderStatus.FAILED,
            attempts__lt=max_attempts(),
            next_attempt_at__isnull=False,
            next_attempt_at__lte=now,
            appointment__status=AppointmentStatus.BOOKED,
            appointment__start__gt=now + min_lead(),
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def reminders_recent(*, since: datetime, status: str = "") -> QuerySet[Reminder]:
    """Reminders of appointments from `since` on, newest attempt first (for the staff page)."""
    reminders = Reminder.objects.filter(appointment__start__gte=since).select_related(
        "appointment__patient", "appointment__provider", "appointment__location"
    )
    if status:
        reminders = reminders.filter(status=status)
    return reminders.order_by("-claimed_at", "-pk")


# --- Sending ---------------------------------------------------------------------------------


@dataclass
class ReminderRun:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # taken by another worker meanwhile, or no longer due
    abandoned: int = 0  # claims left "sending" by a stopped worker

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def send_due_reminders(*, now: datetime | None = None, limit: int = 500) -> ReminderRun:
    """Send every reminder due now and retry failed ones; safe to run on several workers at once."""
    from medoffice.core.modules import is_enabled

    if not is_enabled("scheduling"):  # the practice switched the module off: nothing goes out
        return ReminderRun()
    now = now or timezone.now()
    run = ReminderRun(abandoned=_abandon_stale_claims(now=now))
    outbox = _Outbox()
    try:
        for item in due_reminders(now=now, limit=limit):
            reminder = _claim_new(item, now=now)
            if reminder is None:
                run.skipped += 1
            elif _deliver(reminder, outbox=outbox, now=now):
                run.sent += 1
            else:
                run.failed += 1
        for reminder_id in reminders_to_retry(now=now):
            reminder = _claim_retry(reminder_id, now=now)
            if reminder is None:
                run.skipped += 1
            elif _deliver(reminder, outbox=outbox, now=now):
                run.sent += 1
            else:
                run.failed += 1
    finally:
        outbox.close()
    return run


def _check_transition(reminder: Reminder, new_status: str) -> None:
    if new_status not in REMINDER_TRANSITIONS[reminder.status]:
        from medoffice.core.exceptions import InvalidTransition

        raise InvalidTransition(f"A {reminder.status} reminder cannot become {new_status}.")


def _claim_new(item: DueReminder, *, now: datetime) -> Reminder | None:
    """Write the reminder row (status sending) and commit it before anything is sent."""
    try:
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_for_update(of=("self",))
                .select_related("patient")
                .filter(pk=item.appointment_id, status=AppointmentStatus.BOOKED)
                .first()
            )
            if appointment is None:
                return None
            return Reminder.objects.create(
                appointment=appointment,
                channel=item.channel,
                offset_hours=item.offset_hours,
                status=ReminderStatus.SENDING,
                recipient=item.recipient,
                attempts=1,
                claimed_at=now,
            )
    except IntegrityError:  # another worker claimed it first
        return None


def _claim_retry(reminder_id: int, *, now: datetime) -> Reminder | None:
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("appointment__patient")
            .filter(pk=reminder_id)
            .first()
        )
        if (
            reminder is None
            or reminder.status != ReminderStatus.FAILED
            or reminder.attempts >= max_attempts()
            or reminder.next_attempt_at is None
            or reminder.next_attempt_at > now
            or reminder.appointment.status != AppointmentStatus.BOOKED
        ):
            return None
        patient = reminder.appointment.patient
        recipient = patient.email if reminder.channel == ReminderChannel.EMAIL else patient.phone
        agreed = (
            patient.contact_by_email
            if reminder.channel == ReminderChannel.EMAIL
            else patient.contact_by_sms
        )
        if not recipient or not agreed:
            return None
        _check_transition(reminder, ReminderStatus.SENDING)
        reminder.status = ReminderStatus.SENDING
        reminder.attempts += 1
        reminder.claimed_at = now
        reminder.recipient = recipient
        reminder.next_attempt_at = None
        reminder.save(
            update_fields=["status", "attempts", "claimed_at", "recipient", "next_attempt_at"]
        )
        return reminder


def _abandon_stale_claims(*, now: datetime) -> int:
    """Claims a stopped worker left behind: the message may have gone out, so never retry them."""
    stale = list(
        Reminder.objects.filter(
            status=ReminderStatus.SENDING,
            claimed_at__lt=now - timedelta(minutes=STALE_CLAIM_MINUTES),
        ).values_list("pk", flat=True)[:200]
    )
    abandoned = 0
    for reminder_id in stale:
        with transaction.atomic():
            reminder = (
                Reminder.objects.select_for_update(of=("self",))
                .select_related("appointment")
                .filter(pk=reminder_id, status=ReminderStatus.SENDING)
                .first()
            )
            if reminder is None:
                continue
            reminder.status = ReminderStatus.FAILED
            reminder.next_attempt_at = None
            reminder.last_error = (
                "The worker stopped while sending; the outcome is unknown, so it is not "
                "retried (the patient must not be reminded twice)."
            )
            reminder.save(update_fields=["status", "next_attempt_at", "last_error"])
            abandoned += 1
    return abandoned


class _Outbox:
    """One SMTP connection and one SMS backend for a whole run, opened when first needed."""

    def __init__(self) -> None:
        self._mail: BaseEmailBackend | None = None
        self._sms: sms.BaseSmsBackend | None = None
        self.practice = practice_or_none()
        self.tz = zoneinfo.ZoneInfo(practice_time_zone())

    def mail(self) -> BaseEmailBackend:
        if self._mail is None:
            # A bounded wait: a hung mail server must not hold a claim past STALE_CLAIM_MINUTES.
            timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 30
            self._mail = get_connection(fail_silently=False, timeout=timeout)
        return self._mail

    def drop_mail(self) -> None:
        if self._mail is not None:
            with contextlib.suppress(Exception):  # a broken connection is discarded anyway
                self._mail.close()
            self._mail = None

    def sms(self) -> sms.BaseSmsBackend:
        if self._sms is None:
            self._sms = sms.get_sms_backend()
            if self._sms is None:
                raise sms.SmsError("Text messages are switched off (MEDOFFICE_SMS_BACKEND).")
        return self._sms

    def close(self) -> None:
        self.drop_mail()


def _message_context(reminder: Reminder, outbox: _Outbox) -> dict:
    appointment = (
        Appointment.objects.select_related("patient", "provider", "location")
        .only(
            "start",
            "end",
            "status",
            "patient__first_name",
            "patient__preferred_name",
            "provider__first_name",
            "provider__last_name",
            "provider__credentials",
            "location__name",
            "location__address_line1",
            "location__address_line2",
            "location__city",
            "location__state",
            "location__zip_code",
            "location__phone",
        )
        .get(pk=reminder.appointment_id)
    )
    practice, tz = outbox.practice, outbox.tz
    patient = appointment.patient
    return {
        "first_name": patient.preferred_name or patient.first_name,
        "start": timezone.localtime(appointment.start, tz),
        "provider": appointment.provider,
        "location": appointment.location,
        "practice_name": practice.legal_name if practice else "",
        "practice_phone": (appointment.location.phone or (practice.phone if practice else "")),
        "link": base_url() + reverse("scheduling:reminder_link", args=[link_token(reminder)]),
    }


def _send(reminder: Reminder, outbox: _Outbox) -> str:
    context = _message_context(reminder, outbox)
    with timezone.override(context["start"].tzinfo):
        return _send_rendered(reminder, outbox, context)


def _send_rendered(reminder: Reminder, outbox: _Outbox, context: dict) -> str:
    if reminder.channel == ReminderChannel.SMS:
        body = render_to_string("scheduling/reminders/sms.txt", context).strip()
        return outbox.sms().send(to=reminder.recipient, body=body)
    subject = " ".join(render_to_string("scheduling/reminders/email_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("scheduling/reminders/email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[reminder.recipient],
        connection=outbox.mail(),
        headers={"X-Medoffice-Reminder": str(reminder.pk)},
    )
    message.attach_alternative(
        render_to_string("scheduling/reminders/email.html", context), "text/html"
    )
    try:
        message.send(fail_silently=False)
    except Exception:
        outbox.drop_mail()  # the conversation may be broken; the next message reconnects
        raise
    return ""


def _deliver(reminder: Reminder, *, outbox: _Outbox, now: datetime) -> bool:
    """Send one claimed reminder and record the outcome; transport errors never escape."""
    error = ""
    message_id = ""
    try:
        message_id = _send(reminder, outbox)
    except Exception as exc:
        logger.warning("reminder %s by %s failed: %s", reminder.pk, reminder.channel, exc)
        error = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        if error:
            _check_transition(reminder, ReminderStatus.FAILED)
            reminder.status = ReminderStatus.FAILED
            reminder.last_error = error
            reminder.next_attempt_at = (
                now + timedelta(minutes=retry_minutes() * reminder.attempts)
                if reminder.attempts < max_attempts()
                else None
            )
        else:
            _check_transition(reminder, ReminderStatus.SENT)
            reminder.status = ReminderStatus.SENT
            reminder.sent_at = timezone.now()
            reminder.message_id = (message_id or "")[:200]
            reminder.next_attempt_at = None
        reminder.save(
            update_fields=["status", "last_error", "next_attempt_at", "sent_at", "message_id"]
        )
    return not error


# --- The link in the reminder ------------------------------------------------------------------


class InvalidReminderLink(MedofficeError):
    code = "invalid_link"
    status = 400
    message = "This link is not valid. Please call the office."


def link_token(reminder: Reminder) -> str:
    """A signed token naming the reminder and the appointment time it announced."""
    appointment = reminder.appointment
    payload = {"r": reminder.pk, "a": appointment.pk, "s": int(appointment.start.timestamp())}
    return signing.dumps(payload, salt=LINK_SALT, compress=True)


@dataclass(frozen=True)
class ReminderLink:
    appointment: Appointment
    reminder_id: int | None

    @property
    def confirmed(self) -> bool:
        return AppointmentConfirmation.objects.filter(appointment=self.appointment).exists()


def _read_token(token: str) -> dict:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=link_max_age())
    except signing.SignatureExpired as exc:
        raise InvalidReminderLink(
            "This link has expired. Please call the office to confirm or cancel.",
            code="link_expired",
        ) from exc
    except signing.BadSignature as exc:
        raise InvalidReminderLink() from exc
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise InvalidReminderLink()
    return data


def _appointment_for(data: dict, *, lock: bool = False) -> Appointment:
    appointments = Appointment.objects.select_related("provider", "location")
    if lock:
        appointments = appointments.select_for_update(of=("self",))
    appointment = appointments.filter(pk=data["a"]).first()
    if appointment is None or int(appointment.start.timestamp()) != data.get("s"):
        raise InvalidReminderLink(
            "This appointment has changed since the reminder was sent. "
            "Please call the office if you have questions.",
            code="link_stale",
        )
    return appointment


def reminder_link_open(*, token: str) -> ReminderLink:
    """The appointment a reminder link is about; the disclosure is recorded as a view."""
    data = _read_token(token)
    appointment = _appointment_for(data)
    audit.record_view(appointment, reason="opened from the link in an appointment reminder")
    return ReminderLink(appointment=appointment, reminder_id=data.get("r"))


class Answer:
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    TOO_LATE = "too_late"  # started, checked in, completed or no-show: nothing to change


@dataclass(frozen=True)
class ReminderAnswer:
    appointment: Appointment
    outcome: str


def _closed(appointment: Appointment, now: datetime) -> str | None:
    if appointment.status == AppointmentStatus.CANCELLED:
        return Answer.ALREADY_CANCELLED
    if appointment.status != AppointmentStatus.BOOKED or appointment.start <= now:
        return Answer.TOO_LATE
    return None


@transaction.atomic
def reminder_confirm(*, token: str) -> ReminderAnswer:
    """The patient will come. Confirming again changes nothing."""
    data = _read_token(token)
    appointment = _appointment_for(data, lock=True)
    closed = _closed(appointment, timezone.now())
    if closed:
        return ReminderAnswer(appointment, closed)
    reminder_id = data.get("r")
    if reminder_id is not None and not Reminder.objects.filter(pk=reminder_id).exists():
        reminder_id = None
    _, created = AppointmentConfirmation.objects.get_or_create(
        appointment=appointment,
        defaults={"reminder_id": reminder_id, "confirmed_at": timezone.now()},
    )
    return ReminderAnswer(appointment, Answer.CONFIRMED if created else Answer.ALREADY_CONFIRMED)


@transaction.atomic
def reminder_cancel(*, token: str) -> ReminderAnswer:
    """The patient will not come: cancel through the scheduling service. Idempotent."""
    from medoffice.scheduling.services import appointment_cancel

    data = _read_token(token)
    appointment = _appointment_for(data, lock=True)
    closed = _closed(appointment, timezone.now())
    if closed:
        return ReminderAnswer(appointment, closed)
    cancelled = appointment_cancel(
        appointment=appointment, reason=PATIENT_CANCEL_REASON, cancelled_by=None
    )
    return ReminderAnswer(cancelled or appointment, Answer.CANCELLED)
