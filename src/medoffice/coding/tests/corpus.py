"""Where the tests find the shared code tables (read in place, never copied), and files of
their own making."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _corpus() -> Path | None:
    if os.environ.get("MEDOFFICE_CODES_CORPUS"):
        return Path(os.environ["MEDOFFICE_CODES_CORPUS"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "codes"
        if candidate.is_dir():
            return candidate
    return None


CORPUS = _corpus()
needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared code tables are not here")


def corpus_bytes(path: str) -> bytes:
    assert CORPUS is not None
    return (CORPUS / path).read_bytes()


HCPCS = "hcpcs/hcpcs_level2_2024.tsv"
POS = "pos/cms_place_of_service.tsv"
PTP = "ncci/ncci_ptp_practitioner_2024q3_sample.tsv"
MUE = "ncci/ncci_mue_practitioner_2024q3.tsv"
ADD_ON = "ncci/ncci_add_on_code_edits_2024.tsv"
RVU = "mpfs/pfs_national_rvu_2024_jul.tsv"
GPCI = "mpfs/pfs_gpci_2024_jul.tsv"

# A CPT file as a practice's licensed one might look: made up here (no CPT descriptors ship).
CPT_CSV = (
    b"CPT_CODE,SHORT,LONG,START,END\n"
    b"99213,Office visit est low,Office or other outpatient visit (made-up wording),2021-01-01,\n"
    b"99214,Office visit est mod,Office or other outpatient visit (moderate),2021-01-01,\n"
    b"36415,Venipuncture,Collection of venous blood (made-up wording),1995-01-01,\n"
    b"0001U,Lab test,A proprietary lab analysis,2017-01-01,2023-12-31\n"
)
CPT_MAP = "code=CPT_CODE,short=SHORT,long=LONG,effective=START,termination=END"
