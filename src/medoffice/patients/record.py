"""The patient record as the hub: other modules add their panels and buttons to it.

Patients is below scheduling and reception (they import it, never the reverse), so they
register here from their AppConfig.ready(); each provider decides itself, from the user's
permissions and the module switches, whether it shows anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordAction:
    label: str
    url: str
    order: int = 50
    primary: bool = False


@dataclass(frozen=True)
class RecordPanel:
    key: str  # also the panel's anchor on the page (#record-<key>)
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 50
    link: tuple[str, str] | None = None  # (label, url) of the module's own page for more


PanelProvider = Callable[[Any, Any], list[RecordPanel]]  # (patient, user) -> panels
ActionProvider = Callable[[Any, Any], list[RecordAction]]  # (patient, user) -> buttons
_panels: list[PanelProvider] = []
_actions: list[ActionProvider] = []


def register_panels(provider: PanelProvider) -> None:
    if provider not in _panels:
        _panels.append(provider)


def register_actions(provider: ActionProvider) -> None:
    if provider not in _actions:
        _actions.append(provider)


def panels_for(patient: Any, user: Any) -> list[RecordPanel]:
    panels = [panel for provider in _panels for panel in provider(patient, user)]
    return sorted(panels, key=lambda panel: (panel.order, panel.title))


def actions_for(patient: Any, user: Any) -> list[RecordAction]:
    actions = [action for provider in _actions for action in provider(patient, user)]
    return sorted(actions, key=lambda action: (action.order, action.label))
