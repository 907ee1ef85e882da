"""Who is acting and from where, for the audit trail, without passing the request around."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, TypeVar


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (by id and name) or the system, from where, and through which job.

    `username` is what the trail shows: "dana", or "dana via job scheduling.send_due_reminders".
    `requires_user` marks the command line run without --as: it may read, but any write of
    an audited record is refused before it reaches the database.
    """

    user_id: int | None
    username: str
    ip_address: str = ""
    user_agent: str = ""
    via: str = ""
    requires_user: bool = False


SYSTEM = Actor(user_id=None, username="system")
CLI_UNNAMED = Actor(user_id=None, username="command line (no --as)", requires_user=True)
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
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def via_job(actor: Actor, job: str) -> Actor:
    """The actor of a background job: its enqueuing user (or the system) plus the job's name."""
    base = actor.username.split(" via job ")[0] or "system"
    return replace(actor, username=f"{base} via job {job}"[:150], via=job, requires_user=False)


def actor_for_service(user: Any) -> Actor:
    """The actor of a service call given `user`: the context's own actor when it is the same
    user (keeping the address and the job), else that user at the context's address."""
    current = current_actor()
    if user is None:
        return current
    if isinstance(user, Actor):
        return user
    if current.user_id == user.pk:
        return current
    actor = actor_for_user(user, current.ip_address, current.user_agent)
    return via_job(actor, current.via) if current.via else actor


P = ParamSpec("P")
R = TypeVar("R")


def binds_actor(param: str = "actor") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Service decorator: the audit events of the call name the user given in `param`.

    `@binds_actor("booked_by")` on `appointment_book(*, ..., booked_by)` makes every event
    written inside it (explicit `audit.record` calls and captured writes alike) carry
    `booked_by`, whatever interface called the service. A None argument keeps the
    context's actor (the system, or the page's user).
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            user = kwargs.get(param)
            if user is None:
                return func(*args, **kwargs)
            with acting_as(actor_for_service(user)):
                return func(*args, **kwargs)

        wrapper.binds_actor = param  # type: ignore[attr-defined]
        return wrapper

    return decorate


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
