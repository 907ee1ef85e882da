"""The flow board on a wall screen: a secret link per location, read-only, no sign-in.

A manager makes a named link for one location ("Back office screen"); the address carries a
random 256-bit token, and only its SHA-256 digest is stored, so the address is shown once,
when it is made. The link is found by the digest (an indexed equality on a hash the
visitor cannot steer, so the comparison leaks nothing useful about the token's value); an
unknown or revoked token is a plain 404.

The screen shows today's patients at that location who are in the office (arrived, roomed,
with the provider) by their initials only, with their stage, room, minutes in the stage and
the provider's short name, and counts of those still to come and those gone. Nothing else:
no names, dates of birth, record numbers, money, links or forms.

Audit: making and revoking a link are SECURITY events naming the actor. The screen reloads
itself every 30 seconds, so its use is recorded at most once per link per hour
(`USE_AUDIT_EVERY`): one VIEW event naming the patients it showed at that moment. The
"at most once" is decided by the database, with one conditional UPDATE of `last_used_at`
that only one request per hour can win.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import require_perm
from medoffice.core.context import acting_as, binds_actor, current_actor
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.models import AuditAction, Location, User
from medoffice.reception import selectors
from medoffice.reception.models import Stage, WallDisplayLink
from medoffice.reception.permissions import ReceptionPerm

USE_AUDIT_EVERY = timedelta(hours=1)
REFRESH_SECONDS = 30  # MEDOFFICE_WALL_REFRESH_SECONDS overrides it
SHOWN_STAGES = (Stage.ARRIVED, Stage.ROOMED, Stage.WITH_PROVIDER)
NAME_MAX = 80


def refresh_seconds() -> int:
    """How often the screen reloads itself (between 1 second and 10 minutes)."""
    value = int(getattr(settings, "MEDOFFICE_WALL_REFRESH_SECONDS", REFRESH_SECONDS))
    return min(max(value, 1), 600)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def initials(first: str, last: str) -> str:
    """ "Maria", "Lopez" -> "M. L." (the first letter of each name, nothing more)."""
    return " ".join(f"{part[:1].upper()}." for part in (first.strip(), last.strip()) if part)


# --- Links ---------------------------------------------------------------------------------


@binds_actor("actor")
@transaction.atomic
def wall_link_create(
    *, location: Location | None, name: str, actor: User
) -> tuple[WallDisplayLink, str]:
    """Make a wall-display link for a location; return it and its secret token (shown once)."""
    require_perm(actor, ReceptionPerm.MANAGE_WALL_DISPLAYS)
    name = (name or "").strip()
    problems = {}
    if not name:
        problems["name"] = "Give the screen a name, e.g. Back office screen."
    elif len(name) > NAME_MAX:
        problems["name"] = f"The name can be at most {NAME_MAX} characters."
    if location is None or not location.is_active:
        problems["location"] = "Choose an active location."
    if problems or location is None:
        raise InvalidInput(
            "Wall display not made: " + " ".join(problems.values()),
            errors={field: [text] for field, text in problems.items()},
        )
    raw = secrets.token_urlsafe(32)
    link = WallDisplayLink.objects.create(
        location=location,
        name=name,
        digest=_digest(raw),
        prefix=raw[:8],
        created_at=timezone.now(),
        created_by=actor,
    )
    audit.record(
        AuditAction.SECURITY,
        obj=link,
        changes={"wall_display": "link made", "location": location.pk, "name": name,
                 "prefix": link.prefix},
    )  # fmt: skip
    return link, raw


@binds_actor("actor")
@transaction.atomic
def wall_link_revoke(*, link_id: int, actor: User) -> WallDisplayLink:
    """Switch a wall-display link off: its address answers 404 from now on."""
    require_perm(actor, ReceptionPerm.MANAGE_WALL_DISPLAYS)
    link = WallDisplayLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise NotFound("No such wall-display link.")
    if link.revoked_at is not None:
        return link
    link.revoked_at = timezone.now()
    link.revoked_by = actor
    link.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        AuditAction.SECURITY,
        obj=link,
        changes={"wall_display": "revoked", "location": link.location_id, "prefix": link.prefix},
    )
    return link


def wall_links() -> QuerySet[WallDisplayLink]:
    return WallDisplayLink.objects.select_related("location", "created_by", "revoked_by")


# --- The screen ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WallRow:
    initials: str
    stage: str
    stage_label: str
    room: str
    minutes_in_stage: int | None
    provider: str


@dataclass(frozen=True)
class WallBoard:
    link_name: str
    location_name: str
    now: datetime
    columns: list[tuple[str, list[WallRow]]]  # (stage label, rows) for the stages shown
    to_come: int
    checked_out: int


def _active_link(token: str) -> WallDisplayLink:
    if not token or len(token) > 100:
        raise NotFound("No such wall display.")
    link = (
        WallDisplayLink.objects.select_related("location")
        .filter(digest=_digest(token), revoked_at__isnull=True, location__is_active=True)
        .first()
    )
    if link is None:
        raise NotFound("No such wall display.")
    return link


def _record_use(link: WallDisplayLink, patient_ids: list[int], now: datetime) -> bool:
    """Record the link's use when an hour has passed since the last record; True if recorded.

    One conditional UPDATE decides: of concurrent refreshes only one changes the row."""
    won = (
        WallDisplayLink.objects.filter(pk=link.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - USE_AUDIT_EVERY))
        .update(last_used_at=now)
    )
    if not won:
        return False
    actor = replace(current_actor(), user_id=None, username=f"wall display {link.prefix}")
    with acting_as(actor):
        audit.record_list(
            "reception.walldisplay",
            patient_ids=patient_ids,
            description=f"wall display {link.name} at {link.location.name} (initials)",
            filters={"link": link.pk, "location": link.location_id, "date": now.date()},
        )
    return True


@transaction.atomic
def wall_board(*, token: str, now: datetime | None = None) -> WallBoard:
    """Today's board at the link's location, initials only; NotFound for a bad token."""
    now = now or timezone.now()
    link = _active_link(token)
    board = selectors.flow_board(day=selectors.local_today(now), location=link.location, now=now)
    columns: list[tuple[str, list[WallRow]]] = []
    shown: list[int] = []
    for column in board.columns:
        if column.stage not in SHOWN_STAGES:
            continue
        rows = []
        for row in column.rows:
            patient = row.appointment.patient
            visit = row.visit
            rows.append(
                WallRow(
                    initials=initials(patient.first_name, patient.last_name),
                    stage=row.stage,
                    stage_label=row.stage_label,
                    room=visit.room.name if visit is not None and visit.room is not None else "",
                    minutes_in_stage=row.minutes_in_stage,
                    provider=row.appointment.provider.short_name,
                )
            )
            shown.append(row.appointment.patient_id)
        columns.append((column.label, rows))
    counts = {column.stage: len(column.rows) for column in board.columns}
    _record_use(link, shown, now)
    return WallBoard(
        link_name=link.name,
        location_name=link.location.name,
        now=now,
        columns=columns,
        to_come=counts.get(Stage.SCHEDULED, 0),
        checked_out=counts.get(Stage.CHECKED_OUT, 0),
    )
