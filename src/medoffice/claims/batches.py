"""837P batches: ready claims written into one interchange, recorded, and marked batched.

A claim goes into at most one batch: the claims are taken by one conditional update
(ready and in no batch) before the file is written, so two billers batching at once split
the claims between them instead of both sending them. The file is kept with the batch
(what was sent is what is on record), and its name and interchange number are unique.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from medoffice.claims.claims_services import move_rows
from medoffice.claims.control_numbers import reserve_control_numbers
from medoffice.claims.mailbox_services import submit_file
from medoffice.claims.models import (
    Claim,
    ClaimBatch,
    ClaimDiagnosis,
    ClaimLine,
    ClaimStatus,
    Clearinghouse,
    MailboxSubmission,
    SubmissionStatus,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.scrubber import X12_DELIMITERS, scrub_claims
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import Practice, User
from medoffice.core.role_permissions import require_perm
from medoffice.x12 import X12Error
from medoffice.x12.transactions import professional_claim_writer as w

MAX_CLAIMS_PER_BATCH = 20_000  # clearinghouses cap files; 5000 claims an 837 is common
RELATIONSHIP_CODES = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
FILING_INDICATORS = {
    "medicare": "MB", "medicaid": "MC", "tricare": "CH", "hmo": "HM", "ppo": "12",
    "workers_comp": "WC", "commercial": "CI", "other": "CI",
}  # fmt: skip
RESPONSIBILITY = {1: "P", 2: "S", 3: "T"}


@dataclass(frozen=True)
class Exchange:
    """Who sends the file and who receives it (the clearinghouse's enrollment gives these)."""

    submitter_id: str  # ISA06 and NM1*41's id
    submitter_name: str
    contact_name: str
    contact_phone: str
    receiver_id: str  # ISA08 and NM1*40's id
    receiver_name: str
    usage: str = "P"  # P production, T test
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"


def practice_exchange(*, receiver_id: str = "CLEARINGHOUSE", usage: str = "P") -> Exchange:
    """The practice as its own submitter (its group NPI), for a receiver named by id."""
    practice = Practice.objects.get()
    return Exchange(
        submitter_id=practice.group_npi,
        submitter_name=practice.legal_name,
        contact_name="Billing office",
        contact_phone="".join(ch for ch in practice.phone if ch.isdigit())[-10:],
        receiver_id=receiver_id,
        receiver_name=receiver_id,
        usage=usage,
    )


def _dollars(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


# The delimiters the file declares (and tabs, line breaks) become spaces in X12 text.
_TO_SPACE = str.maketrans(dict.fromkeys(X12_DELIMITERS + "\t\n\r\v\f", " "))


def _postal(line1: str, line2: str, city: str, state: str, zip_code: str) -> w.Address:
    """An address as an 837P carries it: plain letters, the ZIP's digits only."""
    return w.Address(
        line1=x12_text(line1), line2=x12_text(line2), city=x12_text(city), state=state,
        postal_code="".join(ch for ch in zip_code if ch.isdigit()),
    )  # fmt: skip


def x12_text(text: str) -> str:
    """X12 text is printable ASCII without the file's delimiters: accents dropped (Peña →
    Pena), other letters and control characters left out, a delimiter made a space (Stew*art
    → Stew art), runs of spaces made one."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in text.translate(_TO_SPACE) if " " <= ch <= "~")
    return " ".join(kept.split())


def _address(row: dict, prefix: str) -> w.Address | None:
    if not x12_text(row[f"{prefix}address_line1"]):
        return None
    return _postal(*(row[f"{prefix}{name}"] for name in
                     ("address_line1", "address_line2", "city", "state", "zip_code")))  # fmt: skip


# What may follow a person's name: credentials (dropped) and generational suffixes (dropped
# too: the 837P writer has no suffix for a provider's NM107). Compared upper case, no dots.
CREDENTIALS = frozenset({
    "MD", "DO", "NP", "PA", "PA-C", "RN", "DPM", "DC", "PHD", "DDS", "DMD", "OD", "APRN",
    "FNP", "FNP-C", "CNM", "CRNA", "DNP", "PT", "DPT", "MBBS", "LCSW", "PSYD", "AUD", "FACP",
})  # fmt: skip
SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV"})
TITLES = frozenset({"DR", "DOCTOR"})


def _after_name(word: str) -> bool:
    bare = word.upper().replace(".", "")
    return bare in CREDENTIALS or bare in SUFFIXES


def _name_words(text: str, *, keep: int) -> list[str]:
    """The words of a name with titles before it and credentials or suffixes after it taken
    off, while at least `keep` words are left ("John Do" keeps its Do)."""
    words = text.split()
    while len(words) > keep and words[0].upper().rstrip(".") in TITLES:
        words = words[1:]
    while len(words) > keep and _after_name(words[-1]):
        words = words[:-1]
    return words


def _split_name(full: str) -> tuple[str, str]:
    """(last name, first and middle names) of a name typed "Last, First [Middle]" or "First
    [Middle] Last", with a title (Dr), credentials (MD, PA-C, PhD ...) and suffixes (Jr, III)
    left out: "Smith, John" and "Dr. John Smith, MD" are both ("Smith", "John")."""
    pieces = [piece.strip() for piece in full.split(",")]
    pieces = [piece for piece in pieces if piece]
    if not pieces:
        return "", ""
    after = pieces[1:]
    if all(_after_name(word) for piece in after for word in piece.split()):
        words = _name_words(pieces[0], keep=2)  # First [Middle] Last[, credentials]
        return words[-1], " ".join(words[:-1])
    last = " ".join(_name_words(pieces[0], keep=1))  # Last, First [Middle][, credentials]
    given = [p for p in after if not all(_after_name(word) for word in p.split())]
    return last, " ".join(_name_words(" ".join(given), keep=1))


ADDRESS = ("address_line1", "address_line2", "city", "state", "zip_code")
PATIENT = "encounter__patient__"
CLAIM_FIELDS = (
    "pk", "control_number", "frequency_code", "payer_claim_number",
    "replaces__payer_claim_number", "encounter_id", "encounter__date_of_service",
    "encounter__place_of_service", "encounter__prior_authorization",
    "encounter__referring_provider_name", "encounter__referring_provider_npi",
    *(f"encounter__rendering_provider__{f}" for f in ("last_name", "first_name", "npi", "taxonomy")),
    *(f"encounter__supervising_provider__{f}" for f in ("last_name", "first_name", "npi")),
    *(PATIENT + f for f in ("last_name", "first_name", "middle_name", "suffix", "date_of_birth",
                            "sex", *ADDRESS)),
    *(f"coverage__{f}" for f in ("member_id", "subscriber_relationship", "subscriber_first_name",
                                 "subscriber_last_name", "subscriber_date_of_birth",
                                 "subscriber_sex", "priority", "group_number")),
    *(f"payer__{f}" for f in ("name", "payer_id", "plan_type", *ADDRESS)),
)  # fmt: skip


def _x12_claim(row: dict, lines: list[w.ServiceLine], diagnoses: list[str]) -> w.Claim:
    relationship = RELATIONSHIP_CODES.get(row["coverage__subscriber_relationship"], "G8")
    sex = row[PATIENT + "sex"]
    patient = w.Person(
        last_name=x12_text(row[PATIENT + "last_name"]),
        first_name=x12_text(row[PATIENT + "first_name"]),
        middle_name=x12_text(row[PATIENT + "middle_name"]),
        suffix=x12_text(row[PATIENT + "suffix"]),
        birth_date=row[PATIENT + "date_of_birth"],
        gender=sex if sex in ("M", "F") else "U",
        address=_address(row, PATIENT),
    )
    dependent: w.Person | None
    if relationship == "18":
        patient.member_id = row["coverage__member_id"]
        subscriber, dependent = patient, None
    else:
        subscriber = w.Person(
            last_name=x12_text(row["coverage__subscriber_last_name"]),
            first_name=x12_text(row["coverage__subscriber_first_name"]),
            birth_date=row["coverage__subscriber_date_of_birth"],
            gender=row["coverage__subscriber_sex"] or "U",
            address=patient.address,
            member_id=row["coverage__member_id"],
        )
        dependent = patient
    referring = None
    if row["encounter__referring_provider_npi"]:
        last, first = _split_name(x12_text(row["encounter__referring_provider_name"]))
        referring = w.Provider(
            last_name=last, first_name=first, npi=row["encounter__referring_provider_npi"]
        )
    supervising = None
    if row["encounter__supervising_provider__npi"]:
        supervising = w.Provider(
            last_name=x12_text(row["encounter__supervising_provider__last_name"]),
            first_name=x12_text(row["encounter__supervising_provider__first_name"]),
            npi=row["encounter__supervising_provider__npi"],
        )
    return w.Claim(
        control_number=row["control_number"],
        subscriber=subscriber,
        payer=w.Payer(
            name=x12_text(row["payer__name"]),
            payer_id=row["payer__payer_id"],
            address=_address(row, "payer__"),
        ),
        diagnoses=diagnoses,
        lines=lines,
        place_of_service=row["encounter__place_of_service"],
        frequency_code=row["frequency_code"],
        # a correction sends back the original's number as it is now (recorded again since?)
        payer_claim_number=row["replaces__payer_claim_number"] or row["payer_claim_number"] or "",
        prior_authorization=row["encounter__prior_authorization"],
        relationship=relationship,
        patient=dependent,
        payer_responsibility=RESPONSIBILITY.get(row["coverage__priority"], "P"),
        filing_indicator=FILING_INDICATORS.get(row["payer__plan_type"], "CI"),
        group_number=row["coverage__group_number"],
        rendering=w.Provider(
            last_name=x12_text(row["encounter__rendering_provider__last_name"]),
            first_name=x12_text(row["encounter__rendering_provider__first_name"]),
            npi=row["encounter__rendering_provider__npi"],
            taxonomy=row["encounter__rendering_provider__taxonomy"],
        ),
        referring=referring,
        supervising=supervising,
    )


def x12_claims(claims: QuerySet[Claim]) -> list[w.Claim]:
    """The claims as the 837P writer takes them, read in three queries (not per claim)."""
    rows = list(claims.order_by("payer_id", "coverage_id", "pk").values(*CLAIM_FIELDS))
    days = {row["pk"]: row["encounter__date_of_service"] for row in rows}
    lines: dict[int, list[w.ServiceLine]] = defaultdict(list)
    line_rows = (
        ClaimLine.objects.filter(claim__in=claims.values("pk"))
        .order_by("claim_id", "line_number")
        .values_list(
            "claim_id",
            "pk",
            "code",
            "modifiers",
            "units",
            "charge_cents",
            "diagnosis_pointers",
            "ndc",
            "ndc_quantity",
            "ndc_unit",
        )
    )
    for claim_id, pk, code, modifiers, units, cents, pointers, ndc, quantity, unit in line_rows:
        drug = w.Drug(ndc=ndc, quantity=quantity or Decimal(1), unit=unit) if ndc else None
        lines[claim_id].append(
            w.ServiceLine(
                code=code,
                charge=_dollars(cents),
                units=Decimal(units),
                service_date=days[claim_id],
                diagnosis_pointers=[int(p) for p in pointers],
                modifiers=modifiers,
                control_number=str(pk),
                drug=drug,
            )
        )
    diagnoses: dict[int, list[str]] = defaultdict(list)
    diagnosis_rows = (
        ClaimDiagnosis.objects.filter(claim__in=claims.values("pk"))
        .order_by("claim_id", "rank")
        .values_list("claim_id", "code")
    )
    for claim_id, code in diagnosis_rows:  # the claim's own, as billed
        diagnoses[claim_id].append(code)
    return [_x12_claim(row, lines[row["pk"]], diagnoses[row["pk"]]) for row in rows]


def write_837p(
    claims: QuerySet[Claim],
    exchange: Exchange,
    *,
    interchange_number: int,
    group_number: int,
    created: dt.datetime,
    reference: str,
) -> bytes:
    """The claims as one 837P interchange."""
    practice = Practice.objects.get()
    billed = x12_claims(claims)
    taxonomies = Counter(claim.rendering.taxonomy for claim in billed if claim.rendering)
    billing = w.BillingProvider(
        name=x12_text(practice.legal_name),
        npi=practice.group_npi,
        ein="".join(ch for ch in practice.tax_id if ch.isdigit()),
        taxonomy=taxonomies.most_common(1)[0][0] if taxonomies else "",
        address=_postal(
            practice.address_line1,
            practice.address_line2,
            practice.city,
            practice.state,
            practice.zip_code,
        ),
    )
    pay_to = None
    if practice.has_pay_to:  # 2010AB only when payments go somewhere else than 2010AA
        pay_to = _postal(practice.pay_to_address_line1, practice.pay_to_address_line2,
                          practice.pay_to_city, practice.pay_to_state, practice.pay_to_zip_code)  # fmt: skip
    batch = w.ClaimBatch(
        submitter=w.Submitter(
            name=exchange.submitter_name,
            identifier=exchange.submitter_id,
            contact_name=exchange.contact_name,
            phone=exchange.contact_phone,
        ),
        receiver=w.Receiver(name=exchange.receiver_name, identifier=exchange.receiver_id),
        billing_provider=billing,
        pay_to=pay_to,
        claims=billed,
        reference=reference,
        created=created,
        interchange_control_number=interchange_number,
        group_control_number=group_number,
        transaction_control_number=1,
        sender_id=exchange.submitter_id,
        receiver_id=exchange.receiver_id,
        sender_qualifier=exchange.sender_qualifier,
        receiver_qualifier=exchange.receiver_qualifier,
        usage=exchange.usage,
    )
    return w.write_batch(batch, line_break=False, uppercase=True)


@binds_actor()
def batch_build(
    *,
    actor: User,
    exchange: Exchange,
    claim_ids: Sequence[int] | None = None,
    idempotency_key: str = "",
    rescrub: bool = True,
    today: dt.date | None = None,
) -> ClaimBatch:
    """Write the ready claims (all, or those named) into one 837P file and record it.

    The claims are scrubbed again first (a coverage may have ended, a registration changed
    since they were found ready): those the scrubber holds now stay out, with their findings.
    The same idempotency key from the same user returns the batch it made the first time.
    """
    require_perm(actor, ClaimsPerm.SUBMIT)
    if idempotency_key:
        earlier = ClaimBatch.objects.filter(
            created_by=actor, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return earlier
    if rescrub:
        _scrub_again(actor, claim_ids, today)
    try:
        with transaction.atomic():
            return _build(actor, exchange, claim_ids, idempotency_key)
    except IntegrityError:
        earlier = ClaimBatch.objects.filter(
            created_by=actor, idempotency_key=idempotency_key
        ).first()
        if idempotency_key and earlier is not None:
            return earlier
        raise


def _ready(claim_ids: Sequence[int] | None) -> QuerySet[Claim]:
    ready = Claim.objects.filter(status=ClaimStatus.READY, batch__isnull=True)
    return ready if claim_ids is None else ready.filter(pk__in=list(claim_ids))


def _scrub_again(actor: User, claim_ids: Sequence[int] | None, today: dt.date | None) -> None:
    ids = list(_ready(claim_ids).order_by("pk").values_list("pk", flat=True)[:MAX_CLAIMS_PER_BATCH])
    held = [r for r in scrub_claims(ids, actor=actor, today=today) if r.status != ClaimStatus.READY]
    if held and claim_ids is not None:
        raise InvalidInput(
            f"{len(held)} of the claims named no longer pass the scrubber (e.g. claim "
            f"{held[0].control_number}: {held[0].findings[0].message}); they are back on the "
            "worklist with their findings."
        )


def _build(
    actor: User, exchange: Exchange, claim_ids: Sequence[int] | None, idempotency_key: str
) -> ClaimBatch:
    ready = _ready(claim_ids)
    ids = list(ready.order_by("pk").values_list("pk", flat=True)[: MAX_CLAIMS_PER_BATCH + 1])
    if claim_ids is not None and len(ids) < len(set(claim_ids)):
        missing = sorted(set(claim_ids) - set(ids))
        raise InvalidInput(
            f"{len(missing)} of the claims named are not ready to batch "
            f"(e.g. claim {missing[0]}): scrub them first."
        )
    if not ids:
        raise InvalidInput("No claim is ready to batch.")
    ids = ids[:MAX_CLAIMS_PER_BATCH]
    (interchange,) = reserve_control_numbers(exchange.submitter_id, "ISA")
    (group,) = reserve_control_numbers(exchange.submitter_id, "GS")
    now = timezone.now()
    name = f"837P-{exchange.submitter_id}-{interchange:09d}.x12"
    batch = ClaimBatch.objects.create(
        interchange_control_number=interchange,
        group_control_number=group,
        submitter_id=exchange.submitter_id,
        file_name=name,
        sha256="",
        claim_count=0,
        total_charge_cents=0,
        content=b"",
        created_by=actor,
        idempotency_key=idempotency_key,
    )
    taken = Claim.objects.filter(pk__in=ids, status=ClaimStatus.READY, batch__isnull=True).update(
        batch=batch
    )
    if taken == 0:
        raise Conflict("The claims were batched by someone else meanwhile; nothing is left.")
    claims = Claim.objects.filter(batch=batch)
    move_rows(
        list(claims.values_list("pk", "status", "control_number")),
        to=ClaimStatus.BATCHED, actor=actor, note=f"in batch {name}",
        # Which submission a late answer is about (acknowledgements): the batch, kept by id.
        details={"batch": batch.pk, "file": name, "interchange_control_number": interchange},
    )  # fmt: skip
    try:
        content = write_837p(
            claims, exchange, interchange_number=interchange, group_number=group,
            created=timezone.localtime(now), reference=f"{interchange:09d}",
        )  # fmt: skip
    except X12Error as exc:
        raise InvalidInput(f"The batch could not be written: {exc}") from exc
    batch.content = content
    batch.sha256 = hashlib.sha256(content).hexdigest()
    totals = claims.aggregate(count=Count("pk"), total=Sum("total_charge_cents"))
    batch.claim_count = totals["count"]
    batch.total_charge_cents = totals["total"] or 0
    batch.save(update_fields=["content", "sha256", "claim_count", "total_charge_cents"])
    return batch


def clearinghouse_exchange(clearinghouse: Clearinghouse) -> Exchange:
    """The ids the clearinghouse's enrollment gave (the practice's group NPI when none)."""
    base = practice_exchange(receiver_id=clearinghouse.receiver_id or "CLEARINGHOUSE")
    return replace(
        base,
        submitter_id=clearinghouse.submitter_id or base.submitter_id,
        receiver_name=clearinghouse.name,
        sender_qualifier=clearinghouse.submitter_qualifier or "ZZ",
        receiver_qualifier=clearinghouse.receiver_qualifier or "ZZ",
    )


@binds_actor()
def batch_submit(
    *, actor: User, batch: ClaimBatch, clearinghouse: Clearinghouse, idempotency_key: str = ""
) -> MailboxSubmission:
    """Send the batch's file to the clearinghouse (at most once by its name); when it went,
    its claims are submitted. A failed send leaves them batched, to be sent again."""
    require_perm(actor, ClaimsPerm.SUBMIT)
    submission = submit_file(
        actor=actor,
        clearinghouse=clearinghouse,
        name=batch.file_name,
        content=bytes(batch.content),
        idempotency_key=idempotency_key,
    )
    if submission.status != SubmissionStatus.SENT:
        return submission
    with transaction.atomic():
        now = timezone.now()
        moving = Claim.objects.filter(batch=batch, status=ClaimStatus.BATCHED)
        move_rows(
            list(moving.values_list("pk", "status", "control_number")),
            to=ClaimStatus.SUBMITTED, actor=actor,
            note=f"sent to {clearinghouse.name} as {batch.file_name}",
            fields={"submitted_at": now},
        )  # fmt: skip
        if batch.submitted_at is None:
            ClaimBatch.objects.filter(pk=batch.pk).update(submitted_at=now)
            batch.submitted_at = now
    return submission
