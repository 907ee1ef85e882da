"""Where an entry came from, in words and with a link, for the pages.

An entry's source key (`reception.payment:42`, `ledger.manual_entry:7:reversal`) is for the
code; people read "Payment, receipt 20261201-0003". Each app that posts registers how to name
its sources (`register(source_type, describe)`), so the ledger imports none of them: a
describer takes the source ids of one type and answers, in one query, a label for each. A page
names all its lines with one query per source type on it, however many lines it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class SourceLabel:
    text: str
    url: str = ""


Describer = Callable[[Sequence[str]], dict[str, SourceLabel]]

_DESCRIBERS: dict[str, Describer] = {}

EVENT_WORDS = {"reversal": "reversed", "void": "void", "refund": "refund", "paid": "paid"}

# Sources named in words without a lookup (the ledger's own, and the year-end close).
NAMES = {
    "ledger.year_end": "Year-end close {id}",
    "patients.merge": "Patient records merged ({id})",
}


def register(source_type: str, describe: Describer) -> None:
    _DESCRIBERS[source_type] = describe


def unregister(source_type: str) -> None:
    _DESCRIBERS.pop(source_type, None)


def split_key(key: str) -> tuple[str, str, str]:
    """(source type, source id, event) of a source key."""
    source_type, _, rest = key.partition(":")
    source_id, _, event = rest.partition(":")
    return source_type, source_id, event


def _fallback(source_type: str, source_id: str) -> SourceLabel:
    if source_type in NAMES:
        return SourceLabel(NAMES[source_type].format(id=source_id))
    _, _, model = source_type.partition(".")
    words = model.replace("_", " ").capitalize() or source_type
    return SourceLabel(f"{words} {source_id}")


def describe_keys(keys: Iterable[str]) -> dict[str, SourceLabel]:
    """A label for each source key: the app's words and page, and the event ("void",
    "reversed") after them. One query per source type that has a describer."""
    parsed = {key: split_key(key) for key in set(keys)}
    by_type: dict[str, set[str]] = {}
    for source_type, source_id, _ in parsed.values():
        by_type.setdefault(source_type, set()).add(source_id)
    found: dict[tuple[str, str], SourceLabel] = {}
    for source_type, ids in by_type.items():
        describe = _DESCRIBERS.get(source_type)
        if describe is None:
            continue
        for source_id, label in describe(sorted(ids)).items():
            found[(source_type, source_id)] = label
    labels = {}
    for key, (source_type, source_id, event) in parsed.items():
        label = found.get((source_type, source_id)) or _fallback(source_type, source_id)
        if event:
            words = EVENT_WORDS.get(event, event)
            label = SourceLabel(f"{label.text} ({words})", label.url)
        labels[key] = label
    return labels


def describe(entries: Iterable[Any]) -> dict[int, SourceLabel]:
    """Labels for journal entries, by entry id."""
    entries = list(entries)
    labels = describe_keys(entry.source_key for entry in entries)
    return {entry.pk: labels[entry.source_key] for entry in entries}


def _manual_entries(ids: Sequence[str]) -> dict[str, SourceLabel]:
    from medoffice.ledger.models import ManualEntry

    numbers = [int(pk) for pk in ids if pk.isdigit()]
    rows = ManualEntry.objects.filter(pk__in=numbers).values_list("pk", "entry_id")
    return {
        str(pk): SourceLabel(
            f"Manual entry {pk}",
            reverse("ledger:entry_detail", args=[entry_id]) if entry_id else "",
        )
        for pk, entry_id in rows
    }


register("ledger.manual_entry", _manual_entries)
