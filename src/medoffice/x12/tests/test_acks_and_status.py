"""999, 277CA, 277, 276, 270 and 271 read into their data classes: every corpus file of
those types, concrete values read by eye from a few of them, and malformed variants refused
with the segment named."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from medoffice.x12 import X12Error, codes, read, read_file
from medoffice.x12.tests.test_corpus import BAD, CORPUS, MALFORMED, needs_corpus
from medoffice.x12.transactions.claim_status import ClaimStatusTransaction
from medoffice.x12.transactions.eligibility import Eligibility
from medoffice.x12.transactions.implementation_ack import ImplementationAck

FOLDERS = ("270", "271", "276", "277", "277ca", "999")
# Files of these types elsewhere in the corpus (999s stored beside the 837s they answer).
ELSEWHERE = (
    "837p/UHIN__x12-parser-library__837.edi.997",
    "837p/albmarin__badX12__X222-oxygen.edi.997",
    "other/imsweb__x12-parser__x271.txt",
)
DATA_TYPES = {
    "999": ImplementationAck,
    "277CA": ClaimStatusTransaction,
    "277": ClaimStatusTransaction,
    "276": ClaimStatusTransaction,
    "270": Eligibility,
    "271": Eligibility,
}


def _files() -> list[str]:
    if CORPUS is None:
        return []
    names = [f"{folder}/{path.name}" for folder in FOLDERS for path in (CORPUS / folder).iterdir()]
    return sorted(n for n in [*names, *ELSEWHERE] if n not in BAD)


def _read(name: str):
    assert CORPUS is not None
    return read_file(CORPUS / name)


def _data(name: str, index: int = 0):
    return list(_read(name).transactions())[index].data


@needs_corpus
@pytest.mark.parametrize("name", [n for n in _files() if n not in MALFORMED])
def test_corpus_file_is_built_into_its_data(name):
    transactions = list(_read(name).transactions())
    assert transactions
    for transaction in transactions:
        assert isinstance(transaction.data, DATA_TYPES[transaction.kind]), transaction.kind


# --- 999 ---------------------------------------------------------------------------------


@needs_corpus
def test_999_with_a_partly_accepted_group():
    ack = _data("999/Inteligenz__X12Parser__DHS_Wisconsin_Sample.txt")
    assert (ack.functional_id, ack.group_control_number, ack.version) == (
        "HC",
        "17456",
        "004010X098A1",
    )
    assert [(s.control_number, s.code) for s in ack.transaction_sets] == [
        ("0001", "A"),
        ("002", "R"),
        ("0003", "R"),
    ]
    first, second, third = ack.transaction_sets
    assert first.accepted and not second.accepted
    assert second.error_codes == ("5",)
    assert second.error_descriptions == ["One or more segments in error"]
    (clm,) = second.segment_errors
    assert (clm.segment_id, clm.position, clm.loop, clm.code) == ("CLM", 22, "", "8")
    assert clm.description == "Segment has data element errors"
    assert clm.business_unit() == "123456789"
    (element,) = clm.element_errors
    assert (element.position, element.element_reference, element.code) == (2, "782", "1")
    assert element.description == "Required data element missing"
    (ref,) = third.segment_errors
    assert (ref.segment_id, ref.position, ref.code) == ("REF", 57, "3")
    assert ref.description == "Required segment missing"
    trigger = ref.contexts[0]
    assert (trigger.name, trigger.segment_id, trigger.segment_position) == (
        "SITUATIONAL TRIGGER",
        "CLM",
        43,
    )
    assert third.claim_ids == ["987654321"]
    assert (ack.code, ack.sets_included, ack.sets_received, ack.sets_accepted) == ("P", 3, 3, 1)
    assert ack.description == "Partially accepted, at least one transaction set was rejected"
    assert not ack.accepted


@needs_corpus
def test_999_element_errors_keep_the_bad_value():
    ack = _data("837p/albmarin__badX12__X222-oxygen.edi.997")
    (response,) = ack.transaction_sets
    assert response.set_id == "837" and response.implementation == "005010X222A1"
    assert [(e.segment_id, e.position) for e in response.segment_errors] == [
        ("PWK", 22),
        ("PWK", 45),
    ]
    element = response.segment_errors[1].element_errors[0]
    assert (element.position, element.element_reference, element.code, element.bad_value) == (
        2,
        "756",
        "7",
        "AD",
    )
    assert element.description == "Invalid code value"
    assert response.description == "Rejected"
    assert (ack.code, ack.sets_accepted) == ("R", 0)


@needs_corpus
def test_999_accepted_and_several_per_file():
    ack = _data("999/Project-Herophilus__Project-Herophilus-Assets__999_Sample_Accepted_.txt")
    assert (ack.group_control_number, ack.version) == ("28", "005010X223A2")
    response = ack.response_for("0028")
    assert response is not None and response.accepted and response.segment_errors == ()
    assert ack.accepted and ack.response_for("9999") is None
    acks = [t.data for t in _read("999/azoner__pyx12__834_lui_id_5010.999.txt").transactions()]
    assert len(acks) == 4
    assert {(a.functional_id, a.group_control_number, a.code) for a in acks} == {
        ("BE", "13360001", "A")
    }


# --- 277CA -------------------------------------------------------------------------------


@needs_corpus
def test_277ca_rejected_claim():
    status = _data("277ca/imsweb__x12-parser__x12_277CA_rejected.txt")
    assert status.kind == "277CA" and status.transaction_type == "TH"
    assert status.created == dt.date(2011, 3, 11)
    (claim,) = status.claims()
    assert claim.patient_control_number == "3920394930203"
    assert claim.payer_claim_number == "1107000000001120"
    assert claim.billing_type == "731"
    assert claim.charge == Decimal("199.14")
    assert claim.service_period == (dt.date(2009, 3, 11), dt.date(2009, 3, 11))
    (stc,) = claim.statuses
    (code,) = stc.codes
    assert (code.category, code.code, code.entity) == ("A7", "562", "85")
    assert stc.effective_date == dt.date(2011, 3, 11) and stc.action_code == "WQ"
    assert claim.rejected and not claim.accepted
    assert stc.descriptions == [
        "Acknowledgement/Rejected for invalid information: "
        "Entity's National Provider Identifier (NPI) (Billing provider)"
    ]
    assert claim.patient is not None and claim.patient.full_name == "CLIFNAME CLIMI CLILNAME"
    assert claim.patient.identifier == "XX99999X"
    assert claim.provider is not None and claim.provider.name == "PROVLNAME"
    assert claim.payer is not None and claim.payer.name == "NYSDOH"
    assert status.claim("3920394930203") is claim
    # the receiver level: accepted count and amount of the batch
    (source,) = status.sources
    (receiver,) = source.children
    assert receiver.trace_number == "11200001"
    assert receiver.statuses[0].codes[0].category == "A1"
    assert receiver.quantities == {"90": Decimal(1)}
    assert receiver.amounts == {"YU": Decimal("199.14")}
    assert [d[0] for d in source.dates] == ["050", "009"]


@needs_corpus
def test_277ca_accepted_claim():
    status = _data("277ca/imsweb__x12-parser__x12_277CA_accepted.txt")
    (claim,) = status.claims()
    assert claim.patient_control_number == "5781"
    assert claim.payer_claim_number == "1107000000014420"
    assert claim.accepted and not claim.rejected
    assert (claim.status.category, claim.status.code) == ("A2", "20")
    assert claim.status.codes[0].description == (
        "Acknowledgement/Acceptance into adjudication system: Accepted for processing"
    )
    assert claim.charge == Decimal("125")


@needs_corpus
def test_277ca_repeated_statuses_and_several_providers():
    status = _data("277ca/Inteligenz__X12Parser__277_Deidentified_from_nth.txt")
    claims = status.claims()
    assert len(claims) == 3
    assert [len(c.statuses) for c in claims] == [3, 3, 3]
    assert [c.service_period[0] for c in claims if c.service_period] == [
        dt.date(2012, 1, 9),
        dt.date(2011, 3, 16),
        dt.date(2011, 10, 10),
    ]
    assert {c.statuses[0].action_code for c in claims} == {"U"}
    assert [c.charge for c in claims] == [Decimal(220), Decimal(340), Decimal(340)]
    providers = [level for level in status.levels() if level.code == "19"]
    assert [p.amounts["YY"] for p in providers] == [Decimal(220), Decimal(680)]


# --- 277 ---------------------------------------------------------------------------------


@needs_corpus
def test_277_claim_status_response():
    status = _data("277/LinuxForHealth__x12__demo.277")
    assert status.kind == "277" and status.transaction_type == "DG"
    claims = status.claims()
    assert [c.patient_control_number for c in claims] == ["SM123456", "J0234567", "MA345678"]
    assert [c.trace_number for c in claims] == ["ABCXYZ1", "ABCXYZ2", "ABCXYC3"]
    first, second, third = claims
    assert (first.status.category, first.status.code) == ("P3", "317")
    assert first.charge == Decimal("8513.88")
    assert second.status.paid == Decimal("7599.00")
    assert second.status.effective_date == dt.date(2005, 9, 15)
    assert second.status.codes[0].category_description.startswith("Finalized")
    code = third.status.codes[0]
    assert (code.category, code.code, code.entity) == ("F2", "88", "QC")
    assert third.patient.full_name == "JOSEPH MANN"
    assert third.subscriber.full_name == "JOHN MANN"
    assert third.provider.name == "HOME HOSPITAL PHYSICIANS"
    (line,) = third.service_lines
    assert (line.qualifier, line.code, line.charge, line.paid, line.units) == (
        "HC",
        "99203",
        Decimal("150.00"),
        Decimal("0.00"),
        Decimal("1.00"),
    )
    assert line.statuses[0].codes[0].category == "F2"
    assert line.service_period == (dt.date(2005, 5, 1), dt.date(2005, 5, 1))


@needs_corpus
def test_277_message_code_list_and_drug_line():
    status = _data("277/imsweb__x12-parser__x12_277_x212.txt")
    claims = status.claims()
    assert len(status.sources) == len(claims) == 8
    assert claims[0].status.message == "PAYER ACKNOWLEDGED RECEIPT OF THE CLAIM"
    assert claims[0].patient_control_number == "12345"  # REF*EJ, not the trace number
    assert claims[0].trace_number == "0000001"
    ncpdp = _data("277/LinuxForHealth__x12__claim-level-status-ncpdp.277")
    code = ncpdp.claims()[0].status.codes[0]
    assert (code.category, code.code, code.entity, code.code_list) == ("F2", "80", "", "RX")
    drug = _data(
        "277/Project-Herophilus__Project-Herophilus-Assets__277Sample_276Resp-ClaimInfo_.txt"
    )
    (claim,) = drug.claims()
    assert claim.clearinghouse_trace_number == "20041513010001"
    (line,) = claim.service_lines
    assert (line.qualifier, line.code, line.charge, line.paid, line.units) == (
        "N4",
        "10337080301",
        Decimal("524.49"),
        Decimal("389.73"),
        Decimal("100.00"),
    )


# --- 276 ---------------------------------------------------------------------------------


@needs_corpus
def test_276_claim_status_request():
    request = _data("276/LinuxForHealth__x12__claim-level-status.276")
    assert request.kind == "276" and request.purpose == "13"
    claims = request.claims()
    assert [(c.trace_type, c.trace_number) for c in claims] == [
        ("1", "ABCXYZ1"),
        ("1", "ABCXYZ2"),
        ("1", "ABCXYZ3"),
    ]
    first = claims[0]
    assert first.patient_control_number == "SM123456"
    assert first.amounts == {"T3": Decimal("8513.88")} and first.charge == Decimal("8513.88")
    assert first.billing_type == "111"
    assert first.service_period == (dt.date(2005, 8, 31), dt.date(2005, 9, 6))
    assert first.patient.birth_date == dt.date(1930, 12, 10) and first.patient.gender == "M"
    assert (first.payer.name, first.payer.identifier) == ("ABC INSURANCE", "12345")
    assert first.provider.identifier == "1666666661"
    assert first.receiver.identifier == "X67E"
    third = claims[2]
    assert third.patient.full_name == "JOSEPH MANN" and third.subscriber.full_name == "JOHN MANN"
    (line,) = third.service_lines
    assert (line.code, line.charge, line.units) == ("99203", Decimal("150.00"), Decimal("1.00"))
    assert line.service_period == (dt.date(2005, 5, 1), dt.date(2005, 5, 1))


# --- 270 ---------------------------------------------------------------------------------


@needs_corpus
def test_270_dependent_inquiry():
    request = _data("270/LinuxForHealth__x12__dependent-health-benefit-check.270")
    assert request.kind == "270"
    subscriber, dependent = request.members()
    assert subscriber.person.name == "" and subscriber.member_id == "11122333301"
    assert dependent.is_dependent and dependent.person.full_name == "MARY SMITH"
    assert dependent.member_id == "11122333301"  # the subscriber's
    assert dependent.person.birth_date == dt.date(1978, 10, 14)
    assert dependent.trace_number == "93175-012547"
    assert dependent.traces[0].originator == "9877281234"
    assert dependent.date("291") == (dt.date(2006, 5, 1), dt.date(2006, 5, 1))
    (inquiry,) = dependent.inquiries
    assert inquiry.service_types == ("30",)
    assert dependent.receiver.full_name == "MARCUS JONES"
    assert (dependent.source.name, dependent.source.identifier) == ("ABC COMPANY", "842610001")


@needs_corpus
def test_270_batch_and_custom_delimiters():
    batch = [
        t.data
        for t in _read(
            "270/Kartik-Hirijaganer__X12-Parser-Encoder__270_batch_multi.x12"
        ).transactions()
    ]
    assert [m.trace_number for e in batch for m in e.members()] == ["TRACE0001", "TRACE0002"]
    custom = _data("270/Kartik-Hirijaganer__X12-Parser-Encoder__270_custom_delimiters.x12")
    (member,) = custom.members()
    assert member.person.full_name == "CUSTOM DOE" and member.member_id == "000123453"


# --- 271 ---------------------------------------------------------------------------------


@needs_corpus
def test_271_benefits_and_summary():
    response = _data("271/LinuxForHealth__x12__demo.271")
    (member,) = response.members()
    assert member.person.full_name == "JOHN SMITH" and member.member_id == "123456789"
    assert member.person.address.city == "KANSAS CITY"
    assert member.trace_number == "93175-012547"
    assert [b.code for b in member.benefits] == ["1", "L", "1", "B", "B"]
    plan, pcp, _services, in_network, out_network = member.benefits
    assert plan.plan_description == "GOLD 123 PLAN" and plan.description == "Active coverage"
    assert [(p.entity_code, p.full_name) for p in pcp.related_entities] == [("P3", "MARCUS JONES")]
    assert in_network.service_types == ("1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")
    assert (in_network.insurance_type, in_network.time_period, in_network.amount) == (
        "HM",
        "27",
        Decimal("10.00"),
    )
    assert in_network.in_network is True and out_network.in_network is False
    assert out_network.amount == Decimal("30.00")
    assert in_network.time_period_description == "Visit"
    summary = member.summary()
    assert summary.active and summary.status == "active"
    assert (summary.plan, summary.insurance_type) == ("GOLD 123 PLAN", "HM")
    assert summary.copay == Decimal("10.00")  # in network, not the 30.00 out of network
    assert summary.coverage_begin == dt.date(2006, 1, 1)
    assert summary.deductible is None and summary.rejections == ()


@needs_corpus
def test_271_coinsurance_out_of_pocket_and_messages():
    response = _data("271/zentist__TigerShark__271-example-3.txt")
    (member,) = response.members()
    assert [t.type for t in member.traces] == ["2", "1"]
    assert member.relationship == "18"
    assert member.person.reference("6P") == "030030001000120"
    assert member.benefits[0].messages == ("PCP SELECTION NOT REQUIRED",)
    other = member.benefits[1]
    assert other.code == "W" and other.related_entities[0].name == "Mala Compania"
    limited = [b for b in member.benefits if b.delivery]
    assert limited[0].delivery[0][:2] == ("VS", "35")
    coinsurance = [b for b in member.benefits if b.code == "A"]
    assert [b.percent for b in coinsurance] == [Decimal(0), Decimal(0), Decimal(".1")]
    summary = member.summary()
    assert summary.status == "active" and summary.plan == "Open Access Elect Choice"
    assert summary.copay == Decimal(20)
    assert summary.coinsurance_percent == Decimal(10)  # the office visit (98) rate
    assert (summary.out_of_pocket, summary.out_of_pocket_remaining) == (
        Decimal(2100),
        Decimal(2100),
    )


@needs_corpus
def test_271_rejections_in_words():
    response = _data("271/Kartik-Hirijaganer__X12-Parser-Encoder__271_rejected_subscriber.x12")
    (member,) = response.members()
    (rejection,) = member.rejections
    assert (rejection.valid_request, rejection.reason_code, rejection.follow_up_code) == (
        False,
        "72",
        "C",
    )
    assert rejection.reason == "Invalid/missing subscriber/insured ID"
    assert rejection.follow_up == "Please correct and resubmit"
    summary = member.summary()
    assert summary.status == "rejected" and not summary.active
    assert summary.rejections == ("Invalid/missing subscriber/insured ID",)
    provider = _data("271/LinuxForHealth__x12__subscriber-health-benefit-check-error.271")
    assert list(provider.members()) == []
    assert [r.reason for r in provider.rejections()] == ["Provider ineligible for inquiries"]


@needs_corpus
def test_271_large_batch_and_tolerated_oddities():
    document = _read("271/Kartik-Hirijaganer__X12-Parser-Encoder__gainwell_271_redacted.edi")
    responses = [t.data for t in document.transactions()]
    assert len(responses) == 153
    first = next(responses[0].members())
    assert first.person.full_name == "TEST001 MEMBER001" and first.member_id == "SUB000001"
    assert first.source is not None and first.source.name == "GAINWELL TEST PAYER"
    (benefit,) = first.benefits
    assert len(benefit.service_types) == 10 and benefit.insurance_type == "MC"
    (sponsor,) = benefit.related_entities
    assert sponsor.entity_code == "P5" and len(sponsor.contacts) == 2
    statuses = Counter(m.summary().status for r in responses for m in r.members())
    assert statuses == {"active": 136, "rejected": 13, "unknown": 4}
    last = next(responses[-1].members()).summary()
    assert last.rejections == ("Invalid/missing subscriber/insured name",)
    copay_only = next(responses[139].members()).summary()  # EB*B without an active EB
    assert (copay_only.status, copay_only.copay) == ("unknown", Decimal("5.00"))
    wrapped_doc = _read("271/Kartik-Hirijaganer__X12-Parser-Encoder__271_ls_le_wrapper.x12")
    (wrapped,) = next(next(wrapped_doc.transactions()).data.members()).benefits
    assert wrapped.references == (("6P", "PLAN123"),)
    assert any("LS*2120" in w.message for w in wrapped_doc.warnings)


@needs_corpus
def test_271_whose_isa_declares_one_character_for_repetition_and_component():
    """ISA11 and ISA16 both '^' (13 of the corpus's 271s): read with a warning; EB03 repeats."""
    document = _read("271/Inteligenz__X12Parser__Example_3_2_2.txt")
    (warning,) = document.warnings
    assert (warning.segment_number, warning.segment_id) == (1, "ISA")
    assert "ISA11 (repetition separator) and ISA16 (component separator) are both '^'" in str(
        warning
    )
    subscriber, dependent = next(document.transactions()).data.members()
    assert subscriber.person.full_name == "JOHN SMITH" and subscriber.benefits == []
    assert dependent.person.full_name == "MARY SMITH" and dependent.relationship == "19"
    assert dependent.trace_number == "93175-012547"
    assert [b.code for b in dependent.benefits] == ["1", "L", "1", "B", "B"]
    plan, primary_care, services, in_network, out_of_network = dependent.benefits
    assert plan.service_types == ("30",) and plan.plan_description == "GOLD 123 PLAN"
    (doctor,) = primary_care.related_entities
    assert (doctor.entity_code, doctor.name, doctor.identifier) == ("P3", "JONES", "0202034")
    types = ("1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC")
    assert services.service_types == in_network.service_types == types
    assert (in_network.time_period, in_network.amount, in_network.in_network) == (
        "27",
        Decimal(10),
        True,
    )
    assert (out_of_network.amount, out_of_network.in_network) == (Decimal(30), False)
    summary = dependent.summary()
    assert (summary.status, summary.plan, summary.copay) == ("active", "GOLD 123 PLAN", 10)
    assert summary.coverage_begin == dt.date(2006, 1, 1)


@needs_corpus
def test_271_source_that_only_rejects_without_its_name():
    document = _read("271/Inteligenz__X12Parser__ValidationForSource.txt")
    (source,) = next(document.transactions()).data.sources
    assert source.party is None and source.receivers == []
    assert [(r.valid_request, r.reason_code, r.follow_up_code) for r in source.rejections] == [
        (True, "42", "Y")
    ]
    assert source.rejections[0].reason == "Unable to respond at current time"
    assert any(
        (w.segment_number, w.segment_id) == (7, "SE")
        and "the name (NM1) of the information source is missing" in w.message
        for w in document.warnings
    )


# --- made-up files: deductibles, and what must be refused -------------------------------


def _interchange(set_id: str, version: str, body: list[str], group: str = "HB") -> str:
    isa = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
        "*260101*1200*^*00501*000000001*0*T*:~"
    )
    assert len(isa) == 106
    segments = [f"ST*{set_id}*0001*{version}", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return (
        isa
        + f"GS*{group}*SENDER*RECEIVER*20260101*1200*1*X*{version}~"
        + "~".join(segments)
        + "~GE*1*1~IEA*1*000000001~"
    )


_271_BODY = [
    "BHT*0022*11*REQ1*20260101*1200",
    "HL*1**20*1",
    "NM1*PR*2*ACME HEALTH*****PI*ACME1",
    "HL*2*1*21*1",
    "NM1*1P*2*MAIN STREET CLINIC*****XX*1234567893",
    "HL*3*2*22*0",
    "TRN*2*CLAIMTRACE*9876543210",
    "NM1*IL*1*DOE*JANE****MI*W123456789",
    "DTP*346*D8*20260101",
    "DTP*347*D8*20261231",
    "EB*1*IND*30*PR*SILVER PPO",
    "EB*C*IND*30*PR**23*1500.00*****Y",
    "EB*C*IND*30*PR**29*1200.50*****Y",
    "EB*C*IND*30*PR**23*3000*****N",
    "EB*G*IND*30*PR**23*6000*****Y",
    "EB*G*IND*30*PR**29*5100.25*****Y",
    "EB*A*IND*98*PR****.2****Y",
    "EB*B*IND*98*PR***25*****Y",
    "MSG*SPECIALIST COPAY 50",
]


def test_271_summary_of_deductible_and_out_of_pocket():
    response = next(read(_interchange("271", "005010X279A1", _271_BODY)).transactions()).data
    (member,) = response.members()
    summary = member.summary()
    assert summary.status == "active" and summary.plan == "SILVER PPO"
    assert (summary.coverage_begin, summary.coverage_end) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
    )
    assert summary.deductible == Decimal("1500.00")  # calendar year, in network
    assert summary.deductible_remaining == Decimal("1200.50")
    assert summary.out_of_pocket == Decimal(6000)
    assert summary.out_of_pocket_remaining == Decimal("5100.25")
    assert summary.coinsurance_percent == Decimal(20)
    assert summary.copay == Decimal(25)
    assert member.benefits[-1].messages == ("SPECIALIST COPAY 50",)


