"""Each provider's schedule as a private iCalendar (RFC 5545) feed.

The feed address carries a secret token; only its SHA-256 digest is stored, so the
address is shown once, when the token is made or rotated. Rotating replaces the token,
and the old address stops working at once.

The feed holds booked and checked-in appointments from `MEDOFFICE_ICAL_PAST_DAYS` (30)
days ago to `MEDOFFICE_ICAL_FUTURE_DAYS` (180) days ahead, with as little PHI as the
practice chooses: `MEDOFFICE_ICAL_PATIENT_DETAIL` is "initials" (default), "none" or
"full_name"; `MEDOFFICE_ICAL_SHOW_TYPE` (default True) adds the appointment type.
Each fetch writes ONE export event to the audit trail (not a view per appointment).
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import icalendar
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import has_perm
from medoffice.core.exceptions import InvalidInput, NotFound, NotPermitted
from medoffice.core.models import AuditAction, Provider, User
from medoffice.core.selectors import practice_or_none, practice_time_zone
from medoffice.scheduling.models import Appointment, AppointmentStatus, CalendarFeedToken
from medoffice.scheduling.permissions import SchedulingPerm

FEED_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
PATIENT_DETAIL_CHOICES = ("initials", "none", "full_name")
PRODID = "-//medoffice//Provider schedule//EN"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def patient_detail() -> str:
    detail = getattr(settings, "MEDOFFICE_ICAL_PATIENT_DETAIL", "initials")
    return detail if detail in PATIENT_DETAIL_CHOICES else "initials"


def feed_window(now: datetime) -> tuple[datetime, datetime]:
    past = int(getattr(settings, "MEDOFFICE_ICAL_PAST_DAYS", 30))
    future = int(getattr(settings, "MEDOFFICE_ICAL_FUTURE_DAYS", 180))
    return now - timedelta(days=past), now + timedelta(days=future)


# --- Tokens ----------------------------------------------------------------------------------


def can_manage_feed(user: User, provider: Provider) -> bool:
    """The provider themselves, or whoever manages scheduling."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return provider.user_id == user.pk or has_perm(user, SchedulingPerm.MANAGE_SCHEDULING)


def _require_manage(user: User, provider: Provider) -> None:
    if not can_manage_feed(user, provider):
        raise NotPermitted("Only the provider or a scheduling manager can change this feed.")


@transaction.atomic
def calendar_feed_rotate(*, provider: Provider, actor: User) -> str:
    """Make a new secret token for the provider's feed (the old one stops working); return it."""
    _require_manage(actor, provider)
    if not provider.is_active:
        raise InvalidInput("provider: this provider is inactive.", field="provider")
    raw = secrets.token_urlsafe(32)
    token = CalendarFeedToken.objects.select_for_update().filter(
        provider=provider
    ).first() or CalendarFeedToken(provider=provider)
    token.digest = _digest(raw)
    token.prefix = raw[:8]
    token.created_at = timezone.now()
    token.created_by = actor
    token.last_used_at = None
    token.save()
    audit.record(
        AuditAction.SECURITY,
        obj=token,
        changes={"calendar_feed": "token rotated", "provider": provider.pk, "prefix": token.prefix},
    )
    return raw


@transaction.atomic
def calendar_feed_revoke(*, provider: Provider, actor: User) -> None:
    """Switch the provider's feed off: the address stops working."""
    _require_manage(actor, provider)
    token = CalendarFeedToken.objects.filter(provider=provider).first()
    if token is None:
        raise NotFound("This provider has no calendar feed.")
    audit.record(
        AuditAction.SECURITY,
        obj=token,
        changes={"calendar_feed": "revoked", "provider": provider.pk, "prefix": token.prefix},
    )
    token.delete()


# --- Reads --------------------------------------------------------------------------------------


def feed_tokens_for(user: User) -> list[tuple[Provider, CalendarFeedToken | None]]:
    """The providers whose feed a user may manage, with their current token (if any)."""
    providers = Provider.objects.filter(is_active=True).select_related("calendar_feed")
    if not has_perm(user, SchedulingPerm.MANAGE_SCHEDULING):
        providers = providers.filter(user=user)
    return [(p, getattr(p, "calendar_feed", None)) for p in providers.order_by("last_name", "pk")]


