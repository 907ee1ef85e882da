"""Periods of the books: months that close (in order) and reopen (the owner's alone, audited),
and the year-end close that moves the year's income to retained earnings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition
from medoffice.core.models import AuditAction
from medoffice.core.role_permissions import require_perm
from medoffice.ledger.models import (
    Account,
    AccountType,
    EntryKind,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    ManualEntry,
    ManualEntryStatus,
    PeriodStatus,
    to_dollars,
)
from medoffice.ledger.permissions import LedgerPerm
from medoffice.ledger.services.posting import (
    EARLIEST_POSTING,
    Line,
    Posting,
    _month,
    closed_period_for,
    post,
)

if TYPE_CHECKING:
    from medoffice.core.models import Location, User


# --- Periods ------------------------------------------------------------------------------------


def books_start() -> date:
    """The first day the books reach back to: the first month that has a period or a line,
    and never later than January 1 of last year (an accountant may always adjust last year).
    Nothing else defines where a practice's books begin."""
    today = timezone.localdate()
    floor = date(today.year - 1, 1, 1)
    first_period = FiscalPeriod.objects.order_by("start").values_list("start", flat=True).first()
    first_line = JournalLine.objects.order_by("date").values_list("date", flat=True).first()
    found = [day.replace(day=1) for day in (first_period, first_line) if day is not None]
    return max(min([floor, *found]), EARLIEST_POSTING)


def entry_date_range() -> tuple[date, date]:
    """The dates a manual entry may carry: from the books' start to a year after today."""
    return books_start(), timezone.localdate() + timedelta(days=365)


def period_for(day: date) -> FiscalPeriod:
    start, end = _month(day)
    period, _ = FiscalPeriod.objects.get_or_create(start=start, defaults={"end": end})
    return period


