"""Dashboard tiles: core owns the registry, each module registers the tiles it fills, and the
dashboard app only lays them out (no app imports `dashboard`).

A module registers a TileProvider once (its `tiles` module, imported from its
AppConfig.ready()); the provider's `build` returns the tiles for one user. The dashboard
shows a provider's tiles only while its module is on and the user holds one of its
permissions, grouped by section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The office manager's day, in the order the dashboard shows it.
SECTIONS = (
    ("today", "Today"),
    ("money", "Money"),
    ("claims", "Claims"),
    ("people", "People"),
    ("risk", "Risk"),
    ("", "At a glance"),
)


@dataclass(frozen=True)
class Bar:
    """One bar of a tile's chart: its label, its figure in words, its height (0-100)."""

    label: str
    figure: str
    percent: int


@dataclass(frozen=True)
class Tile:
    title: str
    figure: str
    detail: str = ""
    url: str = ""
    tone: str = ""  # "", "good", "warn", "bad"
    section: str = ""  # one of SECTIONS' codes; "" lands in "At a glance"
    # Optional: a small table of (label, figure) under the figure, and a bar chart (drawn as
    # inline SVG, with the same figures as a table for screen readers).
    breakdown: tuple[tuple[str, str], ...] = ()
    bars: tuple[Bar, ...] = ()
    bars_caption: str = ""


@dataclass(frozen=True)
class TileProvider:
    module: str  # module code; the tile shows only while the module is on
    permissions: tuple[str, ...]  # any of them shows the tile
    build: Callable[[object], list[Tile]]  # (user) -> tiles
    order: int = 100


_providers: list[TileProvider] = []


def register(provider: TileProvider) -> None:
    if provider not in _providers:  # registering the same provider twice shows it once
        _providers.append(provider)


def unregister(provider: TileProvider) -> None:
    """Take a provider out again (tests that register a throwaway one)."""
    if provider in _providers:
        _providers.remove(provider)


def providers() -> list[TileProvider]:
    return sorted(_providers, key=lambda p: p.order)
