"""Encounters: the coded visit, from draft to coded to ready (finalized, charges posted).

    draft  --encounter_mark_coded-->  coded  --encounter_finalize-->  ready
      ^  (an edit of a coded encounter       |
      |   puts it back to draft)              |
      +-------- encounter_reopen(reason) -----+  (the charges' entry is reversed)

Who may do what: a coder (claims.code) codes, finalizes and reopens any encounter; a clinician
(claims.code_own) creates and codes the encounters of their own visits (the rendering provider
is their provider record) and marks them coded; finalizing is the coder's. Every service takes
the acting user, runs in one transaction and writes nothing when it refuses; the audited
models record each change naming that user.

Codes are checked against the coding app's tables on the date of service: diagnoses valid and
billable ICD-10-CM (`icd10_lookup`), procedures known and active (`procedure_on`), modifiers
known (`modifier`), charges from the practice's fee schedule (`fee_cents`) unless given.
The date of service is between the patient's birth and today, and not before ICD-10-CM
began (10/01/2015). Errors name the position counted from 1 ("Diagnosis 3 ...", "Line 2 ...";
a line given its `number`, the page's row, by that), with keys such as `diagnoses.3` and
`lines.2.modifiers.1`, all problems of one call at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from medoffice.claims import charges, scrubber
from medoffice.claims.models import (
    MAX_DIAGNOSES,
    MAX_MODIFIERS,
    MAX_POINTERS,
    Claim,
    ClaimStatus,
    Encounter,
    EncounterDiagnosis,
    EncounterStatus,
    ServiceLine,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.selectors import may_code, practice_today
from medoffice.coding import pricing
from medoffice.coding import selectors as codes
from medoffice.coding.models import ProcedureCode
from medoffice.core import audit
from medoffice.core.access import has_perm, require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotPermitted,
)
from medoffice.core.formats import money as money_words
from medoffice.core.formats import us_date
from medoffice.core.models import AuditAction
from medoffice.core.money import ZERO, parse_money

if TYPE_CHECKING:
    from medoffice.core.models import Location, Provider, User
    from medoffice.patients.models import Patient
    from medoffice.scheduling.models import Appointment

MAX_UNITS = 9999
NDC_UNITS = {"F2": "international units", "GR": "grams", "ME": "milligrams", "ML": "milliliters",
             "UN": "units"}  # fmt: skip
TRANSITIONS: dict[str, frozenset[str]] = {
    EncounterStatus.DRAFT: frozenset({EncounterStatus.CODED}),
    EncounterStatus.CODED: frozenset({EncounterStatus.DRAFT, EncounterStatus.READY}),
    EncounterStatus.READY: frozenset({EncounterStatus.DRAFT}),
}
_ICD10 = re.compile(r"^[A-Z][0-9A-Z][0-9A-Z](?:[0-9A-Z]{1,4})?$")
_PROCEDURE = re.compile(r"^[A-Z0-9]{5}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_NPI = re.compile(r"^\d{10}$")
_PRIOR_AUTHORIZATION = re.compile(r"[A-Za-z0-9-]{1,50}")
ICD10_CM_START = date(2015, 10, 1)  # US claims carry ICD-10-CM for services from this day on


@dataclass(frozen=True)
class LineInput:
    """One service line as typed: the charge in dollars and cents (empty: the fee schedule's
    charge for the code, times the units), pointers are diagnosis positions (1 to 12)."""

    code: str
    modifiers: Sequence[str] = ()
    units: int | str = 1
    charge: Decimal | int | str | None = None
    pointers: Sequence[int | str] = ()
    ndc: str = ""
    ndc_quantity: Decimal | int | str | None = None
    ndc_unit: str = ""
    number: int | None = None  # the line's number as the coder numbered it (None: its place)


@dataclass
class _Problems:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def raise_any(self) -> None:
        if not self.errors:
            return
        messages = [m for ms in self.errors.values() for m in ms]
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        raise InvalidInput(messages[0] + more, errors=self.errors)


# --- What the coding app knows ------------------------------------------------------------------


def normalize_icd10(code: str) -> str:
    """E119, e11.9 and ' E11.9 ' are E11.9: upper case, the dot after the third character."""
    bare = code.strip().upper().replace(".", "")
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare


def diagnosis_problem(code: str, day: date) -> tuple[str, str]:
    """(the code with its dot, what is wrong with it or "") per the coding app's ICD-10-CM in
    force on the date of service `day`."""
    normal = normalize_icd10(code)
    if not _ICD10.match(normal.replace(".", "")):
        return normal, f"“{code.strip()[:10]}” is not an ICD-10-CM code (e.g. E11.9)"
    found = codes.icd10_on(normal, day)
    if found is None:
        change = codes.icd10_change(normal)
        if change is not None:
            return normal, f"{normal} {scrubber.change_words(change, day)}".rstrip(".")
        return normal, f"{normal} is not a valid ICD-10-CM code"
    normal = normalize_icd10(found.code)
    if not found.billable:
        return normal, (
            f"{normal} is a category, not a billable code: pick one of the more specific "
            "codes under it"
        )
    return normal, ""


def _procedure(code: str, day: date) -> ProcedureCode | None:
    return codes.procedure_on(code, day)


def _modifier_known(code: str) -> bool:
    found = codes.modifier(code)
    return found is not None and found.is_active


# --- Checking the codes -----------------------------------------------------------------------


def _clean_diagnoses(codes: Sequence[str], day: date, problems: _Problems) -> list[str]:
    cleaned: list[str] = []
    given = [str(code or "").strip() for code in codes]
    given = [code for code in given if code]
    if len(given) > MAX_DIAGNOSES:
        problems.add(
            "diagnoses",
            f"A claim carries at most {MAX_DIAGNOSES} diagnoses; {len(given)} were given.",
        )
        return []
    seen: dict[str, int] = {}
    for position, code in enumerate(given, start=1):
        normal, problem = diagnosis_problem(code, day)
        if problem:
            problems.add(f"diagnoses.{position}", f"Diagnosis {position}: {problem}.")
        elif normal in seen:
            problems.add(
                f"diagnoses.{position}",
                f"Diagnosis {position}: {normal} is already diagnosis {seen[normal]}.",
            )
        else:
            seen[normal] = position
        cleaned.append(normal)
    return cleaned


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _scrubber_says(finding: scrubber.Finding) -> str:
    return f"{finding.message} (scrubber: {finding.code})"


def _clean_line(
    number: int,
    line: LineInput,
    *,
    day: date,
    diagnosis_count: int,
    problems: _Problems,
) -> ServiceLine | None:
    where = f"lines.{number}"
    before = len(problems.errors)
    code = str(line.code or "").strip().upper()
    if not _PROCEDURE.match(code):
        problems.add(
            f"{where}.code",
            f"Line {number}: “{code[:10]}” is not a CPT or HCPCS code (five letters or digits, "
            "e.g. 99213).",
        )
    elif not _procedure(code, day):
        problems.add(
            f"{where}.code",
            f"Line {number}: {code} is not a known code active on {us_date(day)} "
            "(the date of service).",
        )
    modifiers = [str(m or "").strip().upper() for m in line.modifiers]
    modifiers = [m for m in modifiers if m]
    if len(modifiers) > MAX_MODIFIERS:
        problems.add(f"{where}.modifiers", f"Line {number}: at most {MAX_MODIFIERS} modifiers.")
    for place, mod in enumerate(modifiers[:MAX_MODIFIERS], start=1):
        key = f"{where}.modifiers.{place}"
        if not _MODIFIER.match(mod):
            problems.add(key, f"Line {number}, modifier {place}: “{mod[:10]}” is not two letters "
                         "or digits (e.g. 25).")  # fmt: skip
        elif mod in modifiers[: place - 1]:
            problems.add(key, f"Line {number}, modifier {place}: {mod} is given twice.")
        elif not _modifier_known(mod):
            problems.add(key, f"Line {number}, modifier {place}: {mod} is not a known modifier.")
    units = _int_or_none(line.units)
    if units is None or not 1 <= units <= MAX_UNITS:
        problems.add(
            f"{where}.units", f"Line {number}: units must be a whole number from 1 to {MAX_UNITS}."
        )
    pointers: list[int] = []
    raw_pointers = [p for p in line.pointers if str(p).strip()]
    if len(raw_pointers) > MAX_POINTERS:
        problems.add(
            f"{where}.pointers", f"Line {number}: at most {MAX_POINTERS} diagnosis pointers."
        )
    for place, raw in enumerate(raw_pointers[:MAX_POINTERS], start=1):
        pointer = _int_or_none(raw)
        key = f"{where}.pointers.{place}"
        if pointer is None or not 1 <= pointer <= diagnosis_count:
            # The scrubber's own rule, caught here as the coder saves.
            for finding in scrubber.pointer_findings(
                number, [pointer if pointer is not None else str(raw)[:4]], diagnosis_count,
                of="the visit",
            ):  # fmt: skip
                problems.add(key, _scrubber_says(finding))
        elif pointer in pointers:
            problems.add(
                key, f"Line {number}, pointer {place}: diagnosis {pointer} is given twice."
            )
        else:
            pointers.append(pointer)
    charge_cents = _charge(number, line, code, modifiers, units, day, problems)
    ndc, quantity, unit = _ndc(number, line, problems)
    if len(problems.errors) != before:
        return None
    return ServiceLine(
        line_number=number,
        code=code,
        modifiers=modifiers,
        units=units or 1,
        charge_cents=charge_cents or 0,
        diagnosis_pointers=pointers,
        ndc=ndc,
        ndc_quantity=quantity,
        ndc_unit=unit,
    )


def _charge(
    number: int,
    line: LineInput,
    code: str,
    modifiers: list[str],
    units: int | None,
    day: date,
    problems: _Problems,
) -> int | None:
    key = f"lines.{number}.charge"
    if line.charge is not None and str(line.charge).strip() != "":
        try:
            amount = parse_money(line.charge, field=key, label=f"Line {number}: the charge",
                                 minimum=ZERO)  # fmt: skip
        except InvalidInput as exc:
            problems.add(key, exc.message)
            return None
        return int(amount * 100)
    if not _PROCEDURE.match(code) or units is None:
        return None  # already named
    charge = scheduled_charge_cents(code, modifiers, units, day)
    if charge is None:
        problems.add(key, f"Line {number}: the practice has no fee for {code} on {us_date(day)}; "
                     "give the charge, or add the code to the fee schedule.")  # fmt: skip
    return charge


def scheduled_charge_cents(
    code: str, modifiers: Sequence[str], units: int, day: date
) -> int | None:
    """What the fee schedule charges for a line: the practice's fee for the code (a modifier's
    own fee first) on the day, times the units; None when no fee is in force."""
    fee = pricing.fee_cents(code, modifiers, day)
    return None if fee is None else fee * units


def charge_check(line: ServiceLine, day: date) -> tuple[int | None, str]:
    """What the fee schedule charges for a saved line (None: no fee in force), and the
    scrubber's warning when the line is charged otherwise, or "" (the coding page shows it,
    where the coder sees it before the claim is built)."""
    fee = pricing.fee_cents(line.code, line.modifiers, day)
    finding = scrubber.charge_finding(
        line.line_number, line.code, line.units, line.charge_cents, fee
    )
    scheduled = None if fee is None else fee * line.units
    return scheduled, "" if finding is None else _scrubber_says(finding)


def _ndc(number: int, line: LineInput, problems: _Problems) -> tuple[str, Decimal | None, str]:
    where = f"lines.{number}"
    ndc = str(line.ndc or "").strip().replace("-", "")
    unit = str(line.ndc_unit or "").strip().upper()
    quantity_text = str(line.ndc_quantity if line.ndc_quantity is not None else "").strip()
    if not ndc:
        if quantity_text or unit:
            problems.add(f"{where}.ndc", f"Line {number}: give the NDC the quantity is for.")
        return "", None, ""
    if not (ndc.isdigit() and len(ndc) == 11):
        problems.add(f"{where}.ndc", f"Line {number}: the NDC must be 11 digits (5-4-2, e.g. "
                     "00002-7510-01), not “{}”.".format(str(line.ndc)[:20]))  # fmt: skip
    quantity: Decimal | None = None
    try:
        quantity = Decimal(quantity_text) if quantity_text else None
    except InvalidOperation:
        quantity = None
    if (
        quantity is None
        or not quantity.is_finite()
        or quantity <= 0
        or quantity.as_tuple().exponent < -3  # type: ignore[operator]
        or quantity >= Decimal("1000000000")
    ):
        problems.add(f"{where}.ndc_quantity", f"Line {number}: give the drug's quantity, more "
                     "than zero, at most three decimals (e.g. 1.5).")  # fmt: skip
        quantity = None
    if unit not in NDC_UNITS:
        words = ", ".join(f"{k} ({v})" for k, v in NDC_UNITS.items())
        problems.add(f"{where}.ndc_unit", f"Line {number}: the NDC unit is one of {words}.")
    return ndc, quantity, unit


# --- Permissions and state ----------------------------------------------------------------------


def _require_may_code(actor: User, encounter: Encounter) -> None:
    require_perm(actor, ClaimsPerm.CODE, ClaimsPerm.CODE_OWN)
    if not may_code(actor, encounter):
        raise NotPermitted(
            "This encounter is another provider's visit: clinicians code their own visits; "
            "a coder finishes the rest."
        )


def _locked(encounter_id: int) -> Encounter:
    encounter = (
        Encounter.objects.select_for_update(of=("self",))
        .select_related("rendering_provider", "patient", "location")
        .filter(pk=encounter_id)
        .first()
    )
    if encounter is None:
        raise NotFound(f"No encounter with id {encounter_id}.")
    return encounter


def _move(encounter: Encounter, to: str) -> None:
    if to not in TRANSITIONS.get(encounter.status, frozenset()):
        raise InvalidTransition(
            f"Encounter {encounter.pk} is {encounter.get_status_display().lower()}; it cannot "
            f"be made {EncounterStatus(to).label.lower()}.",
            field="status",
        )
    encounter.status = to


def _refuse_ready(encounter: Encounter) -> None:
    if encounter.status == EncounterStatus.READY:
        raise InvalidTransition(
            f"Encounter {encounter.pk} is finalized and its charges are posted: reopen it "
            "(saying why) to correct it.",
            field="status",
        )


def _check_visit(
    *, patient: Patient, provider: Provider, location: Location, day: date, problems: _Problems
) -> None:
    _check_day(patient, day, problems)
    if not provider.is_active:
        problems.add("rendering_provider", f"{provider} is no longer an active provider.")
    if not location.is_active:
        problems.add("location", f"{location} is no longer an active location.")
    if patient.merged_into_id is not None:
        problems.add("patient", "This patient record was merged into another: code the visit on "
                     "the record it was merged into.")  # fmt: skip


def _check_day(patient: Patient, day: date, problems: _Problems) -> None:
    if day > practice_today():
        problems.add("date_of_service", f"The date of service {us_date(day)} is in the future.")
    if day < ICD10_CM_START:
        problems.add("date_of_service", f"The date of service {us_date(day)} is before "
                     f"ICD-10-CM began ({us_date(ICD10_CM_START)}): such a visit is not coded "
                     "here.")  # fmt: skip
    born = patient.date_of_birth
    if born is not None and day < born:
        problems.add("date_of_service", f"The date of service {us_date(day)} is before the "
                     f"patient was born ({us_date(born)}).")  # fmt: skip


def encounter_provider(
    value: object, *, field: str, role: str, current_id: int | None = None
) -> Provider | None:
    """The provider an encounter's `role` ("rendering", "supervising") names by id, as a page
    or the API was given it; None when blank. An id that is not a number, names no provider or
    names an inactive one (other than the one the encounter has already, `current_id`) is
    refused naming `field`, before anything is written."""
    from medoffice.core.models import Provider

    text = "" if value is None else str(value).strip()
    if not text:
        return None
    label = f"{role.capitalize()} provider"
    found = (
        Provider.objects.filter(pk=int(text)).first()
        if text.isascii() and text.isdigit() and len(text) < 10
        else None
    )
    if found is None:
        raise InvalidInput(f"{label}: there is no provider with id {text[:20]!r}.", field=field)
    if not found.is_active and found.pk != current_id:
        raise InvalidInput(
            f"{label}: {found} is no longer an active provider; choose an active one.",
            field=field,
        )
    return found


# --- Services ---------------------------------------------------------------------------------


@transaction.atomic
@binds_actor("actor")
def encounter_create(
    *,
    actor: User,
    patient: Patient,
    location: Location,
    rendering_provider: Provider,
    date_of_service: date,
    place_of_service: str = "",
    supervising_provider: Provider | None = None,
    referring_provider_name: str = "",
    referring_provider_npi: str = "",
    prior_authorization: str = "",
    separate_visit: bool = False,
) -> Encounter:
    """A draft encounter for a visit without an appointment (the place of service is the
    location's unless given). Another for the same patient, provider and day is refused unless
    `separate_visit` says the patient was seen again: both would post charges."""
    encounter = Encounter(
        patient=patient,
        location=location,
        rendering_provider=rendering_provider,
        date_of_service=date_of_service,
        place_of_service=(place_of_service or location.place_of_service).strip(),
    )
    require_perm(actor, ClaimsPerm.CODE, ClaimsPerm.CODE_OWN)
    if not may_code(actor, encounter):
        raise NotPermitted("Clinicians open encounters for their own visits only.")
    problems = _Problems()
    _check_visit(patient=patient, provider=rendering_provider, location=location,
                 day=date_of_service, problems=problems)  # fmt: skip
    _details(encounter, problems, supervising_provider=supervising_provider,
             referring_provider_name=referring_provider_name,
             referring_provider_npi=referring_provider_npi,
             prior_authorization=prior_authorization)  # fmt: skip
    problems.raise_any()
    if not separate_visit:
        same = (
            Encounter.objects.filter(
                patient=patient,
                rendering_provider=rendering_provider,
                date_of_service=date_of_service,
            )
            .order_by("pk")
            .first()
        )
        if same is not None:
            raise Conflict(
                f"{patient.full_name} already has encounter {same.pk} with {rendering_provider} "
                f"on {us_date(date_of_service)} ({same.get_status_display().lower()}): code that "
                "one, or say this is a separate visit (the patient was seen again that day).",
                field="separate_visit",
            )
    encounter.save(force_insert=True)
    return encounter


def _details(
    encounter: Encounter,
    problems: _Problems,
    *,
    supervising_provider: Provider | None,
    referring_provider_name: str,
    referring_provider_npi: str,
    prior_authorization: str,
) -> None:
    from medoffice.core.validators import npi_is_valid

    if not re.fullmatch(r"\d{2}", encounter.place_of_service):
        problems.add("place_of_service", "The place of service is a two-digit CMS code (e.g. 11).")
    elif not codes.place_of_service(encounter.place_of_service):
        problems.add("place_of_service",
                     f"{encounter.place_of_service} is not a CMS place of service.")  # fmt: skip
    npi = referring_provider_npi.strip()
    if npi and not (_NPI.match(npi) and npi_is_valid(npi)):
        problems.add("referring_provider_npi", "The referring provider's NPI is 10 digits with a "
                     "valid check digit.")  # fmt: skip
    if npi and not referring_provider_name.strip():
        problems.add("referring_provider_name", "Give the referring provider's name.")
    if supervising_provider is not None and supervising_provider.pk == (
        encounter.rendering_provider_id
    ):
        problems.add("supervising_provider", "The supervising provider is someone other than "
                     "the rendering provider.")  # fmt: skip
    elif (
        supervising_provider is not None
        and not supervising_provider.is_active
        and supervising_provider.pk != encounter.supervising_provider_id  # kept, not chosen
    ):
        problems.add("supervising_provider", f"{supervising_provider} is no longer an active "
                     "provider: choose an active supervising provider.")  # fmt: skip
    authorization = prior_authorization.strip()
    if authorization and not _PRIOR_AUTHORIZATION.fullmatch(authorization):
        problems.add("prior_authorization", "The prior authorization number is 1 to 50 letters, "
                     "digits or dashes (no spaces or other characters).")  # fmt: skip
    encounter.supervising_provider = supervising_provider
    encounter.referring_provider_name = referring_provider_name.strip()[:120]
    encounter.referring_provider_npi = npi[:10]
    encounter.prior_authorization = prior_authorization.strip()[:50]


@transaction.atomic
@binds_actor("actor")
def encounter_from_appointment(*, actor: User, appointment: Appointment) -> Encounter:
    """The encounter of an appointment (made once: asking again returns it): its patient,
    provider, location, day and the location's place of service."""
    from medoffice.scheduling.models import Appointment, AppointmentStatus

    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "provider", "location")
        .get(pk=appointment.pk)
    )
    existing = Encounter.objects.filter(appointment=appointment).first()
    if existing is not None:
        _require_may_code(actor, existing)
        return existing
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise InvalidTransition(
            f"The appointment was {appointment.get_status_display().lower()}: there is no "
            "visit to code.",
            field="appointment",
        )
    from medoffice.scheduling.availability import practice_zone

    encounter = encounter_create(
        actor=actor,
        patient=appointment.patient,
        location=appointment.location,
        rendering_provider=appointment.provider,
        date_of_service=appointment.start.astimezone(practice_zone()).date(),
        separate_visit=True,  # each appointment is a visit of its own
    )
    encounter.appointment = appointment
    encounter.save(update_fields=["appointment"])
    return encounter


