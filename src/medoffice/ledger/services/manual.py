"""The accountant's manual journal entries, through delegated authority.

A manual entry is checked whole (every bad line named at once), kept as a `ManualEntry` with
its lines, and put to the approval service as a decision of kind `journal_entry` for its
total. Within the preparer's authority the request is approved at once and the entry posts
in the same transaction; above it the entry waits in the approvals queue and posts when
someone whose authority covers it approves (source `ledger.manual_entry`, id the draft's).
A rejection posts nothing. Its lines never sit in the journal before they post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice.core import money
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import ApprovalRequest, ApprovalStatus, DecisionKind
from medoffice.core.role_permissions import require_perm
from medoffice.ledger.models import (
    Account,
    EntryKind,
    ManualEntry,
    ManualEntryStatus,
    to_dollars,
)
from medoffice.ledger.permissions import LedgerPerm
from medoffice.ledger.services.posting import (
    MAX_LINES,
    Line,
    Posting,
    closed_period_for,
    money_text,
    post,
)

if TYPE_CHECKING:
    from medoffice.core.models import Location, User

MANUAL_SOURCE = "ledger.manual_entry"


@dataclass(frozen=True)
class ManualLine:
    """One line as the preparer typed it: the account (itself, its id or its code), a debit
    or a credit in dollars and cents."""

    account: Account | int | str | None
    debit: Decimal | int | str | None = ""
    credit: Decimal | int | str | None = ""
    memo: str = ""
    location: Location | None = None


def _amount(value: Any, *, field: str, label: str, errors: dict[str, list[str]]) -> int:
    if value in (None, "", 0, "0"):
        return 0
    try:
        return int(money.parse_money(value, field=field, label=label, minimum=money.ZERO) * 100)
    except InvalidInput as exc:
        errors.setdefault(field, []).append(exc.message)
        return 0


def _accounts(lines: Sequence[ManualLine]) -> dict[Any, Account]:
    ids = {line.account for line in lines if isinstance(line.account, int)}
    codes = {line.account.strip() for line in lines if isinstance(line.account, str)}
    found: dict[Any, Account] = {}
    for account in Account.objects.filter(pk__in=ids):
        found[account.pk] = account
    for account in Account.objects.filter(code__in=codes):
        found[account.code] = account
    return found


def check_lines(
    *, day: Any, memo: str, lines: Sequence[ManualLine]
) -> tuple[list[dict[str, Any]], int]:
    """The entry's lines as stored (account id, debit and credit cents), and its total; or
    InvalidInput naming every bad field at once (`lines.3.account`, `lines.3.debit`, ...)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not isinstance(day, date):
        add("date", "Date: give the entry's date.")
    else:
        closed = closed_period_for(day)
        if closed is not None:
            add("date", f"Date: {closed.label} is closed; date the entry in an open month.")
    if not memo.strip():
        add("memo", "Memo: say what the adjustment is for.")
    if len(lines) < 2:
        add("lines", "An entry needs at least two lines.")
    if len(lines) > MAX_LINES:
        add("lines", f"An entry has at most {MAX_LINES} lines.")
    found = _accounts(lines)
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        where = f"lines.{number}"
        given = line.account.strip() if isinstance(line.account, str) else line.account
        account = given if isinstance(given, Account) else found.get(given)
        if given in (None, ""):
            add(f"{where}.account", f"Line {number}: choose an account.")
        elif account is None:
            add(f"{where}.account", f"Line {number}: no account {given!r}.")
        elif not account.is_active:
            add(f"{where}.account", f"Line {number}: account {account} is inactive.")
        elif not account.is_postable:
            add(
                f"{where}.account",
                f"Line {number}: {account} is a heading; choose an account under it.",
            )
        debit = _amount(
            line.debit, field=f"{where}.debit", label=f"Line {number} debit", errors=errors
        )
        credit = _amount(
            line.credit, field=f"{where}.credit", label=f"Line {number} credit", errors=errors
        )
        amounts_read = f"{where}.debit" not in errors and f"{where}.credit" not in errors
        if amounts_read and (debit > 0) == (credit > 0):
            add(where, f"Line {number}: give a debit or a credit (one of them).")
        rows.append(
            {
                "account": account.pk if account is not None else None,
                "debit_cents": debit,
                "credit_cents": credit,
                "memo": line.memo.strip()[:120],
                "location": line.location.pk if line.location is not None else None,
            }
        )
    debits = sum(row["debit_cents"] for row in rows)
    credits = sum(row["credit_cents"] for row in rows)
    if not errors and debits != credits:
        add(
            "lines",
            f"Debits {money_text(debits)} and credits {money_text(credits)} do not balance "
            f"(off by {money_text(abs(debits - credits))}).",
        )
    if errors:
        first = next(iter(errors))
        raise InvalidInput(
            " ".join(messages[0] for messages in errors.values()), field=first, errors=errors
        )
    return rows, debits


