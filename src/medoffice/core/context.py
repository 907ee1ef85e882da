"""Who is acting and from where, for the audit trail, without passing the request around."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    ip_address: str = ""
    user_agent: str = ""


SYSTEM = Actor(user_id=None, username="system")
_current: ContextVar[Actor] = ContextVar("medoffice_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def actor_for_user(user, ip_address: str = "", user_agent: str = "") -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(
            user_id=None, username="anonymous", ip_address=ip_address, user_agent=user_agent
        )
    return Actor(
        user_id=user.pk, username=user.get_username(), ip_address=ip_address, user_agent=user_agent
    )


@contextlib.contextmanager
def acting_as(actor: Actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def act_as_for_request(user, request) -> None:
    """Name the acting user once the API has authenticated a token, for the rest of the request.

    The middleware's `acting_as` block resets the variable when the request ends.
    """
    _current.set(actor_for_user(user, client_ip(request), request.META.get("HTTP_USER_AGENT", "")))


def client_ip(request) -> str:
    """The client address; X-Forwarded-For is trusted only when a proxy is configured."""
    from django.conf import settings

    if getattr(settings, "MEDOFFICE_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "")[:45]
