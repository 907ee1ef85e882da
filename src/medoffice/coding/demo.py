"""Coding's part of the demo practice: the code sets, the practice's fees and two payer contracts.

The shipped tables (HCPCS, places of service, modifiers, NCCI 2024, MPFS July 2024) load from
the shared corpus through the import services, as `medoffice codes load-defaults` does. When
the corpus cannot be found (a clone outside the workspace), a small built-in set of the codes
the demo bills is loaded instead, and the demo says so. CPT is never shipped: the demo's CPT
codes get neutral labels of its own (the practice would import its licensed file).

Each part degrades on its own: without the import services the rows are written directly,
without the fee services the fees and contracts are too.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django.db import transaction

# (code, neutral label): the procedures the demo's visits are billed with. The labels are the
# demo's own words; no CPT descriptor ships with medoffice.
DEMO_CPT = (
    ("99202", "Office visit, new patient, straightforward"),
    ("99203", "Office visit, new patient, low"),
    ("99204", "Office visit, new patient, moderate"),
    ("99212", "Office visit, established patient, straightforward"),
    ("99213", "Office visit, established patient, low"),
    ("99214", "Office visit, established patient, moderate"),
    ("99215", "Office visit, established patient, high"),
    ("99392", "Preventive visit, established child, 1 to 4 years"),
    ("99393", "Preventive visit, established child, 5 to 11 years"),
    ("99395", "Preventive visit, established adult, 18 to 39 years"),
    ("99396", "Preventive visit, established adult, 40 to 64 years"),
    ("99397", "Preventive visit, established adult, 65 and over"),
    ("93000", "Electrocardiogram with report"),
    ("36415", "Blood draw by needle"),
    ("81002", "Urine test strip, manual"),
    ("87880", "Rapid strep antigen test"),
    ("90471", "Vaccine administration, first"),
    ("90686", "Flu vaccine, single dose"),
    ("96372", "Injection under the skin or into muscle"),
    ("11102", "Skin biopsy, first lesion"),
    ("17110", "Destruction of benign lesions, up to 14"),
)
# HCPCS Level II codes the demo bills, for the built-in set (words of the demo's own).
DEMO_HCPCS = (
    ("G0008", "Flu vaccine administration (Medicare)"),
    ("J1100", "Dexamethasone injection, per 1 mg"),
)
# The practice's charge per code, in dollars.
DEMO_FEES = {
    "99202": "110.00", "99203": "165.00", "99204": "245.00", "99212": "85.00",
    "99213": "135.00", "99214": "195.00", "99215": "265.00", "99392": "190.00",
    "99393": "195.00", "99395": "225.00", "99396": "240.00", "99397": "255.00",
    "93000": "55.00", "36415": "18.00", "81002": "15.00", "87880": "32.00", "90471": "35.00",
    "90686": "42.00", "96372": "40.00", "11102": "175.00", "17110": "160.00", "G0008": "35.00",
    "J1100": "12.00",
}  # fmt: skip
PLACES = (  # (code, name, facility?) for the built-in set
    ("02", "Telehealth provided other than in the patient's home", True),
    ("10", "Telehealth provided in the patient's home", False),
    ("11", "Office", False),
    ("12", "Home", False),
    ("22", "On campus outpatient hospital", True),
)
BUILTIN_MODIFIERS = (  # (code, description, may break an NCCI pair) when no list is shipped
    ("25", "Significant, separately identifiable E/M service on the same day", True),
    ("59", "Distinct procedural service", True),
    ("76", "Repeat procedure by the same physician", False),
    ("95", "Synchronous telemedicine service", False),
    ("XU", "Unusual non-overlapping service", True),
)
# The payer contracts: (payer id, contract name, share of the charge) per-code rates, and the
# payer paid as a percentage of Medicare for the practice's locality.
RATES_CONTRACT = ("LKS01", "Lakeshore commercial agreement", "0.62")
MEDICARE_CONTRACT = ("SMT22", "Summit PPO: 110% of Medicare", "110.00")
# Lakeshore pays a biopsy only with a prior authorization on file (the scrubber checks it).
PRIOR_AUTH = ("LKS01", ("11102",))
# The practice's Medicare locality by state (MAC, locality) for the demo's towns.
LOCALITIES = {"IL": ("06102", "99"), "OH": ("15202", "00"), "CO": ("04112", "01")}


def _note(ctx: Any, text: str) -> None:
    ctx.shared.setdefault("notes", []).append(text)


def _csv(rows: list[tuple[str, ...]], header: tuple[str, ...], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


# --- Code sets -----------------------------------------------------------------------------


def _load_shipped(ctx: Any, actor: Any) -> bool:
    """The shipped tables through the import services; False when the corpus is not there.

    The large demo loads them whole (`load_defaults`). The small one loads, from the same
    files and through the same imports, only the rows of the codes the demo bills (their
    RVUs, edits and limits; every place of service and GPCI): the whole tables take longer to
    load than the rest of the small demo together.
    """
    try:
        from medoffice.coding import imports
    except ImportError:  # pragma: no cover (an install without the import services)
        return False
    try:
        with transaction.atomic():
            if ctx.large:
                imports.load_defaults(actor=actor)
            else:
                _load_demo_rows(imports, actor)
    except imports.CorpusMissing:
        return False
    return True


# The columns naming the codes of each shipped file: a row is kept when all of them are codes
# the demo bills (an NCCI pair of two of them, or one code's RVUs or limit).
CODE_COLUMNS = {
    "hcpcs": ("hcpcs",),
    "ncci_ptp": ("column1_code", "column2_code"),
    "ncci_mue": ("hcpcs",),
    "ncci_add_on": ("add_on_code",),
    "mpfs_rvu": ("hcpcs",),
}


def demo_codes() -> frozenset[str]:
    return frozenset(code for code, _ in DEMO_CPT + DEMO_HCPCS)


def _demo_rows(kind: str, data: bytes) -> bytes:
    """The file cut to the header and the rows of the demo's codes (the others as they are)."""
    columns = CODE_COLUMNS.get(kind)
    if columns is None:
        return data
    wanted = demo_codes()
    lines = data.decode("utf-8-sig").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split("\t")
    where = [header.index(column) for column in columns]
    kept = [lines[0]]
    for line in lines[1:]:
        cells = line.rstrip("\r\n").split("\t")
        if all(n < len(cells) and cells[n].strip() in wanted for n in where):
            kept.append(line)
    return "".join(kept).encode() if len(kept) > 1 else b""


