"""The audit trail as CSV, for the page and the API alike; every export is itself audited."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from medoffice.core import audit
from medoffice.core.selectors import audit_search

AUDIT_COLUMNS = ("seq", "at", "time_zone", "actor_name", "action", "object_type", "object_id",
                 "object", "patient_id", "ip_address", "reason", "flagged", "changes",
                 "hash")  # fmt: skip
CHUNK = 500  # events presented together (a fixed number of queries per chunk)


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


def audit_csv(filters: dict, *, user: object = None) -> Iterator[str]:
    """Record the export (what was asked for, how many rows), then yield the CSV lines.

    Times are in the practice's zone (named in a column), objects in words, and changes as
    the page shows them, with PHI only as `user` may read it.
    """
    from medoffice.core.audit_display import present
    from medoffice.core.selectors import practice_time_zone

    events = audit_search(**filters)
    audit.record_export(
        "core.auditevent",
        rows=events.count(),
        filters={key: str(value) for key, value in filters.items() if value},
    )
    writer = csv.writer(_Echo())
    zone = practice_time_zone()

    def line(row) -> list[str]:
        event = row.event
        values = {
            "at": row.at.isoformat(), "time_zone": zone, "object": row.object_words,
            "changes": row.lines_text,
        }  # fmt: skip
        return [csv_cell(values.get(c, getattr(event, c, ""))) for c in AUDIT_COLUMNS]

    def rows():
        yield writer.writerow(AUDIT_COLUMNS)
        chunk = []
        for event in events.iterator(chunk_size=2000):
            chunk.append(event)
            if len(chunk) == CHUNK:
                for row in present(chunk, user):
                    yield writer.writerow(line(row))
                chunk = []
        for row in present(chunk, user):
            yield writer.writerow(line(row))

    return rows()