def parse_month(text: str) -> date:
    """ "YYYY-MM" as the first day of that month, or InvalidInput."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"period: {text!r} is not a month such as 2026-11.", field="period"
        ) from None


def _locked_period(day: date) -> FiscalPeriod:
    period_for(day)
    start, _ = _month(day)
    return FiscalPeriod.objects.select_for_update().get(start=start)


@transaction.atomic
@binds_actor("actor")
def close_period(*, month: date, actor: User) -> FiscalPeriod:
    """Close a month: nothing more posts in it. Months close in order, oldest first. Closing
    December closes the year: its year-end entry posts on December 31 first, while the month
    is still open (a closed month takes no postings, not even the year's own close)."""
    require_perm(actor, LedgerPerm.CLOSE_PERIODS)
    check_closable_month(month)
    _hold_postings()
    period = _locked_period(month)
    if period.status == PeriodStatus.CLOSED:
        raise InvalidTransition(f"{period.label} is already closed.")
    covering = closed_period_for(period.start)
    if covering is not None:
        raise InvalidTransition(
            f"{period.label} is already closed with {covering.label}: months close in order, "
            f"so closing {covering.label} closed the months before it."
        )
    first_open = open_month_before(period.start)
    if first_open is not None:
        raise InvalidTransition(f"Close {first_open.label} first: months close in order.")
    _refuse_over_waiting_entries(period)
    year_end = _post_year_end(period.start.year, actor) if period.start.month == 12 else None
    facts = JournalLine.objects.filter(date__range=(period.start, period.end)).aggregate(
        n=Count("id"), net=Sum("amount_cents")
    )
    debits = JournalLine.objects.filter(
        date__range=(period.start, period.end), amount_cents__gt=0
    ).aggregate(total=Sum("amount_cents"))["total"]
    period.status = PeriodStatus.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = actor
    period.closed_line_count = facts["n"] or 0
    period.closed_net_cents = facts["net"] or 0
    period.closed_debit_cents = debits or 0
    period.save()
    audit.record(
        AuditAction.UPDATE,
        obj=period,
        changes={
            "status": ["open", "closed"],
            "lines": period.closed_line_count,
            "debits": str(to_dollars(period.closed_debit_cents)),
        },
        reason="period closed",
    )
    if period.start.month == 12:
        audit.record(
            AuditAction.UPDATE,
            object_type="ledger.year",
            object_id=str(period.start.year),
            object_repr=f"Fiscal year {period.start.year}",
            changes={
                "closed": period.start.year,
                "entry": year_end.pk if year_end is not None else None,
            },
            reason="year-end close",
        )
    return period


def _refuse_over_waiting_entries(period: FiscalPeriod) -> None:
    """A close waits for the manual entries awaiting approval dated in the month, or before
    it (the empty months before it close with it): approved later, they could not post."""
    waiting = list(
        ManualEntry.objects.filter(status=ManualEntryStatus.PENDING, date__lte=period.end)
        .order_by("id")
        .values_list("id", "date")
    )
    if not waiting:
        return
    one = len(waiting) == 1
    noun, pronoun = ("entry", "it") if one else ("entries", "them")
    if all(day >= period.start for _, day in waiting):
        numbers = ", ".join(str(pk) for pk, _ in waiting)
        where = f"{period.label} has manual {noun} {numbers} waiting for approval"
    else:
        numbers = ", ".join(f"{pk} (dated {day:%m/%d/%Y})" for pk, day in waiting)
        where = (
            f"Manual {noun} {numbers} {'is' if one else 'are'} waiting for approval, and closing "
            f"{period.label} closes {'its date' if one else 'their dates'} too"
        )
    raise InvalidTransition(f"{where}; approve or reject {pronoun} before closing the month.")


def check_closable_month(month: date) -> date:
    """A month that can be closed: ended (its last day has passed) and not before the books'
    start; InvalidInput naming the month otherwise. Checked before anything is written, so a
    refused close leaves no period row behind (a row would move the books' start)."""
    start, end = _month(month)
    label = f"{start:%B %Y}"
    today = timezone.localdate()
    if end >= today:
        raise InvalidInput(
            f"period: {label} has not ended; it can be closed once {end:%B} {end.day}, "
            f"{end.year} has passed.",
            field="period",
        )
    first = books_start()
    if start < first:
        raise InvalidInput(
            f"period: the books start in {first:%B %Y}; there is no {label} to close.",
            field="period",
        )
    return start


def _hold_postings() -> None:
    """On PostgreSQL, a close waits for the postings in flight and holds new ones until it
    commits (each posting writes its month's row first; this lock conflicts with that), so a
    posting into an earlier month cannot commit beside the close unseen. Closes are rare."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE ledger_fiscalperiod IN SHARE ROW EXCLUSIVE MODE")


def open_month_before(start: date) -> FiscalPeriod | None:
    """The oldest month before `start` that has postings and is still open."""
    first = (
        JournalLine.objects.filter(date__lt=start)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )
    if first is None:
        return None
    cursor = first.replace(day=1)
    closed = set(
        FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED, start__lt=start).values_list(
            "start", flat=True
        )
    )
    while cursor < start:
        if cursor not in closed:
            return period_for(cursor)
        cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    return None


@transaction.atomic
@binds_actor("actor")
def reopen_period(*, month: date, actor: User, reason: str) -> FiscalPeriod:
    """Reopen a closed month: the owner's decision alone, with the reason on the record."""
    require_perm(actor, LedgerPerm.REOPEN_PERIODS)
    if not reason.strip():
        raise InvalidInput("reason: say why the period is reopened.", field="reason")
    first = books_start()
    if month.replace(day=1) < first:
        raise InvalidInput(
            f"period: the books start in {first:%B %Y}; there is no {month:%B %Y} to reopen.",
            field="period",
        )
    period = _locked_period(month)
    if period.status != PeriodStatus.CLOSED:
        covering = closed_period_for(period.start)
        if covering is not None:
            raise InvalidTransition(
                f"{period.label} was closed with {covering.label}: reopen {covering.label}, "
                "and the months before it open with it."
            )
        raise InvalidTransition(f"{period.label} is open.")
    later = FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED, start__gt=period.start).first()
    if later is not None:
        raise InvalidTransition(f"Reopen {later.label} first: months reopen newest first.")
    period.status = PeriodStatus.OPEN
    period.save(update_fields=["status"])
    audit.record(
        AuditAction.UPDATE,
        obj=period,
        changes={"status": ["closed", "open"]},
        reason=reason.strip()[:300],
        flagged=True,
    )
    return period


# --- Year-end close -----------------------------------------------------------------------------

YEAR_END_SOURCE = "ledger.year_end"
RETAINED_EARNINGS = "retained_earnings"