def _load_demo_rows(imports: Any, actor: Any) -> None:
    from pathlib import Path

    folder = imports.codes_corpus()
    missing = [path for _kind, path in imports.DEFAULT_FILES if not (folder / path).is_file()]
    if missing:
        raise imports.CorpusMissing(f"{', '.join(missing)} not in {folder.name}/")
    for kind, path in imports.DEFAULT_FILES:
        data = _demo_rows(kind, (folder / path).read_bytes())
        if data:
            imports.import_file(kind=kind, data=data, source_name=Path(path).name, actor=actor)
        if kind == "pos":
            imports.load_modifiers(actor=actor)


def _load_builtin(actor: Any, today: date) -> None:
    """The demo's HCPCS codes, a few places of service and modifiers, when nothing is shipped."""
    hcpcs = _csv(
        [(code, label, label) for code, label in DEMO_HCPCS],
        ("hcpcs", "short_description", "long_description"),
        "\t",
    )
    places = _csv(
        [
            (code, "Facility" if facility else "Non-Facility", name)
            for code, name, facility in PLACES
        ],
        ("pos_code", "facility_type", "name"),
        "\t",
    )
    try:
        from medoffice.coding import imports
    except ImportError:  # pragma: no cover
        _builtin_rows(today)
        return
    imports.import_hcpcs(
        data=hcpcs, source_name="demo_hcpcs_2024.tsv", actor=actor, label="demo built-in"
    )
    imports.import_places_of_service(data=places, source_name="demo_pos.tsv", actor=actor)
    imports.load_modifiers(actor=actor)


