"""What a new installation sets up once its first owner exists, in that owner's name.

Each module adds its part with `register_first_owner_step(name, fn)` from its AppConfig.ready()
(core never imports the apps). `createadmin` runs the steps after it creates the first account;
each returns the lines to print. A step that fails is reported, with what to run instead, and
never undoes the account: the owner can always sign in and finish by hand.

    def load_tables(owner: User) -> list[str]:
        ...
        return ["HCPCS Level II 2024: 8033 rows"]

    register_first_owner_step("code tables", load_tables)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from medoffice.core.context import acting_as, actor_for_user
from medoffice.core.models import User

logger = logging.getLogger(__name__)

Step = Callable[[User], list[str]]


@dataclass(frozen=True)
class FirstOwnerStep:
    name: str
    run: Step
    instead: str  # what to run by hand if the step fails


_STEPS: dict[str, FirstOwnerStep] = {}


def register_first_owner_step(name: str, fn: Step, *, instead: str) -> None:
    _STEPS[name] = FirstOwnerStep(name=name, run=fn, instead=instead)


def first_owner_steps() -> list[FirstOwnerStep]:
    return list(_STEPS.values())


def run_first_owner_steps(owner: User) -> list[str]:
    """Every registered step, in registration order, acting as `owner`; the lines to print."""
    lines: list[str] = []
    for step in first_owner_steps():
        try:
            with acting_as(actor_for_user(owner)):
                lines += step.run(owner)
        except Exception as exc:  # reported; the account stands
            logger.exception("first-owner step %r failed", step.name)
            lines.append(f"Could not set up the {step.name} ({exc}); run: {step.instead}")
    return lines