def _refused(text: str) -> X12Error:
    with pytest.raises(X12Error) as caught:
        read(text)
    return caught.value


def test_271_benefit_amount_not_a_number_is_refused():
    body = [s.replace("*1500.00*", "*FIFTEEN*") for s in _271_BODY]
    error = _refused(_interchange("271", "005010X279A1", body))
    assert (error.segment_number, error.segment_id) == (15, "EB")
    assert "EB07 (benefit amount) 'FIFTEEN' is not an amount" in str(error)


def test_271_benefit_code_unknown_and_related_entities_unclosed_are_refused():
    error = _refused(_interchange("271", "005010X279A1", [*_271_BODY[:10], "EB*ZZ*IND*30"]))
    assert (error.segment_number, error.segment_id) == (14, "EB")
    body = [*_271_BODY[:11], "LS*2120", "NM1*P3*1*WHO*DOCTOR", "EB*B*IND*98***27*25"]
    error = _refused(_interchange("271", "005010X279A1", body))
    assert (error.segment_number, error.segment_id) == (17, "EB")
    assert "LE*2120" in str(error)


def test_271_rejection_without_reason_is_refused():
    body = [*_271_BODY[:8], "AAA*N**"]
    error = _refused(_interchange("271", "005010X279A1", body))
    assert (error.segment_number, error.segment_id) == (12, "AAA")
    assert "AAA03" in str(error)


