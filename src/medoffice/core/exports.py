"""The audit trail as CSV, for the page and the API alike; every export is itself audited."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from medoffice.core import audit
from medoffice.core.selectors import audit_search

AUDIT_COLUMNS = ("seq", "at", "actor_name", "action", "object_type", "object_id", "object_repr",
                 "patient_id", "ip_address", "reason", "flagged", "changes", "hash")  # fmt: skip


class _Echo:
    def write(self, value):
        return value


def csv_cell(value) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    # Keep spreadsheet programs from running a cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(filters: dict) -> Iterator[str]:
    """Record the export (what was asked for, how many rows), then yield the CSV lines."""
    events = audit_search(**filters)
    audit.record_export(
        "core.auditevent",
        rows=events.count(),
        filters={key: str(value) for key, value in filters.items() if value},
    )
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(AUDIT_COLUMNS)
        for event in events.iterator(chunk_size=2000):
            yield writer.writerow([csv_cell(getattr(event, column)) for column in AUDIT_COLUMNS])

    return rows()
