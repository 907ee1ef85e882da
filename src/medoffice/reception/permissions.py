"""The reception module's permissions (registered with core from ReceptionConfig.ready()).

Checking in is `SchedulingPerm.CHECK_IN`: the appointment's arrival belongs to scheduling.
"""

from __future__ import annotations

from enum import StrEnum


class ReceptionPerm(StrEnum):
    VIEW_FLOW_BOARD = "reception.view_flow"
    COLLECT_PAYMENTS = "reception.collect_payment"
    MOVE_FLOW = "reception.move_flow"  # room patients, send them to the provider
    MANAGE_WALL_DISPLAYS = "reception.manage_wall_display"  # make and revoke wall-screen links
