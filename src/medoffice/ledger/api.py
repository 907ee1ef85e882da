"""JSON API of the books: /api/ledger/... (same permissions as the pages).

Reads: the chart, journal entries (filtered, paged), the trial balance, and a patient
account's balance and activity (a PHI read, written to the audit trail). Writes, each needing
an Idempotency-Key header (docs/adr/0010): a manual entry, and the reversal of one.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictInt, StrictStr

from medoffice.core.access import get_for_user, require_perm
from medoffice.core.api_auth import requires, user_of
from medoffice.core.dates import Day, check_span
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.idempotency import honour_keys, idempotent, service_key
from medoffice.core.models import Location
from medoffice.ledger import reports, selectors, services
from medoffice.ledger.models import (
    Account,
    EntryKind,
    JournalEntry,
    JournalLine,
    ManualEntry,
    to_dollars,
)
from medoffice.ledger.permissions import LedgerPerm
from medoffice.patients.models import Patient
from medoffice.patients.permissions import PatientsPerm

router = Router(tags=["ledger"])
router.add_decorator(honour_keys, mode="view")

MAX_ENTRIES = 500


class AccountOut(Schema):
    id: int
    code: str
    name: str
    key: str | None
    type: str
    normal_side: str
    parent_id: int | None
    location_id: int | None
    is_postable: bool
    is_active: bool


class LineOut(Schema):
    id: int
    account_id: int
    account_code: str
    debit: Decimal
    credit: Decimal
    location_id: int | None
    provider_id: int | None
    patient_id: int | None
    memo: str


class EntryOut(Schema):
    id: int
    date: date
    kind: str
    memo: str
    source_type: str
    source_id: str
    source_key: str
    total: Decimal
    reverses_id: int | None
    location_id: int | None
    posted_at: datetime
    lines: list[LineOut]


class EntryPage(Schema):
    count: int
    offset: int
    limit: int
    results: list[EntryOut]


class EntryFilters(Schema):
    since: Day | None = None
    until: Day | None = None
    source_type: str | None = Field(None, max_length=60, description="e.g. reception.payment")
    source_id: str | None = Field(None, max_length=64)
    kind: str | None = Field(None, description=" | ".join(EntryKind.values))
    account_id: int | None = Field(None, description="entries with a line on this account")
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(100, ge=1, le=MAX_ENTRIES)


class TrialBalanceRowOut(Schema):
    account_id: int
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal


class TrialBalanceOut(Schema):
    as_of: date
    balanced: bool
    filtered: bool = Field(
        description="only the lines of a location or provider: such a trial balance need not "
        "balance (an entry may put its other side on no location)"
    )
    total_debit: Decimal
    total_credit: Decimal
    rows: list[TrialBalanceRowOut]


class TrialBalanceQuery(Schema):
    as_of: Day | None = None
    location_id: int | None = None
    provider_id: int | None = None


class PatientBalanceOut(Schema):
    patient_id: int
    balance: Decimal = Field(..., description="what the patient owes; negative is paid ahead")


class ActivityLineOut(Schema):
    date: date
    entry_id: int
    source: str
    account: str
    memo: str
    amount: Decimal = Field(..., description="a charge positive, a payment negative")
    balance: Decimal


class ActivityOut(Schema):
    patient_id: int
    since: date | None
    until: date | None
    opening_balance: Decimal
    balance: Decimal
    count: int
    truncated: bool
    lines: list[ActivityLineOut]


class ActivityQuery(Schema):
    since: Day | None = None
    until: Day | None = None


@router.get("/accounts", response=list[AccountOut], summary="The chart of accounts")
@requires(LedgerPerm.VIEW_BOOKS)
def accounts(request):
    return list(Account.objects.order_by("code"))


def _line(line: JournalLine) -> dict:
    return {
        "id": line.pk,
        "account_id": line.account_id,
        "account_code": line.account.code,
        "debit": line.debit,
        "credit": line.credit,
        "location_id": line.location_id,
        "provider_id": line.provider_id,
        "patient_id": line.patient_id,
        "memo": line.memo,
    }


@router.get("/entries", response=EntryPage, summary="Journal entries, newest first, paged")
@requires(LedgerPerm.VIEW_BOOKS)
def entries(request, filters: Query[EntryFilters]):
    found = JournalEntry.objects.order_by("-date", "-id")
    check_span(filters.since, filters.until)
    if filters.since is not None:
        found = found.filter(date__gte=filters.since)
    if filters.until is not None:
        found = found.filter(date__lte=filters.until)
    if filters.source_type:
        found = found.filter(source_type=filters.source_type)
    if filters.source_id:
        found = found.filter(source_id=filters.source_id)
    if filters.kind:
        found = found.filter(kind=filters.kind)
    if filters.account_id is not None:
        found = found.filter(pk__in=JournalLine.objects.filter(account_id=filters.account_id)
                             .values("entry_id"))  # fmt: skip
    page = list(
        found.prefetch_related(
            Prefetch("lines", JournalLine.objects.select_related("account").order_by("id"))
        )[filters.offset : filters.offset + filters.limit]
    )
    return {
        "count": found.count(),
        "offset": filters.offset,
        "limit": filters.limit,
        "results": [_entry_out(entry, entry.lines.all()) for entry in page],
    }


@router.get("/trial-balance", response=TrialBalanceOut, summary="The trial balance as of a day")
@requires(LedgerPerm.VIEW_BOOKS)
def trial_balance(request, query: Query[TrialBalanceQuery]):
    as_of = query.as_of or timezone.localdate()
    dims = selectors.check_dimensions(
        query.location_id, query.provider_id, fields=("location_id", "provider_id")
    )
    balance = selectors.trial_balance(as_of, **dims)
    return {
        "as_of": as_of,
        "balanced": balance.balanced,
        "filtered": any(value is not None for value in dims.values()),
        "total_debit": balance.total_debit,
        "total_credit": balance.total_credit,
        "rows": [
            {
                "account_id": row.account.pk,
                "code": row.account.code,
                "name": row.account.name,
                "type": row.account.type,
                "debit": row.debit,
                "credit": row.credit,
            }
            for row in balance.rows
        ],
    }


def _patient(request, patient_id: int) -> Patient:
    require_perm(user_of(request), PatientsPerm.VIEW_MONEY)  # a patient's money, besides the books
    return get_for_user(
        Patient, user_of(request), PatientsPerm.VIEW_PATIENTS, pk=patient_id, record_view=True
    )


@router.get("/patients/{patient_id}/balance", response=PatientBalanceOut,
            summary="A patient account's balance (audited)")  # fmt: skip
@requires(LedgerPerm.VIEW_BOOKS)
def patient_balance(request, patient_id: int):
    patient = _patient(request, patient_id)
    cents = selectors.patient_account_cents([patient.pk]).get(patient.pk, 0)
    return {"patient_id": patient.pk, "balance": to_dollars(cents)}


@router.get("/patients/{patient_id}/activity", response=ActivityOut,
            summary="A patient account's activity with the running balance (audited)")  # fmt: skip
@requires(LedgerPerm.VIEW_BOOKS)
def patient_activity(request, patient_id: int, query: Query[ActivityQuery]):
    check_span(query.since, query.until)  # before the read: a refused request reads no record
    patient = _patient(request, patient_id)
    activity = reports.patient_activity(patient.pk, since=query.since, until=query.until)
    return {
        "patient_id": patient.pk,
        "since": query.since,
        "until": query.until,
        "opening_balance": activity.opening,
        "balance": activity.balance,
        "count": activity.count,
        "truncated": activity.truncated,
        "lines": [
            {
                "date": line.date,
                "entry_id": line.entry_id,
                "source": line.source,
                "account": line.account,
                "memo": line.memo,
                "amount": to_dollars(line.amount_cents),
                "balance": line.balance,
            }
            for line in activity.lines
        ],
    }


# --- Manual entries and reversals ---------------------------------------------------------------


class ManualLineIn(Schema):
    account: str = Field(..., max_length=20, description="the account's code, e.g. 5200")
    # Strict: a JSON true or 1.5 is not read as money (lax parsing made `true` one dollar).
    debit: StrictStr | StrictInt = Field(
        "", description='dollars and cents, e.g. "40.00"; empty for none'
    )
    credit: StrictStr | StrictInt = Field("", description="dollars and cents; empty for none")
    memo: str = Field("", max_length=120)
    location_id: int | None = None
    patient_id: int | None = Field(
        None, description="required on patient accounts (patient A/R, unapplied payments)"
    )


class ManualEntryIn(Schema):
    date: date
    memo: str = Field(..., max_length=200)
    lines: list[ManualLineIn] = Field(..., max_length=services.MAX_LINES)


class ManualLineOut(Schema):
    account_id: int
    debit: Decimal
    credit: Decimal
    memo: str
    location_id: int | None
    patient_id: int | None


class ManualEntryOut(Schema):
    id: int
    date: date
    memo: str
    status: str = Field(..., description="posted | pending | rejected")
    total: Decimal
    prepared_by: str
    prepared_at: datetime
    approval_id: int | None = Field(None, description="the approval request it waits on")
    approval_status: str | None
    entry_id: int | None = Field(None, description="the journal entry, once posted")
    reversed_by_id: int | None = Field(None, description="the entry that reversed it, if any")
    note: str
    lines: list[ManualLineOut]


class ReverseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=150)
    date: Day | None = Field(None, description="the reversal's date; today by default")


def _manual_out(draft: ManualEntry) -> dict:
    reversal = JournalEntry.objects.filter(reverses_id=draft.entry_id).values_list("pk", flat=True)
    return {
        "id": draft.pk,
        "date": draft.date,
        "memo": draft.memo,
        "status": draft.status,
        "total": draft.total,
        "prepared_by": draft.prepared_by.get_username(),
        "prepared_at": draft.prepared_at,
        "approval_id": draft.approval_id,
        "approval_status": draft.approval.status if draft.approval is not None else None,
        "entry_id": draft.entry_id,
        "reversed_by_id": reversal.first() if draft.entry_id else None,
        "note": draft.note,
        "lines": [
            {
                "account_id": row["account"],
                "debit": to_dollars(row["debit_cents"]),
                "credit": to_dollars(row["credit_cents"]),
                "memo": row["memo"],
                "location_id": row["location"],
                "patient_id": row.get("patient"),
            }
            for row in draft.lines
        ],
    }


def _locations(lines: list[ManualLineIn]) -> dict[int, Location]:
    ids = {line.location_id for line in lines if line.location_id is not None}
    found = Location.objects.in_bulk(ids)
    missing = {
        f"lines.{n}.location_id": [f"Line {n}: no location with id {line.location_id}."]
        for n, line in enumerate(lines, start=1)
        if line.location_id is not None and line.location_id not in found
    }
    if missing:
        raise InvalidInput(" ".join(m[0] for m in missing.values()), errors=missing,
                           field=next(iter(missing)))  # fmt: skip
    return found


def _draft(draft_id: int) -> ManualEntry:
    draft = ManualEntry.objects.select_related("prepared_by", "approval").filter(pk=draft_id)
    found = draft.first()
    if found is None:
        raise NotFound(f"No manual entry {draft_id}.")
    return found


@router.post("/manual-entries", response={201: ManualEntryOut},
             summary="Write a manual journal entry (Idempotency-Key required)")  # fmt: skip
@requires(LedgerPerm.POST_MANUAL_ENTRIES)
@idempotent(required=True)
def manual_entry_create(request, payload: ManualEntryIn):
    """Posted at once within the preparer's authority for manual entries; above it, the entry
    waits for approval (`status` pending, `approval_id` the request). The same key and body
    again return the first answer; the same key with another body is a 422."""
    places = _locations(payload.lines)
    draft = services.manual_entry_submit(
        actor=user_of(request),
        date=payload.date,
        memo=payload.memo,
        lines=[
            services.ManualLine(
                line.account,
                str(line.debit),
                str(line.credit),
                line.memo,
                location=places.get(line.location_id) if line.location_id else None,
                patient=line.patient_id,
            )
            for line in payload.lines
        ],
        idempotency_key=service_key(request),  # per preparer, 100 characters
    )
    return Status(201, _manual_out(_draft(draft.pk)))


@router.get("/manual-entries/{draft_id}", response=ManualEntryOut, summary="One manual entry")
@requires(LedgerPerm.POST_MANUAL_ENTRIES, LedgerPerm.VIEW_BOOKS)
def manual_entry_detail(request, draft_id: int):
    return _manual_out(_draft(draft_id))


def _entry_out(entry: JournalEntry, lines: Iterable[JournalLine] | None = None) -> dict:
    """An entry as the API gives it; its lines in order, read now unless given (fetched
    already, with their accounts)."""
    if lines is None:
        lines = entry.lines.select_related("account").order_by("id")
    return {
        "id": entry.pk,
        "date": entry.date,
        "kind": entry.kind,
        "memo": entry.memo,
        "source_type": entry.source_type,
        "source_id": entry.source_id,
        "source_key": entry.source_key,
        "total": entry.total,
        "reverses_id": entry.reverses_id,
        "location_id": entry.location_id,
        "posted_at": entry.posted_at,
        "lines": [_line(line) for line in lines],
    }


@router.get("/entries/{entry_id}", response=EntryOut, summary="One journal entry")
@requires(LedgerPerm.VIEW_BOOKS)
def entry_detail(request, entry_id: int):
    entry = JournalEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"No journal entry {entry_id}.")
    return _entry_out(entry)


@router.post("/entries/{entry_id}/reverse", response={201: EntryOut},
             summary="Reverse a posted manual entry (Idempotency-Key required)")  # fmt: skip
@requires(LedgerPerm.REVERSE_ENTRIES)
@idempotent(required=True)
def entry_reverse(request, entry_id: int, payload: ReverseIn):
    """The reversal entry (201). An entry another app posted (a desk payment, a refund) is a
    409 naming the action that corrects it; so is an entry already reversed."""
    reversal = services.entry_reverse(
        entry_id=entry_id, actor=user_of(request), reason=payload.reason, on=payload.date
    )
    return Status(201, _entry_out(reversal))


routers = [("ledger", router)]
