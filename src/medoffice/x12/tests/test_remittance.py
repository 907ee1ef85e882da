"""The 835's data classes against real corpus files: the payment, the claims, the service
lines (procedure, modifiers, charge, paid, units, dates), their adjustments (group, reason,
amount, quantity), references, amounts (AMT B6), remarks (LQ) and the provider adjustments
(PLB). Every expected value was read by eye from the file named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from medoffice.x12 import read_file
from medoffice.x12.tests.test_corpus import CORPUS, needs_corpus
from medoffice.x12.transactions.remittance import (
    Adjustment,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)

D = Decimal


def _remittance(name: str) -> Remittance:
    assert CORPUS is not None
    document = read_file(CORPUS / "835" / name)
    assert document.warnings == []
    (transaction,) = document.transactions()
    assert isinstance(transaction.data, Remittance)
    return transaction.data


def _line(line: ServicePayment) -> tuple[object, ...]:
    procedure = line.procedure
    return (
        procedure.qualifier,
        procedure.code,
        procedure.modifiers,
        line.charge,
        line.paid,
        line.revenue_code,
        line.units,
    )


@needs_corpus
def test_835_secondary_payment_claims_lines_and_adjustments():
    # albmarin/badX12 X221-secondary-payments.edi (valid for pyx12)
    era = _remittance("albmarin__badX12__X221-secondary-payments.edi")
    payment = era.payment
    assert (payment.handling_code, payment.amount, payment.credit_debit, payment.method) == (
        "I",
        D("1222"),
        "C",
        "CHK",
    )
    assert payment.date == dt.date(2005, 4, 12)
    assert (payment.trace_number, payment.originator_id) == ("0012524965", "1559123456")
    assert era.references == [("EV", "030240928")]
    assert era.production_date == dt.date(2005, 4, 12)
    assert era.payer.name == "YOUR TAX DOLLARS AT WORK"
    assert era.payer.address is not None and era.payer.address.postal_code == "11114"
    assert (era.payee.name, era.payee.id_qualifier, era.payee.identifier) == (
        "ACME MEDICAL CENTER",
        "FI",
        "599944521",
    )
    assert era.payee.references == [("PQ", "10488")]
    assert era.provider_adjustments == []

    first, second = era.claims
    # CLP*L0004828311*2*10323.64*912**12*05090256390*11*1, a claim without service lines
    assert (
        first.patient_control_number,
        first.status_code,
        first.charge,
        first.paid,
        first.patient_responsibility,
        first.filing_indicator,
        first.payer_claim_number,
        first.facility_code,
        first.frequency_code,
        first.header_number,
    ) == ("L0004828311", "2", D("10323.64"), D("912"), None, "12", "05090256390", "11", "1", "1")
    assert first.adjustments == [Adjustment("OA", "23", D("9411.64"))]
    assert first.dates == {"232": dt.date(2005, 3, 3), "233": dt.date(2005, 3, 4)}
    assert first.amounts == {"AU": D("912")}
    assert first.service_lines == []
    patient, rendering = first.parties
    assert (patient.entity_code, patient.full_name, patient.identifier) == (
        "QC",
        "WILLIAM P TOWNSEND",
        "XXX123456789",
    )
    assert (rendering.entity_code, rendering.id_qualifier, rendering.identifier) == (
        "82",
        "BD",
        "987",
    )

    # CLP*0001000053*2*751.50*310*220*12*50630626430 under LX*2
    assert (second.patient_control_number, second.charge, second.paid) == (
        "0001000053",
        D("751.50"),
        D("310"),
    )
    assert second.patient_responsibility == D("220") and second.header_number == "2"
    assert second.adjustments == []
    one, two = second.service_lines
    # SVC*HC:12345:26*166.5*30**1, DTM*472, CAS*OA*23*136.50, REF*1B*43285, AMT*B6*150
    assert _line(one) == ("HC", "12345", ["26"], D("166.5"), D("30"), "", D("1"))
    assert one.dates == {"472": dt.date(2005, 1, 6)}
    assert one.adjustments == [Adjustment("OA", "23", D("136.50"))]
    assert str(one.adjustments[0].amount) == "136.50"  # the cents as sent
    assert one.references == [("1B", "43285")]
    assert one.amounts == {"B6": D("150")}
    assert one.remarks == []
    # SVC*HC:66543:26*585*280*220*1, CAS*PR*1*150**2*70, CAS*CO*42*85
    assert _line(two) == ("HC", "66543", ["26"], D("585"), D("280"), "220", D("1"))
    assert two.adjustments == [
        Adjustment("PR", "1", D("150")),
        Adjustment("PR", "2", D("70")),
        Adjustment("CO", "42", D("85")),
    ]
    assert two.amounts == {"B6": D("500")}
    for line in second.service_lines:  # each line balances: charge - paid = adjustments
        assert line.charge - line.paid == sum(a.amount for a in line.adjustments)


@needs_corpus
def test_835_adjustment_quantities_and_remark_codes():
    # zentist/TigerShark 5010-835-example-1.txt: ISA16 is "|" (SVC*AD|D1110)
    era = _remittance("zentist__TigerShark__5010-835-example-1.txt")
    precertification, paid, denied = era.claims
    assert (precertification.status_code, precertification.charge, precertification.paid) == (
        "25",
        D("3790"),
        D("0"),
    )
    assert precertification.references == [("1L", "11223344"), ("CE", "CONTRACTING")]
    assert precertification.dates == {
        "232": dt.date(1900, 1, 1),
        "233": dt.date(1900, 1, 1),
        "050": dt.date(2011, 9, 8),
    }
    lines = precertification.service_lines
    assert [(line.procedure.code, line.charge, line.paid) for line in lines] == [
        ("D1110", D("90"), D("80")),
        ("D2150", D("115"), D("42")),
        ("D6751", D("880"), D("0")),
        ("D6241", D("750"), D("0")),
        ("D6751", D("880"), D("0")),
        ("D2751", D("880"), D("0")),
        ("D2952", D("195"), D("0")),
    ]
    assert {line.procedure.qualifier for line in lines} == {"AD"}
    # CAS*CO*42*10*1: the fourth element is the adjusted quantity
    assert lines[0].adjustments == [Adjustment("CO", "42", D("10"), D("1"))]
    assert lines[0].references == [("6R", "00010")]
    assert lines[0].amounts == {"B6": D("80")}
    assert lines[1].adjustments == [Adjustment("PR", "2", D("73"), D("1"))]
    assert lines[1].amounts == {"B6": D("115")}
    assert lines[2].adjustments == [Adjustment("PR", "42", D("880"), D("1"))]
    assert lines[2].references == [("6R", "00030")] and lines[2].amounts == {}
    assert [line.remarks for line in lines] == [[], []] + [[("HE", "N30")]] * 5
    assert [line.units for line in lines] == [D("1")] * 7
    assert all(line.dates == {} for line in lines)
    (line,) = paid.service_lines
    assert (paid.patient_control_number, paid.paid, paid.patient_responsibility) == (
        "EDI PAID",
        D("1790"),
        D("2000"),
    )
    assert line.dates == {"472": dt.date(2011, 9, 2)}
    assert line.adjustments == [Adjustment("PR", "2", D("2000"), D("1"))]
    assert line.amounts == {"B6": D("3790")}
    (line,) = denied.service_lines
    assert line.adjustments == [Adjustment("PR", "32", D("3790"), D("1"))]
    assert line.dates == {"472": dt.date(2011, 9, 1)}
    assert era.payment.amount == sum(c.paid for c in era.claims) == D("1790")


@needs_corpus
def test_835_pharmacy_lines_remarks_and_provider_adjustment():
    # Project-Herophilus 835_Sample_Pharmacy.2014.txt (valid for pyx12)
    era = _remittance("Project-Herophilus__Project-Herophilus-Assets__835_Sample_Pharmacy.2014.txt")
    assert (era.payment.amount, era.payment.method, era.payment.payment_format) == (
        D("219.65"),
        "ACH",
        "CCP",
    )
    first, second, third = era.claims
    (line,) = first.service_lines
    # SVC*N4:68382005501*4*0**0, CAS*CO*27*4, LQ*RX*65
    assert _line(line) == ("N4", "68382005501", [], D("4"), D("0"), "", D("0"))
    assert line.dates == {"472": dt.date(2010, 1, 1)}
    assert line.adjustments == [Adjustment("CO", "27", D("4"))]
    assert line.remarks == [("RX", "65")]
    assert first.dates["036"] == dt.date(2010, 1, 1)
    assert (first.facility_code, first.frequency_code) == ("99", "0")
    assert second.service_lines[0].remarks == [("RX", "77")]
    assert second.service_lines[0].adjustments == [Adjustment("CO", "16", D("9.46"))]
    (line,) = third.service_lines
    # SVC*N4:54092051902*256.46*223.64**30, CAS*CO*91*-3.5**45*36.32, AMT*B6*223.64
    assert _line(line) == ("N4", "54092051902", [], D("256.46"), D("223.64"), "", D("30"))
    assert line.adjustments == [
        Adjustment("CO", "91", D("-3.5")),
        Adjustment("CO", "45", D("36.32")),
    ]
    assert line.amounts == {"B6": D("223.64")}
    assert line.remarks == []
    assert third.amounts == {"AU": D("223.64")}
    # PLB*9999999995*20100101*WO:FCN#201001010000000*3.99
    assert era.provider_adjustments == [
        ProviderAdjustment(
            "9999999995", dt.date(2010, 1, 1), [("WO", "FCN#201001010000000", D("3.99"))]
        )
    ]
    # the payment is what the claims paid less what the PLB withholds
    withheld = sum(amount for plb in era.provider_adjustments for _r, _ref, amount in plb.items)
    assert era.payment.amount == sum(c.paid for c in era.claims) - withheld


@needs_corpus
def test_835_modifiers_units_and_remarks_of_a_medicaid_remittance():
    # affect-therapeutics/edi-835-parser emedny_sample.txt (valid for pyx12)
    era = _remittance("affect-therapeutics__edi-835-parser__emedny_sample.txt")
    paid, denied, partly = era.claims
    assert [_line(line) for line in paid.service_lines] == [
        ("HC", "V2020", ["RB"], D("6"), D("6"), "", D("1")),
        ("HC", "V2700", ["RB"], D("2.75"), D("2.75"), "", D("1")),
        ("HC", "V2103", ["RB"], D("5.5"), D("5.5"), "", D("1")),
        ("HC", "S0580", [], D("20"), D("20"), "", D("2")),
    ]
    assert [line.amounts for line in paid.service_lines] == [
        {"B6": D("6")},
        {"B6": D("2.75")},
        {"B6": D("5.5")},
        {"B6": D("20")},
    ]
    assert paid.references == [("EA", "PATIENT ACCOUNT NUMBER")]
    corrected = paid.party("74")
    assert corrected is not None and corrected.full_name == "CORRECTED FIRST CORRECTED LAST"
    assert [
        (a.group_code, a.reason_code, a.amount)
        for line in denied.service_lines
        for a in line.adjustments
    ] == [
        ("CO", "29", D("12")),
        ("CO", "29", D("22")),
    ]
    assert [line.units for line in denied.service_lines] == [D("0"), D("0")]
    assert [line.dates["472"] for line in partly.service_lines] == [
        dt.date(2010, 1, 1),
        dt.date(2013, 9, 17),
        dt.date(2010, 1, 1),
        dt.date(2010, 1, 1),
    ]
    assert [line.remarks for line in partly.service_lines] == [
        [],
        [],
        [("HE", "N206")],
        [("HE", "N206")],
    ]
    assert [line.adjustments for line in partly.service_lines][2:] == [
        [Adjustment("CO", "251", D("2.75"))],
        [Adjustment("CO", "251", D("20"))],
    ]
    assert era.payment.amount == sum(c.paid for c in era.claims) == D("45.75")
