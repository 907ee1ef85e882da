"""Reads of the front desk: forms due, balances, the patient flow board and chart preparation.

Every list here costs a fixed number of queries, however many patients it shows.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from medoffice.core.access import has_perm
from medoffice.core.models import Location, User
from medoffice.reception.models import (
    STAGE_ORDER,
    STAGE_TRANSITIONS,
    FormType,
    Payment,
    SignedForm,
    Stage,
    Visit,
)
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.patients.models import Coverage, Patient
    from medoffice.scheduling.models import Appointment, Room

from medoffice.reception.selectors.common import (
    CENT,
    ELIGIBILITY_STALE_DAYS,
    ZERO,
    day_bounds,
    local_today,
    minutes_between,
    practice_zone,
)
from medoffice.reception.selectors.money import (
    AccountActivity,
    BalanceSource,
    DrawerDay,
    account_activity,
    balance_text,
    balances_for,
    card_settlements,
    charges_are_posted,
    checks_of_closes,
    closes_to_deposit,
    closes_to_settle,
    deposit_closes,
    drawer_day,
    may_void,
    patient_balance,
    payment_with_details,
    payments_of,
    refund_with_details,
    refundable_credit,
    refunds_of,
    register_balance_source,
)

__all__ = [
    "BOARD_STATUSES",
    "CENT",
    "ELIGIBILITY_STALE_DAYS",
    "NEED_PLURALS",
    "PREP_KIND_LABELS",
    "ZERO",
    "AccountActivity",
    "ArrivalRow",
    "ArrivalsAt",
    "BalanceSource",
    "DrawerDay",
    "FlowBoard",
    "FlowColumn",
    "FlowRow",
    "FormDue",
    "NeedBadge",
    "PrepItem",
    "PrepRow",
    "account_activity",
    "active_form_types",
    "active_locations",
    "balance_text",
    "balances_for",
    "card_settlements",
    "charges_are_posted",
    "chart_prep",
    "checks_of_closes",
    "closes_to_deposit",
    "closes_to_settle",
    "day_bounds",
    "deposit_closes",
    "drawer_day",
    "flow_board",
    "flow_row",
    "forms_due",
    "forms_due_for",
    "front_desk_counts",
    "local_today",
    "may_void",
    "minutes_between",
    "patient_balance",
    "payment_with_details",
    "payments_of",
    "practice_zone",
    "refund_with_details",
    "refundable_credit",
    "refunds_of",
    "register_balance_source",
    "rooms_for",
    "rooms_in_use",
    "signed_forms_of",
    "todays_appointment_to_check_in",
    "todays_arrivals",
    "visit_of",
]

# --- Forms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormDue:
    form_type: FormType
    last_signed_at: datetime | None
    last_signed_on: date | None = None  # the local day of the last signature

    @property
    def reason(self) -> str:
        if self.last_signed_at is None:
            return "never signed"
        return f"renewal due (last signed {self.last_signed_on:%m/%d/%Y})"


def active_form_types() -> list[FormType]:
    return list(FormType.objects.filter(is_active=True))


def forms_due_for(
    patient_ids: Iterable[int],
    on: date,
    form_types: list[FormType] | None = None,
    zone: zoneinfo.ZoneInfo | None = None,
) -> dict[int, list[FormDue]]:
    """For each patient, the forms never signed or due again on `on` (two queries at most)."""
    ids = list(set(patient_ids))
    zone = zone or practice_zone()
    form_types = active_form_types() if form_types is None else form_types
    latest: dict[tuple[int, int], datetime] = {
        (row["patient_id"], row["form_type_id"]): row["last"]
        for row in SignedForm.objects.filter(patient_id__in=ids)
        .values("patient_id", "form_type_id")
        .annotate(last=Max("signed_at"))
    }
    due: dict[int, list[FormDue]] = {pid: [] for pid in ids}
    for pid in ids:
        for form_type in form_types:
            last = latest.get((pid, form_type.pk))
            if last is None:
                due[pid].append(FormDue(form_type, None))
                continue
            signed_on = last.astimezone(zone).date()
            renew = form_type.renew_every_days
            if renew is not None and signed_on + timedelta(days=renew) <= on:
                due[pid].append(FormDue(form_type, last, signed_on))
    return due


def forms_due(patient: Patient, on: date | None = None) -> list[FormDue]:
    return forms_due_for([patient.pk], on or local_today())[patient.pk]


def signed_forms_of(patient: Patient) -> QuerySet[SignedForm]:
    return SignedForm.objects.filter(patient=patient).select_related("form_type", "recorded_by")


# --- Flow board ---------------------------------------------------------------------------

BOARD_STATUSES = ("booked", "checked_in", "completed")


@dataclass
class FlowRow:
    appointment: Appointment
    visit: Visit | None
    stage: str
    stage_since: datetime | None
    minutes_in_stage: int | None
    minutes_since_arrival: int | None
    minutes_late: int | None  # scheduled patients past their start time

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label

    @property
    def next_stage(self) -> str | None:
        following = STAGE_TRANSITIONS[self.stage]
        return next(iter(following)) if following else None

    @property
    def next_stage_label(self) -> str:
        return Stage(self.next_stage).label if self.next_stage else ""

    @property
    def patient(self) -> Patient:
        return self.appointment.patient


@dataclass
class FlowColumn:
    stage: str
    label: str
    rows: list[FlowRow] = field(default_factory=list)


@dataclass
class FlowBoard:
    day: date
    location: Location | None
    now: datetime
    columns: list[FlowColumn]

    @property
    def rows(self) -> list[FlowRow]:
        return [row for column in self.columns for row in column.rows]

    @property
    def waiting(self) -> int:
        return sum(1 for row in self.rows if row.stage in (Stage.ARRIVED, Stage.ROOMED))

    @property
    def arrived_count(self) -> int:
        return sum(1 for row in self.rows if row.stage != Stage.SCHEDULED)


def _board_fields() -> list[str]:
    """What the board (page, API, wall screen) reads of each row: the appointment and its
    visit whole, of the patient only the name and MRN, of the rest the names shown."""
    from medoffice.scheduling.models import Appointment

    return [
        *(f.name for f in Appointment._meta.concrete_fields),
        *(f"visit__{f.name}" for f in Visit._meta.concrete_fields),
        *(f"patient__{name}" for name in ("mrn", "first_name", "middle_name", "last_name",
                                          "suffix")),
        "provider__first_name", "provider__last_name", "provider__credentials",
        "provider__user", "appointment_type__name", "location__name",
        "visit__room__name", "visit__room__location",
    ]  # fmt: skip


def _board_appointments(
    day: date, location: Location | None, viewer: User | None = None
) -> QuerySet[Appointment]:
    from medoffice.scheduling.models import Appointment

    start, end = day_bounds(day)
    appointments = (
        Appointment.objects.filter(start__gte=start, start__lt=end, status__in=BOARD_STATUSES)
        .select_related("patient", "provider", "appointment_type", "location", "visit__room")
        .only(*_board_fields())
        .order_by("start", "pk")
    )
    if location is not None:
        appointments = appointments.filter(location=location)
    if viewer is not None and not has_perm(viewer, SchedulingPerm.VIEW_SCHEDULE):
        # Without the whole schedule (a clinician: their own only), only their own patients.
        appointments = appointments.filter(provider__user=viewer)
    return appointments


def todays_appointment_to_check_in(patient: Patient) -> Appointment | None:
    """The patient's first appointment today still waiting for them to arrive, if any."""
    from medoffice.scheduling.models import Appointment, AppointmentStatus

    start, end = day_bounds(local_today())
    return (
        Appointment.objects.filter(
            patient=patient, start__gte=start, start__lt=end, status=AppointmentStatus.BOOKED
        )
        .exclude(visit__isnull=False)
        .order_by("start")
        .first()
    )


