"""The practice's scheduling setup: rooms, appointment types, weekly templates and their
blocks, closures, and the scheduling settings.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from django.db import transaction
from django.db.models import Model, Q

from medoffice.core import formats
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import Location, Provider, User
from medoffice.core.services import full_clean_or_raise
from medoffice.scheduling.models import (
    CELL_MINUTES,
    AppointmentType,
    BlockKind,
    Closure,
    ClosureScope,
    Room,
    ScheduleTemplate,
    SchedulingSettings,
    TemplateBlock,
)
from medoffice.scheduling.permissions import SchedulingPerm
from medoffice.scheduling.services._common import _require


def _apply(instance: Model, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
@binds_actor("actor")
def room_save(*, actor: User | None, room: Room | None = None, **fields: Any) -> Room:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    room = room or Room()
    _apply(room, fields)
    full_clean_or_raise(room)
    room.save()
    return room


@transaction.atomic
@binds_actor("actor")
def appointment_type_save(
    *,
    actor: User | None,
    appointment_type: AppointmentType | None = None,
    providers: list[Provider] | None = None,
    rooms: list[Room] | None = None,
    **fields: Any,
) -> AppointmentType:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    kind = appointment_type or AppointmentType()
    _apply(kind, fields)
    full_clean_or_raise(kind)
    if kind.duration_minutes % CELL_MINUTES:
        raise InvalidInput(
            f"The length must be a multiple of {CELL_MINUTES} minutes.", field="duration_minutes"
        )
    kind.save()
    if providers is not None:
        kind.providers.set(providers)
    if rooms is not None:
        kind.rooms.set(rooms)
    return kind


@transaction.atomic
@binds_actor("actor")
def template_save(
    *, actor: User | None, template: ScheduleTemplate | None = None, **fields: Any
) -> ScheduleTemplate:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    template = template or ScheduleTemplate()
    _apply(template, fields)
    if template.valid_to and template.valid_from and template.valid_to < template.valid_from:
        raise InvalidInput("The last day must be on or after the first.", field="valid_to")
    full_clean_or_raise(template)
    template.save()
    return template


def _block_minutes(value: time) -> int:
    return value.hour * 60 + value.minute


@transaction.atomic
@binds_actor("actor")
def template_block_add(
    *,
    actor: User | None,
    template: ScheduleTemplate,
    weekday: int,
    start_time: time,
    end_time: time,
    kind: str = BlockKind.WORK,
    appointment_types: list[AppointmentType] | None = None,
    note: str = "",
) -> TemplateBlock:
    """Add working hours, lunch or blocked time to a weekday of a template.

    Working blocks of one template may not overlap each other, nor the provider's working
    hours at another location on the same weekday while both templates are valid.
    """
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    block = TemplateBlock(
        template=template,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        kind=kind,
        note=note.strip(),
    )
    full_clean_or_raise(block)
    if end_time <= start_time:
        raise InvalidInput("The end must be after the start.", field="end_time")
    if _block_minutes(start_time) % CELL_MINUTES or _block_minutes(end_time) % CELL_MINUTES:
        raise InvalidInput(f"Use times on a {CELL_MINUTES}-minute mark.", field="start_time")
    if kind == BlockKind.WORK:
        same_time = TemplateBlock.objects.filter(
            kind=BlockKind.WORK,
            weekday=weekday,
            start_time__lt=end_time,
            end_time__gt=start_time,
            template__provider=template.provider,
            template__is_active=True,
        )
        valid_together = Q(template__valid_to__isnull=True) | Q(
            template__valid_to__gte=template.valid_from
        )
        if template.valid_to is not None:
            valid_together &= Q(template__valid_from__lte=template.valid_to)
        # Another template at the same location supersedes this one; elsewhere they clash.
        overlapping = same_time.filter(
            Q(template=template) | (valid_together & ~Q(template__location=template.location))
        ).select_related("template__location")
        clash = overlapping.first()
        if clash is not None:
            where = (
                "in this template"
                if clash.template_id == template.pk
                else f"at {clash.template.location}"
            )
            raise Conflict(
                f"{template.provider} already works {formats.us_time(clash.start_time)}-"
                f"{formats.us_time(clash.end_time)} on {clash.get_weekday_display()} {where}.",
                field="start_time",
            )
    block.save()
    if appointment_types:
        block.appointment_types.set(appointment_types)
    return block


@transaction.atomic
@binds_actor("actor")
def template_block_remove(*, actor: User | None, block: TemplateBlock) -> None:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    block.delete()


@transaction.atomic
@binds_actor("actor")
def closure_save(
    *,
    actor: User | None,
    scope: str,
    start_date: date,
    end_date: date,
    reason: str,
    location: Location | None = None,
    provider: Provider | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
) -> Closure:
    """Close the practice, a location or a provider for a date range (or part of each day).

    Existing appointments in the closed time are not cancelled: the closures page lists
    them so the front desk can call the patients.
    """
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    errors: dict[str, list[str]] = {}
    if scope == ClosureScope.LOCATION and location is None:
        errors["location"] = ["Choose the location that closes."]
    if scope == ClosureScope.PROVIDER and provider is None:
        errors["provider"] = ["Choose the provider who is away."]
    if (start_time is None) != (end_time is None):
        errors["end_time" if end_time is None else "start_time"] = [
            "Give both a start and an end time, or neither for whole days."
        ]
    elif start_time is not None and end_time is not None and end_time <= start_time:
        errors["end_time"] = ["The end time must be after the start time."]
    if end_date < start_date:
        errors["end_date"] = ["The last day must be on or after the first."]
    if not (reason or "").strip():
        errors["reason"] = ["Give the reason (shown to the front desk)."]
    if errors:
        first_field, messages = next(iter(errors.items()))
        raise InvalidInput(messages[0], field=first_field, errors=errors)
    closure = Closure(
        scope=scope,
        location=location if scope != ClosureScope.PRACTICE else None,
        provider=provider if scope == ClosureScope.PROVIDER else None,
        start_date=start_date,
        end_date=end_date,
        start_time=start_time,
        end_time=end_time,
        reason=reason.strip(),
        created_by=actor,
    )
    full_clean_or_raise(closure, exclude=["created_by"])
    closure.save()
    return closure


@transaction.atomic
@binds_actor("actor")
def closure_delete(*, actor: User | None, closure: Closure) -> None:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    closure.delete()


@transaction.atomic
@binds_actor("actor")
def scheduling_settings_save(*, actor: User | None, **fields: Any) -> SchedulingSettings:
    _require(actor, SchedulingPerm.MANAGE_SCHEDULING)
    rules = SchedulingSettings.objects.select_for_update().order_by("pk").first()
    rules = rules or SchedulingSettings()
    _apply(rules, fields)
    full_clean_or_raise(rules)
    if rules.slot_step_minutes not in (5, 10, 15, 20, 30, 60):
        raise InvalidInput(
            "Use a step of 5, 10, 15, 20, 30 or 60 minutes.", field="slot_step_minutes"
        )
    rules.save()
    return rules
