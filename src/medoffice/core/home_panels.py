"""Panels a module puts at the top of a user's home page (the front desk's day, say).

Core owns the registry and knows no app; each app registers from its AppConfig.ready().
A provider answers the panels one user may see, each with its template and context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HomePanel:
    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 50


HomePanelProvider = Callable[[Any], list[HomePanel]]  # user -> panels
_providers: list[HomePanelProvider] = []


def register_home_panels(provider: HomePanelProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def home_panels_for(user: Any) -> list[HomePanel]:
    panels = [panel for provider in _providers for panel in provider(user)]
    return sorted(panels, key=lambda panel: (panel.order, panel.title))
