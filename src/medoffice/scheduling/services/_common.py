"""Helpers the scheduling services share: the permission check and the practice-zone
time formats of their messages.
"""

from __future__ import annotations

from datetime import datetime

from medoffice.core import formats
from medoffice.core.access import require_perm
from medoffice.core.models import User
from medoffice.scheduling.availability import practice_zone


def _require(user: User | None, *perms: str) -> None:
    if user is not None:
        require_perm(user, *perms)


def _fmt_time(moment: datetime) -> str:
    return formats.us_time(moment.astimezone(practice_zone()))


def _fmt_when(moment: datetime) -> str:
    return formats.us_day_time(moment.astimezone(practice_zone()))
