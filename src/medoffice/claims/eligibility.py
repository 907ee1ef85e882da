"""Eligibility: a 270 inquiry for a coverage, and a 271 response filling eligibility checks.

The 270 goes from the practice (the information receiver, its group NPI) to the payer (the
information source, its electronic payer id), about the subscriber and, when the patient is
not the subscriber, the dependent. Its trace number (TRN02) is "<coverage id>.<ISA13>", and
the 271 echoes it.

A 271 is matched member by member to a coverage: by the trace number when it is one of ours
and the member id agrees, else by the member id with the name and date of birth. Each match
becomes an EligibilityCheck (method x12_271) with the status (active or inactive) and the
summary check-in and chart prep show: plan, copay, deductible and remaining, coinsurance and
out-of-pocket and remaining (`benefits`). The reception's check-in reads the latest check, so
its eligibility status fills from the 271.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.utils import timezone

from medoffice.claims.acknowledgements import ApplyResult, Outcome, apply_file
from medoffice.claims.batches import Exchange, practice_exchange, x12_text
from medoffice.claims.control_numbers import reserve_control_numbers
from medoffice.claims.models import OPEN_STATUSES, EligibilityRequest, RequestStatus
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import Practice, User
from medoffice.core.money import MAX_AMOUNT
from medoffice.core.role_permissions import require_perm
from medoffice.patients.models import Coverage, EligibilityCheck, EligibilityMethod
from medoffice.patients.services import eligibility_record
from medoffice.x12 import Interchange, Transaction, X12Error
from medoffice.x12.transactions import eligibility_writer as w
from medoffice.x12.transactions.eligibility import Eligibility, EligibilitySummary, Member

RELATIONSHIPS = {"spouse": "01", "child": "19", "other": "G8"}
STATUSES = {"active": "active", "inactive": "inactive"}  # rejected, unknown: "unknown"


def _person(patient: Any, member_id: str = "", group_number: str = "") -> w.Person:
    return w.Person(
        last_name=x12_text(patient.last_name),
        first_name=x12_text(patient.first_name),
        middle_name=x12_text(patient.middle_name),
        suffix=x12_text(patient.suffix),
        birth_date=patient.date_of_birth,
        gender=patient.sex if patient.sex in ("M", "F") else "",
        member_id=member_id,
        group_number=group_number,
    )


def trace_number(coverage: Coverage, interchange: int) -> str:
    return f"{coverage.pk}.{interchange}"


@dataclass(frozen=True)
class Written270:
    """A 270 as written: its bytes and the numbers the 271 will echo."""

    content: bytes
    interchange: int  # ISA13, unique per submitter id
    submitter_id: str
    trace_number: str  # TRN02
    service_date: dt.date


@binds_actor()
def eligibility_request(
    coverage: Coverage,
    service_types: Sequence[str] = ("30",),
    *,
    actor: User | None = None,
    exchange: Exchange | None = None,
    service_date: dt.date | None = None,
) -> bytes:
    """A 270 asking the coverage's payer whether the coverage is in force (service type 30:
    the health benefit plan), with new control numbers for the practice's submitter id."""
    return write_270(
        coverage, service_types, actor=actor, exchange=exchange, service_date=service_date
    ).content


