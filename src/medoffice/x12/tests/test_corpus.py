"""Every 837P and 835 file of the public corpus is read; every file of BAD.tsv is refused
with the segment named. (The 270/271/276/277/277CA/999 files: test_acks_and_status.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medoffice.x12 import X12Error, read_file


def _corpus() -> Path | None:
    if os.environ.get("MEDOFFICE_X12_CORPUS"):
        return Path(os.environ["MEDOFFICE_X12_CORPUS"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "x12"
        if candidate.is_dir():
            return candidate
    return None


CORPUS = _corpus()
BAD: dict[str, str] = {}
if CORPUS is not None:
    for line in (CORPUS / "BAD.tsv").read_text().splitlines()[1:]:
        name, _tab, note = line.partition("\t")
        BAD[name] = note
# Sample files the reader refuses although BAD.tsv does not list them (placeholder text where
# amounts and segments belong; a procedure code in the wrong element).
REFUSED_SAMPLES = {
    "835/LinuxForHealth__x12__tertiary-payment.835",
    "835/affect-therapeutics__edi-835-parser__sample_835.txt",
    "835/affect-therapeutics__edi-835-parser__sample_835_with_interests.txt",
}


def _files(*folders: str) -> list[str]:
    if CORPUS is None:
        return []
    return sorted(
        f"{folder}/{path.name}" for folder in folders for path in (CORPUS / folder).iterdir()
    )


needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")


@needs_corpus
@pytest.mark.parametrize(
    "name", [n for n in _files("835", "837p") if n not in BAD and n not in REFUSED_SAMPLES]
)
def test_corpus_file_is_read_into_its_loops(name):
    assert CORPUS is not None
    document = read_file(CORPUS / name)
    transactions = list(document.transactions())
    assert transactions
    for transaction in transactions:
        assert transaction.kind != "unknown"
        if transaction.kind in ("835", "837P"):
            assert transaction.data is not None


NOT_REFUSED_YET = {"other/azoner__pyx12__per_repeat.txt"}  # needs a 4010 837 map (PER x3)


@needs_corpus
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="4010 837 not mapped"))
        if n in NOT_REFUSED_YET
        else n
        for n in sorted(BAD)
    ],
)
def test_bad_corpus_file_is_refused_with_the_segment_named(name):
    assert CORPUS is not None
    with pytest.raises(X12Error) as caught:
        read_file(CORPUS / name)
    assert caught.value.segment_number >= 1
    assert f"segment {caught.value.segment_number}" in str(caught.value)


@needs_corpus
@pytest.mark.parametrize(
    ("name", "number", "sid"),
    [
        ("837p/imsweb__x12-parser__x12_loop_errors1_exceeds_max_1_parent.txt", 15, "NM1"),
        ("837p/imsweb__x12-parser__x12_missing_elements.txt", 7, "NM1"),
        ("837p/imsweb__x12-parser__x12_segments_out_of_order.txt", 11, "REF"),
        ("835/albmarin__badX12__error_validation.edi", 2, "GS"),
        ("837p/imsweb__x12-parser__x12_no_isa_line.txt", 1, "GS"),
    ],
)
def test_bad_files_name_the_segment(name, number, sid):
    assert CORPUS is not None
    with pytest.raises(X12Error) as caught:
        read_file(CORPUS / name)
    assert (caught.value.segment_number, caught.value.segment_id) == (number, sid)
