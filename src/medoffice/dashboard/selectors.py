"""What the office manager's home shows: the tiles of the enabled modules the user may see."""

from __future__ import annotations

from medoffice.core.access import has_any_perm
from medoffice.core.modules import enabled_codes
from medoffice.core.tile_registry import SECTIONS, Tile, providers


def tiles_for(user) -> list[Tile]:
    enabled = enabled_codes()
    tiles: list[Tile] = []
    for provider in providers():
        if provider.module in enabled and has_any_perm(user, *provider.permissions):
            tiles.extend(provider.build(user))
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
