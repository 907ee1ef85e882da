"""837P batches written, read back by our reader field for field, and validated by pyx12 (an
independent implementation of the 005010X222A1 guide) with no errors."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from decimal import Decimal

import pytest

from medoffice.x12 import Delimiters, X12Error, read
from medoffice.x12.transactions import professional_claim as pc
from medoffice.x12.transactions.professional_claim_writer import (
    Address,
    BillingProvider,
    Claim,
    ClaimBatch,
    Drug,
    Payer,
    Person,
    Provider,
    Receiver,
    ServiceLine,
    Submitter,
    write_batch,
)

D = Decimal
DAY = dt.date(2026, 11, 16)
TWELVE = [
    "J06.9", "R05.1", "R50.9", "J02.9", "R07.0", "H66.90",
    "R51.9", "J01.90", "R09.81", "J30.9", "R06.2", "E11.9",
]  # fmt: skip


def _address(line: str = "123 Main Street") -> Address:
    return Address(line, "Springfield", "IL", "627011234")


def _payer() -> Payer:
    return Payer("ACME HEALTH PLAN", "60054", _address("PO Box 100"))


def _subscriber(last: str = "SMITH", member: str = "W123456789") -> Person:
    return Person(last, "JOHN", dt.date(1970, 5, 1), "M", _address("45 Elm Street"), "Q", "",
                  member)  # fmt: skip


RENDERING = Provider("JONES", "MARY", "1234567893", "207Q00000X")
REFERRING = Provider("BROWN", "ALAN", "1245319599")
SUPERVISING = Provider("GREEN", "EVE", "1003000126")


def self_claim() -> Claim:
    """The subscriber is the patient; 12 diagnoses, 4 modifiers and 4 pointers; a drug line."""
    return Claim(
        control_number="PCN1001",
        subscriber=_subscriber(),
        payer=_payer(),
        diagnoses=TWELVE,
        group_number="GRP01",
        prior_authorization="AUTH778",
        onset_date=dt.date(2026, 11, 10),
        initial_treatment_date=dt.date(2026, 11, 12),
        rendering=RENDERING,
        referring=REFERRING,
        supervising=SUPERVISING,
        lines=[
            ServiceLine(
                "99214",
                D("150.00"),
                D("1"),
                DAY,
                (1, 2, 3, 4),
                ("25", "59", "XS", "76"),
                control_number="L1",
            ),
            ServiceLine(
                "J3420",
                D("40.5"),
                D("2"),
                DAY,
                (12,),
                control_number="L2",
                drug=Drug("00009737601", D("1.5"), "ML"),
            ),
            ServiceLine("96372", D("25.25"), D("1"), DAY, (5, 6)),
        ],
    )


def dependent_claim(frequency: str = "1", payer_claim: str = "", pcn: str = "PCN2001") -> Claim:
    return Claim(
        control_number=pcn,
        subscriber=_subscriber("DOE", "W987654321"),
        payer=_payer(),
        relationship="19",
        patient=Person("DOE", "JANE", dt.date(2015, 3, 9), "F", _address("9 Oak Road")),
        diagnoses=["J06.9"],
        frequency_code=frequency,
        payer_claim_number=payer_claim,
        rendering=RENDERING,
        lines=[ServiceLine("99213", D("100"), D("1"), DAY)],
    )


def batch(*claims: Claim, pay_to: bool = True) -> ClaimBatch:
    return ClaimBatch(
        submitter=Submitter("MEDOFFICE CLINIC", "S12345", "BILLING DESK", phone="2175550100"),
        receiver=Receiver("CLEARINGHOUSE", "CH001"),
        billing_provider=BillingProvider(
            "MEDOFFICE CLINIC", "1497758544", "37-1234567", "207Q00000X", _address()
        ),
        pay_to=_address("PO Box 55") if pay_to else None,
        claims=list(claims),
        reference="BATCH0001",
        created=dt.datetime(2026, 11, 20, 9, 30),
        interchange_control_number=17,
        group_control_number=17,
        transaction_control_number=1,
        sender_id="S12345",
        receiver_id="CH001",
        usage="T",
    )


ALL = (
    self_claim(),
    dependent_claim(),
    dependent_claim("7", "PAYERCLM77", "PCN2002"),
    dependent_claim("8", "PAYERCLM88", "PCN2003"),
)


def _claims(data: bytes) -> list[pc.Claim]:
    document = read(data, strict=True)
    (transaction,) = list(document.transactions())
    assert transaction.kind == "837P"
    assert isinstance(transaction.data, pc.ProfessionalClaims)
    assert transaction.warnings == []
    return transaction.data.claims()


def test_the_claims_come_back_equal():
    data = write_batch(batch(*ALL))
    claims = _claims(data)
    assert [c.claim_id for c in claims] == ["PCN1001", "PCN2001", "PCN2002", "PCN2003"]
    first = claims[0]
    assert first.charge == D("215.75")
    assert (first.place_of_service, first.facility_qualifier, first.frequency_code) == (
        "11", "B", "1",
    )  # fmt: skip
    assert first.prior_authorization == "AUTH778" and first.payer_claim_number == ""
    assert [(d.qualifier, d.code) for d in first.diagnoses] == [
        ("ABK", "J069"),
        *[("ABF", code.replace(".", "")) for code in TWELVE[1:]],
    ]
    assert [(q, s) for q, s, _e in first.dates] == [
        ("431", dt.date(2026, 11, 10)), ("454", dt.date(2026, 11, 12)),
    ]  # fmt: skip
    rendering, referring, supervising = (first.provider(c) for c in ("82", "DN", "DQ"))
    assert rendering and (rendering.name, rendering.identifier) == ("JONES", "1234567893")
    assert rendering.reference("PXC") == "207Q00000X"
    assert referring and referring.identifier == "1245319599"
    assert supervising and supervising.identifier == "1003000126"
    one, drug, three = first.service_lines
    assert (one.code, one.modifiers, one.charge, one.units, one.diagnosis_pointers) == (
        "99214", ["25", "59", "XS", "76"], D("150"), D("1"), [1, 2, 3, 4],
    )  # fmt: skip
    assert one.service_date == DAY and ("6R", "L1") in one.references
    assert drug.drug is not None
    assert (drug.drug.qualifier, drug.drug.code, drug.drug.quantity, drug.drug.unit) == (
        "N4", "00009737601", D("1.5"), "ML",
    )  # fmt: skip
    assert (drug.charge, drug.units, drug.diagnosis_pointers) == (D("40.5"), D("2"), [12])
    assert three.charge == D("25.25") and three.diagnosis_pointers == [5, 6]
    assert [c.payer_claim_number for c in claims[:2]] == ["", ""]
    replacement, void = claims[2], claims[3]
    assert (replacement.frequency_code, replacement.payer_claim_number) == ("7", "PAYERCLM77")
    assert (void.frequency_code, void.payer_claim_number) == ("8", "PAYERCLM88")


def test_the_hierarchy_puts_dependents_under_their_subscriber():
    data = write_batch(batch(*ALL))
    document = read(data)
    (transaction,) = list(document.transactions())
    assert isinstance(transaction.data, pc.ProfessionalClaims)
    (billing,) = transaction.data.billing_providers
    assert billing.provider.identifier == "1497758544" and billing.taxonomy == "207Q00000X"
    assert billing.provider.reference("EI") == "371234567"
    assert billing.pay_to is not None and billing.pay_to.address is not None
    assert billing.pay_to.address.lines == ["PO Box 55"]
    own, family = billing.subscribers
    assert own.relationship == "18" and [c.claim_id for c in own.claims] == ["PCN1001"]
    assert own.subscriber.identifier == "W123456789" and own.payer.identifier == "60054"
    assert own.subscriber.birth_date == dt.date(1970, 5, 1) and own.group_number == "GRP01"
    assert family.relationship == "" and family.claims == []
    (patient,) = family.patients
    assert patient.relationship == "19" and patient.patient.first_name == "JANE"
    assert patient.patient.birth_date == dt.date(2015, 3, 9) and patient.patient.gender == "F"
    assert [c.claim_id for c in patient.claims] == ["PCN2001", "PCN2002", "PCN2003"]
    text = data.decode()
    hls = [s for s in text.split("~") if s.startswith("HL*")]
    assert hls == ["HL*1**20*1", "HL*2*1*22*0", "HL*3*1*22*1", "HL*4*3*23*0"]


def test_more_than_100_claims_of_one_subscriber_start_another_level():
    """Loop 2300 repeats at most 100 times under a level (the reader holds that limit)."""
    own = [dependent_claim(pcn=f"S{n}") for n in range(150)]
    for claim in own:
        claim.relationship, claim.patient = "18", None
    dependents = [dependent_claim(pcn=f"D{n}") for n in range(101)]
    data = write_batch(batch(*own, *dependents))
    document = read(data, strict=True)
    (transaction,) = list(document.transactions())
    assert isinstance(transaction.data, pc.ProfessionalClaims)
    (billing,) = transaction.data.billing_providers
    assert [len(s.claims) for s in billing.subscribers] == [100, 50, 0]
    assert [len(p.claims) for p in billing.subscribers[2].patients] == [100, 1]
    assert len(transaction.data.claims()) == 251


def test_a_large_batch_is_split_into_transaction_sets(monkeypatch):
    from medoffice.x12.transactions import professional_claim_writer as writer

    monkeypatch.setattr(writer, "MAX_CLAIMS_PER_TRANSACTION", 2)
    claims = [dependent_claim(pcn=f"D{n}") for n in range(5)]
    document = read(write_batch(batch(*claims)), strict=True)
    transactions = list(document.transactions())
    assert [t.control_number for t in transactions] == ["0001", "0002", "0003"]
    assert [len(t.data.claims()) for t in transactions] == [2, 2, 1]
    assert document.interchanges[0].groups[0].control_number == "17"


def test_envelopes_and_counts():
    data = write_batch(batch(*ALL), line_break=True)
    lines = data.decode("ascii").splitlines()
    isa = lines[0]
    assert len(isa) == 106 and isa.endswith(":~")
    assert isa.split("*")[6] == "S12345".ljust(15) and isa.split("*")[13] == "000000017"
    assert isa.split("*")[9:12] == ["261120", "0930", "^"]
    assert lines[1] == "GS*HC*S12345*CH001*20261120*0930*17*X*005010X222A1~"
    assert lines[2] == "ST*837*0001*005010X222A1~"
    se = lines[-3]
    assert se == f"SE*{len(lines) - 4}*0001~"
    assert lines[-2:] == ["GE*1*17~", "IEA*1*000000017~"]
    document = read(data, strict=True)
    assert document.interchanges[0].control_number == "000000017"


def test_money_is_written_without_trailing_zeros():
    from medoffice.x12.writer import amount

    assert [amount(D(v), "x") for v in ("100.00", "100.50", "100.25", "0.00", "-3.10")] == [
        "100", "100.5", "100.25", "0", "-3.1",
    ]  # fmt: skip
    assert amount(1000, "x") == "1000"
    with pytest.raises(X12Error, match="not a Decimal"):
        amount(100.5, "CLM02")
    with pytest.raises(X12Error, match="more than 2 decimal places"):
        amount(D("1.005"), "CLM02")


def test_other_delimiters_and_uppercase_read_back():
    data = write_batch(
        batch(*ALL), delimiters=Delimiters("|", "!", ">", "\\"), line_break=True, uppercase=True
    )
    assert b"SV1|HC>99214>25>59>XS>76|150|UN|1|||1>2>3>4\\" in data
    claims = _claims(data)
    assert [c.claim_id for c in claims] == ["PCN1001", "PCN2001", "PCN2002", "PCN2003"]
    assert claims[0].service_lines[0].modifiers == ["25", "59", "XS", "76"]


def test_refusals_name_what_is_wrong():
    with pytest.raises(X12Error, match=r"frequency 7 or 8\) needs the payer's claim control"):
        write_batch(batch(dependent_claim("7")))
    with pytest.raises(X12Error, match="pointer 2 is not one of the claim's 1 diagnoses"):
        claim = dependent_claim()
        claim.lines = [ServiceLine("99213", D("100"), D("1"), DAY, (2,))]
        write_batch(batch(claim))
    claim = dependent_claim()
    claim.patient = None
    with pytest.raises(X12Error, match="the patient is required"):
        write_batch(batch(claim))
    claim = self_claim()
    claim.diagnoses = [*TWELVE, "Z00.00"]
    with pytest.raises(X12Error, match="at most 12"):
        write_batch(batch(claim))


def _pyx12_errors(data: bytes, tmp_path) -> tuple[bool, list[str], str]:
    pyx12_params = pytest.importorskip("pyx12.params")
    pyx12_document = pytest.importorskip("pyx12.x12n_document")
    source = tmp_path / "claims.837"
    source.write_bytes(data)
    ack, errors = io.StringIO(), io.StringIO()
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    handler.setLevel(logging.ERROR)
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        valid = pyx12_document.x12n_document(
            param=pyx12_params.params(),
            src_file=str(source),
            fd_997=ack,
            fd_html=None,
            fd_json=errors,
        )
    finally:
        logger.removeHandler(handler)
    problems = _errors_in(json.loads(errors.getvalue()))
    problems += [line for line in logged.getvalue().splitlines() if line]
    return valid, problems, ack.getvalue()


def _errors_in(node: object) -> list[str]:
    """Every error of pyx12's JSON report (interchange, group, transaction, segment, element)."""
    found: list[str] = []
    if isinstance(node, dict):
        for error in node.get("errors") or []:
            found.append(error.get("err_str", str(error)) if isinstance(error, dict) else error)
        for key, value in node.items():
            if key != "errors":
                found.extend(_errors_in(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_errors_in(item))
    return found


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(ALL, id="all"),
        pytest.param((self_claim(),), id="subscriber-is-patient"),
        pytest.param((dependent_claim(),), id="dependent"),
        pytest.param((dependent_claim("7", "PAYERCLM77"),), id="replacement"),
        pytest.param((dependent_claim("8", "PAYERCLM88"),), id="void"),
    ],
)
@pytest.mark.parametrize(
    ("line_break", "delimiters"),
    [(False, None), (True, None), (True, Delimiters("|", "!", ">", "\\"))],
    ids=["one-line", "line-breaks", "other-delimiters"],
)
def test_pyx12_finds_no_error(claims, line_break, delimiters, tmp_path):
    data = write_batch(
        batch(*claims, pay_to=len(claims) > 1), delimiters=delimiters, line_break=line_break
    )
    valid, problems, ack = _pyx12_errors(data, tmp_path)
    assert problems == []
    assert valid, ack
    assert "IK5*A" in ack and "AK9*A*1*1*1" in ack


def test_pyx12_does_find_errors_in_a_broken_file(tmp_path):
    """The validation above can fail: the same batch with a service date broken."""
    data = write_batch(batch(self_claim())).replace(b"*472*D8*20261116", b"*472*D8*20261199")
    valid, problems, ack = _pyx12_errors(data, tmp_path)
    assert not valid
    assert "IK5*R" in ack and "AK9*R" in ack
    assert any("invalid date (20261199)" in problem for problem in problems)