def visit_of(appointment: Appointment) -> Visit | None:
    try:
        return appointment.visit
    except Visit.DoesNotExist:
        return None


def flow_row(appointment: Appointment, now: datetime) -> FlowRow:
    """Where one appointment's patient is, and for how long, from the stored times."""
    visit = visit_of(appointment)
    if visit is not None and visit.stage != Stage.SCHEDULED:
        stage = visit.stage
        since = visit.stage_started_at()
        arrived = visit.arrived_at
        left = visit.checked_out_at
    elif appointment.status == "checked_in":  # checked in on the schedule, not here yet
        stage, since = Stage.ARRIVED, appointment.checked_in_at
        arrived, left = appointment.checked_in_at, None
    elif appointment.status == "completed":
        stage, since = Stage.CHECKED_OUT, appointment.completed_at
        arrived, left = appointment.checked_in_at, appointment.completed_at
    else:
        stage, since, arrived, left = Stage.SCHEDULED, None, None, None
    in_stage = None if stage == Stage.CHECKED_OUT else minutes_between(since, now)
    late = None
    if stage == Stage.SCHEDULED and appointment.start < now:
        late = minutes_between(appointment.start, now)
    return FlowRow(
        appointment=appointment,
        visit=visit,
        stage=stage,
        stage_since=since,
        minutes_in_stage=in_stage,
        minutes_since_arrival=minutes_between(arrived, left or now),
        minutes_late=late,
    )