@transaction.atomic
@binds_actor("actor")
def encounter_code(
    *,
    actor: User,
    encounter_id: int,
    diagnoses: Sequence[str],
    lines: Sequence[LineInput],
    supervising_provider: Provider | None = None,
    referring_provider_name: str = "",
    referring_provider_npi: str = "",
    prior_authorization: str = "",
) -> Encounter:
    """Set the encounter's diagnoses (in claim order) and service lines, replacing those it had,
    and its referring and supervising providers and prior authorization. A coded encounter
    goes back to draft (to be marked coded again, by whoever checks it)."""
    encounter = _locked(encounter_id)
    _require_may_code(actor, encounter)
    _refuse_ready(encounter)
    problems = _Problems()
    _check_day(encounter.patient, encounter.date_of_service, problems)
    _details(encounter, problems, supervising_provider=supervising_provider,
             referring_provider_name=referring_provider_name,
             referring_provider_npi=referring_provider_npi,
             prior_authorization=prior_authorization)  # fmt: skip
    codes = _clean_diagnoses(diagnoses, encounter.date_of_service, problems)
    if len(lines) > 50:
        problems.add("lines", "At most 50 service lines on one encounter.")
        lines = []
    cleaned = [
        _clean_line(
            line.number or number, line, day=encounter.date_of_service,
            diagnosis_count=len(codes), problems=problems,
        )
        for number, line in enumerate(lines, start=1)
    ]  # fmt: skip
    problems.raise_any()
    encounter.diagnoses.all().delete()
    encounter.lines.all().delete()
    EncounterDiagnosis.objects.bulk_create(
        EncounterDiagnosis(encounter=encounter, rank=rank, code=code)
        for rank, code in enumerate(codes, start=1)
    )
    made = [line for line in cleaned if line is not None]
    for number, line in enumerate(made, start=1):  # numbered 1, 2, ... whatever the page's
        line.encounter = encounter
        line.line_number = number
    ServiceLine.objects.bulk_create(made)
    if encounter.status == EncounterStatus.CODED:
        _move(encounter, EncounterStatus.DRAFT)
        encounter.coded_by = None
        encounter.coded_at = None
    encounter.save()
    return encounter