def test_271_with_one_character_for_repetition_and_component_is_read_with_a_warning():
    body = [*_271_BODY[:10], "EB*1*IND*30^98*PR*SILVER PPO", "EB*B*IND*98***27*25*****Y*HC^99213"]
    text = _interchange("271", "005010X279A1", body).replace("*T*:~", "*T*^~", 1)
    document = read(text)
    (warning,) = document.warnings
    assert (warning.segment_number, warning.segment_id) == (1, "ISA")
    assert "ISA16 (component separator) are both '^'" in warning.message
    (member,) = next(document.transactions()).data.members()
    plan, copay = member.benefits
    assert plan.service_types == ("30", "98")  # the repeats of EB03
    assert copay.procedure == ("HC", "99213")  # the components of EB13
    assert copay.amount == Decimal(25)
    error = _refused_strict(text)
    assert (error.segment_number, error.segment_id) == (1, "ISA")


def _refused_strict(text: str) -> X12Error:
    with pytest.raises(X12Error) as caught:
        read(text, strict=True)
    return caught.value


@pytest.mark.parametrize("code", ["6", "7", "8"])
def test_271_inactive_coverage_is_read_as_inactive(code):
    body = [
        *_271_BODY[:8],
        "DTP*346*D8*20250101",
        "DTP*347*D8*20251231",
        f"EB*{code}*IND*30*PR*SILVER PPO",
        "MSG*COVERAGE TERMINATED 12/31/2025",
    ]
    response = next(read(_interchange("271", "005010X279A1", body)).transactions()).data
    (member,) = response.members()
    (benefit,) = member.benefits
    assert benefit.code == code and benefit.service_types == ("30",)
    assert benefit.description.startswith("Inactive")
    assert benefit.messages == ("COVERAGE TERMINATED 12/31/2025",)
    summary = member.summary()
    assert summary.status == "inactive" and not summary.active
    assert summary.plan == "SILVER PPO"
    assert (summary.coverage_begin, summary.coverage_end) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
    )
    assert (summary.copay, summary.deductible, summary.out_of_pocket) == (None, None, None)
    assert summary.rejections == ()


