"""{% eligibility_token as token %}: a fresh one-time key for a "Check eligibility" button."""

from __future__ import annotations

from typing import Any

from django import template

from medoffice.core import once

register = template.Library()

PURPOSE = "claims.eligibility"


@register.simple_tag(takes_context=True)
def eligibility_token(context: Any) -> str:
    return once.issue(context["request"], PURPOSE)
