"""What the office manager's home shows: the tiles of the enabled modules the user may see."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from medoffice.core.access import has_any_perm
from medoffice.core.modules import enabled_codes
from medoffice.core.tile_registry import SECTIONS, Tile, providers


def tiles_for(user) -> list[Tile]:
    """The tiles a user may see. Their figures are kept for a few seconds per user
    (MEDOFFICE_DASHBOARD_CACHE_SECONDS), so a busy office reloading its home pages does not
    recount the day on every view; which tiles show is decided afresh each time."""
    enabled = enabled_codes()
    seconds = getattr(settings, "MEDOFFICE_DASHBOARD_CACHE_SECONDS", 0)
    tiles: list[Tile] = []
    for n, provider in enumerate(providers()):
        if provider.module in enabled and has_any_perm(user, *provider.permissions):
            if seconds <= 0:
                tiles.extend(provider.build(user))
                continue
            key = f"medoffice:tiles:{user.pk}:{provider.module}:{n}:{timezone.localdate()}"
            built = cache.get(key)
            if built is None:
                built = provider.build(user)
                cache.set(key, built, seconds)
            tiles.extend(built)
    return tiles


def sections_for(user) -> list[tuple[str, list[Tile]]]:
    """The tiles grouped by section, in the dashboard's order; empty sections left out."""
    tiles = tiles_for(user)
    known = {code for code, _ in SECTIONS}
    grouped = []
    for code, label in SECTIONS:
        members = [t for t in tiles if (t.section if t.section in known else "") == code]
        if members:
            grouped.append((label, members))
    return grouped