def test_271_active_plan_with_an_inactive_service_is_active():
    body = [*_271_BODY[:8], "EB*1*IND*30*PR*SILVER PPO", "EB*6*IND*33"]
    response = next(read(_interchange("271", "005010X279A1", body)).transactions()).data
    (member,) = response.members()
    assert [b.code for b in member.benefits] == ["1", "6"]
    assert member.summary().status == "active"


def _interchange_4010_837(contacts: int) -> str:
    isa = (
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
        "*040608*1333*U*00401*000000288*0*P*:~"
    )
    assert len(isa) == 106
    segments = [
        "ST*837*0001",
        "BHT*0019*00*289*20040608*1333*CH",
        "REF*87*004010X098A1",
        "NM1*41*2*SENDER 1*****46*23090923",
        *["PER*IC*CONTACT NAME*TE*1115551111"] * contacts,
        "NM1*40*2*PAYER*****46*21312311",
        "HL*1**20*1",
        "NM1*85*2*BILLER 1*****XX*1234567893",
    ]
    segments.append(f"SE*{len(segments) + 1}*0001")
    return (
        isa
        + "GS*HC*SENDER*RECEIVER*20040608*1333*56*X*004010X098A1~"
        + "~".join(segments)
        + "~GE*1*56~IEA*1*000000288~"
    )