def check_closable_year(year: int) -> int:
    """A year that can be closed: ended, and not before the books' start (InvalidInput naming
    the year otherwise, for any integer: 0, negative, or far in the future)."""
    if not 1900 < year < 10000:
        raise InvalidInput(f"year: {year} is not a fiscal year.", field="year")
    today = timezone.localdate()
    if year >= today.year:
        raise InvalidInput(f"year: {year} has not ended; it cannot be closed yet.", field="year")
    start = books_start()
    if year < start.year:
        raise InvalidInput(
            f"year: the books start in {start:%B %Y}; there is no {year} to close.", field="year"
        )
    return year


def _year_nets(year: int) -> list[tuple[int, int | None, int]]:
    """(account, location, net cents) of every revenue and expense account with a balance for
    the year, the closing entries already posted included. One query."""
    rows = (
        JournalLine.objects.filter(
            date__range=(date(year, 1, 1), date(year, 12, 31)),
            account__type__in=(AccountType.REVENUE, AccountType.EXPENSE),
        )
        .order_by()
        .values_list("account_id", "location_id")
        .annotate(net=Sum("amount_cents"))
        .order_by("account_id", "location_id")
    )
    return [(account, location, int(net)) for account, location, net in rows if net]


def _post_year_end(year: int, actor: User) -> JournalEntry | None:
    """One entry dated December 31 (kind CLOSING) moving every revenue and expense account's
    balance for the year, per location, to retained earnings; after a reopened month changed
    the year's income, the difference as a further entry (`ledger.year_end:<year>:2`)."""
    nets = _year_nets(year)
    if not nets:
        return None
    count = JournalEntry.objects.filter(source_type=YEAR_END_SOURCE, source_id=str(year)).count()
    accounts = Account.objects.in_bulk({account for account, _, _ in nets})
    locations: dict[int | None, Location] = {
        loc.pk: loc for loc in _locations({loc for _, loc, _ in nets})
    }
    lines: list[Line] = []
    by_location: dict[int | None, int] = {}
    for account_id, location_id, net in nets:
        lines.append(_cents_line(accounts[account_id], -net, locations.get(location_id)))
        by_location[location_id] = by_location.get(location_id, 0) + net
    lines.extend(
        _cents_line(RETAINED_EARNINGS, net, locations.get(location_id))
        for location_id, net in by_location.items()
        if net
    )
    return post(
        Posting(
            source_type=YEAR_END_SOURCE,
            source_id=year,
            event=str(count + 1) if count else "",
            date=date(year, 12, 31),
            kind=EntryKind.CLOSING,
            memo=f"Year-end close {year}: revenue and expenses to retained earnings",
            lines=lines,
        ),
        actor=actor,
    )


@transaction.atomic
@binds_actor("actor")
def close_year(*, year: int, actor: User) -> JournalEntry | None:
    """Close a fiscal year: its months still open close, in order; December's close posts the
    year-end entry (see `close_period`). Closing a closed year again posts nothing. Returns
    the year-end entry this call posted, or None when none was needed."""
    require_perm(actor, LedgerPerm.CLOSE_PERIODS)
    check_closable_year(year)
    last = date(year, 12, 31)
    closed = set(
        FiscalPeriod.objects.filter(
            status=PeriodStatus.CLOSED, start__range=(date(year, 1, 1), last)
        ).values_list("start", flat=True)
    )
    if date(year, 12, 1) in closed:
        if _year_nets(year):
            raise InvalidTransition(
                f"December {year} was closed before its year-end entry posted: the owner "
                f"reopens December {year}, then the year closes with it."
            )
        return None
    posted_before = set(
        JournalEntry.objects.filter(source_type=YEAR_END_SOURCE, source_id=str(year)).values_list(
            "pk", flat=True
        )
    )
    month = date(year, 1, 1)
    while month <= last:
        if closed_period_for(month) is None:  # not closed, nor closed with a later month
            close_period(month=month, actor=actor)
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        JournalEntry.objects.filter(source_type=YEAR_END_SOURCE, source_id=str(year))
        .exclude(pk__in=posted_before)
        .first()
    )


def _locations(ids: set[int | None]) -> list[Location]:
    from medoffice.core.models import Location

    return list(Location.objects.filter(pk__in=[pk for pk in ids if pk is not None]))


def _cents_line(account: Account | str, cents: int, location: Location | None) -> Line:
    amount = to_dollars(abs(cents))
    if cents > 0:
        return Line(account, debit=amount, location=location)
    return Line(account, credit=amount, location=location)
