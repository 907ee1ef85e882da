"""The transaction sets the library maps, chosen by ST01 and the implementation (ST03/GS08)."""

from __future__ import annotations

from collections.abc import Callable

from medoffice.x12.errors import BadValue, X12Warning
from medoffice.x12.tokenizer import Delimiters
from medoffice.x12.transactions.common import Cursor


def kind_of(set_id: str, implementation: str) -> str | None:
    """The mapped kind ("837P", "835", ...) or None for a type or version not mapped."""
    if not implementation.startswith("005010"):
        return None
    if set_id == "837":
        return "837P" if "X222" in implementation else None
    if set_id == "277":
        return "277CA" if "X214" in implementation else "277"
    if set_id in ("835", "270", "271", "276", "999"):
        return set_id
    return None


def _builders() -> dict[str, Callable[[Cursor], object]]:
    from medoffice.x12.transactions import (
        claim_status,
        eligibility,
        implementation_ack,
        professional_claim,
        remittance,
    )

    return {
        "837P": professional_claim.build,
        "835": remittance.build,
        "270": eligibility.build_request,
        "271": eligibility.build_response,
        "276": claim_status.build_request,
        "277": claim_status.build_response,
        "277CA": claim_status.build_acknowledgment,
        "999": implementation_ack.build,
    }


_BUILDERS: dict[str, Callable[[Cursor], object]] = {}


def check_unmapped(
    set_id: str,
    implementation: str,
    body: list[list[str]],
    first: int,
    delimiters: Delimiters,
    warnings: list[X12Warning],
) -> None:
    """What the library checks of a transaction set it does not map, beyond the syntax: the
    submitter loop of a 4010 837P, which is the 5010 837P's."""
    if set_id != "837" or not implementation.startswith("004010X098"):
        return
    from medoffice.x12.transactions import professional_claim

    cursor = Cursor(body, first, delimiters, warnings)
    try:
        professional_claim.check_4010_header(cursor)
    except BadValue as exc:
        raise cursor.last(str(exc)) from None


def build_transaction(
    kind: str,
    body: list[list[str]],
    first: int,
    delimiters: Delimiters,
    warnings: list[X12Warning],
) -> object:
    if not _BUILDERS:
        _BUILDERS.update(_builders())
    cursor = Cursor(body, first, delimiters, warnings)
    try:
        return _BUILDERS[kind](cursor)
    except BadValue as exc:
        raise cursor.last(str(exc)) from None