def _builtin_rows(today: date) -> None:  # pragma: no cover (only without the import services)
    from medoffice.coding.models import (
        CodeSetKind,
        CodeSetRelease,
        CodeSystem,
        Modifier,
        PlaceOfService,
        ProcedureCode,
    )

    release = CodeSetRelease.objects.create(
        kind=CodeSetKind.HCPCS, label="demo built-in", effective_date=date(today.year, 1, 1),
        source_name="demo built-in", sha256="demo-built-in-hcpcs", row_count=len(DEMO_HCPCS),
    )  # fmt: skip
    ProcedureCode.objects.bulk_create(
        ProcedureCode(system=CodeSystem.HCPCS, code=code, short_description=label, release=release)
        for code, label in DEMO_HCPCS
    )
    PlaceOfService.objects.bulk_create(
        PlaceOfService(code=code, name=name, is_facility=facility)
        for code, name, facility in PLACES
    )
    Modifier.objects.bulk_create(
        Modifier(code=code, description=words, ncci_bypass=bypass)
        for code, words, bypass in BUILTIN_MODIFIERS
    )


def _load_cpt(actor: Any, today: date) -> None:
    """The demo's CPT codes as the practice's own file would bring them, with neutral labels."""
    data = _csv([(code, label) for code, label in DEMO_CPT], ("CODE", "LABEL"))
    try:
        from medoffice.coding.imports import import_cpt
    except ImportError:  # pragma: no cover
        from medoffice.coding.models import CodeSetKind, CodeSetRelease, CodeSystem, ProcedureCode

        release = CodeSetRelease.objects.create(
            kind=CodeSetKind.CPT, label="demo labels", effective_date=date(today.year, 1, 1),
            source_name="demo_cpt.csv", sha256="demo-cpt", row_count=len(DEMO_CPT),
        )  # fmt: skip
        ProcedureCode.objects.bulk_create(
            ProcedureCode(system=CodeSystem.CPT, code=c, short_description=s, release=release)
            for c, s in DEMO_CPT
        )
        return
    import_cpt(
        data=data, source_name="demo_cpt_labels_2024.csv", column_map="code=CODE,short=LABEL",
        actor=actor, label="demo labels", effective=date(2024, 1, 1),
    )  # fmt: skip


# --- Fees and contracts --------------------------------------------------------------------


def _fees_start(today: date) -> date:
    return date(today.year - 2, 1, 1)


def _fees(ctx: Any, actor: Any) -> None:
    from decimal import Decimal

    from medoffice.patients.models import Payer

    start = _fees_start(ctx.today)
    named = (RATES_CONTRACT[0], MEDICARE_CONTRACT[0], PRIOR_AUTH[0])
    payers = {p.payer_id: p for p in Payer.objects.filter(payer_id__in=named)}
    locality = _locality(ctx)
    fees: Any
    try:
        from medoffice.coding import fees
    except ImportError:  # pragma: no cover (an install without the fee services)
        fees = None
    rates_payer = payers.get(RATES_CONTRACT[0])
    medicare_payer = payers.get(MEDICARE_CONTRACT[0])
    share = Decimal(RATES_CONTRACT[2])
    rates = {code: (Decimal(charge) * share).quantize(Decimal("1")) for code, charge in
             DEMO_FEES.items()}  # fmt: skip
    if fees is not None:
        fees.fee_schedule_import(
            actor=actor,
            data=_csv(
                [(code, "", charge, start.isoformat()) for code, charge in DEMO_FEES.items()],
                ("code", "modifier", "charge", "effective_from"),
            ),
            source_name="demo_fee_schedule.csv",
        )
        if rates_payer is not None:
            contract = fees.contract_create(
                actor=actor, payer=rates_payer, name=RATES_CONTRACT[1], basis="rates",
                effective_from=start,
            )  # fmt: skip
            for code, rate in rates.items():
                fees.contract_rate_set(actor=actor, contract=contract, code=code, rate=rate)
        if medicare_payer is not None and locality is not None:
            fees.contract_create(
                actor=actor, payer=medicare_payer, name=MEDICARE_CONTRACT[1],
                basis="medicare_percent", medicare_percent=MEDICARE_CONTRACT[2],
                mac=locality[0], locality=locality[1], effective_from=start,
            )  # fmt: skip
        prior_payer = payers.get(PRIOR_AUTH[0])
        if prior_payer is not None:
            fees.prior_auth_rules_set(actor=actor, payer=prior_payer, codes=PRIOR_AUTH[1])
    else:  # pragma: no cover
        _fees_rows(actor, start, rates_payer, medicare_payer, rates, locality, payers)
    if medicare_payer is not None and locality is None:
        _note(ctx, f"{MEDICARE_CONTRACT[1]}: no Medicare locality loaded (MPFS tables missing); "
                   "the contract was not made.")  # fmt: skip