def _complete_problems(encounter: Encounter) -> _Problems:
    problems = _Problems()
    codes = list(encounter.diagnoses.order_by("rank").values_list("code", flat=True))
    lines = list(encounter.lines.order_by("line_number"))
    if not codes:
        problems.add("diagnoses", "Code at least one diagnosis.")
    for position, code in enumerate(codes, start=1):
        _, problem = diagnosis_problem(code, encounter.date_of_service)
        if problem:
            problems.add(f"diagnoses.{position}", f"Diagnosis {position}: {problem}.")
    if not lines:
        problems.add("lines", "Add at least one service line.")
    for line in lines:
        for finding in scrubber.pointer_findings(
            line.line_number, line.diagnosis_pointers, len(codes), of="the visit"
        ):
            problems.add(f"lines.{line.line_number}.pointers", _scrubber_says(finding))
        if not _procedure(line.code, encounter.date_of_service):
            problems.add(f"lines.{line.line_number}.code",
                         f"Line {line.line_number}: {line.code} is not active on "
                         f"{us_date(encounter.date_of_service)}.")  # fmt: skip
    return problems


@transaction.atomic
@binds_actor("actor")
def encounter_mark_coded(*, actor: User, encounter_id: int) -> Encounter:
    """Draft to coded, recording who coded it and when: it needs a diagnosis, a service line,
    and a pointer on every line."""
    encounter = _locked(encounter_id)
    _require_may_code(actor, encounter)
    _refuse_ready(encounter)
    if encounter.status == EncounterStatus.CODED:
        raise InvalidTransition(f"Encounter {encounter.pk} is already coded.", field="status")
    _complete_problems(encounter).raise_any()
    _move(encounter, EncounterStatus.CODED)
    encounter.coded_by = actor
    encounter.coded_at = timezone.now()
    encounter.save()
    return encounter


