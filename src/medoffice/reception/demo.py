"""The front desk's part of the demo practice: forms, signatures, copays and today's board,
and their money in the books.

Runs after scheduling's step: past completed appointments get a visit that went all the way
through the office and, most of them, a copay with its receipt; today's appointments are
spread over the flow board as if the morning were under way. Every payment posts its entry
(the same posting function the desk uses, in batches); each past day's drawer is closed, a few
of them a little over or short, and the closed days go to the bank in deposits, except the
last couple, left for the desk to deposit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from medoffice.reception.models import (
    CardSettlement,
    CardSettlementDay,
    Deposit,
    DepositDay,
    DrawerClose,
    FormType,
    Payment,
    PaymentMethod,
    ReceiptSequence,
    SignedForm,
    Stage,
    Visit,
)
from medoffice.reception.selectors import practice_zone

FORM_TYPES = (
    # name, description, renew every (days), order
    ("Notice of privacy practices", "Acknowledgment of the HIPAA privacy notice", 365, 1),
    (
        "Financial policy",
        "Payment at time of service, no-show fees, assignment of benefits",
        None,
        2,
    ),
    ("Consent to treat", "General consent for care", None, 3),
    ("Text and email reminders", "Consent to reminders by text message and email", 730, 4),
)
BATCH = 2000


def _form_types() -> list[FormType]:
    return [
        FormType.objects.get_or_create(
            name=name,
            defaults={"description": description, "renew_every_days": renew, "order": order},
        )[0]
        for name, description, renew, order in FORM_TYPES
    ]


def _now(ctx) -> datetime:
    """The demo's "now": the real time when the demo is for today, else late morning of its day."""
    zone = practice_zone()
    real = timezone.now()
    if real.astimezone(zone).date() == ctx.today:
        return real
    return datetime.combine(ctx.today, time(11, 30), tzinfo=zone)


def _signed_forms(ctx, form_types: list[FormType], desk_users) -> None:
    """Most patients signed everything at some point; some privacy notices are past renewal."""
    from medoffice.patients.models import Patient

    rng = ctx.rng
    now = _now(ctx)
    rows = []
    for patient_id in Patient.objects.filter(is_active=True).values_list("pk", flat=True):
        if rng.random() < 0.12:  # new patients: nothing signed yet
            continue
        first = now - timedelta(days=rng.randint(30, 1500), minutes=rng.randint(0, 600))
        for form_type in form_types:
            if rng.random() < 0.08:
                continue
            rows.append(
                SignedForm(
                    patient_id=patient_id,
                    form_type=form_type,
                    signed_at=first,
                    recorded_by=rng.choice(desk_users),
                )
            )
            renew = form_type.renew_every_days
            if renew and rng.random() < 0.85:
                # Renewed since: some on time, some now lapsed again.
                days = rng.randint(1, min(renew + 30, max((now - first).days - 1, 1)))
                rows.append(
                    SignedForm(
                        patient_id=patient_id,
                        form_type=form_type,
                        signed_at=now - timedelta(days=days, minutes=rng.randint(0, 600)),
                        recorded_by=rng.choice(desk_users),
                    )
                )
    SignedForm.objects.bulk_create(rows, batch_size=BATCH)


def _primary_copays(patient_ids) -> dict[int, Decimal]:
    from medoffice.patients.models import Coverage

    copays: dict[int, Decimal] = {}
    rows = (
        Coverage.objects.filter(patient_id__in=patient_ids, is_active=True, priority=1)
        .order_by("patient_id", "-effective_date")
        .values_list("patient_id", "copay")
    )
    for patient_id, copay in rows:
        copays.setdefault(patient_id, copay)
    return copays


