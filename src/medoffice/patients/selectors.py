"""Reads of the patients app: search, duplicates, coverages in force, the record page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, ManyToManyRel, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from medoffice.core.access import can_access, get_for_user
from medoffice.core.exceptions import NotFound, NotPermitted
from medoffice.core.formats import money, us_date
from medoffice.core.models import User
from medoffice.core.selectors import practice_time_zone
from medoffice.patients import matching, normalize
from medoffice.patients.models import (
    Authorization,
    Coverage,
    EligibilityCheck,
    EligibilityMethod,
    EligibilityStatus,
    Patient,
    PatientDocument,
    Payer,
)
from medoffice.patients.permissions import PatientsPerm

SEARCH_LIMIT = 25
MRN_WIDTH = 8


def _require_module() -> None:
    """Patient records are read only while the practice keeps the patients module on: other
    modules' pages (booking, the desk's accounts) show no names, birth dates or MRNs then."""
    from medoffice.core.modules import is_enabled

    if not is_enabled("patients"):
        raise NotFound("The patients module is switched off for this practice.")


def patient_for_user(user: User, pk: int | str) -> Patient:
    """One patient the user may see (by role or emergency grant); the read is audited."""
    _require_module()
    return get_for_user(
        Patient.objects.select_related("guarantor_patient", "merged_into"),
        user,
        PatientsPerm.VIEW_PATIENTS,
        pk=pk,
        record_view=True,
    )


def coverage_for_user(user: User, coverage_id: int, *, field: str | None = None) -> Coverage:
    """One coverage (with its payer and patient) of a patient the user may see: NotFound, or
    the patient's record's refusal; the patient's read is audited."""
    coverage = Coverage.objects.select_related("payer", "patient").filter(pk=coverage_id).first()
    if coverage is None:
        raise NotFound(f"No coverage with id {coverage_id}.", field=field)
    patient_for_user(user, coverage.patient_id)
    return coverage


# --- Search -----------------------------------------------------------------------------------


def _prefix(field_name: str, value: str) -> Q:
    """A prefix match both databases answer from a plain B-tree index: value <= x < value+1."""
    upper = value[:-1] + chr(ord(value[-1]) + 1)
    return Q(**{f"{field_name}__gte": value, f"{field_name}__lt": upper})


_PHONE_CHARS = re.compile(r"^[\d\s().+-]+$")


@dataclass
class SearchPlan:
    """How a search text was read: which keys it names."""

    date_of_birth: date | None = None
    names: list[tuple[str, str]] = field(default_factory=list)  # (last prefix, first prefix)
    phone: str = ""
    mrn: str = ""

    @property
    def empty(self) -> bool:
        return not (self.date_of_birth or self.names or self.phone or self.mrn)


def plan_search(text: str) -> SearchPlan:
    """Read a search box: 'smi', 'smith, jo', 'jo smith', '03/14/1980', '(312) 555-0142', MRN."""
    plan = SearchPlan()
    text = (text or "").strip()
    if not text:
        return plan
    whole_date = normalize.parse_date(text)
    if whole_date:
        plan.date_of_birth = whole_date
        digits = re.sub(r"\D", "", text)
        if text.isdigit():
            plan.mrn = digits
        return plan
    if "," in text:
        last, _, first = text.partition(",")
        tokens_first = first.split()
        for token in list(tokens_first):
            parsed = normalize.parse_date(token)
            if parsed:
                plan.date_of_birth = parsed
                tokens_first.remove(token)
        last_key, first_key = normalize.name_key(last), normalize.name_key("".join(tokens_first))
        if last_key:
            plan.names.append((last_key, first_key))
        return plan
    if _PHONE_CHARS.match(text):
        digits = normalize.phone_key(text)
        if len(digits) >= 7:
            plan.phone = digits
        if text.isdigit():
            plan.mrn = text
        return plan
    tokens = text.split()
    words = []
    for token in tokens:
        parsed = normalize.parse_date(token)
        if parsed:
            plan.date_of_birth = parsed
        else:
            words.append(token)
    keys = [normalize.name_key(w) for w in words]
    keys = [k for k in keys if k]
    if len(words) == 1 and any(ch.isdigit() for ch in words[0]):
        plan.mrn = words[0].upper()
    if len(keys) == 1:
        plan.names.append((keys[0], ""))
    elif len(keys) >= 2:
        # "jo smith" (first last) or "smith jo" (last first)
        plan.names.append(("".join(keys[1:]), keys[0]))
        plan.names.append((keys[0], "".join(keys[1:])))
        if len(keys) >= 3:  # "de la cruz" or "ana maria de la cruz"
            plan.names.append(("".join(keys), ""))
            plan.names.append(("".join(keys[:-1]), keys[-1]))
    return plan


