"""837P batches: ready claims written into one interchange, recorded, and marked batched.

A claim goes into at most one batch: the claims are taken by one conditional update
(ready and in no batch) before the file is written, so two billers batching at once split
the claims between them instead of both sending them. The file is kept with the batch
(what was sent is what is on record), and its name and interchange number are unique.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice.claims.control_numbers import reserve_control_numbers
from medoffice.claims.models import Claim, ClaimBatch, ClaimEvent, ClaimStatus
from medoffice.claims.permissions import ClaimsPerm
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


def _address(obj: object) -> w.Address | None:
    line1 = getattr(obj, "address_line1", "")
    if not line1:
        return None
    return w.Address(
        line1=line1,
        line2=getattr(obj, "address_line2", ""),
        city=getattr(obj, "city", ""),
        state=getattr(obj, "state", ""),
        postal_code="".join(ch for ch in getattr(obj, "zip_code", "") if ch.isdigit()),
    )


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split()
    if not parts:
        return "", ""
    return parts[-1], " ".join(parts[:-1])


def _x12_claim(claim: Claim) -> w.Claim:
    encounter = claim.encounter
    patient = encounter.patient
    coverage = claim.coverage
    provider = encounter.rendering_provider
    relationship = RELATIONSHIP_CODES.get(coverage.subscriber_relationship, "G8")
    patient_person = w.Person(
        last_name=patient.last_name,
        first_name=patient.first_name,
        middle_name=patient.middle_name,
        suffix=patient.suffix,
        birth_date=patient.date_of_birth,
        gender=patient.sex if patient.sex in ("M", "F") else "U",
        address=_address(patient),
    )
    if relationship == "18":
        subscriber = w.Person(**{**patient_person.__dict__, "member_id": coverage.member_id})
        dependent = None
    else:
        subscriber = w.Person(
            last_name=coverage.subscriber_last_name,
            first_name=coverage.subscriber_first_name,
            birth_date=coverage.subscriber_date_of_birth,
            gender=coverage.subscriber_sex or "U",
            address=_address(patient),
            member_id=coverage.member_id,
        )
        dependent = patient_person
    service_lines = {line.pk: line for line in encounter.lines.all()}
    lines = []
    for line in claim.lines.all():
        source = service_lines.get(line.service_line_id)
        drug = None
        if source is not None and source.ndc:
            drug = w.Drug(
                ndc=source.ndc, quantity=source.ndc_quantity or Decimal(1), unit=source.ndc_unit
            )
        lines.append(
            w.ServiceLine(
                code=line.code,
                charge=_dollars(line.charge_cents),
                units=Decimal(line.units),
                service_date=encounter.date_of_service,
                diagnosis_pointers=[int(p) for p in line.diagnosis_pointers],
                modifiers=list(line.modifiers),
                control_number=str(line.pk),
                drug=drug,
            )
        )
    referring = None
    if encounter.referring_provider_npi:
        last, first = _split_name(encounter.referring_provider_name)
        referring = w.Provider(
            last_name=last, first_name=first, npi=encounter.referring_provider_npi
        )
    supervisor = encounter.supervising_provider
    payer = claim.payer
    return w.Claim(
        control_number=claim.control_number,
        subscriber=subscriber,
        payer=w.Payer(name=payer.name, payer_id=payer.payer_id, address=_address(payer)),
        diagnoses=[d.code for d in encounter.diagnoses.all()],
        lines=lines,
        place_of_service=encounter.place_of_service,
        frequency_code=claim.frequency_code,
        payer_claim_number=claim.payer_claim_number
        or (claim.replaces.payer_claim_number if claim.replaces is not None else ""),
        prior_authorization=encounter.prior_authorization,
        relationship=relationship,
        patient=dependent,
        payer_responsibility=RESPONSIBILITY.get(coverage.priority, "P"),
        filing_indicator=FILING_INDICATORS.get(payer.plan_type, "CI"),
        group_number=coverage.group_number,
        rendering=w.Provider(
            last_name=provider.last_name,
            first_name=provider.first_name,
            npi=provider.npi,
            taxonomy=provider.taxonomy,
        ),
        referring=referring,
        supervising=(
            w.Provider(
                last_name=supervisor.last_name, first_name=supervisor.first_name, npi=supervisor.npi
            )
            if supervisor is not None
            else None
        ),
    )


def _loaded(claim_ids: Iterable[int]) -> list[Claim]:
    return list(
        Claim.objects.filter(pk__in=list(claim_ids))
        .select_related(
            "encounter__patient",
            "encounter__rendering_provider",
            "encounter__supervising_provider",
            "coverage",
            "payer",
            "replaces",
        )
        .prefetch_related("lines", "encounter__diagnoses", "encounter__lines")
        .order_by("payer_id", "coverage_id", "pk")
    )


def write_837p(
    claims: Sequence[Claim],
    exchange: Exchange,
    *,
    interchange_number: int,
    group_number: int,
    created: dt.datetime,
    reference: str,
) -> bytes:
    """The claims (loaded by `_loaded`) as one 837P interchange."""
    practice = Practice.objects.get()
    taxonomies = [c.encounter.rendering_provider.taxonomy for c in claims]
    billing = w.BillingProvider(
        name=practice.legal_name,
        npi=practice.group_npi,
        ein="".join(ch for ch in practice.tax_id if ch.isdigit()),
        taxonomy=max(set(taxonomies), key=taxonomies.count) if taxonomies else "",
        address=_address(practice) or w.Address("", "", "", ""),
    )
    batch = w.ClaimBatch(
        submitter=w.Submitter(
            name=exchange.submitter_name,
            identifier=exchange.submitter_id,
            contact_name=exchange.contact_name,
            phone=exchange.contact_phone,
        ),
        receiver=w.Receiver(name=exchange.receiver_name, identifier=exchange.receiver_id),
        billing_provider=billing,
        claims=[_x12_claim(claim) for claim in claims],
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
) -> ClaimBatch:
    """Write the ready claims (all, or those named) into one 837P file and record it.

    The same idempotency key from the same user returns the batch it made the first time.
    """
    require_perm(actor, ClaimsPerm.SUBMIT)
    if idempotency_key:
        earlier = ClaimBatch.objects.filter(
            created_by=actor, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return earlier
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


def _build(
    actor: User, exchange: Exchange, claim_ids: Sequence[int] | None, idempotency_key: str
) -> ClaimBatch:
    ready = Claim.objects.filter(status=ClaimStatus.READY, batch__isnull=True)
    if claim_ids is not None:
        ready = ready.filter(pk__in=list(claim_ids))
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
        batch=batch, status=ClaimStatus.BATCHED
    )
    if taken == 0:
        raise Conflict("The claims were batched by someone else meanwhile; nothing is left.")
    claims = _loaded(Claim.objects.filter(batch=batch).values_list("pk", flat=True))
    try:
        content = write_837p(
            claims, exchange, interchange_number=interchange, group_number=group,
            created=timezone.localtime(now), reference=f"{interchange:09d}",
        )  # fmt: skip
    except X12Error as exc:
        raise InvalidInput(f"The batch could not be written: {exc}") from exc
    batch.content = content
    batch.sha256 = hashlib.sha256(content).hexdigest()
    batch.claim_count = len(claims)
    batch.total_charge_cents = sum(claim.total_charge_cents for claim in claims)
    batch.save(update_fields=["content", "sha256", "claim_count", "total_charge_cents"])
    ClaimEvent.objects.bulk_create(
        ClaimEvent(
            claim=claim,
            actor=actor,
            from_status=ClaimStatus.READY,
            to_status=ClaimStatus.BATCHED,
            note=f"in batch {name}",
        )
        for claim in claims
    )
    return batch
