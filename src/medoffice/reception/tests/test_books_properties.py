"""The desk's money in the books, over random sequences: the ledger's property test
(`medoffice.ledger.tests.test_properties`) with the front desk's operations joined through
its `register` hook.

The desk's operations, each against the real services with explicit clocks (the desk's day
runs from a few days ago up to today; an approval's entry is dated the day it is decided):

- a payment taken (cash, check or card, in cents; sometimes at no location, which cash and
  checks refuse);
- a void of a payment: the same day (also attempts a day late, twice, after the close, and
  while a refund counts on the payment's credit);
- a refund asked for by the front desk ($50 authority), the manager ($1,000), the owner (no
  limit) or the biller (no desk permission): within what is left of the asker's authority
  for the day it is approved at once, above it it waits in the approvals queue;
- a waiting refund approved or rejected (`core.services.approval_decide`) by the manager, the
  owner or the front desk (some have no authority for it, one is the asker), or cancelled by
  its asker (`approval_cancel`);
- an approved refund paid out (cash from the drawer, a check from the bank, to the card;
  sometimes another way than it was asked);
- a drawer's close with counts that differ from what is expected at random;
- a deposit of closed days (also days deposited already, or of another location);
- the card processor's payment of closed days' card batches, less its fees (also batches
  settled already, of another location, or for more than the batches);
- the desk's day moving on, and months closed up to the desk's month.

After every step, on both databases, on top of what the ledger's test checks (every entry
balances, the trial balance nets to zero, each patient account from the books equals its
lines and what the sequence expects, a closed month's lines do not change):

- each patient's refundable credit is what the sequence leaves, and never below zero for
  patients only the desk touches: no refund is approved or paid beyond the credit, and no
  void takes away credit a waiting refund counts on;
- what an asker refunds on their own authority in one day adds up to no more than that
  authority (one refund split in several under the limit still waits for approval);
- each drawer day's expected cash, checks and card are the model's, the cash and the card
  batch never below zero (a cash refund is paid only from cash the drawer took that day, a
  card refund only from that day's card payments), and a closed day's
  figures are those it closed with; a closed day refuses payments, voids and cash refunds
  at that drawer;
- the desk's sources leave in each drawer, card clearing, refunds payable, cash over/short
  (the drawer's and the card batch's differences), card fees and the bank what the model
  says; each deposit carries its closes once, with their counted cash and checks, and each
  card batch is settled once;
- nothing the desk posts lands in a closed month: the attempt is refused;
- an operation the service refuses (MedofficeError) leaves no row anywhere.

A failing example is printed as the sequence of operations drawn, step by step.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from medoffice.core.exceptions import MedofficeError
from medoffice.core.models import ApprovalRequest, ApprovalStatus, AuditEvent, DecisionKind, User
from medoffice.core.services import approval_cancel, approval_decide
from medoffice.core.services.authority import authority_of
from medoffice.ledger import services as ledger
from medoffice.ledger.models import Account, JournalEntry, JournalLine
from medoffice.ledger.tests import test_properties as books_test
from medoffice.reception import postings, selectors, services
from medoffice.reception.models import (
    CardSettlement,
    CardSettlementDay,
    Deposit,
    DepositDay,
    DrawerClose,
    Payment,
    Refund,
    RefundStatus,
)
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories, patients_factories

pytestmark = pytest.mark.django_db

Books = books_test.Books
register = books_test.register

EXAMPLES = 25
STEPS = 40
DESK_DAYS = 6  # the desk's clock starts this many days before today and stops at today
LEDGER_PATIENTS = 3  # the ledger's random postings touch these; the others only the desk
ROLES = ("front_desk", "manager", "owner", "biller")
ASKERS = ("front_desk", "front_desk", "front_desk", "manager", "manager", "owner", "biller")
METHODS = ("cash", "check", "card")
SOURCES = (
    "reception.payment", "reception.refund", "reception.drawerclose", "reception.deposit",
    "reception.cardsettlement",
)  # fmt: skip


# --- The model of the desk ----------------------------------------------------------------------


@dataclass
class Paid:
    pk: int
    patient: int
    cents: int
    method: str
    location: int | None
    day: dt.date
    void: bool = False


@dataclass
class Asked:
    pk: int
    patient: int
    cents: int
    method: str
    location: int | None
    requester: int
    day: dt.date
    status: str
    auto: bool  # approved within the requester's own authority
    paid_day: dt.date | None = None


@dataclass
class Closed:
    pk: int
    location: int
    day: dt.date
    expected: tuple[int, int, int]  # cash, checks, card
    counted: tuple[int, int, int]
    deposited: bool = False
    settled: bool = False  # its card batch paid by the processor

    @property
    def over_short(self) -> int:
        return (self.counted[0] + self.counted[1]) - (self.expected[0] + self.expected[1])

    @property
    def card_difference(self) -> int:
        return self.counted[2] - self.expected[2]


@dataclass
class Desk:
    """What the desk's operations expect of the world, kept beside the ledger's `Books`."""

    users: dict[str, Any]
    clock: dt.datetime
    desk_only: set[int]
    payments: list[Paid] = field(default_factory=list)
    refunds: list[Asked] = field(default_factory=list)
    closes: dict[tuple[int, dt.date], Closed] = field(default_factory=dict)
    deposits: list[tuple[int, int, int]] = field(default_factory=list)  # pk, location, cents
    settlements: list[tuple[int, int, int]] = field(default_factory=list)  # pk, gross, fees
    days: set[tuple[int, dt.date]] = field(default_factory=set)  # drawer days with money

    def tick(self) -> dt.datetime:
        self.clock += dt.timedelta(minutes=1)
        return self.clock

    @property
    def today(self) -> dt.date:
        return self.clock.date()

    def day_figures(self, location: int, day: dt.date) -> tuple[int, int, int]:
        """The drawer day's expected cash, checks and card, in cents."""
        taken = [p for p in self.payments if p.location == location and p.day == day and not p.void]

        def back(method: str) -> int:  # refunds paid out at this desk that day
            return sum(
                r.cents
                for r in self.refunds
                if r.method == method and r.location == location and r.paid_day == day
            )

        by = {m: sum(p.cents for p in taken if p.method == m) for m in METHODS}
        return by["cash"] - back("cash"), by["check"], by["card"] - back("card")

    def pending(self, patient: int) -> int:
        return sum(
            r.cents
            for r in self.refunds
            if r.patient == patient and r.status == RefundStatus.REQUESTED
        )