def search_patients(
    text: str,
    *,
    limit: int = SEARCH_LIMIT,
    include_inactive: bool = False,
    using: str | None = None,
) -> list[Patient]:
    """Patients matching a search text, at most `limit`, by name, birth date, phone or MRN.

    Each key is answered from its own index; the handful of matches are merged in Python.
    None while the patients module is switched off.
    """
    from medoffice.core.modules import is_enabled

    if not is_enabled("patients"):
        return []
    plan = plan_search(text)
    if plan.empty:
        return []
    base = Patient.objects.all()
    if using:
        base = base.using(using)
    if not include_inactive:
        base = base.filter(is_active=True)
    order = ("last_name_key", "first_name_key", "date_of_birth", "pk")
    found: dict[int, Patient] = {}

    def take(queryset: QuerySet) -> None:
        for patient in queryset.order_by(*order)[:limit]:
            found.setdefault(patient.pk, patient)

    if plan.mrn:
        candidates = {plan.mrn}
        if plan.mrn.isdigit():
            candidates.add(plan.mrn.zfill(MRN_WIDTH))
        take(base.filter(mrn__in=candidates))
    if plan.names:
        name_q = Q()
        for last, first in plan.names:
            q = _prefix("last_name_key", last)
            if first:
                q &= _prefix("first_name_key", first)
            name_q |= q
        queryset = base.filter(name_q)
        if plan.date_of_birth:
            queryset = queryset.filter(date_of_birth=plan.date_of_birth)
        take(queryset)
    elif plan.date_of_birth:
        take(base.filter(date_of_birth=plan.date_of_birth))
    if plan.phone:
        take(base.filter(_prefix("phone_key", plan.phone)))
    results = sorted(found.values(), key=lambda p: tuple(getattr(p, f) for f in order))
    return results[:limit]


# --- Duplicates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateCandidate:
    patient: Patient
    reasons: tuple[str, ...]


def find_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str = "",
    exclude_pk: int | None = None,
    limit: int = 10,
) -> list[DuplicateCandidate]:
    """Registered patients who may be this person: similar name and same birth date, or same phone.

    The database narrows to patients born the same day or sharing the phone (both indexed);
    names are compared in Python over those few rows.
    """
    first_key, last_key = normalize.name_key(first_name), normalize.name_key(last_name)
    phone_key = normalize.phone_key(phone)
    q = Q()
    if date_of_birth:
        q |= Q(date_of_birth=date_of_birth)
    if len(phone_key) >= 10:
        q |= Q(phone_key=phone_key)
    if not q:
        return []
    rows = Patient.objects.filter(q, merged_into__isnull=True)
    if exclude_pk:
        rows = rows.exclude(pk=exclude_pk)
    candidates = []
    for patient in rows.order_by("pk")[:500]:
        reasons = []
        if date_of_birth and patient.date_of_birth == date_of_birth:
            why = matching.name_similarity(
                first_key, last_key, patient.first_name_key, patient.last_name_key
            )
            if why:
                reasons.append(f"{why}, same date of birth")
        if len(phone_key) >= 10 and patient.phone_key == phone_key:
            reasons.append("same phone number")
        if reasons:
            candidates.append(DuplicateCandidate(patient, tuple(reasons)))
    candidates.sort(key=lambda c: (-len(c.reasons), c.patient.last_name_key))
    return candidates[:limit]


# --- Coverages, eligibility, authorizations -------------------------------------------------


