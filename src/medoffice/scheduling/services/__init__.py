"""Every write of the scheduling app, by concern: booking (checking a request, writing the
appointment and its occupancy cells), lifecycle (cancel, no-show, check-in, complete,
reschedule), recurring series, the waitlist, and the practice's scheduling setup.

Callers import from here (`from medoffice.scheduling import services`); each name below is
defined in one submodule. A test that replaces a helper patches the submodule that looks it
up (e.g. `services.booking._overlapping`), not this package.
"""

from __future__ import annotations

from medoffice.scheduling.services.booking import (
    PAST_TIME_MESSAGE,
    BookingRequest,
    appointment_book,
    cells_of,
    check_booking,
)
from medoffice.scheduling.services.lifecycle import (
    FRONT_DESK_MODULE,
    RescheduleScope,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_undo_check_in,
)
from medoffice.scheduling.services.series import (
    MAX_SERIES_OCCURRENCES,
    MAX_SERIES_YEARS,
    Occurrence,
    appointment_cancel_in_scope,
    expand_rrule,
    series_book,
    series_cancel_following,
    series_preview,
)
from medoffice.scheduling.services.setup import (
    appointment_type_save,
    closure_delete,
    closure_save,
    room_save,
    scheduling_settings_save,
    template_block_add,
    template_block_remove,
    template_save,
)
from medoffice.scheduling.services.waitlist import (
    waitlist_add,
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_offer_freed_slot,
    waitlist_remove,
)

__all__ = [
    "FRONT_DESK_MODULE",
    "MAX_SERIES_OCCURRENCES",
    "MAX_SERIES_YEARS",
    "PAST_TIME_MESSAGE",
    "BookingRequest",
    "Occurrence",
    "RescheduleScope",
    "appointment_book",
    "appointment_cancel",
    "appointment_cancel_in_scope",
    "appointment_check_in",
    "appointment_complete",
    "appointment_mark_no_show",
    "appointment_reschedule",
    "appointment_type_save",
    "appointment_undo_check_in",
    "cells_of",
    "check_booking",
    "closure_delete",
    "closure_save",
    "expand_rrule",
    "room_save",
    "scheduling_settings_save",
    "series_book",
    "series_cancel_following",
    "series_preview",
    "template_block_add",
    "template_block_remove",
    "template_save",
    "waitlist_add",
    "waitlist_offer_accept",
    "waitlist_offer_decline",
    "waitlist_offer_freed_slot",
    "waitlist_remove",
]