def desk_of(books: Books) -> Desk:
    """The desk's side of an example, made on first use (the ledger's own test may draw the
    desk's operations too when both modules are collected)."""
    desk = books.__dict__.get("desk")
    if desk is None:
        users = {
            role: User.objects.filter(roles__code=role).order_by("pk").first() for role in ROLES
        }
        start = dt.datetime.combine(
            selectors.local_today() - dt.timedelta(days=DESK_DAYS),
            dt.time(8, 0),
            tzinfo=selectors.practice_zone(),
        )
        desk = Desk(
            users=users,
            clock=start,
            desk_only={p.pk for p in books.patients[LEDGER_PATIENTS:]},
        )
        books.__dict__["desk"] = desk
    return desk


def add_to_account(books: Books, patient: int, cents: int) -> None:
    """What the books should show on the patient's account (positive: owed)."""
    books.patient_cents[patient] = books.patient_cents.get(patient, 0) + cents


def credit_of(books: Books, patient: int) -> int:
    """The credit a refund may still take, before the floor at zero."""
    return -books.patient_cents.get(patient, 0) - desk_of(books).pending(patient)


def limit_cents(user: Any) -> int | None:
    limit = authority_of(user, DecisionKind.REFUND)
    return None if limit is None else ledger.to_cents(limit, field="limit")


def dollars(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def rows() -> tuple[int, ...]:
    """Everything a desk operation may write, counted."""
    return (
        JournalEntry.objects.count(),
        JournalLine.objects.count(),
        Payment.objects.count(),
        Payment.objects.filter(voided_at__isnull=False).count(),
        Refund.objects.count(),
        *(Refund.objects.filter(status=s).count() for s in RefundStatus.values),
        ApprovalRequest.objects.count(),
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).count(),
        DrawerClose.objects.count(),
        Deposit.objects.count(),
        DepositDay.objects.count(),
        CardSettlement.objects.count(),
        CardSettlementDay.objects.count(),
        AuditEvent.objects.count(),
    )


def refused(attempt: Callable[[], Any], match: str | None = None) -> MedofficeError:
    """The service refuses, and nothing of it is written."""
    before = rows()
    with pytest.raises(MedofficeError) as caught:
        attempt()
    if match:  # in the message, or the field it names (messages are in words, without it)
        said = f"{caught.value.field or ''}: {caught.value.message}"
        assert re.search(match, said, re.IGNORECASE), f"{match!r} not in {said!r}"
    assert rows() == before, "a refused operation left rows"
    return caught.value