def flow_board(
    *,
    day: date,
    location: Location | None = None,
    now: datetime | None = None,
    viewer: User | None = None,
) -> FlowBoard:
    """The day's patients by stage, with the time of each step and the live waits (one query).

    With a viewer, only the patients their schedule permission covers (all, or their own)."""
    now = now or timezone.now()
    columns: dict[str, FlowColumn] = {
        stage: FlowColumn(stage, Stage(stage).label) for stage in STAGE_ORDER
    }
    for appointment in _board_appointments(day, location, viewer):
        row = flow_row(appointment, now)
        columns[row.stage].rows.append(row)
    # Longest waits first among patients already here; the schedule order for the rest.
    for stage in (Stage.ARRIVED, Stage.ROOMED, Stage.WITH_PROVIDER):
        columns[stage].rows.sort(key=lambda row: row.stage_since or now)
    return FlowBoard(day=day, location=location, now=now, columns=list(columns.values()))


def active_locations() -> QuerySet[Location]:
    return Location.objects.filter(is_active=True).order_by("name")


def rooms_for(location: Location | None) -> QuerySet[Room]:
    from medoffice.scheduling.models import Room

    rooms = Room.objects.filter(is_active=True, kind="room").select_related("location")
    if location is not None:
        rooms = rooms.filter(location=location)
    return rooms.order_by("name")


def rooms_in_use(location: Location | None) -> set[int]:
    """Rooms with a patient in them now (roomed or with the provider)."""
    visits = Visit.objects.filter(stage__in=(Stage.ROOMED, Stage.WITH_PROVIDER), room__isnull=False)
    if location is not None:
        visits = visits.filter(room__location=location)
    return set(visits.values_list("room_id", flat=True))


def front_desk_counts(day: date | None = None, now: datetime | None = None) -> dict:
    """Patients waiting now (arrived or roomed, not yet with the provider), visits checked in
    today, and the longest current wait in minutes (one query)."""
    now = now or timezone.now()
    day = day or local_today(now)
    start, end = day_bounds(day)
    todays = Visit.objects.filter(arrived_at__gte=start, arrived_at__lt=end)
    counts = todays.aggregate(
        waiting=Count("pk", filter=Q(stage__in=(Stage.ARRIVED, Stage.ROOMED))),
        checked_in=Count("pk"),
        oldest_arrived=Min("arrived_at", filter=Q(stage=Stage.ARRIVED)),
        oldest_roomed=Min("roomed_at", filter=Q(stage=Stage.ROOMED)),
    )
    oldest = [t for t in (counts.pop("oldest_arrived"), counts.pop("oldest_roomed")) if t]
    counts["longest_wait"] = minutes_between(min(oldest), now) if oldest else None
    return counts


# --- Chart preparation --------------------------------------------------------------------


PREP_KIND_LABELS = {
    "coverage": "Insurance",
    "eligibility": "Eligibility",
    "form": "Form",
    "balance": "Balance",
    "referral": "Referral",
    "prior_auth": "Prior auth",
}


@dataclass
class PrepItem:
    kind: str  # coverage | eligibility | form | balance | referral | prior_auth
    message: str
    severity: str = "warn"  # warn | bad

    @property
    def label(self) -> str:
        return PREP_KIND_LABELS.get(self.kind, self.kind)


@dataclass
class PrepRow:
    appointment: Appointment
    coverages: list[Coverage]
    items: list[PrepItem]
    balance: Decimal

    @property
    def patient(self) -> Patient:
        return self.appointment.patient

    @property
    def ready(self) -> bool:
        return not self.items

    def kinds(self) -> set[str]:
        return {item.kind for item in self.items}


def _requested_at() -> Any:
    """When each coverage's latest eligibility request (a 270 the claims module sent) still
    waiting for its 271 was made: a subquery, so chart prep keeps its query count."""
    from medoffice.claims.eligibility_selectors import requested_at_subquery

    return requested_at_subquery()


def _answer(coverage: Any) -> Any:
    """The latest check as the desk reads it (a 271's benefits too), from the annotations."""
    from medoffice.patients.selectors import eligibility_answer

    if coverage.last_checked_at is None:
        return None
    return eligibility_answer(
        status=coverage.last_status, checked_at=coverage.last_checked_at,
        method=coverage.last_method, benefits=coverage.last_benefits,
    )  # fmt: skip


