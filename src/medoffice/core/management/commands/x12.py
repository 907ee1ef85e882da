"""`medoffice x12 read FILE [--json]`: what an X12 file holds (reads only; needs no --as)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from medoffice.core.management.commands._ops import OpsCommand

ACTIONS = ("read",)


class Command(OpsCommand):
    help = (
        "`read FILE` prints what an X12 file holds: its interchanges (sender, receiver, "
        "control number, date), its transaction sets by type, the segment count, and the "
        "claims of 835 and 837P transactions with their control numbers and amounts; "
        "`--json` prints the same as JSON (amounts as strings). A malformed file ends with "
        "`segment N (ID): what is wrong` and a non-zero exit."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def run(self, *, action, file, json=False, **options):
        from medoffice.x12 import X12Error, read_file
        from medoffice.x12.summary import as_json, summarize

        try:
            document = read_file(file)
        except X12Error as exc:
            raise CommandError(str(exc)) from exc
        summary = summarize(document)
        if json:
            self.stdout.write(_dumps(as_json(summary)))
        else:
            for line in _lines(summary):
                self.stdout.write(line)


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2)


def _lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for interchange in summary["interchanges"]:
        usage = {"P": "production", "T": "test", "I": "information"}.get(interchange["usage"], "")
        lines.append(
            f"Interchange {interchange['control_number']}: from "
            f"{interchange['sender_qualifier']}/{interchange['sender_id']} to "
            f"{interchange['receiver_qualifier']}/{interchange['receiver_id']}, "
            f"{interchange['date'].isoformat()} {interchange['time'].strftime('%H:%M')}, "
            f"{usage}, {interchange['groups']} group(s)"
        )
    lines.append(
        "Transactions: "
        + (", ".join(f"{kind} x {n}" for kind, n in summary["transactions"].items()) or "none")
    )
    lines.append(f"Segments: {summary['segments']}")
    for kind in ("837P", "835"):
        claims = [c for c in summary["claims"] if c["transaction"] == kind]
        if not claims:
            continue
        lines.append(f"Claims ({kind}): {len(claims)}")
        width = max(len(c["control_number"]) for c in claims)
        for claim in claims:
            if kind == "837P":
                detail = f"charge {claim['charge']}  frequency {claim['frequency_code']}"
            else:
                detail = (
                    f"status {claim['status_code']}  charge {claim['charge']}  paid {claim['paid']}"
                )
            if claim["payer_claim_number"]:
                detail += f"  payer claim {claim['payer_claim_number']}"
            lines.append(f"  {claim['control_number']:<{width}}  {detail}")
    if summary["warnings"]:
        lines.append(f"Warnings: {len(summary['warnings'])}")
        lines.extend(f"  {warning}" for warning in summary["warnings"])
    return lines
