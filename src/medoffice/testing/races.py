"""Race tests: the same call from several threads at once, each outcome kept in words."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def at_once(count: int, attempt: Callable[[int], str]) -> list[str]:
    """Run `attempt(n)` in `count` threads released together; what each returned, or
    "error:Type:message" for what it raised (so an assertion on the list shows it)."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            result = attempt(n)
        except Exception as exc:  # reported, not raised: the thread would swallow it
            result = f"error:{type(exc).__name__}:{exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