@binds_actor()
def write_270(
    coverage: Coverage,
    service_types: Sequence[str] = ("30",),
    *,
    actor: User | None = None,
    exchange: Exchange | None = None,
    service_date: dt.date | None = None,
) -> Written270:
    """`eligibility_request`, with the control and trace numbers it used."""
    if actor is not None:
        require_perm(actor, ClaimsPerm.CHECK_ELIGIBILITY)
    payer = coverage.payer
    if not payer.payer_id:
        raise InvalidInput(
            f"{payer.name} has no electronic payer id: set it before asking electronically."
        )
    exchange = exchange or practice_exchange()
    practice = Practice.objects.get()
    patient = coverage.patient
    (interchange,) = reserve_control_numbers(exchange.submitter_id, "ISA")
    (group,) = reserve_control_numbers(exchange.submitter_id, "GS")
    self_insured = coverage.subscriber_relationship == "self"
    if self_insured:
        subscriber = _person(patient, coverage.member_id, coverage.group_number)
        dependent = None
    else:
        subscriber = w.Person(
            last_name=x12_text(coverage.subscriber_last_name),
            first_name=x12_text(coverage.subscriber_first_name),
            birth_date=coverage.subscriber_date_of_birth,
            gender=coverage.subscriber_sex if coverage.subscriber_sex in ("M", "F") else "",
            member_id=coverage.member_id,
            group_number=coverage.group_number,
        )
        dependent = _person(patient)
    ein = "".join(ch for ch in practice.tax_id if ch.isdigit())
    now = timezone.localtime()
    day = service_date or timezone.localdate()
    inquiry = w.EligibilityInquiry(
        source=w.Source(name=x12_text(payer.name), payer_id=payer.payer_id),
        receiver=w.Receiver(name=x12_text(practice.legal_name), npi=practice.group_npi),
        members=[
            w.MemberInquiry(
                trace_number=trace_number(coverage, interchange),
                subscriber=subscriber,
                dependent=dependent,
                relationship=RELATIONSHIPS.get(coverage.subscriber_relationship, ""),
                service_types=tuple(service_types),
                service_date=day,
            )
        ],
        reference=f"{interchange:09d}",
        created=now,
        interchange_control_number=interchange,
        group_control_number=group,
        transaction_control_number=1,
        sender_id=exchange.submitter_id,
        receiver_id=exchange.receiver_id,
        trace_originator=f"1{ein}" if len(ein) == 9 else "",
        sender_qualifier=exchange.sender_qualifier,
        receiver_qualifier=exchange.receiver_qualifier,
        usage=exchange.usage,
    )
    try:
        content = w.write_inquiry(inquiry, uppercase=True)
    except X12Error as exc:
        raise InvalidInput(f"The eligibility request could not be written: {exc}") from exc
    return Written270(
        content=content,
        interchange=interchange,
        submitter_id=exchange.submitter_id,
        trace_number=trace_number(coverage, interchange),
        service_date=day,
    )


# --- the 271 ---------------------------------------------------------------------------------


def _mark_answered(check: EligibilityCheck, trace: str) -> list[EligibilityRequest]:
    """The requests a 271's check answers: the one with its trace number, else the coverage's
    requests still waiting (a payer that does not echo the trace). Runs inside apply_271."""
    waiting = EligibilityRequest.objects.filter(
        coverage_id=check.coverage_id,
        status__in=(*OPEN_STATUSES, RequestStatus.FILE, RequestStatus.FAILED),
    )
    traced = list(waiting.filter(trace_number=trace)) if trace else []
    answered = traced or list(waiting.filter(status__in=(*OPEN_STATUSES, RequestStatus.FILE)))
    for request in answered:
        request.status = RequestStatus.ANSWERED
        request.answered_at = check.checked_at
        request.answer = check
        request.save(update_fields=["status", "answered_at", "answer"])
    return answered


def _same(a: str, b: str) -> bool:
    return a.strip().upper() == b.strip().upper()


def _agrees(member: Member, coverage: Coverage) -> bool:
    """The member's name and date of birth, where the 271 gives them, are the patient's: a
    subscriber level is the patient insured under their own id (self, or a dependent with an
    id of their own), a dependent level the patient under the subscriber's id."""
    person, patient = member.person, coverage.patient
    if member.is_dependent and coverage.subscriber_relationship == "self":
        return False
    checks = []
    if person.name:
        checks.append(_same(person.name, patient.last_name))
    if person.first_name:
        checks.append(_same(person.first_name, patient.first_name))
    if person.birth_date is not None:
        checks.append(person.birth_date == patient.date_of_birth)
    return bool(checks) and all(checks)


def _coverage_for(member: Member) -> tuple[Coverage | None, str]:
    """The coverage the member is, or None with the reason in words."""
    member_id = member.member_id
    candidates = list(
        Coverage.objects.filter(member_id=member_id, is_active=True).select_related(
            "patient", "payer"
        )
    )
    trace = member.trace_number
    coverage_id, dot, _isa = trace.partition(".")
    if dot and coverage_id.isdigit():
        traced = [c for c in candidates if c.pk == int(coverage_id)]
        if traced:
            return traced[0], ""
    if not member_id:
        return None, "the 271 gives no member id"
    if not candidates:
        return None, f"no active coverage has member id {member_id}"
    matching = [c for c in candidates if _agrees(member, c)]
    if len(matching) > 1 and member.source is not None and member.source.identifier:
        matching = [c for c in matching if c.payer.payer_id == member.source.identifier]
    if not matching:
        return None, f"member id {member_id} is on file, but not for {member.person.full_name}"
    if len(matching) > 1:
        return None, f"member id {member_id} matches {len(matching)} coverages"
    return matching[0], ""


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def benefits_of(summary: EligibilitySummary, member: Member) -> dict[str, Any]:
    """The summary as kept on the check (money as text with cents; never a float)."""
    return {
        "plan": summary.plan,
        "insurance_type": summary.insurance_type,
        "coverage_begin": summary.coverage_begin.isoformat() if summary.coverage_begin else None,
        "coverage_end": summary.coverage_end.isoformat() if summary.coverage_end else None,
        "copay": _money(summary.copay),
        "deductible": _money(summary.deductible),
        "deductible_remaining": _money(summary.deductible_remaining),
        "coinsurance_percent": (
            None if summary.coinsurance_percent is None else f"{summary.coinsurance_percent:f}"
        ),
        "out_of_pocket": _money(summary.out_of_pocket),
        "out_of_pocket_remaining": _money(summary.out_of_pocket_remaining),
        "rejections": list(summary.rejections),
        "payer": member.source.name if member.source is not None else "",
        "trace_number": member.trace_number,
    }