def _past_visits(ctx, desk_users) -> None:
    """Completed appointments: a visit through every stage, and a copay for most of them."""
    from medoffice.scheduling.models import Appointment

    rng = ctx.rng
    zone = practice_zone()
    completed = list(
        Appointment.objects.filter(status="completed", start__lt=_now(ctx))
        .exclude(visit__isnull=False)
        .order_by("start", "pk")
        .values("pk", "patient_id", "start", "location_id")
    )
    copays = _primary_copays({row["patient_id"] for row in completed})
    visits, payments = [], []
    for row in completed:
        arrived = row["start"] - timedelta(minutes=rng.randint(-10, 20))
        roomed = arrived + timedelta(minutes=rng.randint(2, 25))
        with_provider = roomed + timedelta(minutes=rng.randint(2, 20))
        out = with_provider + timedelta(minutes=rng.randint(8, 35))
        visit = Visit(
            appointment_id=row["pk"],
            patient_id=row["patient_id"],
            stage=Stage.CHECKED_OUT,
            arrived_at=arrived,
            roomed_at=roomed,
            with_provider_at=with_provider,
            checked_out_at=out,
            demographics_confirmed=True,
            coverage_confirmed=row["patient_id"] in copays,
        )
        visits.append(visit)
        copay = copays.get(row["patient_id"], Decimal("0"))
        if copay <= 0:
            # Self-pay: a deposit toward the visit, sometimes.
            copay = (
                Decimal(rng.choice(("40.00", "60.00", "75.00")))
                if rng.random() < 0.5
                else Decimal("0")
            )
        if copay and rng.random() < 0.85:
            method = rng.choices(
                (PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.CHECK), (70, 20, 10)
            )[0]
            reference = ""
            if method == PaymentMethod.CARD:
                reference = "".join(rng.choice("0123456789ABCDEF") for _ in range(6))
            elif method == PaymentMethod.CHECK:
                reference = str(rng.randint(1001, 9999))
            payments.append(
                (
                    visit,
                    Payment(
                        patient_id=row["patient_id"],
                        amount=copay,
                        method=method,
                        reference=reference,
                        received_at=arrived + timedelta(minutes=1),
                        received_by=rng.choice(desk_users),
                        location_id=row["location_id"],
                    ),
                )
            )
    Visit.objects.bulk_create(visits, batch_size=BATCH)
    _number_and_save(payments, zone)


def _number_and_save(payments: list[tuple[Visit, Payment]], zone) -> None:
    """Receipt numbers in the order the money came in, year by year, then the counters."""
    payments.sort(key=lambda pair: pair[1].received_at)
    last: dict[int, int] = defaultdict(int)
    for row in ReceiptSequence.objects.all():
        last[row.year] = row.last_number
    for visit, payment in payments:
        year = payment.received_at.astimezone(zone).year
        last[year] += 1
        payment.receipt_number = f"{year}-{last[year]:06d}"
        payment.visit_id = visit.pk
    made = Payment.objects.bulk_create([payment for _, payment in payments], batch_size=BATCH)
    for year, number in last.items():
        ReceiptSequence.objects.update_or_create(year=year, defaults={"last_number": number})
    _post(made, zone)


def _post(payments: list[Payment], zone) -> None:
    """Each payment's entry, through the desk's own posting function, in batches."""
    from medoffice.core.models import Location
    from medoffice.patients.models import Patient
    from medoffice.reception.postings import payment_posting

    # The related rows each posting names, fetched once (not one query per payment).
    patients = Patient.objects.only("pk").in_bulk({p.patient_id for p in payments})
    locations = Location.objects.in_bulk()
    for payment in payments:
        payment.patient = patients[payment.patient_id]
        payment.location = locations.get(payment.location_id) if payment.location_id else None
    if any(payment.pk is None for payment in payments):  # pragma: no cover
        raise RuntimeError("bulk_create returned no ids; the payments cannot post")
    _post_all([payment_posting(payment, zone) for payment in payments])


def _post_all(postings: list) -> None:
    """Post in batches (one audit event each) when the demo loads as one unit, as it does by
    default; entry by entry when it records every write on its own (the capture tests)."""
    from medoffice.core.capture import current_unit
    from medoffice.ledger.services import post, post_many

    if current_unit() is None:
        for posting in postings:
            post(posting, actor=None)
        return
    for start in range(0, len(postings), BATCH):
        post_many(postings[start : start + BATCH], actor=None)


def _stage_at(start, end, now, rng, room_free: bool):
    """Where a visit booked for `start` stands at `now`, and its times so far.

    Patients arrive shortly before their time, so every arrival is on the appointment's day
    near its time: visits well past are checked out, those due about now are in the waiting
    room, a room or with the provider, and later ones are still to come.
    """
    arrived = start - timedelta(minutes=rng.randint(3, 15))
    if arrived >= now:
        return None, []
    roomed = arrived + timedelta(minutes=rng.randint(4, 15))
    with_provider = roomed + timedelta(minutes=rng.randint(3, 10))
    out = max(end, with_provider + timedelta(minutes=rng.randint(10, 20)))
    if out <= now:
        return Stage.CHECKED_OUT, [arrived, roomed, with_provider, out]
    if with_provider <= now and room_free:
        return Stage.WITH_PROVIDER, [arrived, roomed, with_provider]
    if roomed <= now and room_free:
        return Stage.ROOMED, [arrived, roomed]
    return Stage.ARRIVED, [arrived]