def _same(draft: ManualEntry, day: date, memo: str, rows: list[dict[str, Any]]) -> bool:
    return draft.date == day and draft.memo == memo.strip()[:200] and draft.lines == rows


@transaction.atomic
@binds_actor("actor")
def manual_entry_submit(
    *,
    actor: User,
    date: date | None,
    memo: str,
    lines: Sequence[ManualLine],
    idempotency_key: str = "",
) -> ManualEntry:
    """Write a manual journal entry: posted now within the preparer's authority for manual
    entries, otherwise waiting for approval. The same idempotency key (per preparer) returns
    the first submission; with other content it is a conflict."""
    require_perm(actor, LedgerPerm.POST_MANUAL_ENTRIES)
    key = idempotency_key.strip()[:100]
    rows, total = check_lines(day=date, memo=memo, lines=list(lines))
    assert date is not None  # checked above
    if key:
        earlier = ManualEntry.objects.filter(prepared_by=actor, idempotency_key=key).first()
        if earlier is not None:
            return _repeat(earlier, date, memo, rows)
    try:
        with transaction.atomic():
            draft = ManualEntry.objects.create(
                date=date,
                memo=memo.strip()[:200],
                lines=rows,
                total_cents=total,
                prepared_by=actor,
                prepared_at=timezone.now(),
                idempotency_key=key,
            )
    except IntegrityError:  # the same key, submitted at the same moment
        if not key:
            raise
        earlier = ManualEntry.objects.get(prepared_by=actor, idempotency_key=key)
        return _repeat(earlier, date, memo, rows)
    from medoffice.core.services import approval_request

    request = approval_request(
        kind=DecisionKind.JOURNAL_ENTRY,
        amount=to_dollars(total),
        description=f"Manual journal entry {draft.pk} of {date:%Y-%m-%d}: {draft.memo}"[:300],
        requested_by=actor,
        subject=draft,
    )
    ManualEntry.objects.filter(pk=draft.pk).update(approval=request)
    draft.refresh_from_db()
    return draft


def _repeat(earlier: ManualEntry, day: date, memo: str, rows: list[dict[str, Any]]) -> ManualEntry:
    if not _same(earlier, day, memo, rows):
        raise Conflict(
            f"This idempotency key was used for manual entry {earlier.pk} with other content.",
            field="idempotency_key",
        )
    return earlier


def _posting(draft: ManualEntry) -> Posting:
    accounts = Account.objects.in_bulk([row["account"] for row in draft.lines])
    from medoffice.core.models import Location

    places = Location.objects.in_bulk([row["location"] for row in draft.lines if row["location"]])
    return Posting(
        source_type=MANUAL_SOURCE,
        source_id=draft.pk,
        date=draft.date,
        kind=EntryKind.MANUAL,
        memo=draft.memo,
        lines=[
            Line(
                accounts[row["account"]],
                debit=to_dollars(row["debit_cents"]),
                credit=to_dollars(row["credit_cents"]),
                memo=row["memo"],
                location=places.get(row["location"]),
            )
            for row in draft.lines
        ],
    )


def on_decided(request: ApprovalRequest) -> None:
    """The approval service's answer for a manual entry: post it, or mark it rejected."""
    if request.subject_type != "ledger.manualentry" or not request.subject_id:
        return
    draft = ManualEntry.objects.select_for_update().filter(pk=int(request.subject_id)).first()
    if draft is None or draft.status != ManualEntryStatus.PENDING:
        return
    if request.status == ApprovalStatus.APPROVED:
        entry = post(_posting(draft), actor=request.decided_by)
        draft.status = ManualEntryStatus.POSTED
        draft.entry = entry
        draft.save(update_fields=["status", "entry"])
    elif request.status == ApprovalStatus.REJECTED:
        draft.status = ManualEntryStatus.REJECTED
        draft.note = request.decision_note[:300]
        draft.save(update_fields=["status", "note"])
