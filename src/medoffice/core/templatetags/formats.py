"""The display rules of medoffice.core.formats as template filters, built into every template:
{{ appointment.start|us_datetime }}, {{ patient.phone|phone }}, {{ payment.amount|money }}."""

from __future__ import annotations

from django import template

from medoffice.core import formats

register = template.Library()

for _name in ("us_date", "us_time", "us_datetime", "us_day", "us_day_time", "phone", "money"):
    register.filter(_name, getattr(formats, _name), is_safe=True)