def _fees_rows(
    actor, start, rates_payer, medicare_payer, rates, locality, payers
) -> None:  # pragma: no cover
    from decimal import Decimal

    from medoffice.coding.models import ContractRate, Fee, PayerContract, PriorAuthRule

    Fee.objects.bulk_create(
        Fee(code=code, charge_cents=int(Decimal(charge) * 100), effective_from=start,
            created_by=actor)
        for code, charge in DEMO_FEES.items()
    )  # fmt: skip
    if rates_payer is not None:
        contract = PayerContract.objects.create(
            payer=rates_payer, name=RATES_CONTRACT[1], basis="rates", effective_from=start,
            created_by=actor,
        )  # fmt: skip
        ContractRate.objects.bulk_create(
            ContractRate(contract=contract, code=code, rate_cents=int(rate * 100))
            for code, rate in rates.items()
        )
    if medicare_payer is not None and locality is not None:
        PayerContract.objects.create(
            payer=medicare_payer, name=MEDICARE_CONTRACT[1], basis="medicare_percent",
            medicare_percent=Decimal(MEDICARE_CONTRACT[2]), mac=locality[0],
            locality=locality[1], effective_from=start, created_by=actor,
        )  # fmt: skip
    prior_payer = payers.get(PRIOR_AUTH[0])
    if prior_payer is not None:
        PriorAuthRule.objects.bulk_create(
            PriorAuthRule(payer=prior_payer, code=code) for code in PRIOR_AUTH[1]
        )


def _locality(ctx: Any) -> tuple[str, str] | None:
    """The practice's Medicare (MAC, locality), when the GPCIs are loaded."""
    from medoffice.coding.models import MpfsGpci

    state = ctx.practice.state if ctx.practice else ""
    wanted = LOCALITIES.get(state)
    rows = MpfsGpci.objects.filter(state=state)
    if wanted and rows.filter(mac=wanted[0], locality=wanted[1]).exists():
        return wanted
    first = rows.order_by("mac", "locality").values_list("mac", "locality").first()
    return (first[0], first[1]) if first else None


# --- The step ------------------------------------------------------------------------------


def make_coding(ctx: Any) -> None:
    """Code sets (shipped or built in), the demo's CPT labels, the fees and the contracts."""
    actor = ctx.user("manager")
    shipped = _load_shipped(ctx, actor)
    ctx.shared["codes_shipped"] = shipped
    if not shipped:
        _load_builtin(actor, ctx.today)
        _note(ctx, "The shipped code tables (shared/corpus/codes) were not found: the demo "
                   f"loaded a small built-in set of {len(DEMO_CPT) + len(DEMO_HCPCS)} codes "
                   "instead (no NCCI edits, no Medicare fee schedule).")  # fmt: skip
    elif not ctx.large:
        _note(ctx, "Code sets: the small demo loads the shipped tables' rows of the codes it "
                   "bills; `medoffice codes load-defaults` loads them whole.")  # fmt: skip
    _load_cpt(actor, ctx.today)
    _fees(ctx, actor)


def register() -> None:
    from medoffice.core.demo import register_demo_step

    register_demo_step("coding", make_coding, order=32)
