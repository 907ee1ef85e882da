"""The audit trail as a manager reads it: times in the practice's zone, objects named in
words with a link, and changes as "Phone: (555) 010-0001 → (555) 010-0002".

A page of events costs a fixed number of queries: the objects of each type shown and the
patients named are fetched once per page, whatever the number of rows. core knows no other
app: models are found through the app registry, and links through `OBJECT_LINKS`, which
apps may extend with `register_object_link`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from medoffice.core.models import AuditEvent

ARROW = "→"
NAMES_SHOWN = 12  # patients named in a list event's line before "and N more"

# object type -> URL name taking the object's id (pages that show one record)
# object type -> (the page of one record, the permissions any of which opens it; none: the
# page decides by the record, as the patient record does with its emergency access).
OBJECT_LINKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients.patient": ("patients:detail", ()),
    "scheduling.appointment": ("scheduling:appointment",
                               ("scheduling.view", "scheduling.view_own")),
    "reception.payment": ("reception:receipt", ("reception.collect_payment",)),
    "core.location": ("core:location_edit", ("core.manage_practice",)),
    "core.provider": ("core:provider_edit", ("core.manage_practice",)),
}  # fmt: skip


def register_object_link(object_type: str, url_name: str, perms: tuple[str, ...] = ()) -> None:
    """Apps name the page of their records and what opens it (call from AppConfig.ready)."""
    OBJECT_LINKS[object_type] = (url_name, tuple(str(p) for p in perms))


@dataclass
class ChangeLine:
    label: str
    before: str | None = None
    after: str | None = None

    def __str__(self) -> str:
        if self.before is not None and self.after is not None:
            return f"{self.label}: {self.before} {ARROW} {self.after}"
        if self.after is not None:
            return f"{self.label}: {self.after}"
        return f"{self.label}: {self.before} (removed)"


@dataclass
class EventRow:
    event: AuditEvent
    at: datetime
    object_words: str
    object_url: str
    lines: list[ChangeLine] = field(default_factory=list)

    @property
    def lines_text(self) -> str:
        return "; ".join(str(line) for line in self.lines)


def _model_for(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def words_for(obj: models.Model) -> str:
    """A record in words: its `audit_label` when the model gives one, else its str()."""
    return str(getattr(obj, "audit_label", None) or obj)


def _int_ids(values: Iterable[object]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(str(value)))
        except ValueError:
            continue
    return ids


# --- Values --------------------------------------------------------------------------------

_PHONE_DIGITS = re.compile(r"\D")


def format_phone(value: str) -> str:
    digits = _PHONE_DIGITS.sub("", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return value


def clock(moment: datetime) -> str:
    """'Tue Dec 1 1:20 PM' in the active (the practice's) zone."""
    local = timezone.localtime(moment)
    return f"{local:%a %b} {local.day} {local.hour % 12 or 12}:{local:%M %p}"


def _local(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%a %b} {local.day}, {local.year} {local.hour % 12 or 12}:{local:%M %p %Z}"


def format_value(f: models.Field | None, value: object) -> str:
    """One value as people read it: labels for choices, Yes/No, dates in words, local times."""
    if value is None:
        return "(none)"
    if value == "":
        return "(empty)"
    if f is None:
        return _plain_text(value)
    if f.choices:
        labels = {str(k): str(v) for k, v in f.flatchoices}
        return labels.get(str(value), str(value))
    if isinstance(f, models.BooleanField):
        return "Yes" if value in (True, "True", "true", 1) else "No"
    if isinstance(f, models.DateTimeField):
        try:
            return _local(datetime.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if isinstance(f, models.DateField):
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{day:%a %b} {day.day}, {day.year}"
    if f.is_relation:
        return f"#{value}"
    if "phone" in f.name and isinstance(value, str):
        return format_phone(value)
    return _plain_text(value)


def _plain_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{_humanize(str(k))} {_plain_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain_text(v) for v in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _label(model: type[models.Model] | None, name: str) -> tuple[str, Any]:
    if model is not None:
        try:
            f = model._meta.get_field(name)
        except Exception:
            f = None
        if f is not None and hasattr(f, "verbose_name"):
            return str(f.verbose_name)[:1].upper() + str(f.verbose_name)[1:], f
    return _humanize(name), None


# --- Changes -------------------------------------------------------------------------------


def change_lines(
    object_type: str, changes: Mapping[str, Any], patient_names: Mapping[int, str]
) -> list[ChangeLine]:
    """The lines of one event's changes, whatever shape the event has."""
    model = _model_for(object_type)
    if not changes:
        return []
    lines: list[ChangeLine] = []
    before = changes.get("before")
    after = changes.get("after")
    nested = any(isinstance(v, dict) for v in (before or {}).values()) or any(
        isinstance(v, dict) for v in (after or {}).values()
    )
    bulk = "ids" in changes
    values_set = (
        bulk and isinstance(after, dict) and bool(after)
        and not any(isinstance(v, dict) for v in after.values())
    )  # fmt: skip
    if values_set:
        assert isinstance(after, dict)  # values_set checked it
        for name, value in after.items():  # a queryset update: the values it set
            label, f = _label(model, name)
            lines.append(ChangeLine(label, None, format_value(f, value)))
    elif (isinstance(before, dict) or isinstance(after, dict)) and not nested:
        before, after = before or {}, after or {}
        for name in [*before, *(k for k in after if k not in before)]:
            label, f = _label(model, name)
            lines.append(
                ChangeLine(
                    label,
                    format_value(f, before[name]) if name in before else None,
                    format_value(f, after[name]) if name in after else None,
                )
            )
    if "ids" in changes:
        ids = changes["ids"]
        shown = ", ".join(f"#{i}" for i in ids[:NAMES_SHOWN])
        more = f" and {len(ids) - NAMES_SHOWN} more" if len(ids) > NAMES_SHOWN else ""
        lines.append(ChangeLine("Rows", None, f"{len(ids)} ({shown}{more})"))
    if "fields" in changes and not values_set:
        names = [_label(model, n)[0] for n in changes["fields"]]
        lines.append(ChangeLine("Fields set", None, ", ".join(names)))
    if "patients" in changes:
        ids = _int_ids(changes["patients"])
        named = [patient_names.get(i, f"#{i}") for i in ids[:NAMES_SHOWN]]
        more = f" and {len(ids) - NAMES_SHOWN} more" if len(ids) > NAMES_SHOWN else ""
        lines.append(
            ChangeLine("Patients shown", None, (", ".join(named) + more) if ids else "none")
        )
    if "file" in changes and isinstance(changes["file"], dict):
        facts = changes["file"]
        lines.append(
            ChangeLine(
                "File",
                None,
                f"{facts.get('name') or '(unnamed)'} ({facts.get('size')} bytes, "
                f"SHA-256 {str(facts.get('sha256', ''))[:12]}…)",
            )
        )
    for key in ("counts", "totals", "rows"):
        if (
            key in changes
            and isinstance(changes[key], dict)
            and changes[key]
            and "ids" not in changes
        ):
            lines.append(ChangeLine(_humanize(key), None, _plain_text(changes[key])))
    known = {"before", "after", "ids", "fields", "patients", "file", "counts", "totals",
             "rows", "filters", "unit", "shown"}  # fmt: skip
    for key, value in changes.items():
        if key in known:
            continue
        label, f = _label(model, key)
        lines.append(ChangeLine(label, None, format_value(f, value) if f else _plain_text(value)))
    if changes.get("filters"):
        lines.append(ChangeLine("Search", None, _plain_text(changes["filters"])))
    return lines


def _readable(event: AuditEvent, user: object) -> Mapping[str, Any]:
    """The event's changes as this user may see them (PHI decrypted only for allowed roles)."""
    from medoffice.core import audit

    reader = getattr(audit, "readable_changes", None)
    if reader is not None:
        return reader(event, user) or {}
    return event.changes or {}


# --- A page of events -----------------------------------------------------------------------


def _patient_names(ids: set[int]) -> dict[int, str]:
    patient_model = _model_for("patients.patient")
    if patient_model is None or not ids:
        return {}
    return {p.pk: words_for(p) for p in patient_model._default_manager.filter(pk__in=ids)}


def _objects_by_type(events: Sequence[AuditEvent]) -> dict[tuple[str, str], str]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_id:
            wanted[event.object_type].update(_int_ids([event.object_id]))
    words: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        model = _model_for(object_type)
        if model is None or not ids:
            continue
        related = getattr(model, "audit_label_related", ())
        found = model._default_manager.select_related(*related).in_bulk(list(ids))
        for pk, obj in found.items():
            words[(object_type, str(pk))] = words_for(obj)
    return words


def _object_url(event: AuditEvent, exists: bool, user: object) -> str:
    """The record's page, linked only for a reader who may open it (an auditor reads the
    trail, not every page it names)."""
    from medoffice.core.role_permissions import has_any_perm

    link = OBJECT_LINKS.get(event.object_type)
    if link is None or not exists or not event.object_id:
        return ""
    url_name, perms = link
    if perms and not has_any_perm(user, *perms):
        return ""
    try:
        return reverse(url_name, args=[int(event.object_id)])
    except (NoReverseMatch, ValueError):
        return ""


def present(events: Iterable[AuditEvent], user: object) -> list[EventRow]:
    """Rows for the audit page or its export: a fixed number of queries for the whole page."""
    from medoffice.core import audit

    events = list(events)
    many = getattr(audit, "readable_changes_many", None)
    if many is not None:
        readable = many(events, user)
    else:
        readable = {event.pk: _readable(event, user) for event in events}
    patient_ids: set[int] = set()
    for event in events:
        patient_ids.update(_int_ids(readable[event.pk].get("patients", []) or []))
        if event.patient_id:
            patient_ids.update(_int_ids([event.patient_id]))
    names = _patient_names(patient_ids)
    objects = _objects_by_type(events)
    rows = []
    for event in events:
        model = _model_for(event.object_type)
        kind = (
            str(model._meta.verbose_name).capitalize()
            if model
            else _humanize(event.object_type.split(".")[-1])
        )
        words = objects.get((event.object_type, event.object_id))
        described = words or event.object_repr
        object_words = f"{kind}: {described}" if described else kind
        rows.append(
            EventRow(
                event=event,
                at=timezone.localtime(event.at),
                object_words=object_words,
                object_url=_object_url(event, words is not None, user),
                lines=change_lines(event.object_type, readable[event.pk], names),
            )
        )
    return rows
