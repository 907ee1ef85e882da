"""Coding's reads: code lookups for the claims scrubber and the pages."""

from __future__ import annotations

from medoffice.coding.models import CodeSetKind, CodeSetRelease


def latest_releases() -> list[CodeSetRelease]:
    """The newest release of each kind of table, in the kinds' order."""
    latest: dict[str, CodeSetRelease] = {}
    for release in CodeSetRelease.objects.order_by("kind", "-effective_date", "-id"):
        latest.setdefault(release.kind, release)
    return [latest[kind] for kind in CodeSetKind.values if kind in latest]
