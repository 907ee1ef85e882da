"""The scheduling module's permissions (registered with core from SchedulingConfig.ready()).

CHECK_IN moves an appointment through arrival, check-in and completion, which scheduling
owns, so it is declared here; its codename keeps the "reception." prefix under which roles
were granted it, and reception's pages check the same member.
"""

from __future__ import annotations

from enum import StrEnum


class SchedulingPerm(StrEnum):
    VIEW_SCHEDULE = "scheduling.view"
    VIEW_OWN_SCHEDULE = "scheduling.view_own"
    BOOK_APPOINTMENTS = "scheduling.book"
    MANAGE_SCHEDULING = "scheduling.manage"
    CHECK_IN = "reception.check_in"
