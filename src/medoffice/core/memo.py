"""Facts a page reads several times (the practice, its zone, the modules switched on), read
once per request.

The memo is open only while a read-only request (GET, HEAD) runs, so a request that changes
the practice never sees an older value; outside a request every call reads the database.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_memo: ContextVar[dict[str, Any] | None] = ContextVar("medoffice_request_memo", default=None)


@contextlib.contextmanager
def request_memo() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def request_memo_open() -> bool:
    """Whether a read-only request's memo is open (facts read now are kept for the request)."""
    return _memo.get() is not None


def once_per_request(fn: Callable[[], T]) -> Callable[[], T]:
    """Decorate a function of no arguments whose answer cannot change during a read."""
    key = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper() -> T:
        memo = _memo.get()
        if memo is None:
            return fn()
        if key not in memo:
            memo[key] = fn()
        return memo[key]

    return wrapper
