"""The claim scrubber: every problem a payer would reject a claim for, found before it is sent.

`scrub(claim, today, reference)` is pure over preloaded facts (`ClaimFacts`) and reference
rows (`Reference`); `load(claim_ids)` reads both for many claims at once, one query per table,
and `scrub_claims(claims, actor=...)` runs it over any number of claims in batches, replaces
their findings and moves each to "scrubber errors" or "ready". Each finding has a code, a
severity (errors block batching; warnings hold the claim until someone with
claims.override_warnings sends it on with a reason), a message a biller understands and the
claim line it is about.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from medoffice.claims.claims_services import (
    PAYER_NUMBER_WORDS,
    SCRUBBABLE,
    insert_rows,
    move_rows,
    payer_number_fits,
)
from medoffice.claims.models import (
    MAX_MODIFIERS,
    MAX_POINTERS,
    Claim,
    ClaimDiagnosis,
    ClaimLine,
    ClaimStatus,
    FrequencyCode,
    ScrubFinding,
    Severity,
)
from medoffice.coding.models import PriorAuthRule
from medoffice.coding.pricing import FeeBook, fee_book
from medoffice.coding.selectors import (
    ICD10_RELEASE_SINCE,
    EditTables,
    Icd10Change,
    edit_tables,
    icd10_change,
    icd10_on,
    icd10_search,
    in_force,
)
from medoffice.core import audit
from medoffice.core.context import actor_for_service
from medoffice.core.exceptions import InvalidTransition
from medoffice.core.formats import money, us_date
from medoffice.core.models import AuditAction, Practice, User
from medoffice.core.validators import npi_is_valid as _npi_is_valid
from medoffice.patients.models import SubscriberRelationship
from medoffice.x12 import Delimiters

ERROR = Severity.ERROR
WARNING = Severity.WARNING
BATCH = 2000  # claims per round of queries (keeps every IN list well under SQLite's limit)
TIMELY_FILING_WARN_DAYS = 30
X12_DELIMITERS = "".join(Delimiters().all())  # those the files we write declare


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    message: str
    line_number: int | None = None


def pointer_findings(
    line_number: int, pointers: Sequence[object], diagnosis_count: int, *, of: str = "the claim"
) -> list[Finding]:
    """The scrubber's pointer rules for one line: pointers are given, each names one of the
    diagnoses, at most four. The coding page runs them too as the coder saves (`of` names
    the visit there), so a pointer error is caught where it is made."""
    if not pointers:
        return [Finding("pointer_missing", ERROR,
                        f"Line {line_number}: point it at the diagnosis it treats.", line_number)]  # fmt: skip
    bad = [p for p in pointers if not (isinstance(p, int) and 1 <= p <= diagnosis_count)]
    if not bad and len(pointers) <= MAX_POINTERS:
        return []
    which = ", ".join(map(str, bad)) or "list"
    verb = "is" if len(bad) == 1 else "are"
    count = f"{diagnosis_count} diagnos{'is' if diagnosis_count == 1 else 'es'}"
    limit = "" if len(pointers) <= MAX_POINTERS else f" and a line takes at most {MAX_POINTERS}"
    return [Finding("pointer_out_of_range", ERROR,
                    f"Line {line_number}: diagnosis pointer {which} {verb} out of range: {of} "
                    f"has {count}{limit}.", line_number)]  # fmt: skip


def charge_finding(
    line_number: int, code: str, units: int, charge_cents: int, fee_cents: int | None
) -> Finding | None:
    """The scrubber's fee rule for one line: a charge other than the fee schedule's (the
    practice's fee for the code on the date of service, times the units) is a warning the
    coder confirms or corrects. The coding page shows it on the line too. No fee: no rule."""
    if fee_cents is None or units < 1 or charge_cents == fee_cents * units:
        return None
    each = f" ({units} units at {money(Decimal(fee_cents) / 100)})" if units != 1 else ""
    return Finding("charge_not_scheduled", WARNING,
                   f"Line {line_number}: charge differs from the fee schedule: "
                   f"{money(Decimal(charge_cents) / 100)} typed, schedule "
                   f"{money(Decimal(fee_cents * units) / 100)} for {code}{each}. Correct the "
                   "charge, or send it on with the reason it differs.", line_number)  # fmt: skip


@dataclass(slots=True)
class LineFacts:
    line_number: int
    code: str
    modifiers: list[str]
    units: int
    charge_cents: int
    pointers: list[int]


@dataclass(slots=True)
class ClaimFacts:
    """What the scrubber reads of one claim (its encounter, people, coverage, and the
    diagnoses and lines the claim itself holds)."""

    claim_id: int
    control_number: str
    status: str
    frequency_code: str
    replaces_id: int | None
    overridden: bool
    patient_id: int
    payer_id: int
    payer_name: str
    timely_filing_days: int
    date_of_service: date
    prior_authorization: str
    payer_claim_number: str  # a replacement's or void's: the claim it corrects (REF*F8)
    patient: dict[str, Any]
    coverage: dict[str, Any]
    rendering: dict[str, Any]
    supervising_npi: str | None
    referring_name: str
    referring_npi: str
    billing_npi: str
    billing_zip: str = ""
    coverage_payer: tuple[int, str] = (0, "")  # the coverage's payer now (id, name)
    diagnoses: list[str] = field(default_factory=list)
    lines: list[LineFacts] = field(default_factory=list)


@dataclass(slots=True)
class Reference:
    """The code-set rows and earlier claims the claims of one batch are checked against: the
    codes and NCCI edits as coding reads them for many days (`coding.selectors.edit_tables`,
    which owns the rules of which release and which rows are in force on a day)."""

    tables: EditTables = field(default_factory=EditTables)
    prior_auth: set[tuple[int, str]] = field(default_factory=set)
    fees: FeeBook = field(default_factory=FeeBook)  # the practice's fee schedule
    duplicates: dict[int, str] = field(default_factory=dict)  # claim -> earlier control number


# --- Diagnoses (ICD-10-CM, coding.selectors) -------------------------------------------------

EXTERNAL_CAUSE = frozenset("VWXY")  # chapter 20: secondary codes only (guideline I.C.20)


@lru_cache(maxsize=20_000)
def diagnosis_problem(code: str, day: date) -> tuple[str, str] | None:
    """(finding code, message) when an ICD-10-CM code cannot go on a claim for a visit on
    `day` (the code set in force that day: `coding.selectors.icd10_on`), else None."""
    found = icd10_on(code, day) if code else None
    if found is None:
        change = icd10_change(code) if code else None
        if change is not None:
            return "diagnosis_not_valid_on_date", f"Diagnosis {code} {change_words(change, day)}"
        return "diagnosis_invalid", f"Diagnosis {code or '(blank)'} is not an ICD-10-CM code."
    if not found.billable:
        children = [c.code for c in icd10_search(found.code, limit=4) if c.billable][:3]
        hint = f", such as {', '.join(children)}" if children else ""
        return (
            "diagnosis_not_billable",
            f"Diagnosis {code} is a category, not a billable code: pick a more specific code{hint}.",
        )
    return None


def change_words(change: Icd10Change, day: date) -> str:
    """Why a code the code set changed is not one on `day`, for a biller."""
    since = us_date(ICD10_RELEASE_SINCE)
    if change.kind == "added":
        return (
            f"was not an ICD-10-CM code on the date of service {us_date(day)}: it came into the "
            f"code set on {since}. Use the code in force on the date of service."
        )
    return (
        f"({change.code.description}) was deleted from ICD-10-CM on {since}, before the date "
        f"of service {us_date(day)}: use the code that replaced it."
    )


@lru_cache(maxsize=10_000)
def npi_is_valid(npi: str) -> bool:
    return _npi_is_valid(npi)


# --- The edits -------------------------------------------------------------------------------


def _missing(values: dict[str, Any], labels: dict[str, str]) -> list[str]:
    return [label for name, label in labels.items() if not str(values.get(name) or "").strip()]


PATIENT_FIELDS = {
    "first_name": "first name", "last_name": "last name", "date_of_birth": "date of birth",
    "sex": "sex", "address_line1": "address", "city": "city", "state": "state",
    "zip_code": "ZIP code",
}  # fmt: skip
SUBSCRIBER_FIELDS = {
    "subscriber_first_name": "first name", "subscriber_last_name": "last name",
    "subscriber_date_of_birth": "date of birth", "subscriber_sex": "sex",
}  # fmt: skip


def scrub(
    claim: ClaimFacts | Claim, today: date, reference: Reference | None = None
) -> list[Finding]:
    """Every problem of one claim. Given a Claim (not its facts) it loads what it needs first."""
    if isinstance(claim, Claim):
        facts, reference = load([claim.pk])
        claim = facts[0]
    assert reference is not None, "scrub(ClaimFacts, ...) needs the batch's Reference"
    found: list[Finding] = []
    add = found.append
    day = claim.date_of_service

    # Patient, subscriber and coverage.
    gaps = _missing(claim.patient, PATIENT_FIELDS)
    if gaps:
        add(Finding("patient_data_missing", ERROR,
                    f"The patient's {', '.join(gaps)} {'is' if len(gaps) == 1 else 'are'} "
                    "missing: complete the registration."))  # fmt: skip
    coverage = claim.coverage
    if not str(coverage.get("member_id") or "").strip():
        add(Finding("member_id_missing", ERROR,
                    f"The {claim.payer_name} coverage has no member id: copy it from the card."))  # fmt: skip
    for label, value in (("member id", coverage.get("member_id")),
                         ("group number", coverage.get("group_number")),
                         ("prior authorization", claim.prior_authorization)):  # fmt: skip
        # An identifier cannot be cleaned as a name is: a changed character changes it.
        if any(ch in X12_DELIMITERS for ch in str(value or "")):
            add(Finding("identifier_invalid", ERROR,
                        f"The {label} “{value}” holds a character an 837P cannot carry "
                        f"({' '.join(X12_DELIMITERS)}): correct it as the card or the payer "
                        "gives it."))  # fmt: skip
    if claim.coverage_payer[0] and claim.coverage_payer[0] != claim.payer_id:
        add(Finding("payer_not_the_coverages", ERROR,
                    f"The claim is for {claim.payer_name}, but its coverage is now with "
                    f"{claim.coverage_payer[1]}: the 837P would send this member id to the wrong "
                    "payer. Reopen and finalize the visit, then build its claim for the payer "
                    "responsible."))  # fmt: skip
    if claim.frequency_code != "1" and not payer_number_fits(claim.payer_claim_number):
        add(Finding("payer_claim_number_invalid", ERROR,
                    f"The payer's claim number “{claim.payer_claim_number[:60]}” of the claim this "
                    f"one corrects is not {PAYER_NUMBER_WORDS}: the 837P cannot send it back. "
                    "Record the payer's number as the payer gives it on the original claim's "
                    "page."))  # fmt: skip
    if coverage.get("subscriber_relationship") != SubscriberRelationship.SELF:
        gaps = _missing(coverage, SUBSCRIBER_FIELDS)
        if gaps:
            add(Finding("subscriber_data_missing", ERROR,
                        f"The subscriber is not the patient, and the subscriber's "
                        f"{', '.join(gaps)} {'is' if len(gaps) == 1 else 'are'} missing on the "
                        "coverage."))  # fmt: skip
    # A void takes back a claim the payer has: that the coverage has since ended (the usual
    # reason to void), the filing limit, a prior authorization or a look-alike do not hold it.
    void = claim.frequency_code == FrequencyCode.VOID
    if not void and not (
        coverage.get("is_active")
        and in_force(day, coverage.get("effective_date"), coverage.get("end_date"))
    ):
        add(Finding("coverage_not_active", ERROR,
                    f"The {claim.payer_name} coverage is not in force on the date of service "
                    f"{day:%m/%d/%Y}: check eligibility or bill the coverage that was."))  # fmt: skip

    # Providers.
    if not npi_is_valid(claim.billing_npi or ""):
        add(Finding("billing_npi_invalid", ERROR,
                    f"The practice's group NPI {claim.billing_npi or '(blank)'} is not a valid "
                    "NPI (10 digits passing the check digit)."))  # fmt: skip
    if len("".join(ch for ch in claim.billing_zip if ch.isdigit())) != 9:
        add(Finding("billing_zip_incomplete", ERROR,
                    f"The practice's ZIP code {claim.billing_zip or '(blank)'} needs all 9 digits "
                    "(ZIP+4): an 837P's billing provider address must have them. Complete it in "
                    "the practice setup."))  # fmt: skip
    rendering = claim.rendering
    if not npi_is_valid(rendering.get("npi") or ""):
        add(Finding("rendering_npi_invalid", ERROR,
                    f"Rendering provider {rendering.get('name')}'s NPI "
                    f"{rendering.get('npi') or '(blank)'} is not a valid NPI."))  # fmt: skip
    if not str(rendering.get("taxonomy") or "").strip():
        add(Finding("taxonomy_missing", ERROR,
                    f"Rendering provider {rendering.get('name')} has no taxonomy code: add it "
                    "in the practice setup."))  # fmt: skip
    if claim.supervising_npi is not None and not npi_is_valid(claim.supervising_npi):
        add(Finding("supervising_npi_invalid", ERROR,
                    f"The supervising provider's NPI {claim.supervising_npi or '(blank)'} is not "
                    "a valid NPI."))  # fmt: skip
    if claim.referring_npi and not npi_is_valid(claim.referring_npi):
        add(Finding("referring_npi_invalid", ERROR,
                    f"The referring provider's NPI {claim.referring_npi} is not a valid NPI."))  # fmt: skip
    elif claim.referring_name.strip() and not claim.referring_npi:
        add(Finding("referring_npi_invalid", ERROR,
                    f"The referring provider {claim.referring_name} has no NPI."))  # fmt: skip

    # Diagnoses.
    if not claim.diagnoses:
        add(Finding("diagnosis_missing", ERROR, "The claim has no diagnosis: code the visit."))
    for code in claim.diagnoses:
        problem = diagnosis_problem(code, day)
        if problem is not None:
            add(Finding(problem[0], ERROR, problem[1]))
    for line in claim.lines:
        pointed = [claim.diagnoses[p - 1] for p in line.pointers if 0 < p <= len(claim.diagnoses)]
        if pointed and all(code[:1].upper() in EXTERNAL_CAUSE for code in pointed):
            add(Finding("pointer_external_cause_only", ERROR,
                        f"Line {line.line_number} points only to external cause codes "
                        f"({', '.join(pointed)}): point it to the injury or condition it "
                        "treats.", line.line_number))  # fmt: skip
    if claim.diagnoses and claim.diagnoses[0][:1].upper() in EXTERNAL_CAUSE:
        add(Finding("diagnosis_external_cause_first", ERROR,
                    f"Diagnosis 1 {claim.diagnoses[0]} is an external cause code (V00 to Y99), "
                    "which says how an injury happened and is never listed first: put the "
                    "injury or condition first and the external cause after it."))  # fmt: skip

    # Lines.
    tables = reference.tables
    codes = {line.code for line in claim.lines}
    add_on_codes = {line.code for line in claim.lines if tables.is_add_on(line.code)}
    units_by_code: dict[str, int] = defaultdict(int)
    for line in claim.lines:
        units_by_code[line.code] += line.units
    if not claim.lines:
        add(Finding("lines_missing", ERROR, "The claim has no service lines."))
    for line in claim.lines:
        n = line.line_number
        dates = tables.procedure_dates(line.code)
        if dates is None:
            add(Finding("code_unknown", ERROR,
                        f"Line {n}: {line.code} is not a CPT or HCPCS code in the loaded code "
                        "sets.", n))  # fmt: skip
        elif not tables.procedure_active(line.code, day):
            add(Finding("code_inactive", ERROR,
                        f"Line {n}: {line.code} is not billable on {day:%m/%d/%Y} "
                        f"({_span(dates)}).", n))  # fmt: skip
        if len(line.modifiers) > MAX_MODIFIERS or len(set(line.modifiers)) != len(line.modifiers):
            add(Finding("modifier_invalid", ERROR,
                        f"Line {n}: at most {MAX_MODIFIERS} modifiers, each once.", n))  # fmt: skip
        for mod in line.modifiers:
            known = tables.modifier(mod)
            if known is None:
                add(Finding("modifier_invalid", ERROR,
                            f"Line {n}: {mod} is not a known modifier.", n))  # fmt: skip
            elif not known[0]:
                add(Finding("modifier_invalid", ERROR,
                            f"Line {n}: modifier {mod} is retired.", n))  # fmt: skip
            else:
                misfit = modifier_misfit(mod, line.code, tables.pctc_indicator(line.code))
                if misfit:
                    add(Finding("modifier_invalid", ERROR, f"Line {n}: {misfit}", n))
        if line.units < 1:
            add(Finding("units_not_positive", ERROR,
                        f"Line {n}: units must be at least 1 (it has {line.units}).", n))  # fmt: skip
        for finding in pointer_findings(n, line.pointers, len(claim.diagnoses)):
            add(finding)
        differs = None if void else charge_finding(
            n, line.code, line.units, line.charge_cents,
            reference.fees.fee_cents(line.code, line.modifiers, day),
        )  # fmt: skip
        if differs is not None:
            add(differs)
        if (
            not void
            and (claim.payer_id, line.code) in reference.prior_auth
            and not claim.prior_authorization.strip()
        ):
            add(Finding("prior_auth_missing", ERROR,
                        f"Line {n}: {claim.payer_name} pays {line.code} only with a prior "
                        "authorization: enter its number on the encounter.", n))  # fmt: skip
        mue = tables.mue(line.code, day)
        if mue is not None:
            per_line = mue[1] == "1"
            units = line.units if per_line else units_by_code[line.code]
            first = next(x.line_number for x in claim.lines if x.code == line.code)
            if mue[0] == 0 and first == n:
                # Zero is CMS's "not payable by Medicare policy", not a units limit.
                add(Finding("mue_not_payable", WARNING,
                            f"Line {n}: Medicare's medically unlikely edit for {line.code} is 0 "
                            "(not payable under Medicare policy, e.g. a preventive visit): "
                            f"send it only if {claim.payer_name} covers it.", n))  # fmt: skip
            elif mue[0] > 0 and units > mue[0] and (per_line or first == n):
                add(Finding("units_over_mue", ERROR,
                            f"Line {n}: {units} units of {line.code} "
                            f"{'on one line' if per_line else 'on one day'} is over the medically "
                            f"unlikely edit of {mue[0]}.", n))  # fmt: skip
        rule = tables.add_on(line.code, day) if line.code in add_on_codes else None
        if rule is not None:
            listed = rule.required
            others = codes - add_on_codes
            fine = bool(others & listed) if listed else bool(others)
            if not fine:
                wanted = f" (one of {', '.join(sorted(listed)[:5])})" if listed else ""
                add(Finding("add_on_without_primary", ERROR,
                            f"Line {n}: {line.code} is an add-on code, billed without its "
                            f"primary procedure{wanted}.", n))  # fmt: skip

    # NCCI procedure-to-procedure pairs.
    lines_of: dict[str, list[LineFacts]] = defaultdict(list)
    for line in claim.lines:
        lines_of[line.code].append(line)
    for column1 in sorted(codes):
        for column2 in sorted(codes):
            if column1 == column2:
                continue
            indicator = tables.ptp(column1, column2, day)
            if indicator is not None and indicator != "9":
                line2 = lines_of[column2][0].line_number
                if indicator == "0":
                    add(Finding("ncci_pair", ERROR,
                                f"Line {line2}: NCCI does not pay {column2} with {column1} on "
                                "the same day, with or without a modifier.", line2))  # fmt: skip
                elif not _bypassed(lines_of[column1], lines_of[column2], tables):
                    add(Finding("ncci_pair", ERROR, f"Line {line2}: "
                                + _bundled_words(column1, column2, lines_of), line2))  # fmt: skip

    # Filing limits and duplicates.
    if void:
        return found
    deadline = day + timedelta(days=claim.timely_filing_days)
    if today > deadline:
        add(Finding("timely_filing_passed", ERROR,
                    f"{claim.payer_name} takes claims up to {claim.timely_filing_days} days "
                    f"after the date of service: the limit passed on {deadline:%m/%d/%Y}."))  # fmt: skip
    elif today > deadline - timedelta(days=TIMELY_FILING_WARN_DAYS):
        add(Finding("timely_filing_near", WARNING,
                    f"{claim.payer_name}'s filing limit is {deadline:%m/%d/%Y}, "
                    f"{(deadline - today).days} day(s) from now: send it soon."))  # fmt: skip
    earlier = reference.duplicates.get(claim.claim_id)
    if earlier is not None:
        add(Finding("duplicate_suspected", WARNING,
                    f"Claim {earlier} already bills the same codes for this patient on "
                    f"{day:%m/%d/%Y}: send this one only if it is a separate service."))  # fmt: skip
    return found


def _span(dates: tuple[date | None, date | None]) -> str:
    start, end = dates
    if start and end:
        return f"billable {start:%m/%d/%Y} to {end:%m/%d/%Y}"
    if start:
        return f"billable from {start:%m/%d/%Y}"
    return f"ended {end:%m/%d/%Y}" if end else "no dates"


E_M = range(99202, 99500)
DISTINCT = frozenset({"59", "XE", "XP", "XS", "XU"})
E_M_BYPASS = frozenset({"25", "57", "24"})
# Anatomic modifiers: a side (LT, RT, 50 bilateral), an eyelid, a finger, a toe, a coronary
# artery. They place a procedure on the body; a visit is not done on a side or a digit.
ANATOMIC = frozenset({
    "LT", "RT", "50", "E1", "E2", "E3", "E4", "FA", *(f"F{n}" for n in range(1, 10)),
    "TA", *(f"T{n}" for n in range(1, 10)), "LC", "LD", "LM", "RC", "RI",
})  # fmt: skip


def is_e_m(code: str) -> bool:
    """An evaluation and management visit code (CPT 99202-99499)."""
    return code.isdigit() and int(code) in E_M


def modifier_misfit(modifier: str, code: str, pctc: str | None) -> str:
    """Why a known modifier does not belong on this code, or "" (it may). 25 marks a
    separate E/M visit; 26 and TC split a service with professional and technical parts
    (the MPFS PC/TC indicator, when the code is in the MPFS); an anatomic modifier (a side, a
    digit, an eyelid, a coronary artery) places a procedure, never an E/M visit."""
    if modifier == "25" and not is_e_m(code):
        return f"modifier 25 is for an evaluation and management visit; {code} is not one."
    if modifier in DISTINCT and is_e_m(code):
        return (f"modifier {modifier} does not go on an E/M visit ({code}): use 25 for a "
                "separate visit on the day of a procedure.")  # fmt: skip
    if modifier in ANATOMIC and is_e_m(code):
        return (f"modifier {modifier} names a side or a part of the body, which fits a "
                f"procedure, not an E/M visit ({code}): take it off the visit's line (the "
                "procedure's line carries it).")  # fmt: skip
    split = {"26": ("1", "6"), "TC": ("1",)}.get(modifier)
    if split is not None and pctc is not None and pctc not in split:
        return (f"modifier {modifier} needs a code with professional and technical parts; "
                f"{code} has none (MPFS PC/TC indicator {pctc}).")  # fmt: skip
    return ""


def _bypassed(column1: list[LineFacts], column2: list[LineFacts], tables: EditTables) -> bool:
    """Whether an NCCI-associated modifier lets the pair be paid. A pair with an E/M visit is
    paid only for a separate visit: 25 (or 57, decision for surgery; 24, unrelated visit in a
    postoperative period) on the E/M line. Two procedures: 59, the X modifiers or another
    NCCI-associated modifier (anatomic, 91...) on either line."""
    lines = (*column2, *column1)
    if any(is_e_m(line.code) for line in lines):
        return any(
            is_e_m(line.code) and mod in E_M_BYPASS for line in lines for mod in line.modifiers
        )
    return any(
        (tables.modifier(mod) or (False, False))[1] and mod not in E_M_BYPASS
        for line in lines
        for mod in line.modifiers
    )


def _bundled_words(column1: str, column2: str, lines_of: dict[str, list[LineFacts]]) -> str:
    if is_e_m(column1) or is_e_m(column2):
        visit = column1 if is_e_m(column1) else column2
        return (f"NCCI bundles {column2} into {column1}: a significant, separately identifiable "
                f"visit takes modifier 25 on the E/M line ({visit}).")  # fmt: skip
    return (f"NCCI bundles {column2} into {column1}: bill it only for a distinct service, with "
            f"a modifier such as 59 or XU on the {column2} line.")  # fmt: skip


# --- Loading many claims at once -------------------------------------------------------------

CLAIM_COLUMNS = (
    "pk", "control_number", "status", "frequency_code", "replaces_id",
    "warnings_overridden_by_id", "payer_id", "payer__name", "payer__timely_filing_days",
    "encounter_id", "encounter__patient_id", "encounter__date_of_service",
    "encounter__prior_authorization", "encounter__referring_provider_name",
    "encounter__referring_provider_npi", "encounter__supervising_provider_id",
    "encounter__supervising_provider__npi",
    "encounter__rendering_provider__npi", "encounter__rendering_provider__taxonomy",
    "encounter__rendering_provider__first_name", "encounter__rendering_provider__last_name",
    "encounter__patient__first_name", "encounter__patient__last_name",
    "encounter__patient__date_of_birth", "encounter__patient__sex",
    "encounter__patient__address_line1", "encounter__patient__city",
    "encounter__patient__state", "encounter__patient__zip_code",
    "coverage__member_id", "coverage__subscriber_relationship",
    "coverage__subscriber_first_name", "coverage__subscriber_last_name",
    "coverage__subscriber_date_of_birth", "coverage__subscriber_sex",
    "coverage__effective_date", "coverage__end_date", "coverage__is_active",
    "coverage__group_number", "payer_claim_number", "replaces__payer_claim_number",
    "coverage__payer_id", "coverage__payer__name",
)  # fmt: skip


def _fetch(queryset: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of `queryset.values_list(*columns)` as the database driver gives them: the
    values are converted here, by cached parsers, not one converter call per value."""
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@lru_cache(maxsize=50_000)
def _parse_day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _day(value: Any) -> date | None:
    """A date as SQLite (text) or PostgreSQL (a date) returns it."""
    if value is None or isinstance(value, date):
        return value
    return _parse_day(value)


@lru_cache(maxsize=10_000)
def _parse_list(text: str) -> tuple[Any, ...]:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else (value,)


def _json_list(value: Any) -> list[Any]:
    """A JSON list column (modifiers, pointers) as SQLite (text) or PostgreSQL returns it."""
    if value is None:
        return []
    if isinstance(value, str):
        return list(_parse_list(value))
    return list(value) if isinstance(value, list) else [value]


def load(claim_ids: Sequence[int]) -> tuple[list[ClaimFacts], Reference]:
    """The facts of these claims and the reference rows they need: a fixed number of queries."""
    billing_npi, billing_zip = Practice.objects.order_by("pk").values_list(
        "group_npi", "zip_code"
    ).first() or ("", "")
    facts: list[ClaimFacts] = []
    # The id list is prepared once and reused as a subquery by the other reads.
    chosen = Claim.objects.filter(pk__in=list(claim_ids))
    for row in _fetch(chosen.order_by("pk"), CLAIM_COLUMNS):
        (pk, control, status, frequency, replaces, overridden_by, payer_id, payer_name,
         filing_days, _encounter_id, patient_id, dos, prior_auth, ref_name, ref_npi,
         supervising_id, supervising_npi, r_npi, r_taxonomy, r_first, r_last, p_first, p_last,
         p_dob, p_sex, p_addr, p_city, p_state, p_zip, member_id, relationship, s_first,
         s_last, s_dob, s_sex, c_start, c_end, c_active, group_number, payer_number,
         original_number, coverage_payer_id, coverage_payer_name) = row  # fmt: skip
        made = ClaimFacts(
            claim_id=pk, control_number=control, status=status, frequency_code=frequency,
            replaces_id=replaces, overridden=overridden_by is not None, patient_id=patient_id,
            payer_id=payer_id, payer_name=payer_name, timely_filing_days=filing_days,
            date_of_service=cast(date, _day(dos)), prior_authorization=prior_auth or "",
            payer_claim_number=original_number or payer_number or "",
            coverage_payer=(coverage_payer_id, coverage_payer_name or ""),
            patient={"first_name": p_first, "last_name": p_last, "date_of_birth": _day(p_dob),
                     "sex": p_sex, "address_line1": p_addr, "city": p_city, "state": p_state,
                     "zip_code": p_zip},
            coverage={"member_id": member_id, "group_number": group_number or "",
                      "subscriber_relationship": relationship,
                      "subscriber_first_name": s_first, "subscriber_last_name": s_last,
                      "subscriber_date_of_birth": _day(s_dob), "subscriber_sex": s_sex,
                      "effective_date": _day(c_start), "end_date": _day(c_end),
                      "is_active": bool(c_active)},
            rendering={"npi": r_npi, "taxonomy": r_taxonomy, "name": f"{r_first} {r_last}"},
            supervising_npi=(supervising_npi or "") if supervising_id is not None else None,
            referring_name=ref_name or "", referring_npi=ref_npi or "", billing_npi=billing_npi,
            billing_zip=billing_zip or "",
        )  # fmt: skip
        facts.append(made)
    by_claim = {f.claim_id: f for f in facts}
    # The claim's own diagnoses (as billed), never the encounter's current coding.
    diagnoses = ClaimDiagnosis.objects.filter(claim_id__in=chosen.values("pk"))
    for claim_id, code in _fetch(diagnoses.order_by("claim_id", "rank"), ("claim_id", "code")):
        by_claim[claim_id].diagnoses.append(code)
    lines = ClaimLine.objects.filter(claim_id__in=chosen.values("pk")).order_by(
        "claim_id", "line_number"
    )
    columns = ("claim_id", "line_number", "code", "modifiers", "units", "charge_cents",
               "diagnosis_pointers")  # fmt: skip
    for claim_id, number, code, modifiers, units, charge, pointers in _fetch(lines, columns):
        by_claim[claim_id].lines.append(
            LineFacts(number, code, _json_list(modifiers), units, charge, _json_list(pointers))
        )
    return facts, _reference(facts, chosen)


def _reference(facts: list[ClaimFacts], chosen: Any) -> Reference:
    codes = sorted({line.code for f in facts for line in f.lines})
    modifiers = sorted({mod for f in facts for line in f.lines for mod in line.modifiers})
    ref = Reference()
    if not facts:
        return ref
    ref.tables = edit_tables(codes, {f.date_of_service for f in facts}, modifier_codes=modifiers)
    payers = sorted({f.payer_id for f in facts})
    ref.prior_auth = set(
        PriorAuthRule.objects.filter(payer_id__in=payers, code__in=codes).values_list(
            "payer_id", "code"
        )
    )
    ref.duplicates = _duplicates(facts, chosen)
    ref.fees = fee_book(codes, {f.date_of_service for f in facts})
    return ref


def _duplicates(facts: list[ClaimFacts], chosen: Any) -> dict[int, str]:
    """Each claim's earlier live claim for the same patient, day and codes (not one in its own
    chain of replacements and voids, nor one voided or replaced since)."""
    found_rows = _fetch(
        Claim.objects.filter(
            encounter__patient_id__in=chosen.values("encounter__patient_id"),
            encounter__date_of_service__in=chosen.values("encounter__date_of_service"),
        ),
        ("pk", "encounter__patient_id", "encounter__date_of_service", "frequency_code",
         "replaces_id", "status", "control_number"),
    )  # fmt: skip
    others = [(pk, patient, _day(dos), *rest) for pk, patient, dos, *rest in found_rows]
    wanted = {(f.patient_id, f.date_of_service) for f in facts}
    others = [row for row in others if (row[1], row[2]) in wanted]
    parent = {row[0]: row[4] for row in others}
    superseded = {row[4] for row in others if row[4] is not None}

    def root(pk: int) -> int:
        seen = 0
        while parent.get(pk) is not None and seen < 50:
            pk = parent[pk]
            seen += 1
        return pk

    void, voided = str(FrequencyCode.VOID), str(ClaimStatus.VOID)
    voided_roots = {root(row[0]) for row in others if row[3] == void}
    loaded = {f.claim_id: f for f in facts}
    need_codes = [row[0] for row in others if row[0] not in loaded]
    code_sets: dict[int, set[str]] = {
        pk: {line.code for line in f.lines} for pk, f in loaded.items()
    }
    for start in range(0, len(need_codes), BATCH):
        for claim_id, code in ClaimLine.objects.filter(
            claim_id__in=need_codes[start : start + BATCH]
        ).values_list("claim_id", "code"):
            code_sets.setdefault(claim_id, set()).add(code)
    candidates: dict[tuple[int, date, frozenset[str]], list[tuple[int, int, str]]] = defaultdict(
        list
    )
    for pk, patient_id, dos, frequency, _replaces, status, control in others:
        if status == voided or frequency == void or pk in superseded:
            continue
        chain = root(pk)
        if chain in voided_roots:
            continue
        key = (patient_id, dos, frozenset(code_sets.get(pk, ())))
        candidates[key].append((pk, chain, control))
    found: dict[int, str] = {}
    for f in facts:
        key = (f.patient_id, f.date_of_service, frozenset(line.code for line in f.lines))
        chain = root(f.claim_id)
        for pk, other_chain, control in sorted(candidates.get(key, ())):
            if pk < f.claim_id and other_chain != chain:
                found[f.claim_id] = control
                break
    return found


# --- Scrubbing and recording ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScrubResult:
    claim_id: int
    control_number: str
    status: str
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == WARNING)