def approved_posting(refund: Refund) -> Any:
    """The approval's entry as posted: dated the day it was decided."""
    key = f"{postings.REFUND_SOURCE}:{refund.pk}:approved"
    return postings.refund_approved_posting(refund, JournalEntry.objects.get(source_key=key).date)


def closed_day(books: Books, location: int | None, day: dt.date) -> bool:
    return location is not None and (location, day) in desk_of(books).closes


# --- The desk's operations ----------------------------------------------------------------------

# The patients only the desk touches come up more often: the ledger's random postings put
# large sums on the others.
patients = st.sampled_from([0, 1, 2, 3, 3, 4, 4])
cents = st.one_of(st.integers(1, 6_000), st.integers(5_000, 150_000))
places = st.sampled_from([0, 0, 0, 1, 1, 1, -1])  # -1: no location


@register("desk_pay", st.tuples(patients, st.sampled_from(METHODS), cents, places))
def op_desk_pay(books: Books, drawn: Any) -> None:
    pick, method, amount, place = drawn
    desk = desk_of(books)
    patient = books.patients[pick % len(books.patients)]
    location = books.locations[place] if place >= 0 else None
    reference = {"cash": "", "check": "1042", "card": "AUTH42"}[method]
    now = desk.tick()
    take = lambda: services.payment_record(  # noqa: E731
        patient=patient,
        payment=PaymentInput(amount=dollars(amount), method=method, reference=reference),
        received_by=desk.users["front_desk"],
        location=location,
        now=now,
    )
    where = location.pk if location is not None else None
    if location is None:  # with several desks, card money too is some desk's batch
        refused(take, "location")
        return
    if closed_day(books, where, desk.today):
        refused(take, "is closed")  # a closed day refuses payments at that drawer
        return
    if books_test.is_closed(desk.today):
        refused(take, "closed")  # nothing posts into a closed month
        return
    payment = take()
    assert payment.amount == Decimal(dollars(amount)) and payment.location_id == where
    books.posted.append(postings.payment_posting(payment, selectors.practice_zone()))
    desk.payments.append(Paid(payment.pk, patient.pk, amount, method, where, desk.today))
    if where is not None:
        desk.days.add((where, desk.today))
    add_to_account(books, patient.pk, -amount)


@register("desk_void", st.tuples(st.integers(0, 10_000), st.sampled_from([0, 0, 0, 1])))
def op_desk_void(books: Books, drawn: Any) -> None:
    pick, late = drawn
    desk = desk_of(books)
    if not desk.payments:
        return
    paid = desk.payments[pick % len(desk.payments)]
    now = desk.tick() + dt.timedelta(days=late)
    void = lambda: services.payment_void(  # noqa: E731
        payment_id=paid.pk, voided_by=desk.users["front_desk"], reason="taken by mistake", now=now
    )
    if paid.void:
        refused(void, "already void")
        return
    if paid.day != now.date():
        refused(void, "only today's")
        return
    if closed_day(books, paid.location, paid.day):
        refused(void, "is closed")
        return
    # The void takes the payment's credit away: refunds waiting on that credit must stay
    # covered, and (until charges post) the account may not end up owing refunded money.
    after = -books.patient_cents.get(paid.patient, 0) - paid.cents
    open_approved = any(
        r.patient == paid.patient and r.status == RefundStatus.APPROVED for r in desk.refunds
    )
    owing_allowed = selectors.charges_are_posted() and not open_approved
    if after < desk.pending(paid.patient) or (after < 0 and not owing_allowed):
        refused(void, "cannot be voided")
        return
    if books_test.is_closed(paid.day):
        refused(void, "closed")
        return
    void()
    assert Payment.objects.get(pk=paid.pk).is_void
    paid.void = True
    add_to_account(books, paid.patient, paid.cents)