def test_4010_837p_is_kept_raw_but_its_submitter_contacts_are_counted():
    (transaction,) = read(_interchange_4010_837(2)).transactions()
    assert transaction.kind == "unknown" and transaction.data is None
    assert transaction.segments is not None
    assert [fields[0] for fields in transaction.segments] == [
        "BHT", "REF", "NM1", "PER", "PER", "NM1", "HL", "NM1",
    ]  # fmt: skip
    error = _refused(_interchange_4010_837(3))
    assert (error.segment_number, error.segment_id) == (9, "PER")
    assert "the contacts (PER) of the submitter repeats more than 2" in error.message


_277CA_BODY = [
    "BHT*0085*08*BATCH1*20260105*1200*TH",
    "HL*1**20*1",
    "NM1*PR*2*ACME HEALTH*****PI*ACME1",
    "TRN*1*RCPT1",
    "DTP*050*D8*20260105",
    "HL*2*1*21*1",
    "NM1*41*2*MAIN STREET CLINIC*****46*SUB1",
    "TRN*2*BATCH1",
    "STC*A1:19*20260105*WQ*250.00",
    "HL*3*2*19*1",
    "NM1*85*2*MAIN STREET CLINIC*****XX*1234567893",
    "HL*4*3*PT",
    "NM1*QC*1*DOE*JANE****MI*W123456789",
    "TRN*2*CLM-000042",
    "STC*A3:21:85*20260105*U*250.00******A7:562:82*A6:145",
    "REF*1K*PAYER42",
    "DTP*472*D8*20251230",
    "SVC*HC:99213:25*150.00****1",
    "STC*A7:454*20260105*U",
    "REF*FJ*LINE-1",
    "DTP*472*D8*20251230",
]