def chart_prep(
    *,
    day: date,
    location: Location | None = None,
    stale_days: int = ELIGIBILITY_STALE_DAYS,
    now: datetime | None = None,
    statuses: tuple[str, ...] = ("booked",),
) -> list[PrepRow]:
    """Each patient booked on `day` with what is missing or due before the visit.

    Seven queries whatever the number of patients: appointments, coverages (with their latest
    eligibility check, a 271's benefits and copay included, and any 270 still waiting for its
    answer),
    form types, signatures, payments, and referrals/authorizations.
    """
    from medoffice.patients.models import Authorization, Coverage, EligibilityCheck
    from medoffice.patients.selectors import copay_comparison
    from medoffice.scheduling.models import Appointment

    now = now or timezone.now()
    zone = practice_zone()
    start, end = day_bounds(day, zone)
    booked = (
        Appointment.objects.filter(start__gte=start, start__lt=end, status__in=statuses)
        .select_related("patient", "provider", "appointment_type", "location", "visit__room")
        .order_by("start", "pk")
    )
    if location is not None:
        booked = booked.filter(location=location)
    appointments = list(booked)
    patient_ids = sorted({a.patient_id for a in appointments})
    if not patient_ids:
        return []

    latest_check = EligibilityCheck.objects.filter(coverage=OuterRef("pk")).order_by(
        "-checked_at", "-pk"
    )
    coverages = (
        Coverage.objects.filter(patient_id__in=patient_ids, is_active=True)
        .select_related("payer")
        .annotate(
            last_checked_at=Subquery(latest_check.values("checked_at")[:1]),
            last_status=Subquery(latest_check.values("status")[:1]),
            last_method=Subquery(latest_check.values("method")[:1]),
            last_benefits=Subquery(latest_check.values("benefits")[:1]),
            last_check_id=Subquery(latest_check.values("pk")[:1]),
            last_copay_reported=Subquery(latest_check.values("copay_reported")[:1]),
            eligibility_requested_at=_requested_at(),
        )
        .order_by("patient_id", "priority", "-effective_date")
    )
    coverages_by_patient: dict[int, list] = defaultdict(list)
    for coverage in coverages:
        coverage.answer = _answer(coverage)
        coverage.copay_check = copay_comparison(
            coverage, check_id=coverage.last_check_id, method=coverage.last_method,
            copay_reported=coverage.last_copay_reported, checked_at=coverage.last_checked_at,
            today=day,  # the 271's copay is collected when it is from the visit's day
        )  # fmt: skip
        requested, checked = coverage.eligibility_requested_at, coverage.last_checked_at
        if requested is not None and checked is not None and checked >= requested:
            coverage.eligibility_requested_at = None  # answered since (by phone, say)
        coverages_by_patient[coverage.patient_id].append(coverage)

    due = forms_due_for(patient_ids, day, zone=zone)
    balances = balances_for(patient_ids)

    authorizations: set[tuple[int, str]] = {
        (row["patient_id"], row["kind"])
        for row in Authorization.objects.filter(
            patient_id__in=patient_ids,
            is_active=True,
            valid_from__lte=day,
            valid_to__gte=day,
        )
        .filter(Q(visits_allowed__isnull=True) | Q(visits_used__lt=F("visits_allowed")))
        .values("patient_id", "kind")
    }

    stale_before = now - timedelta(days=stale_days)
    rows = []
    for appointment in appointments:
        pid = appointment.patient_id
        items: list[PrepItem] = []
        all_coverages = coverages_by_patient.get(pid, [])
        in_force = [c for c in all_coverages if c.in_force_on(day) and c.payer.is_active]
        if not in_force:
            ended = [c for c in all_coverages if c.end_date is not None and c.end_date < day]
            if ended:
                last = max(ended, key=lambda c: c.end_date)
                items.append(
                    PrepItem(
                        "coverage",
                        f"{last.payer.name} coverage ended {last.end_date:%m/%d/%Y}; "
                        "get the new insurance or mark self-pay",
                        "bad",
                    )
                )
            elif not all_coverages:
                items.append(PrepItem("coverage", "no insurance on file (self-pay?)"))
            else:
                items.append(PrepItem("coverage", "coverage not yet in force on this date", "bad"))
        for coverage in in_force:
            label = f"{coverage.payer.name} ({coverage.get_priority_display().lower()})"
            requested = coverage.eligibility_requested_at
            if requested is not None and (
                coverage.last_checked_at is None or coverage.last_checked_at < stale_before
            ):
                items.append(
                    PrepItem(
                        "eligibility",
                        f"{label}: eligibility requested {requested.astimezone(zone):%m/%d/%Y}, "
                        "waiting for the payer's 271",
                    )
                )
            elif coverage.last_checked_at is None:
                items.append(PrepItem("eligibility", f"{label}: eligibility never verified"))
            elif coverage.last_checked_at < stale_before:
                items.append(
                    PrepItem(
                        "eligibility",
                        f"{label}: eligibility last verified "
                        f"{coverage.last_checked_at.astimezone(zone):%m/%d/%Y}",
                    )
                )
            elif coverage.last_status == "inactive":
                items.append(PrepItem("eligibility", f"{label}: payer reported inactive", "bad"))
        for form in due.get(pid, []):
            items.append(PrepItem("form", f"{form.form_type.name}: {form.reason}"))
        balance = balances.get(pid, ZERO)
        if balance > 0:
            items.append(PrepItem("balance", f"balance due ${balance:,.2f}"))
        kind = appointment.appointment_type
        primary = in_force[0] if in_force else None
        needs_referral = kind.requires_referral or (
            primary is not None and primary.payer.requires_referral
        )
        if needs_referral and (pid, "referral") not in authorizations:
            items.append(PrepItem("referral", "referral required and none in force", "bad"))
        if kind.requires_prior_auth and (pid, "prior_auth") not in authorizations:
            items.append(
                PrepItem("prior_auth", "prior authorization required and none in force", "bad")
            )
        rows.append(PrepRow(appointment, in_force, items, balance))
    return rows


