"""Dashboard tiles: each module registers the tiles it fills; the dashboard only lays them out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    title: str
    figure: str
    detail: str = ""
    url: str = ""
    tone: str = ""  # "", "good", "warn", "bad"


@dataclass(frozen=True)
class TileProvider:
    module: str  # module code; the tile shows only while the module is on
    permissions: tuple[str, ...]  # any of them shows the tile
    build: Callable[[object], list[Tile]]  # (user) -> tiles
    order: int = 100


_providers: list[TileProvider] = []


def register(provider: TileProvider) -> None:
    _providers.append(provider)


def providers() -> list[TileProvider]:
    return sorted(_providers, key=lambda p: p.order)