@register(
    "desk_refund",
    st.tuples(
        st.integers(0, 9),  # below 7: one of the patients with a credit, when there is one
        st.sampled_from(ASKERS),
        st.one_of(cents, st.integers(-100, -1), st.integers(-100, -1)),  # negative: % of credit
        st.sampled_from(METHODS),
        places,
    ),
)
def op_desk_refund(books: Books, drawn: Any) -> None:
    pick, role, amount, method, place = drawn
    desk = desk_of(books)
    with_credit = [p for p in books.patients if credit_of(books, p.pk) > 0]
    if pick < 7 and with_credit:
        patient = with_credit[pick % len(with_credit)]
    else:
        patient = books.patients[pick % len(books.patients)]
    requester = desk.users[role]
    location = books.locations[place] if place >= 0 else None
    credit = max(credit_of(books, patient.pk), 0)
    if amount < 0:
        amount = max(credit * -amount // 100, 1)
    now = desk.tick()
    ask = lambda: services.refund_request(  # noqa: E731
        patient=patient,
        amount=dollars(amount),
        method=method,
        reason="paid twice",
        requested_by=requester,
        location=location,
        now=now,
    )
    if role == "biller":
        refused(ask)  # no desk permission
        return
    if location is None:
        refused(ask, "location")
        return
    if amount > credit:
        refused(ask, "more than the credit")
        return
    limit = limit_cents(requester)
    # The limit holds for what the asker refunded alone that day, for any patient.
    alone = sum(
        r.cents
        for r in desk.refunds
        if r.auto and (r.requester, r.day) == (requester.pk, desk.today)
    )
    within = limit is None or alone + amount <= limit
    if within and books_test.is_closed(selectors.local_today()):
        refused(ask, "closed")  # approved at once, its entry is dated today
        return
    refund = ask()
    auto = refund.status == RefundStatus.APPROVED
    asked = Asked(
        refund.pk, patient.pk, amount, method, refund.location_id, requester.pk,
        desk.today, str(refund.status), auto,
    )  # fmt: skip
    assert auto == within, (
        f"{role} asked for {dollars(amount)} after refunding {dollars(alone)} alone that day: "
        f"{'approved at once' if auto else 'queued'} against a limit of {limit}"
    )
    assert refund.approval is not None
    if auto:
        assert refund.approval.within_requester_authority
        add_to_account(books, patient.pk, amount)
        books.posted.append(approved_posting(refund))
    else:
        assert refund.status == RefundStatus.REQUESTED
        assert refund.approval.status == ApprovalStatus.PENDING
    desk.refunds.append(asked)


@register(
    "desk_decide",
    st.tuples(st.integers(0, 10_000), st.sampled_from(("manager", "owner", "front_desk")),
              st.booleans()),
)  # fmt: skip
def op_desk_decide(books: Books, drawn: Any) -> None:
    pick, role, approve = drawn
    desk = desk_of(books)
    waiting = [r for r in desk.refunds if r.status == RefundStatus.REQUESTED]
    if not waiting:
        return
    asked = waiting[pick % len(waiting)]
    refund = Refund.objects.select_related("approval").get(pk=asked.pk)
    decider = desk.users[role]
    decide = lambda: approval_decide(  # noqa: E731
        request_id=refund.approval_id, decided_by=decider, approve=approve, note="not yet"
    )
    limit = limit_cents(decider)
    if decider.pk == asked.requester or (limit is not None and asked.cents > limit):
        refused(decide)
        return
    if approve and books_test.is_closed(selectors.local_today()):
        refused(decide, "closed")
        assert Refund.objects.get(pk=asked.pk).status == RefundStatus.REQUESTED
        return
    if approve and asked.cents > -books.patient_cents.get(asked.patient, 0):
        # The credit it was asked against is gone (a charge posted, another refund approved):
        # the refund cannot be approved, or it would give back more than the account holds.
        refused(decide, "more than the credit")
        assert Refund.objects.get(pk=asked.pk).status == RefundStatus.REQUESTED
        return
    decide()
    refund.refresh_from_db()
    if approve:
        assert refund.status == RefundStatus.APPROVED
        asked.status = RefundStatus.APPROVED
        add_to_account(books, asked.patient, asked.cents)
        books.posted.append(approved_posting(refund))
    else:
        assert refund.status == RefundStatus.REJECTED
        asked.status = RefundStatus.REJECTED


@register(
    "desk_refund_pay",
    st.tuples(
        st.integers(0, 10_000),
        st.sampled_from([1, 1, 1, 0]),  # 0: no reference typed
        st.sampled_from(["", "", "", *METHODS]),  # paid another way than asked ("" as asked)
    ),
)
def op_desk_refund_pay(books: Books, drawn: Any) -> None:
    pick, good_reference, other_way = drawn
    desk = desk_of(books)
    if not desk.refunds:
        return
    asked = desk.refunds[pick % len(desk.refunds)]
    method = other_way or asked.method
    reference = {"cash": "", "check": "5001", "card": "RF-991"}[method]
    now = desk.tick()
    pay = lambda: services.refund_pay(  # noqa: E731
        refund_id=asked.pk,
        paid_by=desk.users["front_desk"],
        reference=reference if good_reference else "",
        method=other_way,
        now=now,
    )
    cash = method == "cash"
    if cash and asked.location is None:
        refused(pay, "no location")
        return
    if not cash and not good_reference:
        refused(pay, "reference")
        return
    if asked.status != RefundStatus.APPROVED:
        refused(pay)
        return
    at_desk = method in ("cash", "card")  # the drawer's cash, or its terminal's batch
    if at_desk and closed_day(books, asked.location, desk.today):
        refused(pay, "is closed")
        return
    if at_desk and asked.location is not None:
        cash_in, _, card_in = desk.day_figures(asked.location, desk.today)
        if asked.cents > (cash_in if cash else card_in):
            # The drawer took less cash (or card payments) that day than the refund: paying
            # it would leave the day's expected cash (or card batch) below zero.
            refused(pay, "cannot be paid from it")
            return
    if books_test.is_closed(desk.today):
        refused(pay, "closed")
        return
    refund = pay()
    assert refund.status == RefundStatus.PAID and refund.method == method
    asked.status = RefundStatus.PAID
    asked.method = method
    asked.paid_day = desk.today
    if at_desk and asked.location is not None:
        desk.days.add((asked.location, desk.today))
    books.posted.append(postings.refund_paid_posting(refund, desk.today))


@register("desk_cancel", st.tuples(st.integers(0, 10_000), st.sampled_from([True, True, False])))
def op_desk_cancel(books: Books, drawn: Any) -> None:
    """The asker takes back a refund still waiting (anyone else is refused)."""
    pick, by_asker = drawn
    desk = desk_of(books)
    if not desk.refunds:
        return
    asked = desk.refunds[pick % len(desk.refunds)]
    users = {u.pk: u for u in desk.users.values()}
    someone_else = next(u for u in desk.users.values() if u.pk != asked.requester)
    who = users[asked.requester] if by_asker else someone_else
    approval_id = Refund.objects.get(pk=asked.pk).approval_id
    cancel = lambda: approval_cancel(request_id=approval_id, cancelled_by=who)  # noqa: E731
    if not by_asker or asked.status != RefundStatus.REQUESTED:
        refused(cancel)
        return
    cancel()
    assert Refund.objects.get(pk=asked.pk).status == RefundStatus.CANCELLED
    asked.status = RefundStatus.CANCELLED


@register(
    "desk_close",
    st.tuples(
        st.integers(0, 1),
        st.sampled_from([0, 0, 0, 1]),  # days back
        st.one_of(st.just(0), st.integers(-2_000, 2_000)),  # cash counted less expected
        st.one_of(st.just(0), st.just(0), st.integers(-5_000, 0)),  # a check missing
        st.one_of(st.just(0), st.integers(-1_000, 1_000)),  # card batch less expected
    ),
)
def op_desk_close(books: Books, drawn: Any) -> None:
    place, back, cash_diff, check_diff, card_diff = drawn
    desk = desk_of(books)
    location = books.locations[place]
    day = desk.today - dt.timedelta(days=back)
    expected = desk.day_figures(location.pk, day)
    counted = (
        max(expected[0] + cash_diff, 0),
        max(expected[1] + check_diff, 0),
        max(expected[2] + card_diff, 0),
    )
    now = desk.tick()
    close = lambda: services.drawer_close(  # noqa: E731
        location=location,
        day=day,
        counted_cash=dollars(counted[0]),
        counted_checks=dollars(counted[1]),
        counted_card=dollars(counted[2]),
        closed_by=desk.users["front_desk"],
        note="end of day",
        now=now,
    )
    if (location.pk, day) in desk.closes:
        refused(close, "closed already")
        return
    model = Closed(0, location.pk, day, expected, counted)
    if day < desk.today and (location.pk, day) not in desk.days:
        refused(close, "There was no money")  # a past day closes only when it had money
        return
    if books_test.is_closed(day):
        refused(close, "closed")  # a day of a closed month closes no drawer
        return
    made = close()
    assert (made.expected_cash, made.expected_checks, made.expected_card) == tuple(
        Decimal(dollars(c)) for c in expected
    ), f"the close of {day} expected other figures than the day's money"
    assert made.check_count == sum(
        1
        for p in desk.payments
        if (p.location, p.day, p.method, p.void) == (location.pk, day, "check", False)
    )
    model.pk = made.pk
    desk.closes[(location.pk, day)] = model
    desk.days.add((location.pk, day))
    posting = postings.drawer_close_posting(made)
    assert (posting is None) == (model.over_short == model.card_difference == 0)
    if posting is not None:
        books.posted.append(posting)


@register(
    "desk_deposit",
    st.tuples(
        st.integers(0, 1),
        st.lists(st.integers(0, 10_000), min_size=1, max_size=3),
        st.sampled_from(["own", "own", "own", "taken", "other"]),
    ),
)
def op_desk_deposit(books: Books, drawn: Any) -> None:
    place, picks, kind = drawn
    desk = desk_of(books)
    location = books.locations[place]
    waiting = sorted({c.location for c in desk.closes.values() if not c.deposited})
    if kind == "own" and waiting:  # a location with closed days still to deposit
        location = location_of(books, waiting[place % len(waiting)])
    own = [c for c in desk.closes.values() if c.location == location.pk]
    if kind == "taken":
        pool = [c for c in own if c.deposited]
    elif kind == "other":
        pool = [c for c in desk.closes.values() if c.location != location.pk]
    else:
        pool = [c for c in own if not c.deposited]
    chosen = {pool[p % len(pool)].pk: pool[p % len(pool)] for p in picks} if pool else {}
    now = desk.tick()
    deposit = lambda: services.deposit_make(  # noqa: E731
        location=location, close_ids=list(chosen), made_by=desk.users["front_desk"], now=now
    )
    carried = list(chosen.values())
    if not carried:
        refused(deposit, "choose")
        return
    if any(c.location != location.pk for c in carried):
        refused(deposit, "only")
        return
    if any(c.deposited for c in carried):
        refused(deposit, "already")
        return
    cash = sum(c.counted[0] for c in carried)
    checks = sum(c.counted[1] for c in carried)
    if cash + checks <= 0:
        refused(deposit, "no cash or check")
        return
    if books_test.is_closed(desk.today):
        refused(deposit, "closed")
        return
    made = deposit()
    assert (made.cash, made.checks) == (Decimal(dollars(cash)), Decimal(dollars(checks)))
    for close in carried:
        close.deposited = True
    desk.deposits.append((made.pk, location.pk, cash + checks))
    books.posted.append(postings.deposit_posting(made))


@register(
    "desk_settle",
    st.tuples(
        st.integers(0, 1),
        st.lists(st.integers(0, 10_000), min_size=1, max_size=3),
        st.sampled_from(["own", "own", "own", "taken", "other"]),
        st.sampled_from([0, 0, 150, 300, -1]),  # fees in basis points; -1: more than the batches
    ),
)
def op_desk_settle(books: Books, drawn: Any) -> None:
    """The card processor pays closed days' card batches into the bank, less its fees."""
    place, picks, kind, fee_bp = drawn
    desk = desk_of(books)
    location = books.locations[place]
    waiting = sorted({c.location for c in desk.closes.values() if not c.settled and c.counted[2]})
    if kind == "own" and waiting:
        location = location_of(books, waiting[place % len(waiting)])
    own = [c for c in desk.closes.values() if c.location == location.pk]
    if kind == "taken":
        pool = [c for c in own if c.settled]
    elif kind == "other":
        pool = [c for c in desk.closes.values() if c.location != location.pk]
    else:
        pool = [c for c in own if not c.settled]
    chosen = {pool[p % len(pool)].pk: pool[p % len(pool)] for p in picks} if pool else {}
    carried = list(chosen.values())
    gross = sum(c.counted[2] for c in carried)
    net = gross + 1 if fee_bp < 0 else gross - gross * fee_bp // 10_000
    now = desk.tick()
    settle = lambda: services.card_settlement_record(  # noqa: E731
        location=location,
        close_ids=list(chosen),
        net=dollars(net),
        made_by=desk.users["front_desk"],
        reference="ACH-77",
        now=now,
    )
    if not carried:
        refused(settle, "Choose")
        return
    if any(c.location != location.pk for c in carried):
        refused(settle, "only")
        return
    if any(c.settled for c in carried):
        refused(settle, "already")
        return
    if gross <= 0:
        refused(settle, "no card batch")
        return
    if net > gross:
        refused(settle, "more than the batches")
        return
    if books_test.is_closed(desk.today):
        refused(settle, "closed")
        return
    made = settle()
    assert (made.gross, made.fees, made.net) == tuple(
        Decimal(dollars(c)) for c in (gross, gross - net, net)
    )
    for close in carried:
        close.settled = True
    desk.settlements.append((made.pk, gross, gross - net))
    books.posted.append(postings.card_settlement_posting(made))


@register("desk_next_day", st.integers(1, 2))
def op_desk_next_day(books: Books, days: int) -> None:
    desk = desk_of(books)
    day = min(desk.today + dt.timedelta(days=days), selectors.local_today())
    if day == desk.today:
        return
    desk.clock = dt.datetime.combine(day, dt.time(8, 0), tzinfo=selectors.practice_zone())


@register("desk_close_month", st.sampled_from([0, 1]))
def op_desk_close_month(books: Books, back: int) -> None:
    """Close every month up to the desk's (or the one before), oldest first."""
    month = desk_of(books).today.replace(day=1)
    if back:
        month = (month - dt.timedelta(days=1)).replace(day=1)
    books_test.op_close_through(books, month)


DESK_OPERATIONS = tuple(name for name in books_test.OPERATIONS if name.startswith("desk_"))


# --- What the desk's books must hold ------------------------------------------------------------


def net_by_account() -> dict[str, int]:
    """The desk's sources' net per account, in cents."""
    return {
        key: int(net)
        for key, net in JournalLine.objects.filter(entry__source_type__in=SOURCES)
        .order_by()
        .values_list("account__key")
        .annotate(net=Sum("amount_cents"))
        if net
    }


def check_desk(books: Books) -> None:
    books_test.check_books(books)
    desk = desk_of(books)
    # Refunds: what the database holds is what the sequence did; the credit never runs out.
    assert dict(Refund.objects.values_list("pk", "status")) == {
        r.pk: r.status for r in desk.refunds
    }
    for patient in books.patients:
        left = credit_of(books, patient.pk)
        assert selectors.refundable_credit(patient.pk) == Decimal(dollars(max(left, 0)))
        if patient.pk in desk.desk_only:
            assert left >= 0, f"patient {patient.pk}'s refunds take {dollars(-left)} past credit"
    alone: dict[tuple[int, dt.date], int] = {}
    for r in desk.refunds:
        if r.auto:
            key = (r.requester, r.day)
            alone[key] = alone.get(key, 0) + r.cents
    users = {u.pk: u for u in desk.users.values()}
    for (requester, day), total in alone.items():
        limit = limit_cents(users[requester])
        assert limit is None or total <= limit, f"refunds approved alone on {day} over limit"
    # Drawer days: the model's figures; never less than no cash; a closed day keeps its own.
    for location, day in sorted(desk.days):
        figures = desk.day_figures(location, day)
        today = selectors.drawer_day(location_of(books, location), day)
        got = (today.expected_cash, today.expected_checks, today.expected_card)
        assert got == tuple(Decimal(dollars(c)) for c in figures), (location, day)
        assert figures[0] >= 0, f"the drawer at {location} on {day} expects negative cash"
        assert figures[2] >= 0, f"the card batch at {location} on {day} is below nothing"
        close = desk.closes.get((location, day))
        if close is not None:
            assert close.expected == figures, f"the drawer day {day} changed after its close"
    # The money accounts the desk posts to.
    drawers: dict[str, int] = {}

    def to_drawer(location: int | None, cents_: int) -> None:
        drawers[f"cash_drawer:{location}"] = drawers.get(f"cash_drawer:{location}", 0) + cents_

    for p in desk.payments:
        if not p.void and p.method != "card":
            to_drawer(p.location, p.cents)
    for r in desk.refunds:
        if r.paid_day is not None and r.method == "cash":
            to_drawer(r.location, -r.cents)
    for c in desk.closes.values():
        to_drawer(c.location, c.over_short)
    for _, location, total in desk.deposits:
        to_drawer(location, -total)
    card = (
        sum(p.cents for p in desk.payments if p.method == "card" and not p.void)
        - sum(r.cents for r in desk.refunds if r.paid_day is not None and r.method == "card")
        + sum(c.card_difference for c in desk.closes.values())
        - sum(gross for _, gross, _ in desk.settlements)
    )
    payable = sum(r.cents for r in desk.refunds if r.status == RefundStatus.APPROVED)
    bank = (
        sum(total for _, _, total in desk.deposits)
        - sum(r.cents for r in desk.refunds if r.paid_day is not None and r.method == "check")
        + sum(gross - fees for _, gross, fees in desk.settlements)
    )
    over_short = -sum(c.over_short + c.card_difference for c in desk.closes.values())
    expected = {
        **drawers,
        "card_clearing": card,
        "refunds_payable": -payable,
        "bank_operating": bank,
        "cash_over_short": over_short,
        "card_fees": sum(fees for _, _, fees in desk.settlements),
    }
    books_net = net_by_account()
    for account, cents_ in expected.items():
        assert books_net.get(account, 0) == cents_, account
    # Card settlements: each batch at most once, for the batches' counted total.
    settled = list(CardSettlementDay.objects.values_list("drawer_close_id", flat=True))
    assert len(settled) == len(set(settled))
    assert set(settled) == {c.pk for c in desk.closes.values() if c.settled}
    # Deposits: each close at most once, with its counted cash and checks.
    carried = list(DepositDay.objects.values_list("drawer_close_id", flat=True))
    assert len(carried) == len(set(carried))
    assert set(carried) == {c.pk for c in desk.closes.values() if c.deposited}
    for deposit in Deposit.objects.all():
        counted = DrawerClose.objects.filter(deposit_day__deposit=deposit).aggregate(
            cash=Sum("counted_cash"), checks=Sum("counted_checks")
        )
        assert (deposit.cash, deposit.checks) == (
            Decimal(counted["cash"]).quantize(Decimal("0.01")),
            Decimal(counted["checks"]).quantize(Decimal("0.01")),
        ), deposit.pk


def location_of(books: Books, pk: int) -> Any:
    return next(location for location in books.locations if location.pk == pk)


# --- The test -----------------------------------------------------------------------------------


def _named(name: str) -> st.SearchStrategy[books_test.Operation]:
    strategy = books_test.OPERATIONS[name][0]
    return strategy.map(lambda args: (name, args))


# How often each of the desk's operations comes up against one of the ledger's.
WEIGHTS = {
    "desk_pay": 8, "desk_void": 2, "desk_refund": 4, "desk_decide": 3, "desk_refund_pay": 3,
    "desk_cancel": 1, "desk_close": 2, "desk_deposit": 2, "desk_settle": 1, "desk_next_day": 2,
    "desk_close_month": 1,
}  # fmt: skip


def operations() -> st.SearchStrategy[books_test.Operation]:
    """Every registered operation; the desk's more often than the ledger's."""
    names = [name for name in books_test.OPERATIONS for _ in range(WEIGHTS.get(name, 1))]
    return st.one_of([_named(name) for name in names])


@pytest.fixture
def world(users, practice) -> Books:
    books_test.CODES.update(
        Account.objects.filter(key__in=books_test.KEYS).values_list("key", "code")
    )
    return Books(
        manager=users["manager"],
        owner=users["owner"],
        patients=[patients_factories.patient() for _ in range(LEDGER_PATIENTS + 2)],
        locations=[factories.location(name=f"Desk {n}") for n in range(2)],
    )


class Rollback(Exception):
    pass


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # No shrinking: on a database it takes minutes; the failing sequence is printed as drawn.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Sequences that broke the rules once, tried first on every run.
@example(  # a void while a refund waited on its credit, then the refund approved
    steps=[
        ("desk_pay", (3, "cash", 10_000, 0)),
        ("desk_refund", (3, "front_desk", -100, "card", -1)),
        ("desk_void", (0, 0)),
        ("desk_decide", (0, "manager", True)),
    ]
)
@example(  # a cash refund from a drawer that took no cash that day
    steps=[
        ("desk_pay", (3, "card", 5_000, 0)),
        ("desk_refund", (3, "front_desk", 3_000, "cash", 0)),
        ("desk_refund_pay", (0, 1, "")),
    ]
)
@example(  # one refund split in two under the front desk's $50 limit
    steps=[
        ("desk_pay", (3, "cash", 9_000, 0)),
        ("desk_refund", (3, "front_desk", 4_000, "card", -1)),
        ("desk_refund", (3, "front_desk", 4_000, "card", -1)),
    ]
)
@given(steps=st.lists(st.deferred(operations), min_size=STEPS // 2, max_size=STEPS))
def test_the_desks_money_holds_in_the_books_after_any_sequence(
    world: Books, steps: list[books_test.Operation]
) -> None:
    books = Books(
        manager=world.manager, owner=world.owner, patients=world.patients,
        locations=world.locations,
    )  # fmt: skip
    try:
        with transaction.atomic():
            for name, args in steps:
                note(f"{name} {args!r} (desk clock {desk_of(books).clock:%m/%d %H:%M})")
                books_test.OPERATIONS[name][1](books, args)
                check_desk(books)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit-time guard
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            raise Rollback
    except Rollback:
        pass
    assert JournalLine.objects.count() == 0 and Payment.objects.count() == 0