def feed_appointments(
    provider: Provider, *, start: datetime, end: datetime
) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(
            provider=provider, status__in=FEED_STATUSES, start__gte=start, start__lt=end
        )
        .select_related("patient", "appointment_type", "location", "room")
        .only(
            "start",
            "end",
            "status",
            "updated_at",
            "created_at",
            "patient__first_name",
            "patient__last_name",
            "appointment_type__name",
            "location__name",
            "room__name",
        )
        .order_by("start", "pk")
    )


def _initials(first: str, last: str) -> str:
    return "".join(f"{part[:1].upper()}." for part in (first.strip(), last.strip()) if part)


def _summary(appointment: Appointment, detail: str, show_type: bool) -> str:
    patient = appointment.patient
    who = {
        "initials": _initials(patient.first_name, patient.last_name),
        "full_name": f"{patient.first_name} {patient.last_name}".strip(),
        "none": "",
    }[detail]
    kind = appointment.appointment_type.name if show_type else ""
    text = " - ".join(part for part in (who, kind) if part)
    return text or "Appointment"


def build_calendar(
    provider: Provider, appointments: Iterable[Appointment], *, now: datetime
) -> icalendar.Calendar:
    """The provider's appointments as a calendar, times in the practice's zone (with VTIMEZONE)."""
    tz = zoneinfo.ZoneInfo(practice_time_zone())
    practice = practice_or_none()
    uid_domain = f"{practice.group_npi}.medoffice" if practice else "medoffice"
    detail = patient_detail()
    show_type = bool(getattr(settings, "MEDOFFICE_ICAL_SHOW_TYPE", True))
    stamp = now.astimezone(zoneinfo.ZoneInfo("UTC"))

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Schedule of {provider}")
    calendar.add("x-wr-timezone", str(tz))
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    for appointment in appointments:
        event = icalendar.Event()
        event.add("uid", f"appointment-{appointment.pk}@{uid_domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", timezone.localtime(appointment.start, tz))
        event.add("dtend", timezone.localtime(appointment.end, tz))
        event.add("summary", _summary(appointment, detail, show_type))
        where = appointment.location.name
        if appointment.room is not None:
            where = f"{where}, {appointment.room.name}"
        event.add("location", where)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        event.add("class", "PRIVATE")
        if appointment.updated_at:
            event.add("last-modified", appointment.updated_at.astimezone(zoneinfo.ZoneInfo("UTC")))
        if appointment.status == AppointmentStatus.CHECKED_IN:
            event.add("description", "Checked in")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar


@dataclass(frozen=True)
class Feed:
    provider: Provider
    body: bytes
    events: int


@transaction.atomic
def calendar_feed_fetch(*, token: str, now: datetime | None = None) -> Feed:
    """The feed behind a secret token; NotFound for an unknown or revoked token. Audited once."""
    now = now or timezone.now()
    if not token or len(token) > 100:
        raise NotFound("No such calendar feed.")
    found = (
        CalendarFeedToken.objects.select_related("provider")
        .filter(digest=_digest(token), provider__is_active=True)
        .first()
    )
    if found is None:
        raise NotFound("No such calendar feed.")
    start, end = feed_window(now)
    appointments = list(feed_appointments(found.provider, start=start, end=end))
    body = build_calendar(found.provider, appointments, now=now).to_ical()
    CalendarFeedToken.objects.filter(pk=found.pk).update(last_used_at=now)
    audit.record(
        AuditAction.EXPORT,
        object_type="scheduling.appointment",
        object_repr=f"calendar feed of {found.provider}: {len(appointments)} appointments",
        changes={
            "feed": "ical",
            "provider": found.provider.pk,
            "token_prefix": found.prefix,
            "rows": len(appointments),
            "from": start.isoformat(),
            "to": end.isoformat(),
            "patient_detail": patient_detail(),
        },
    )
    return Feed(provider=found.provider, body=body, events=len(appointments))