def _ids(claims: Iterable[Claim | int] | Any) -> list[int]:
    if hasattr(claims, "values_list"):
        return sorted(claims.values_list("pk", flat=True))
    return sorted({c.pk if isinstance(c, Model) else int(c) for c in claims})


def scrub_claims(
    claims: Iterable[Claim | int] | Any, *, actor: User | None, today: date | None = None
) -> list[ScrubResult]:
    """Scrub many claims: for each batch, one query per table to read, findings replaced in
    bulk, and each claim moved to "scrubber errors" (an error, or warnings not overridden) or
    "ready", with its history. Claims past the scrubber's statuses are skipped."""
    day = today or timezone.localdate()
    ids = _ids(claims)
    results: list[ScrubResult] = []
    for start in range(0, len(ids), BATCH):
        results.extend(_scrub_batch(ids[start : start + BATCH], actor=actor, today=day))
    return results


def _scrub_batch(ids: list[int], *, actor: User | None, today: date) -> list[ScrubResult]:
    facts, reference = load(ids)
    facts = [f for f in facts if f.status in SCRUBBABLE]
    if not facts:
        return []
    results = []
    rows: list[tuple[int, str, str, str, int | None]] = []
    outcome: dict[str, list[tuple[int, str, str]]] = {
        ClaimStatus.SCRUB_ERRORS: [],
        ClaimStatus.READY: [],
    }
    for f in facts:
        findings = scrub(f, today, reference)
        errors = any(x.severity == ERROR for x in findings)
        held = errors or (not f.overridden and any(x.severity == WARNING for x in findings))
        to = ClaimStatus.SCRUB_ERRORS if held else ClaimStatus.READY
        outcome[to].append((f.claim_id, f.status, f.control_number))
        results.append(ScrubResult(f.claim_id, f.control_number, to, findings))
        rows.extend(
            (f.claim_id, x.code, x.severity, x.message[:400], x.line_number) for x in findings
        )
    now = timezone.now()
    with audit.unit(
        AuditAction.UPDATE,
        actor=actor_for_service(actor),
        what="claims.scrub",
        description=f"scrubbed {len(facts)} claim(s)",
        counts={"claims": len(facts), "held": len(outcome[ClaimStatus.SCRUB_ERRORS]),
                "ready": len(outcome[ClaimStatus.READY]), "findings": len(rows)},
    ):  # fmt: skip
        checked = [f.claim_id for f in facts]
        _forget_findings(checked)
        insert_rows(ScrubFinding, ("claim_id", "code", "severity", "message", "line_number"), rows)
        for target, moving in outcome.items():
            held_note = target == ClaimStatus.SCRUB_ERRORS
            note = "Scrubbed: held." if held_note else "Scrubbed: clean."
            # A rejected claim scrubbed again is sent again: it leaves the batch that carried it
            # (batching takes only claims in none), as a rejected claim rebuilt does.
            again = [row for row in moving if row[1] == ClaimStatus.REJECTED]
            first = [row for row in moving if row[1] != ClaimStatus.REJECTED]
            if first:
                move_rows(first, to=target, actor=actor, note=note)
            if again:
                move_rows(again, to=target, actor=actor, note=note + " Sent again in a new batch.",
                          fields={"batch": None, "submitted_at": None})  # fmt: skip
        Claim.objects.filter(pk__in=checked).update(scrubbed_at=now)
    return results


def _forget_findings(claim_ids: list[int]) -> None:
    """The claims' previous findings go (one statement: findings are replaced, not audited)."""
    quote = connection.ops.quote_name
    table = quote(ScrubFinding._meta.db_table)
    column = quote(ScrubFinding._meta.get_field("claim").column)
    marks = ", ".join(["%s"] * len(claim_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", claim_ids)  # noqa: S608


def scrub_one(*, actor: User | None, claim: Claim, today: date | None = None) -> ScrubResult:
    """Scrub one claim (the claim page's and the API's action)."""
    if claim.status not in SCRUBBABLE:
        raise InvalidTransition(
            f"Claim {claim.control_number} is {claim.get_status_display().lower()}: only a claim "
            "not yet batched (or rejected) is scrubbed."
        )
    with transaction.atomic():
        results = scrub_claims([claim.pk], actor=actor, today=today)
    claim.refresh_from_db()
    return results[0]
