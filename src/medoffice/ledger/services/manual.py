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
from datetime import date, datetime, time
from datetime import date as datetime_date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from medoffice.core import money
from medoffice.core.access import has_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.formats import us_date
from medoffice.core.models import ApprovalRequest, ApprovalStatus, DecisionKind, User
from medoffice.core.role_permissions import require_perm
from medoffice.ledger.models import (
    Account,
    EntryKind,
    ManualEntry,
    ManualEntryStatus,
    to_dollars,
)
from medoffice.ledger.permissions import LedgerPerm
from medoffice.ledger.selectors import PATIENT_ACCOUNT_KEYS
from medoffice.ledger.services.periods import entry_date_range
from medoffice.ledger.services.posting import (
    MAX_LINES,
    Line,
    Posting,
    closed_period_for,
    closed_words,
    money_text,
    post,
)
from medoffice.patients.permissions import PatientsPerm

if TYPE_CHECKING:
    from medoffice.core.models import Location
    from medoffice.patients.models import Patient

MANUAL_SOURCE = "ledger.manual_entry"
PATIENT_SECOND_PERSON = (
    "it adjusts a patient's account: a second person approves it, whatever the preparer's authority"
)


@dataclass(frozen=True)
class ManualLine:
    """One line as the preparer typed it: the account (itself, its id or its code), a debit
    or a credit in dollars and cents."""

    account: Account | int | str | None
    debit: Decimal | int | str | None = ""
    credit: Decimal | int | str | None = ""
    memo: str = ""
    location: Location | None = None
    patient: Patient | int | str | None = None  # the patient account: itself, its id or MRN
    number: int | None = None  # the line's number where the preparer sees it (a form's row)


def _amount(value: Any, *, field: str, label: str, errors: dict[str, list[str]]) -> int:
    if isinstance(value, bool):  # True == 1 and False == 0 in Python; neither is an amount
        errors.setdefault(field, []).append(f"{label} must be an amount, not true or false.")
        return 0
    if value in (None, "", 0, "0"):
        return 0
    try:
        return int(money.parse_money(value, field=field, label=label, minimum=money.ZERO) * 100)
    except InvalidInput as exc:
        errors.setdefault(field, []).append(exc.message)
        return 0


def _accounts(lines: Sequence[ManualLine]) -> tuple[dict[Any, Account], set[str]]:
    """The accounts the lines name by id, by code, or by exact name (any case), keyed by what
    was given; and the names several accounts share (the code tells them apart)."""
    ids = {line.account for line in lines if type(line.account) is int}
    codes = {line.account.strip() for line in lines if isinstance(line.account, str)}
    codes.discard("")
    found: dict[Any, Account] = {}
    for account in Account.objects.filter(pk__in=ids):
        found[account.pk] = account
    for account in Account.objects.filter(code__in=codes):
        found[account.code] = account
    names = {text.casefold(): text for text in codes if text not in found}
    shared: set[str] = set()
    if names:  # a chart is small: its names are compared here, in any case
        by_name: dict[str, list[Account]] = {}
        for account in Account.objects.all():
            if account.name.casefold() in names:
                by_name.setdefault(account.name.casefold(), []).append(account)
        for folded, matches in by_name.items():
            if len(matches) == 1:
                found[names[folded]] = matches[0]
            else:
                shared.add(names[folded])
    return found, shared


def patient_account_ids() -> set[int]:
    """The accounts that hold patient accounts: patient A/R and unapplied patient payments,
    by their keys (the balances and a merge's transfer read those two; they take no
    sub-accounts)."""
    return set(Account.objects.filter(key__in=PATIENT_ACCOUNT_KEYS).values_list("pk", flat=True))