def test_277ca_claim_with_three_status_composites_and_a_line():
    status = next(read(_interchange("277", "005010X214", _277CA_BODY, "HN")).transactions()).data
    (claim,) = status.claims()
    assert claim.patient_control_number == "CLM-000042"
    assert claim.payer_claim_number == "PAYER42"
    assert [(c.category, c.code, c.entity) for c in claim.status.codes] == [
        ("A3", "21", "85"),
        ("A7", "562", "82"),
        ("A6", "145", ""),
    ]
    assert claim.rejected and claim.charge == Decimal("250.00")
    (line,) = claim.service_lines
    assert (line.code, line.modifiers, line.line_item_control_number) == ("99213", ["25"], "LINE-1")
    assert line.statuses[0].codes[0].code_description == "Procedure code for services rendered"


def test_277ca_claim_without_its_trace_number_is_refused():
    body = [s for s in _277CA_BODY if s != "TRN*2*CLM-000042"]
    error = _refused(_interchange("277", "005010X214", body, "HN"))
    assert (error.segment_number, error.segment_id) == (17, "STC")
    assert "trace number (TRN)" in str(error)


def test_277ca_status_with_a_bad_composite_is_refused():
    body = [s.replace("STC*A3:21:85*", "STC*A3*") for s in _277CA_BODY]
    error = _refused(_interchange("277", "005010X214", body, "HN"))
    assert (error.segment_number, error.segment_id) == (18, "STC")
    assert "STC01 'A3' needs a status category code and a status code" in str(error)
    body = [s.replace("*A6:145", "*:145") for s in _277CA_BODY]
    error = _refused(_interchange("277", "005010X214", body, "HN"))
    assert (error.segment_number, error.segment_id) == (18, "STC")
    assert "STC11" in str(error)


