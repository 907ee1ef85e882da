"""Loading the demo practice (every module's step), small size: it must stay under 30 s."""

from __future__ import annotations

import time

from medoffice.core.demo import load_demo
from medoffice.core.models import AuditEvent


def run() -> list[tuple[str, float, str]]:
    started = time.perf_counter()
    result = load_demo(size="small")
    seconds = time.perf_counter() - started
    lines = [("demo_small_load", seconds, "s")]
    lines += [(f"demo_small_step_{name}", value, "s") for name, value in result.seconds.items()]
    lines.append(("demo_small_audit_events", AuditEvent.objects.count(), "events"))
    return lines