def _words(summary: EligibilitySummary) -> list[str]:
    words = [summary.status]
    if summary.plan:
        words.append(f"plan {summary.plan}")
    for label, value in (
        ("copay", summary.copay),
        ("deductible", summary.deductible),
        ("deductible remaining", summary.deductible_remaining),
        ("out-of-pocket", summary.out_of_pocket),
        ("out-of-pocket remaining", summary.out_of_pocket_remaining),
    ):
        if value is not None:
            words.append(f"{label} ${value:,.2f}")
    if summary.coinsurance_percent is not None:
        words.append(f"coinsurance {summary.coinsurance_percent.normalize():f}%")
    words.extend(summary.rejections)
    return words


AMOUNT_FIELDS = {
    "copay": "copay", "deductible": "deductible", "deductible_remaining": "deductible remaining",
    "out_of_pocket": "out-of-pocket", "out_of_pocket_remaining": "out-of-pocket remaining",
}  # fmt: skip


def _in_range(summary: EligibilitySummary, label: str, result: ApplyResult) -> EligibilitySummary:
    """The summary with any amount no office could mean left out, each with a warning naming
    the member: money from 0 to MAX_AMOUNT (the limit of every amount medoffice keeps), and
    coinsurance from 0 to 100 percent."""
    cleaned: dict[str, Any] = {}
    for name, words in AMOUNT_FIELDS.items():
        value = getattr(summary, name)
        if value is not None and not (Decimal(0) <= value <= MAX_AMOUNT):
            result.warnings.append(
                f"{label}: the {words} ${value:,.2f} is not an amount from $0.00 to "
                f"${MAX_AMOUNT:,.2f}; it was left out."
            )
            cleaned[name] = None
    percent = summary.coinsurance_percent
    if percent is not None and not (Decimal(0) <= percent <= Decimal(100)):
        result.warnings.append(
            f"{label}: the coinsurance {percent.normalize():f}% is not from 0 to 100 percent; "
            "it was left out."
        )
        cleaned["coinsurance_percent"] = None
    return replace(summary, **cleaned) if cleaned else summary


def _apply(document: Eligibility, result: ApplyResult) -> list[EligibilityCheck]:
    made: list[EligibilityCheck] = []
    now = timezone.now()
    for member in document.members():
        label = f"{member.person.full_name or 'member'} ({member.member_id or 'no id'})"
        summary = _in_range(member.summary(), label, result)
        if member.is_dependent is False and member.dependents and not member.benefits:
            continue  # the subscriber level above the dependent asked about
        coverage, why = _coverage_for(member)
        if coverage is None:
            result.unmatched.append(Outcome(label, "not found", [why, *_words(summary)]))
            continue
        note = "; ".join(_words(summary))
        check = eligibility_record(
            coverage=coverage,
            status=STATUSES.get(summary.status, "unknown"),
            method=EligibilityMethod.X12_271,
            reference=member.trace_number or document.reference,
            copay_reported=summary.copay,
            note=f"271: {note}",
            checked_at=now,
        )
        check.benefits = benefits_of(summary, member)
        check.save(update_fields=["benefits"])
        _mark_answered(check, member.trace_number)
        made.append(check)
        result.matched.append(Outcome(label, summary.status, _words(summary)[1:]))
    return made


@binds_actor()
def apply_271(content: bytes, actor: User | None = None, *, file_name: str = "") -> ApplyResult:
    """Fill an eligibility check for each member of the 271 matched to a coverage; the others
    are listed. All or nothing, and once per file."""

    def handle(_interchange: Interchange, tx: Transaction, result: ApplyResult, _name: str) -> None:
        if isinstance(tx.data, Eligibility):
            _apply(tx.data, result)

    return apply_file("271", content, handle, actor=actor,
                      permission=ClaimsPerm.CHECK_ELIGIBILITY, file_name=file_name)  # fmt: skip
