"""The time grid every scheduling model and service shares: five-minute cells, and the
longest an appointment may be.
"""

from __future__ import annotations

from datetime import timedelta

CELL_MINUTES = 5
CELL_SECONDS = CELL_MINUTES * 60
# The longest an appointment can be: booking refuses more, and appointment types are capped
# at it. Overlap queries use it as their lower bound on `start` (AppointmentQuerySet).
MAX_APPOINTMENT_MINUTES = 8 * 60
LONGEST_APPOINTMENT = timedelta(minutes=MAX_APPOINTMENT_MINUTES)