def _todays_board(ctx, desk_users) -> None:
    """Today's booked appointments as the day stands now: the earlier ones done, those due
    about now in rooms or waiting, the rest still to come."""
    from medoffice.scheduling.models import Appointment, Room

    rng = ctx.rng
    zone = practice_zone()
    now = _now(ctx)
    day_start = datetime.combine(ctx.today, time.min, tzinfo=zone)
    todays = list(
        Appointment.objects.filter(
            start__gte=day_start, start__lt=day_start + timedelta(days=1), status="booked"
        )
        .exclude(visit__isnull=False)
        .order_by("start", "pk")
    )
    if not todays:
        return
    rooms_by_location: dict[int, list[Room]] = defaultdict(list)
    for room in Room.objects.filter(is_active=True, kind="room").order_by("name"):
        rooms_by_location[room.location_id].append(room)
    copays = _primary_copays({a.patient_id for a in todays})
    used_rooms: set[int] = set()
    payments = []
    for appointment in todays:
        rooms = [r for r in rooms_by_location[appointment.location_id] if r.pk not in used_rooms]
        stage, times = _stage_at(appointment.start, appointment.end, now, rng, bool(rooms))
        if stage is None:
            continue  # still to come
        arrived = times[0]
        visit = Visit(
            appointment=appointment,
            patient_id=appointment.patient_id,
            stage=stage,
            demographics_confirmed=True,
            coverage_confirmed=appointment.patient_id in copays,
            checked_in_by=rng.choice(desk_users),
        )
        for field, moment in zip(
            ("arrived_at", "roomed_at", "with_provider_at", "checked_out_at"), times, strict=False
        ):
            setattr(visit, field, moment)
        if stage in (Stage.ROOMED, Stage.WITH_PROVIDER):
            visit.room = rooms[0]
            used_rooms.add(rooms[0].pk)
        visit.save()
        appointment.status = "completed" if stage == Stage.CHECKED_OUT else "checked_in"
        appointment.checked_in_at = arrived
        if stage == Stage.CHECKED_OUT:
            appointment.completed_at = visit.checked_out_at
        appointment.save(update_fields=["status", "checked_in_at", "completed_at", "updated_at"])
        copay = copays.get(appointment.patient_id)
        if copay and rng.random() < 0.9:
            payments.append(
                (
                    visit,
                    Payment(
                        patient_id=appointment.patient_id,
                        amount=copay,
                        method=PaymentMethod.CARD,
                        reference="".join(rng.choice("0123456789ABCDEF") for _ in range(6)),
                        received_at=arrived + timedelta(minutes=1),
                        received_by=visit.checked_in_by,
                        location_id=appointment.location_id,
                    ),
                )
            )
    _number_and_save(payments, zone)


def _closes_and_deposits(ctx, desk_users) -> None:
    """Every past day with money at a desk is closed (a few a little over or short), and the
    closed days go to the bank two or three at a time; the last two stay to be deposited."""
    from medoffice.reception.postings import deposit_posting, drawer_close_posting

    rng = ctx.rng
    zone = practice_zone()
    first_today = datetime.combine(ctx.today, time.min, tzinfo=zone)
    days: dict[tuple[int, date], dict[str, Decimal]] = {}
    check_counts: dict[tuple[int, date], int] = defaultdict(int)
    rows = Payment.objects.filter(
        received_at__lt=first_today, voided_at__isnull=True, location__isnull=False
    ).values_list("location_id", "received_at", "method", "amount")
    for location_id, received_at, method, amount in rows.iterator(chunk_size=BATCH):
        day = received_at.astimezone(zone).date()
        totals = days.setdefault(
            (location_id, day), {"cash": Decimal("0"), "check": Decimal("0"), "card": Decimal("0")}
        )
        totals[method] += amount
        if method == PaymentMethod.CHECK:
            check_counts[(location_id, day)] += 1
    closes = []
    for (location_id, day), totals in sorted(days.items(), key=lambda item: item[0][1]):
        counted_cash = totals["cash"]
        if totals["cash"] and rng.random() < 0.06:  # a miscount now and then
            counted_cash = max(
                counted_cash + Decimal(rng.choice(("-5.00", "-2.00", "-1.00", "-0.25", "0.50",
                                                   "1.00"))),
                Decimal("0"),
            )  # fmt: skip
        closed_at = datetime.combine(day, time(17, 30), tzinfo=zone)
        closes.append(
            DrawerClose(
                location_id=location_id,
                date=day,
                expected_cash=totals["cash"],
                expected_checks=totals["check"],
                expected_card=totals["card"],
                counted_cash=counted_cash,
                counted_checks=totals["check"],
                counted_card=totals["card"],
                check_count=check_counts[(location_id, day)],
                closed_at=closed_at,
                closed_by=rng.choice(desk_users),
                note="" if counted_cash == totals["cash"] else "recounted twice",
            )
        )
    closes = DrawerClose.objects.bulk_create(closes, batch_size=BATCH)
    from medoffice.core.models import Location

    locations = Location.objects.in_bulk()
    for close in closes:
        close.location = locations[close.location_id]
    postings = [p for p in (drawer_close_posting(close) for close in closes) if p is not None]
    _post_all(postings)

    by_location: dict[int, list[DrawerClose]] = defaultdict(list)
    for close in closes:
        by_location[close.location_id].append(close)
    deposits: list[tuple[Deposit, list[DrawerClose]]] = []
    for location_id, location_closes in by_location.items():
        location_closes.sort(key=lambda close: close.date)
        to_bank = location_closes[:-2]  # the last two days wait for the desk
        for group in _in_groups(rng, to_bank, (2, 3)):
            cash = sum((close.counted_cash for close in group), Decimal("0"))
            checks = sum((close.counted_checks for close in group), Decimal("0"))
            if cash + checks <= 0:
                continue
            made_on = group[-1].date + timedelta(days=1)
            deposits.append(
                (
                    Deposit(
                        location_id=location_id,
                        date=made_on,
                        cash=cash,
                        checks=checks,
                        check_count=sum(close.check_count for close in group),
                        made_at=datetime.combine(made_on, time(9, 15), tzinfo=zone),
                        made_by=rng.choice(desk_users),
                    ),
                    group,
                )
            )
    _save_carried(Deposit, DepositDay, "deposit", deposits, locations, deposit_posting)
    _card_settlements(ctx, by_location, locations, desk_users)