def test_277ca_claim_without_status_and_patient_without_provider_are_refused():
    body = [s for s in _277CA_BODY if not s.startswith("STC*A3")]
    error = _refused(_interchange("277", "005010X214", body, "HN"))
    assert (error.segment_number, error.segment_id) == (17, "TRN")
    body = [s for s in _277CA_BODY if s not in ("HL*3*2*19*1", _277CA_BODY[10])]
    error = _refused(_interchange("277", "005010X214", body, "HN"))
    assert (error.segment_number, error.segment_id) == (13, "HL")
    assert "provider level (HL*19)" in str(error)


def test_276_bad_birth_date_is_refused_at_the_dmg():
    body = [
        "BHT*0010*13*REQ1*20260101*1200",
        "HL*1**20*1",
        "NM1*PR*2*ACME HEALTH*****PI*ACME1",
        "HL*2*1*21*1",
        "NM1*41*2*MAIN STREET CLINIC*****46*SUB1",
        "HL*3*2*19*1",
        "NM1*1P*2*MAIN STREET CLINIC*****XX*1234567893",
        "HL*4*3*22*0",
        "DMG*D8*19801345*F",
        "NM1*IL*1*DOE*JANE****MI*W123456789",
        "TRN*1*CLM-000042",
        "AMT*T3*250",
    ]
    error = _refused(_interchange("276", "005010X212", body, "HR"))
    assert (error.segment_number, error.segment_id) == (12, "DMG")
    good = [s.replace("19801345", "19800315") for s in body]
    request = next(read(_interchange("276", "005010X212", good, "HR")).transactions()).data
    assert request.claims()[0].patient.birth_date == dt.date(1980, 3, 15)


