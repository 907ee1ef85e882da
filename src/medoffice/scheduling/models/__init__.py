"""Scheduling: rooms and equipment, appointment types, providers' weekly templates,
closures, appointments (single and recurring), the occupancy cells that make double
booking impossible, the waitlist, and reminders.

How double booking is prevented: every live appointment writes one `Occupancy` row per
five-minute cell it covers, carrying its provider and its room. Unique constraints on
(provider, cell) and (room, cell) mean two appointments can never share a cell, whatever
the timing of two transactions (see docs/adr/0004-no-double-booking.md).

One module per concern; every model and constant is imported from here
(`from medoffice.scheduling.models import Appointment`). The order below is the order the
models are defined in, which is the app registry's order.
"""

from __future__ import annotations

# isort: off
# Defined (and so registered) in this order: setup, appointments, waitlist, reminders.
from medoffice.scheduling.models.constants import (
    CELL_MINUTES,
    CELL_SECONDS,
    LONGEST_APPOINTMENT,
    MAX_APPOINTMENT_MINUTES,
)
from medoffice.scheduling.models.setup import (
    COLOR_VALIDATOR,
    AppointmentType,
    BlockKind,
    Closure,
    ClosureScope,
    Room,
    RoomKind,
    ScheduleTemplate,
    SchedulingSettings,
    TemplateBlock,
    Weekday,
)
from medoffice.scheduling.models.appointments import (
    APPOINTMENT_TRANSITIONS,
    HOLDING_STATUSES,
    Appointment,
    AppointmentQuerySet,
    AppointmentStatus,
    Occupancy,
    RecurringSeries,
    SeriesPolicy,
)
from medoffice.scheduling.models.waitlist import (
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from medoffice.scheduling.models.reminders import (
    REMINDER_TRANSITIONS,
    AppointmentConfirmation,
    CalendarFeedToken,
    Reminder,
    ReminderChannel,
    ReminderStatus,
)
# isort: on

__all__ = [
    "APPOINTMENT_TRANSITIONS",
    "CELL_MINUTES",
    "CELL_SECONDS",
    "COLOR_VALIDATOR",
    "HOLDING_STATUSES",
    "LONGEST_APPOINTMENT",
    "MAX_APPOINTMENT_MINUTES",
    "REMINDER_TRANSITIONS",
    "Appointment",
    "AppointmentConfirmation",
    "AppointmentQuerySet",
    "AppointmentStatus",
    "AppointmentType",
    "BlockKind",
    "CalendarFeedToken",
    "Closure",
    "ClosureScope",
    "Occupancy",
    "OfferStatus",
    "RecurringSeries",
    "Reminder",
    "ReminderChannel",
    "ReminderStatus",
    "Room",
    "RoomKind",
    "ScheduleTemplate",
    "SchedulingSettings",
    "SeriesPolicy",
    "TemplateBlock",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistStatus",
    "Weekday",
]