@transaction.atomic
@binds_actor("actor")
def encounter_finalize(*, actor: User, encounter_id: int) -> Encounter:
    """Coded to ready: the charges post to the books in the same transaction (insurance A/R of
    the responsible coverage, or the patient's account for self-pay). The coder's step."""
    require_perm(actor, ClaimsPerm.CODE)
    encounter = _locked(encounter_id)
    if encounter.status != EncounterStatus.CODED:
        words = "already finalized" if encounter.status == EncounterStatus.READY else "a draft"
        raise InvalidTransition(
            f"Encounter {encounter.pk} is {words}: only a coded encounter is finalized.",
            field="status",
        )
    _complete_problems(encounter).raise_any()
    entry = charges.post_charges(encounter, actor=actor)
    _move(encounter, EncounterStatus.READY)
    encounter.finalized_by = actor
    encounter.finalized_at = timezone.now()
    encounter.charge_entry = entry
    encounter.save()
    return encounter


@transaction.atomic
@binds_actor("actor")
def encounter_reopen(*, actor: User, encounter_id: int, reason: str) -> Encounter:
    """Ready back to draft for a correction: its charges' entry is reversed (finalizing again
    posts a new one). A claim not yet sent is dropped, to be built again from the corrected
    visit; one in a batch not yet sent refuses the reopening; one the payer has is corrected
    afterwards by a replacement or a void (it keeps the lines it billed)."""
    require_perm(actor, ClaimsPerm.CODE)
    why = (reason or "").strip()
    if not why:
        raise InvalidInput("Say why the encounter is reopened.", field="reason")
    encounter = _locked(encounter_id)
    if encounter.status != EncounterStatus.READY:
        raise InvalidTransition(
            f"Encounter {encounter.pk} is not finalized; edit it as it is.", field="status"
        )
    _drop_unsent_claims(encounter)
    reversal = charges.reverse_charges(encounter, actor=actor, reason=why[:150])
    _move(encounter, EncounterStatus.DRAFT)
    encounter.charge_entry = None
    encounter.finalized_by = None
    encounter.finalized_at = None
    encounter.coded_by = None
    encounter.coded_at = None
    encounter.save()
    audit.record(
        AuditAction.UPDATE,
        obj=encounter,
        changes={"status": [EncounterStatus.READY, EncounterStatus.DRAFT],
                 "reversal_entry": [None, reversal.pk if reversal else None]},
        reason=why[:300],
    )  # fmt: skip
    return encounter


UNSENT = (ClaimStatus.DRAFT, ClaimStatus.SCRUB_ERRORS, ClaimStatus.READY)


def _drop_unsent_claims(encounter: Encounter) -> None:
    claims = Claim.objects.select_for_update().filter(encounter=encounter)
    batched = claims.filter(status=ClaimStatus.BATCHED).first()
    if batched is not None:
        raise InvalidTransition(
            f"Claim {batched.control_number} of this visit is in a batch waiting to be sent: "
            "send the batch (and then replace the claim) before recoding the visit.",
            field="status",
        )
    claims.filter(status__in=UNSENT, batch__isnull=True).delete()


def charge_preview_cents(encounter: Encounter) -> int:
    return sum(line.charge_cents for line in encounter.lines.all())


def may_finalize(user: Any) -> bool:
    return has_perm(user, ClaimsPerm.CODE)


def total_words(encounter: Encounter) -> str:
    return money_words(Decimal(charge_preview_cents(encounter)) / 100)