def _card_settlements(ctx, by_location, locations, desk_users) -> None:
    """The processor pays the card batches a day or two later, less its fees (2.9%); the
    batches of the last two days are still on their way."""
    from medoffice.reception.postings import card_settlement_posting

    rng = ctx.rng
    zone = practice_zone()
    settlements: list[tuple[CardSettlement, list[DrawerClose]]] = []
    for location_id, location_closes in by_location.items():
        with_cards = [close for close in location_closes if close.counted_card > 0][:-2]
        for group in _in_groups(rng, with_cards, (1, 2)):
            gross = sum((close.counted_card for close in group), Decimal("0"))
            fees = (gross * Decimal("0.029")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            paid_on = group[-1].date + timedelta(days=2)
            settlements.append(
                (
                    CardSettlement(
                        location_id=location_id,
                        date=paid_on,
                        gross=gross,
                        fees=fees,
                        net=gross - fees,
                        reference=f"PRC-{rng.randrange(100000, 999999)}",
                        made_at=datetime.combine(paid_on, time(10, 0), tzinfo=zone),
                        made_by=rng.choice(desk_users),
                    ),
                    group,
                )
            )
    _save_carried(
        CardSettlement,
        CardSettlementDay,
        "settlement",
        settlements,
        locations,
        card_settlement_posting,
    )


def _in_groups(
    rng, closes: list[DrawerClose], sizes: tuple[int, ...]
) -> Iterator[list[DrawerClose]]:
    """The closes in runs one after the other, each as long as a size drawn from `sizes` (the
    last may be shorter): the days one deposit, or one settlement, carries."""
    index = 0
    while index < len(closes):
        group = closes[index : index + rng.choice(sizes)]
        index += len(group)
        yield group


def _save_carried(model, days, field: str, carried: list, locations, posting) -> None:
    """Write the deposits (or settlements) of `carried`, each with the closes it carries as
    rows of `days` (their `field` naming it), and post them."""
    made = model.objects.bulk_create([carrier for carrier, _ in carried], batch_size=BATCH)
    for carrier in made:
        carrier.location = locations[carrier.location_id]
    days.objects.bulk_create(
        [
            days(**{field: carrier, "drawer_close": close})
            for carrier, (_, group) in zip(made, carried, strict=True)
            for close in group
        ],
        batch_size=BATCH,
    )
    _post_all([posting(carrier) for carrier in made])


def make_front_desk(ctx) -> None:
    desk_users = ctx.users.get("front_desk") or [ctx.user("manager")]
    form_types = _form_types()
    _signed_forms(ctx, form_types, desk_users)
    _past_visits(ctx, desk_users)
    _todays_board(ctx, desk_users)
    _closes_and_deposits(ctx, desk_users)


def _register() -> None:
    try:
        from medoffice.core.demo import register_demo_step
    except ImportError:  # pragma: no cover (older foundation without the demo registry)
        return
    register_demo_step("reception", make_front_desk, order=30)


_register()
