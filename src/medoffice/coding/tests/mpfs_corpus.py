"""The few MPFS lines and localities the fee tests need, read in place from the corpus files
(`shared/corpus/codes/mpfs/`), so the arithmetic in the tests is checked against CMS's figures."""

from __future__ import annotations

import csv
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from medoffice.coding.models import CodeSetKind, CodeSetRelease, MpfsGpci, MpfsRvu, PlaceOfService

RVU_FILE = "pfs_national_rvu_2024_jul.tsv"
GPCI_FILE = "pfs_gpci_2024_jul.tsv"
JULY_2024 = date(2024, 7, 1)


def mpfs_folder() -> Path | None:
    if os.environ.get("MEDOFFICE_MPFS_CORPUS"):
        return Path(os.environ["MEDOFFICE_MPFS_CORPUS"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "codes" / "mpfs"
        if candidate.is_dir():
            return candidate
    return None


def _folder() -> Path:
    folder = mpfs_folder()
    if folder is None:
        pytest.skip("the shared corpus (shared/corpus/codes/mpfs) is not next to the repository")
    return folder


def _release(kind: str, label: str, effective: date) -> CodeSetRelease:
    return CodeSetRelease.objects.create(
        kind=kind, label=label, effective_date=effective, source_name=label,
        sha256=f"{kind}-{label}".ljust(64, "0")[:64],
    )  # fmt: skip


def load_rvus(codes: set[str], *, effective: date = JULY_2024) -> CodeSetRelease:
    """The corpus file's national lines (all modifiers) of `codes`, as one release."""
    release = _release(CodeSetKind.MPFS_RVU, f"2024 July {effective}", effective)
    with (_folder() / RVU_FILE).open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["hcpcs"] in codes]
    assert {row["hcpcs"] for row in rows} == codes, "a code the test needs is not in the file"
    MpfsRvu.objects.bulk_create(
        MpfsRvu(
            code=row["hcpcs"],
            modifier=row["modifier"],
            status_code=row["status_code"],
            pctc_indicator=row["pctc_indicator"],
            global_days=row["global_days"],
            work_rvu=Decimal(row["work_rvu"]),
            non_facility_pe_rvu=Decimal(row["non_facility_pe_rvu"]),
            facility_pe_rvu=Decimal(row["facility_pe_rvu"]),
            mp_rvu=Decimal(row["mp_rvu"]),
            conversion_factor=Decimal(row["conversion_factor"]),
            non_facility_na=row["non_facility_na_indicator"] == "NA",
            facility_na=row["facility_na_indicator"] == "NA",
            release=release,
        )
        for row in rows
    )
    return release


def load_gpcis(localities: set[tuple[str, str]], *, effective: date = JULY_2024) -> CodeSetRelease:
    release = _release(CodeSetKind.MPFS_GPCI, f"2024 July GPCI {effective}", effective)
    with (_folder() / GPCI_FILE).open(newline="") as handle:
        rows = [
            row for row in csv.DictReader(handle, delimiter="\t")
            if (row["mac"], row["locality"]) in localities
        ]  # fmt: skip
    assert {(row["mac"], row["locality"]) for row in rows} == localities
    MpfsGpci.objects.bulk_create(
        MpfsGpci(
            mac=row["mac"],
            locality=row["locality"],
            state=row["state"],
            name=row["locality_name"][:120],
            work_gpci=Decimal(row["gpci_work"]),
            pe_gpci=Decimal(row["gpci_pe"]),
            mp_gpci=Decimal(row["gpci_mp"]),
            release=release,
        )
        for row in rows
    )
    return release


def places_of_service() -> None:
    """Office (non-facility) and outpatient hospital and inpatient (facility)."""
    for code, name, facility in (
        ("11", "Office", False),
        ("19", "Off Campus-Outpatient Hospital", True),
        ("21", "Inpatient Hospital", True),
        ("22", "On Campus-Outpatient Hospital", True),
    ):
        PlaceOfService.objects.get_or_create(
            code=code, defaults={"name": name, "is_facility": facility}
        )