def _patients(lines: Sequence[ManualLine]) -> dict[Any, Patient]:
    """The patients the lines name by MRN (a str) or id (an int), keyed by what was given."""
    from medoffice.patients.models import Patient

    mrns = {line.patient.strip() for line in lines if isinstance(line.patient, str)}
    mrns.discard("")
    ids = {line.patient for line in lines if type(line.patient) is int}
    found: dict[Any, Patient] = {}
    if mrns:
        found.update((p.mrn, p) for p in Patient.objects.filter(mrn__in=mrns))
    if ids:
        found.update((p.pk, p) for p in Patient.objects.filter(pk__in=ids))
    return found


def check_lines(
    *, day: Any, memo: str, lines: Sequence[ManualLine], actor: User | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The entry's lines as stored (account id, debit and credit cents, patient), and its
    total; or InvalidInput naming every bad field at once (`lines.3.account`, ...).

    The date is within `entry_date_range()` (the books' start to a year ahead) and in an open
    month; a line on a patient account names the patient (and the actor may see patients)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if isinstance(day, str) and day.strip():  # text a caller could not read as a date
        add("date", f"Date: {day.strip()!r} cannot be read as a date; give one such as 2026-11-30.")
    elif not isinstance(day, date):
        add("date", "Date: give the entry's date.")
    else:
        earliest, latest = entry_date_range()
        closed = closed_period_for(day)
        if not earliest <= day <= latest:
            add(
                "date",
                f"Date: {us_date(day)} is outside the books; date the entry between "
                f"{us_date(earliest)} (the books' start) and {us_date(latest)}.",
            )
        elif closed is not None:
            add("date", f"Date: {closed_words(day, closed)}; date the entry in an open month.")
    if not memo.strip():
        add("memo", "Memo: say what the adjustment is for.")
    if len(lines) < 2:
        add("lines", "An entry needs at least two lines.")
    if len(lines) > MAX_LINES:
        add("lines", f"An entry has at most {MAX_LINES} lines.")
    found, shared = _accounts(lines)
    on_patients = patient_account_ids()
    patients = _patients(lines)
    rows: list[dict[str, Any]] = []
    for position, line in enumerate(lines, start=1):
        number = line.number or position
        where = f"lines.{number}"
        given = line.account.strip() if isinstance(line.account, str) else line.account
        account = given if isinstance(given, Account) else found.get(given)
        if given in (None, ""):
            add(f"{where}.account", f"Line {number}: choose an account.")
        elif account is None and given in shared:
            add(
                f"{where}.account",
                f"Line {number}: several accounts are named {given!r}; give the account's code.",
            )
        elif account is None:
            add(f"{where}.account", f"Line {number}: no account {given!r} (by code or name).")
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
        patient = _line_patient(line, number, account, on_patients, patients, actor, add)
        rows.append(
            {
                "account": account.pk if account is not None else None,
                "debit_cents": debit,
                "credit_cents": credit,
                "memo": line.memo.strip()[:120],
                "location": line.location.pk if line.location is not None else None,
                "patient": patient.pk if patient is not None else None,
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


def _line_patient(
    line: ManualLine,
    number: int,
    account: Account | None,
    on_patients: set[int],
    patients: dict[Any, Patient],
    actor: User | None,
    add: Any,
) -> Patient | None:
    """The line's patient account, checked: named on a patient account, found, not merged
    away, and one the actor may see; None on other accounts (a patient there means nothing)."""
    where = f"lines.{number}.patient"
    given = line.patient.strip() if isinstance(line.patient, str) else line.patient
    if account is None:
        return None
    if account.pk not in on_patients:
        if given not in (None, ""):
            add(where, f"Line {number}: {account} is not a patient account; leave the patient out.")
        return None
    if given in (None, ""):
        add(
            where,
            f"Line {number}: {account} is a patient account; name the patient (MRN) "
            "the line belongs to.",
        )
        return None
    patient = patients.get(given) if isinstance(given, str | int) else given
    if patient is None:
        named = f"MRN {given!r}" if isinstance(given, str) else f"id {given}"
        add(where, f"Line {number}: no patient with {named}.")
        return None
    if patient.merged_into_id is not None:
        add(where, f"Line {number}: patient {patient.mrn} was merged into another record.")
        return None
    if actor is not None and not has_perm(actor, PatientsPerm.VIEW_PATIENTS):
        add(where, f"Line {number}: your role does not cover patient records.")
        return None
    return patient


def _same(draft: ManualEntry, day: date, memo: str, rows: list[dict[str, Any]]) -> bool:
    return draft.date == day and draft.memo == memo.strip()[:200] and draft.lines == rows


@transaction.atomic
@binds_actor("actor")
def manual_entry_submit(
    *,
    actor: User,
    date: date | str | None,
    memo: str,
    lines: Sequence[ManualLine],
    idempotency_key: str = "",
) -> ManualEntry:
    """Write a manual journal entry: posted now within the preparer's authority for manual
    entries, otherwise waiting for approval. The same idempotency key (per preparer) returns
    the first submission; with other content it is a conflict."""
    require_perm(actor, LedgerPerm.POST_MANUAL_ENTRIES)
    key = idempotency_key.strip()[:100]
    rows, total = check_lines(day=date, memo=memo, lines=list(lines), actor=actor)
    assert isinstance(date, datetime_date)  # checked above
    # The preparer's row is held until this commits: their submissions queue one behind the
    # other, so the day's total below counts every entry that went before.
    User.objects.select_for_update(no_key=True).filter(pk=actor.pk).first()
    if key:
        earlier = _earlier(actor, key)
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

    earlier_today = _posted_today_by(actor, exclude=draft.pk)
    with_earlier = (
        f" [with {money_text(earlier_today)} the same person posted today]" if earlier_today else ""
    )
    # Segregation of duties: an adjustment of a patient's account never posts on its
    # preparer's word alone, however large their authority (the owner's included).
    on_patient = any(row["patient"] is not None for row in rows)
    why = f" [{PATIENT_SECOND_PERSON}]" if on_patient else with_earlier
    request = approval_request(
        kind=DecisionKind.JOURNAL_ENTRY,
        amount=to_dollars(total),
        counted=to_dollars(total + earlier_today),
        needs_another=on_patient,
        description=f"Manual journal entry {draft.pk} of {date:%Y-%m-%d}{why}: {draft.memo}"[:300],
        requested_by=actor,
        subject=draft,
    )
    ManualEntry.objects.filter(pk=draft.pk).update(approval=request)
    draft.refresh_from_db()
    return draft


def _posted_today_by(actor: User, *, exclude: int) -> int:
    """Cents of the manual entries `actor` prepared today that were approved within their own
    authority (not waiting, rejected or cancelled): the manual-entry limit holds for the day's
    total, so one adjustment split in several under the limit still goes to the queue."""
    start = datetime.combine(timezone.localdate(), time.min, tzinfo=timezone.get_current_timezone())
    total = (
        ManualEntry.objects.filter(
            prepared_by=actor,
            prepared_at__gte=start,
            status=ManualEntryStatus.POSTED,
            approval__within_requester_authority=True,
        )
        .exclude(pk=exclude)
        .aggregate(total=Sum("total_cents"))["total"]
    )
    return int(total or 0)


def _earlier(actor: User, key: str) -> ManualEntry | None:
    """The submission an idempotency key already made (the unique key decides in a race)."""
    return ManualEntry.objects.filter(prepared_by=actor, idempotency_key=key).first()


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
    from medoffice.patients.models import Patient

    places = Location.objects.in_bulk([row["location"] for row in draft.lines if row["location"]])
    people = Patient.objects.in_bulk([row["patient"] for row in draft.lines if row.get("patient")])
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
                patient=people.get(row.get("patient")),
            )
            for row in draft.lines
        ],
    )


def on_decided(request: ApprovalRequest) -> None:
    """The approval service's answer for a manual entry: post it, or mark it rejected or
    cancelled."""
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
    elif request.status == ApprovalStatus.CANCELLED:  # it no longer waits, nor holds a close
        draft.status = ManualEntryStatus.CANCELLED
        draft.save(update_fields=["status"])
