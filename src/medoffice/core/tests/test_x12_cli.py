"""`medoffice x12 read FILE [--json]`: a corpus 835, an 837P our writer made, a malformed file
(the segment named on stderr, a non-zero exit) and a missing file; no --as needed."""

from __future__ import annotations

import json

import pytest

from medoffice import cli
from medoffice.testing.ops import one_line
from medoffice.x12.tests.test_corpus import CORPUS
from medoffice.x12.tests.test_professional_claim_writer import ALL, batch
from medoffice.x12.transactions.professional_claim_writer import write_batch

needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")
DEMO_835 = "835/LinuxForHealth__x12__demo.835"
BAD_837 = "837p/imsweb__x12-parser__x12_missing_elements.txt"


@needs_corpus
def test_an_835_is_described(capsys):
    assert CORPUS is not None
    assert cli.main(["x12", "read", str(CORPUS / DEMO_835)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "Interchange 000000907: from 30/000000005 to 30/12345, 2013-10-31 11:47, test, 1 group(s)"
    )
    assert out[1:4] == ["Transactions: 835 x 1", "Segments: 32", "Claims (835): 2"]
    assert out[4].split() == [
        "666123", "status", "1", "charge", "211366.97", "paid", "138018.40",
        "payer", "claim", "1999999444444",
    ]  # fmt: skip


@needs_corpus
def test_an_835_as_json_keeps_amounts_exact(capsys):
    assert CORPUS is not None
    assert cli.main(["x12", "read", str(CORPUS / DEMO_835), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["segments"] == 32 and summary["transactions"] == {"835": 1}
    (interchange,) = summary["interchanges"]
    assert (interchange["control_number"], interchange["date"], interchange["time"]) == (
        "000000907", "2013-10-31", "11:47",
    )  # fmt: skip
    assert [(c["control_number"], c["charge"], c["paid"]) for c in summary["claims"]] == [
        ("666123", "211366.97", "138018.40"),
        ("777777", "15000.00", "11980.33"),
    ]


def test_an_837p_lists_its_claims(tmp_path, capsys):
    path = tmp_path / "batch.837"
    path.write_bytes(write_batch(batch(*ALL)))
    assert cli.main(["x12", "read", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["transactions"] == {"837P": 1} and summary["warnings"] == []
    assert [(c["control_number"], c["charge"], c["frequency_code"]) for c in summary["claims"]] == [
        ("PCN1001", "215.75", "1"), ("PCN2001", "100", "1"),
        ("PCN2002", "100", "7"), ("PCN2003", "100", "8"),
    ]  # fmt: skip
    assert cli.main(["x12", "read", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "Claims (837P): 4" in out
        and "PCN2003  charge 100  frequency 8  payer claim PAYERCLM88" in out
    )


@needs_corpus
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_bad_file_names_the_segment_and_exits_non_zero(extra, capsys):
    assert CORPUS is not None
    assert cli.main(["x12", "read", str(CORPUS / BAD_837), *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert one_line(captured.err) == (
        "medoffice: segment 7 (NM1): NM102 (entity type qualifier) is required"
    )


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert cli.main(["x12", "read", str(tmp_path / "nothing.835")]) == 1
    assert "cannot open" in one_line(capsys.readouterr().err)