_999_BODY = [
    "AK1*HC*1001*005010X222A1",
    "AK2*837*0001*005010X222A1",
    "IK3*NM1*14*2010BA*8",
    "CTX*CLM01:CLM-000042",
    "IK4*9*67*1",
    "IK5*R*5",
    "AK9*R*1*1*0",
]


def test_999_made_up_rejection_and_its_malformed_variants():
    ack = next(read(_interchange("999", "005010X231A1", _999_BODY, "FA")).transactions()).data
    (response,) = ack.transaction_sets
    assert response.claim_ids == ["CLM-000042"]
    assert response.segment_errors[0].loop == "2010BA"
    error = _refused(
        _interchange("999", "005010X231A1", [s.replace("IK5*R", "IK5*Q") for s in _999_BODY], "FA")
    )
    assert (error.segment_number, error.segment_id) == (9, "IK5")
    assert "IK501" in str(error)
    error = _refused(
        _interchange("999", "005010X231A1", [s for s in _999_BODY if s[:3] != "IK5"], "FA")
    )
    assert (error.segment_number, error.segment_id) == (9, "AK9")
    error = _refused(_interchange("999", "005010X231A1", [*_999_BODY[:-1], "AK9*R*ONE*1*0"], "FA"))
    assert (error.segment_number, error.segment_id) == (10, "AK9")
    assert "AK902" in str(error)


# --- the code tables against the corpus code lists ----------------------------------------


def _code_list(name: str) -> set[str]:
    assert CORPUS is not None
    path = Path(CORPUS).parent / "codes" / "x12_code_lists" / name
    if not path.is_file():
        pytest.skip(f"the corpus code list {name} is not here")
    return set(path.read_text().split()[1:])


@needs_corpus
def test_code_tables_hold_only_codes_of_the_x12_lists():
    assert set(codes.CLAIM_STATUS_CATEGORIES) == _code_list("claim_status_category_507.tsv")
    assert set(codes.CLAIM_STATUS) <= _code_list("claim_status_508.tsv")
    assert set(codes.SERVICE_TYPES) <= _code_list("service_type_1365.tsv")


def test_codes_outside_the_tables_are_shown_as_themselves():
    assert codes.describe(codes.CLAIM_STATUS, "99999", "status code") == "status code 99999"
    assert codes.describe(codes.SEGMENT_ERRORS, "") == ""