def coverages_in_force(patient: Patient | int, on: date) -> QuerySet[Coverage]:
    """The coverages that may be billed for a visit on a day, primary first."""
    patient_id = patient.pk if isinstance(patient, Patient) else patient
    return (
        Coverage.objects.filter(
            patient_id=patient_id,
            is_active=True,
            effective_date__lte=on,
            payer__is_active=True,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .select_related("payer")
        .order_by("priority", "-effective_date")
    )


def latest_eligibility(coverage: Coverage | int) -> EligibilityCheck | None:
    coverage_id = coverage.pk if isinstance(coverage, Coverage) else coverage
    return (
        EligibilityCheck.objects.filter(coverage_id=coverage_id)
        .select_related("checked_by")
        .order_by("-checked_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class EligibilityAnswer:
    """What the latest check said, as the desk reads it: the status, when and how, and (from a
    271) the plan and the patient's share: copay, deductible, coinsurance, out-of-pocket."""

    status: str
    status_label: str
    checked_at: datetime
    method_label: str
    benefits: list[tuple[str, str]]  # (what, the payer's figure), in reading order

    @property
    def electronic(self) -> bool:
        return self.method_label == EligibilityMethod.X12_271.label


def _dollars(value: object) -> str:
    return money(str(value)) if value not in (None, "") else ""


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def benefit_rows(benefits: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The 271's summary kept on a check (`benefits`), as (label, text) rows; money shown in
    dollars from its text (never a float), what the payer did not say left out."""
    if not benefits:
        return []
    rows = []
    if benefits.get("plan"):
        rows.append(("Plan", str(benefits["plan"])))
    begin, end = _day(benefits.get("coverage_begin")), _day(benefits.get("coverage_end"))
    if begin or end:
        shown = f"{us_date(begin) if begin else '?'} to {us_date(end) if end else 'open'}"
        rows.append(("Coverage dates", shown))
    for key, label in (
        ("copay", "Copay"),
        ("deductible", "Deductible"),
        ("deductible_remaining", "Deductible remaining"),
    ):
        if benefits.get(key) not in (None, ""):
            rows.append((label, _dollars(benefits[key])))
    percent = benefits.get("coinsurance_percent")
    if percent not in (None, ""):
        text = str(percent)
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        rows.append(("Coinsurance", f"{text}%"))
    for key, label in (
        ("out_of_pocket", "Out-of-pocket maximum"),
        ("out_of_pocket_remaining", "Out-of-pocket remaining"),
    ):
        if benefits.get(key) not in (None, ""):
            rows.append((label, _dollars(benefits[key])))
    for reason in benefits.get("rejections") or []:
        rows.append(("Payer's note", str(reason)))
    return rows


def eligibility_answer(
    *, status: str, checked_at: datetime, method: str, benefits: dict[str, Any] | None
) -> EligibilityAnswer:
    return EligibilityAnswer(
        status=status,
        status_label=EligibilityStatus(status).label
        if status in EligibilityStatus.values
        else status,
        checked_at=checked_at,
        method_label=EligibilityMethod(method).label
        if method in EligibilityMethod.values
        else method,
        benefits=benefit_rows(benefits),
    )


def answer_of(check: EligibilityCheck | None) -> EligibilityAnswer | None:
    if check is None:
        return None
    return eligibility_answer(
        status=check.status, checked_at=check.checked_at, method=check.method,
        benefits=check.benefits,
    )  # fmt: skip


@dataclass(frozen=True)
class CopayComparison:
    """The copay on file for a coverage next to the copay its latest check, a payer's 271,
    reported; and which one check-in collects by default: the 271's when it is from the day of
    the visit (today, at check-in: the payer's word that day), else the one on file."""

    check_id: int
    payer_copay: Decimal
    on_file: Decimal
    checked_on: date  # in the practice's zone
    from_today: bool

    @property
    def differs(self) -> bool:
        return self.payer_copay != self.on_file

    @property
    def to_collect(self) -> Decimal:
        return self.payer_copay if self.from_today else self.on_file

    @property
    def sentence(self) -> str:
        return (
            f"The payer's 271 of {us_date(self.checked_on)} says copay {money(self.payer_copay)}; "
            f"the coverage on file says {money(self.on_file)}."
        )

    @property
    def collect_words(self) -> str:
        """Which copay check-in offers to collect, and why."""
        if self.from_today:
            return (
                f"Check-in collects the 271's copay, {money(self.payer_copay)}: "
                "the 271 is from today."
            )
        return (
            f"Check-in collects the copay on file, {money(self.on_file)}: the 271 is not from "
            "the day of the visit (check eligibility again that day to collect the payer's)."
        )


def copay_comparison(
    coverage: Coverage,
    *,
    check_id: int | None,
    method: str | None,
    copay_reported: Decimal | None,
    checked_at: datetime | None,
    today: date,
) -> CopayComparison | None:
    """The comparison, when the coverage's latest check is a 271 that gave a copay (the
    check's fields are passed so a page may read them from annotations); `today` is the day
    of the visit (chart prep passes the day it prepares)."""
    if (
        check_id is None or checked_at is None or copay_reported is None
        or method != EligibilityMethod.X12_271
    ):  # fmt: skip
        return None
    checked_on = timezone.localtime(checked_at, _practice_zone()).date()
    return CopayComparison(
        check_id=check_id, payer_copay=Decimal(copay_reported), on_file=coverage.copay,
        checked_on=checked_on, from_today=checked_on == today,
    )  # fmt: skip


def copay_comparison_of(
    coverage: Coverage, check: EligibilityCheck | None, *, today: date
) -> CopayComparison | None:
    """`copay_comparison` for a coverage and its latest check (None: never checked)."""
    if check is None:
        return None
    return copay_comparison(
        coverage, check_id=check.pk, method=check.method, copay_reported=check.copay_reported,
        checked_at=check.checked_at, today=today,
    )  # fmt: skip


def _practice_zone() -> ZoneInfo:
    return ZoneInfo(practice_time_zone())


def coverages_of(patient: Patient) -> QuerySet[Coverage]:
    """All of a patient's coverages with the latest eligibility status annotated."""
    latest = EligibilityCheck.objects.filter(coverage=OuterRef("pk")).order_by("-checked_at", "-pk")
    return (
        Coverage.objects.filter(patient=patient)
        .select_related("payer")
        .annotate(
            eligibility_status=Subquery(latest.values("status")[:1]),
            eligibility_checked_at=Subquery(latest.values("checked_at")[:1]),
        )
        .order_by("-is_active", "priority", "-effective_date")
    )


def authorization_in_force(
    patient: Patient | int, kind: str, on: date, *, coverage: Coverage | None = None
) -> Authorization | None:
    """A referral or prior authorization valid on a day with visits left, soonest to lapse first."""
    patient_id = patient.pk if isinstance(patient, Patient) else patient
    queryset = Authorization.objects.filter(
        patient_id=patient_id, kind=kind, is_active=True, valid_from__lte=on, valid_to__gte=on
    ).filter(Q(visits_allowed__isnull=True) | Q(visits_used__lt=F("visits_allowed")))
    if coverage is not None:
        queryset = queryset.filter(Q(coverage=coverage) | Q(coverage__isnull=True))
    return queryset.order_by("valid_to", "pk").first()


def authorizations_of(patient: Patient) -> QuerySet[Authorization]:
    return Authorization.objects.filter(patient=patient).select_related("coverage__payer")


def documents_of(patient: Patient) -> QuerySet[PatientDocument]:
    return PatientDocument.objects.filter(patient=patient).select_related("uploaded_by")


def document_for_user(user: User, pk: int | str) -> PatientDocument:
    """A document the user may open: VIEW_PATIENTS, or an emergency grant on its patient."""
    document = PatientDocument.objects.select_related("patient").filter(pk=pk).first()
    if document is None:
        raise NotFound(f"No document with id {pk}.")
    if not can_access(user, document.patient, PatientsPerm.VIEW_PATIENTS):
        raise NotPermitted("Your role does not cover this patient's documents.")
    return document


def eligibility_history(coverage: Coverage) -> QuerySet[EligibilityCheck]:
    return coverage.eligibility.select_related("checked_by")


def patient_with_related(patient: Patient) -> dict:
    """Everything the record page shows, in a fixed handful of queries."""
    return {
        "coverages": list(coverages_of(patient)),
        "authorizations": list(authorizations_of(patient)),
        "documents": list(documents_of(patient)),
        "guaranteed": list(patient.guaranteed_patients.filter(is_active=True)[:20]),
        "merged_from": list(patient.merged_from.all()[:20]),
    }


# --- Payers ------------------------------------------------------------------------------------


def payers(*, active_only: bool = False, query: str = "") -> QuerySet[Payer]:
    queryset = Payer.objects.all()
    if active_only:
        queryset = queryset.filter(is_active=True)
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(payer_id__iexact=query))
    return queryset.order_by("name")


def payer_choices() -> list[tuple[int, str]]:
    return [
        (p.pk, f"{p.name} ({p.payer_id})" if p.payer_id else p.name)
        for p in payers(active_only=True)
    ]


# --- Merge ------------------------------------------------------------------------------------


@dataclass
class MergePreview:
    survivor: Patient
    duplicate: Patient
    counts: dict[str, int]  # verbose name of what moves -> how many rows


def patient_by_mrn_for_user(user: User, mrn: str, *, field_name: str = "mrn") -> Patient:
    mrn = (mrn or "").strip().upper()
    candidates = {mrn, mrn.zfill(MRN_WIDTH)} if mrn.isdigit() else {mrn}
    found = Patient.objects.filter(mrn__in=candidates).values_list("pk", flat=True).first()
    if found is None:
        from medoffice.core.exceptions import InvalidInput

        raise InvalidInput(f"{field_name}: no patient has MRN {mrn}.", field=field_name)
    return patient_for_user(user, found)


def related_counts(patient: Patient) -> dict[str, int]:
    """How many rows of every model point at a patient (one COUNT per relation)."""
    counts: dict[str, int] = {}
    for relation in Patient._meta.related_objects:
        model: Any
        if isinstance(relation, ManyToManyRel):
            model = relation.through
            names = [
                f.name for f in model._meta.fields if f.is_relation and f.related_model is Patient
            ]
        else:
            model, names = relation.related_model, [relation.field.name]
        for name in names:
            count = model._default_manager.filter(**{name: patient}).count()
            if count:
                label = f"{model._meta.verbose_name_plural} ({name.replace('_', ' ')})"
                counts[label] = counts.get(label, 0) + count
    return counts


def merge_preview(*, user: User, survivor_mrn: str, duplicate_mrn: str) -> MergePreview:
    survivor = patient_by_mrn_for_user(user, survivor_mrn, field_name="survivor")
    duplicate = patient_by_mrn_for_user(user, duplicate_mrn, field_name="duplicate")
    return MergePreview(survivor=survivor, duplicate=duplicate, counts=related_counts(duplicate))


def suspected_duplicates(*, limit: int = 30) -> list[tuple[Patient, Patient, str]]:
    """Pairs of active records that look like one person (similar name, same birth date).

    The database finds the birth dates shared by more than one active patient; only those
    patients' name keys are compared.
    """
    from django.db.models import Count

    shared = (
        Patient.objects.filter(merged_into__isnull=True, is_active=True)
        .values("date_of_birth")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values("date_of_birth")
    )
    rows = (
        Patient.objects.filter(merged_into__isnull=True, is_active=True, date_of_birth__in=shared)
        .order_by("date_of_birth", "pk")
        .values_list("pk", "date_of_birth", "first_name_key", "last_name_key")
    )
    pairs: list[tuple[int, int, str]] = []
    group: list[tuple] = []
    for row in rows.iterator(chunk_size=5000):
        if group and group[0][1] != row[1]:
            group = []
        for other in group:
            why = matching.name_similarity(other[2], other[3], row[2], row[3])
            if why:
                pairs.append((other[0], row[0], why))
        group.append(row)
        if len(pairs) >= limit:
            break
    by_pk = Patient.objects.in_bulk({pk for a, b, _ in pairs for pk in (a, b)})
    return [(by_pk[a], by_pk[b], why) for a, b, why in pairs]


# --- Dashboard ----------------------------------------------------------------------------------


def dashboard_counts(today: date) -> dict[str, int]:
    """New patients in the last 30 days and coverages ending in the next 30, two COUNTs."""
    from datetime import timedelta

    from django.db.models import Count

    window = timedelta(days=30)
    # A range on the stored instant (an index can serve it), not a date cast of every row.
    since = timezone.make_aware(datetime.combine(today - window, time.min))
    new = Patient.objects.filter(created_at__gte=since, merged_into__isnull=True)
    ending = Coverage.objects.filter(
        is_active=True, end_date__gte=today, end_date__lte=today + window
    ).aggregate(n=Count("pk"))["n"]
    return {"new_patients": new.count(), "coverages_ending": ending}
