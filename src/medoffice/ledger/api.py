"""JSON API of the books: /api/ledger/... (same permissions as the pages).

Reads only: the chart, journal entries (filtered, paged), the trial balance, and a patient
account's balance and activity (a PHI read, written to the audit trail).
"""

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from medoffice.core.access import get_for_user
from medoffice.core.api_auth import requires, user_of
from medoffice.core.dates import Day
from medoffice.ledger import reports, selectors
from medoffice.ledger.models import Account, EntryKind, JournalEntry, JournalLine, to_dollars
from medoffice.ledger.permissions import LedgerPerm
from medoffice.patients.models import Patient
from medoffice.patients.permissions import PatientsPerm

router = Router(tags=["ledger"])

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
        "results": [
            {
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
                "lines": [_line(line) for line in entry.lines.all()],
            }
            for entry in page
        ],
    }


@router.get("/trial-balance", response=TrialBalanceOut, summary="The trial balance as of a day")
@requires(LedgerPerm.VIEW_BOOKS)
def trial_balance(request, query: Query[TrialBalanceQuery]):
    as_of = query.as_of or timezone.localdate()
    balance = selectors.trial_balance(
        as_of, location_id=query.location_id, provider_id=query.provider_id
    )
    return {
        "as_of": as_of,
        "balanced": balance.balanced,
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


routers = [("ledger", router)]