# --- The front desk's home: today's arrivals ------------------------------------------------


NEED_PLURALS = {"eligibility": "eligibility checks", "form": "forms", "coverage": "insurance"}


@dataclass
class NeedBadge:
    label: str
    message: str
    severity: str


@dataclass
class ArrivalRow:
    prep: PrepRow
    flow: FlowRow
    copay_due: Decimal  # the primary coverage's copay, until a payment is taken for the visit

    @property
    def appointment(self) -> Appointment:
        return self.prep.appointment

    @property
    def needs(self) -> list[NeedBadge]:
        """One badge per kind of need ("Eligibility", "3 forms"), each naming its items."""
        grouped: dict[str, list[PrepItem]] = {}
        for item in self.prep.items:
            if item.kind in ("eligibility", "form", "coverage"):
                grouped.setdefault(item.kind, []).append(item)
        badges = []
        for kind, items in grouped.items():
            label = PREP_KIND_LABELS.get(kind, kind)
            if len(items) > 1:
                label = f"{len(items)} {NEED_PLURALS.get(kind, label.lower())}"
            severity = "bad" if any(i.severity == "bad" for i in items) else "warn"
            badges.append(NeedBadge(label, "; ".join(i.message for i in items), severity))
        return badges

    @property
    def balance_due(self) -> Decimal:
        return max(self.prep.balance, ZERO)

    @property
    def can_check_in(self) -> bool:
        return self.flow.stage == Stage.SCHEDULED


@dataclass
class ArrivalsAt:
    location: Location
    rows: list[ArrivalRow]


def todays_arrivals(
    *, day: date | None = None, location: Location | None = None, now: datetime | None = None
) -> list[ArrivalsAt]:
    """The day's appointments in time order, per location: where each patient stands, what
    is due (eligibility, forms, copay, balance). A fixed number of queries (chart prep's and
    one for the visits' payments)."""
    now = now or timezone.now()
    day = day or local_today(now)
    prep = chart_prep(day=day, location=location, now=now, statuses=BOARD_STATUSES)
    visit_ids = [v.pk for v in (visit_of(r.appointment) for r in prep) if v is not None]
    paid_visits = set(
        Payment.objects.filter(visit_id__in=visit_ids, voided_at__isnull=True).values_list(
            "visit_id", flat=True
        )
    )
    by_location: dict[int, ArrivalsAt] = {}
    for row in prep:
        appointment = row.appointment
        flow = flow_row(appointment, now)
        primary = row.coverages[0] if row.coverages else None
        copay = primary.copay if primary is not None and primary.copay else ZERO
        if flow.visit is not None and flow.visit.pk in paid_visits:
            copay = ZERO
        if flow.stage == Stage.CHECKED_OUT:
            copay = ZERO
        group = by_location.setdefault(
            appointment.location_id, ArrivalsAt(appointment.location, [])
        )
        group.rows.append(ArrivalRow(prep=row, flow=flow, copay_due=copay))
    return sorted(by_location.values(), key=lambda group: group.location.name)
