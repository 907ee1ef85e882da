"""`ledger verify`: the checks that find books changed behind the app's back.

The triggers (see `guards`) refuse such changes; these checks say what happened if someone
dropped them and wrote SQL anyway. Each check is one aggregate query; each problem is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from medoffice.ledger import guards
from medoffice.ledger.models import (
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    PeriodStatus,
    to_dollars,
)
from medoffice.ledger.selectors import PATIENT_ACCOUNT_KEYS

SHOWN = 20  # problems of one kind named one by one; the rest are counted


@dataclass(frozen=True)
class Problem:
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


def _guards() -> Iterator[Problem]:
    expected = guards.EXPECTED.get(connection.vendor)
    found = guards.installed(connection)
    if expected is not None and found != expected:
        yield Problem(
            "guards",
            f"{found} of the {expected} ledger triggers are installed on {connection.vendor}; "
            "the database no longer refuses unbalanced or edited entries",
        )


def _entries() -> Iterator[Problem]:
    bad = (
        JournalEntry.objects.order_by("id")
        .annotate(
            n=Count("lines"),
            net=Coalesce(Sum("lines__amount_cents"), 0),
            debits=Coalesce(Sum("lines__amount_cents", filter=Q(lines__amount_cents__gt=0)), 0),
        )
        .filter(Q(n__lt=2) | ~Q(net=0) | ~Q(debits=F("total_cents")))
        .values_list("id", "n", "net", "debits", "total_cents")
    )
    for entry_id, n, net, debits, total in bad[:SHOWN]:
        if n < 2:
            what = f"has {n} line(s)"
        elif net:
            what = f"does not balance: its lines sum to {to_dollars(net)}"
        else:
            what = (
                f"its total is {to_dollars(total)} but its lines' debits are {to_dollars(debits)}"
            )
        yield Problem("entries", f"entry {entry_id} {what}")


def _lines() -> Iterator[Problem]:
    orphans = JournalLine.objects.filter(
        ~Exists(JournalEntry.objects.filter(pk=OuterRef("entry_id")))
    ).values_list("id", "entry_id")
    for line_id, entry_id in orphans[:SHOWN]:
        yield Problem("lines", f"line {line_id} belongs to entry {entry_id}, which does not exist")
    off_date = (
        JournalLine.objects.filter(entry__date__isnull=False)
        .exclude(date=F("entry__date"))
        .order_by("id")
        .values_list("id", "entry_id", "date", "entry__date")
    )
    for line_id, entry_id, day, entry_day in off_date[:SHOWN]:
        yield Problem(
            "lines", f"line {line_id} is dated {day.isoformat()} but its entry {entry_id} "
            f"is dated {entry_day.isoformat()}",
        )  # fmt: skip
    headings = (
        JournalLine.objects.filter(account__is_postable=False)
        .order_by("id")
        .values_list("id", "entry_id", "account__code", "account__name")
    )
    for line_id, entry_id, code, name in headings[:SHOWN]:
        yield Problem(
            "accounts", f"line {line_id} (entry {entry_id}) is on {code} {name}, a heading "
            "account that takes no postings",
        )  # fmt: skip
    no_patient = (
        JournalLine.objects.filter(account__key__in=PATIENT_ACCOUNT_KEYS, patient__isnull=True)
        .order_by("id")
        .values_list("id", "entry_id", "account__name")
    )
    for line_id, entry_id, name in no_patient[:SHOWN]:
        yield Problem(
            "patient accounts", f"line {line_id} (entry {entry_id}) on {name} names no patient"
        )


def _closed_periods() -> Iterator[Problem]:
    closed = list(FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).order_by("start"))
    if not closed:
        return
    by_day = (
        JournalLine.objects.filter(date__lte=closed[-1].end)
        .order_by()
        .values_list("date")
        .annotate(
            n=Count("id"),
            net=Coalesce(Sum("amount_cents"), 0),
            debits=Coalesce(Sum("amount_cents", filter=Q(amount_cents__gt=0)), 0),
        )
    )
    facts: dict[date, tuple[int, int, int]] = {}
    for day, n, net, debits in by_day:  # one row a day, added into months
        was = facts.get(day.replace(day=1), (0, 0, 0))
        facts[day.replace(day=1)] = (was[0] + n, was[1] + net, was[2] + debits)
    for period in closed:
        n, net, debits = facts.get(period.start, (0, 0, 0))
        stored = (period.closed_line_count, period.closed_net_cents, period.closed_debit_cents)
        if None in stored:
            continue  # closed before the figures were kept
        if (n, net, debits) != stored:
            yield Problem(
                "closed periods",
                f"{period.label} changed since it was closed: {stored[0]} lines and debits of "
                f"{to_dollars(stored[2])} at close, now {n} lines and debits of "
                f"{to_dollars(debits)} (net {to_dollars(net)})",
            )


CHECKS = (_guards, _entries, _lines, _closed_periods)


def problems() -> Iterator[Problem]:
    """Every problem found, check by check."""
    for check in CHECKS:
        yield from check()


def summary() -> str:
    entries = JournalEntry.objects.count()
    lines = JournalLine.objects.count()
    closed = FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).count()
    return f"{entries} entries, {lines} lines, {closed} closed period(s)"
