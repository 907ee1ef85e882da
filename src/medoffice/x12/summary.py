"""What a file holds, as plain data: interchanges, transaction sets by type, the segment count,
and the claims of 835 and 837P transactions with their control numbers and amounts.

Amounts stay Decimal here; `as_json` turns them (and dates) into strings.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from medoffice.x12.envelope import Document, Transaction
from medoffice.x12.transactions.professional_claim import ProfessionalClaims
from medoffice.x12.transactions.remittance import Remittance


def summarize(document: Document) -> dict[str, Any]:
    kinds: Counter[str] = Counter()
    interchanges = []
    claims: list[dict[str, Any]] = []
    for interchange in document.interchanges:
        inside: Counter[str] = Counter()
        for transaction in interchange.transactions():
            inside[_kind(transaction)] += 1
            claims.extend(_claims(transaction))
        kinds.update(inside)
        interchanges.append(
            {
                "sender_qualifier": interchange.sender_qualifier,
                "sender_id": interchange.sender_id,
                "receiver_qualifier": interchange.receiver_qualifier,
                "receiver_id": interchange.receiver_id,
                "control_number": interchange.control_number,
                "date": interchange.date,
                "time": interchange.time,
                "usage": interchange.usage,
                "groups": len(interchange.groups),
                "transactions": dict(inside),
            }
        )
    return {
        "segments": document.segment_count,
        "interchanges": interchanges,
        "transactions": dict(kinds),
        "claims": claims,
        "warnings": [str(warning) for warning in document.warnings],
    }


def _kind(transaction: Transaction) -> str:
    if transaction.kind != "unknown":
        return transaction.kind
    return f"{transaction.set_id} {transaction.implementation} (not mapped)".replace("  ", " ")


def _claims(transaction: Transaction) -> list[dict[str, Any]]:
    data = transaction.data
    if isinstance(data, ProfessionalClaims):
        return [
            {
                "transaction": "837P",
                "transaction_control_number": transaction.control_number,
                "control_number": claim.claim_id,
                "charge": claim.charge,
                "frequency_code": claim.frequency_code,
                "payer_claim_number": claim.payer_claim_number,
                "service_lines": len(claim.service_lines),
            }
            for claim in data.claims()
        ]
    if isinstance(data, Remittance):
        return [
            {
                "transaction": "835",
                "transaction_control_number": transaction.control_number,
                "control_number": claim.patient_control_number,
                "status_code": claim.status_code,
                "charge": claim.charge,
                "paid": claim.paid,
                "patient_responsibility": claim.patient_responsibility,
                "payer_claim_number": claim.payer_claim_number,
                "service_lines": len(claim.service_lines),
            }
            for claim in data.claims
        ]
    return []


def as_json(value: Any) -> Any:
    """The summary with Decimal amounts as strings and dates and times in ISO form."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat(timespec="minutes") if isinstance(value, dt.time) else str(value)
    return value
