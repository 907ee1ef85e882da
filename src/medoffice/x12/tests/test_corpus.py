"""Every 837P and 835 file of the public corpus is read; every file of BAD.tsv is refused
with the segment named, and so is each file of MALFORMED, for its reason. (The
270/271/276/277/277CA/999 files: test_acks_and_status.py.)"""

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
# Files BAD.tsv does not list that are malformed all the same, and so refused: (segment
# number, segment id, the reason). Each was looked at by hand; none is what a payer's or
# clearinghouse's software sends (placeholder text, a truncated file, an impossible value).
MALFORMED: dict[str, tuple[int, str, str]] = {
    # SVC*HC*24599.00*1766.50*187.50**1: the procedure code sits where the charge belongs,
    # every amount after it one element off.
    "835/LinuxForHealth__x12__tertiary-payment.835": (
        20,
        "SVC",
        "SVC01 (procedure) needs a qualifier and a code",
    ),
    # A template: CAS*grp_code*reason_code*amount*quantity, PLB*...*resnCode>adjID>5***
    "835/affect-therapeutics__edi-835-parser__sample_835.txt": (
        162,
        "PLB",
        "PLB04 (adjustment amount) is required",
    ),
    # The same template, its PLB placeholder broken onto a segment of its own.
    "835/affect-therapeutics__edi-835-parser__sample_835_with_interests.txt": (
        165,
        "res",
        "'resnCode>adjID>5' is not a segment id",
    ),
    # Cut off after its SE: no GE, no IEA.
    "271/aaronhuggins__node-x12__271.edi": (
        40,
        "SE",
        "the file ends inside functional group 123456 (GE missing)",
    ),
    # Cut off after its tenth segment: no SE, GE, IEA.
    "277ca/Inteligenz__X12Parser__FromBogeyone.txt": (
        10,
        "HL",
        "the file ends inside transaction set 0001 (SE missing)",
    ),
    # Keyboard noise: ISA09 "3434  ", ISA12 "343434", dates such as 201254545.
    "277ca/Inteligenz__X12Parser__FromLatitude81uk.txt": (
        1,
        "ISA",
        "ISA12 is 6 characters where the standard fixes 5",
    ),
    # GS05 10:24:97, a time that does not exist.
    "999/imsweb__x12-parser__x12_999_accepted.txt": (
        2,
        "GS",
        "GS05 (group time) '102497' is not a real time of day",
    ),
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
    "name", [n for n in _files("835", "837p") if n not in BAD and n not in MALFORMED]
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


@needs_corpus
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_corpus_file_is_refused_for_its_reason(name):
    assert CORPUS is not None
    assert name not in BAD
    number, sid, reason = MALFORMED[name]
    with pytest.raises(X12Error) as caught:
        read_file(CORPUS / name)
    assert (caught.value.segment_number, caught.value.segment_id) == (number, sid)
    assert reason in caught.value.message


@needs_corpus
@pytest.mark.parametrize("name", sorted(BAD))
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
        # three submitter contacts (PER) in loop 1000A, which allows two
        ("other/azoner__pyx12__per_repeat.txt", 9, "PER"),
    ],
)
def test_bad_files_name_the_segment(name, number, sid):
    assert CORPUS is not None
    with pytest.raises(X12Error) as caught:
        read_file(CORPUS / name)
    assert (caught.value.segment_number, caught.value.segment_id) == (number, sid)
