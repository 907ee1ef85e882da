"""The CMS-1500 PDF: each value read back from the page, at the place of its box."""

from __future__ import annotations

import io
from itertools import pairwise

import pytest
from django.urls import reverse
from pypdf import PdfReader

from medoffice.claims import cms1500
from medoffice.claims.models import FrequencyCode
from medoffice.core.models import AuditAction, AuditEvent
from medoffice.testing.claim_builders import make_claim

pytestmark = pytest.mark.django_db


def placed(pdf: bytes) -> list[dict[tuple[int, int], str]]:
    """Per page, each printed value by the (line, column) of the grid it starts at."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        found: dict[tuple[int, int], str] = {}

        def visit(text, cm, tm, font, size, found=found):
            if text.strip() and size == 10:  # the values print in 10 pt Courier
                x, y = tm[4], tm[5]
                column = round((x - 2.83 - cms1500.LEFT_PT) / cms1500.COLUMN_PT) + 1
                line = int((792 - y - cms1500.TOP_PT) // cms1500.LINE_PT) + 1
                found[(line, column)] = text.strip()

        page.extract_text(visitor_text=visit)
        pages.append(found)
    return pages


def test_the_claims_values_print_in_their_boxes():
    claim = make_claim(control_number="RFM0000042")
    (page,) = placed(cms1500.render(cms1500.form_for_claim(claim)))
    assert page[(8, 50)] == "XYZ123456"  # 1a
    assert page[(8, 31)] == "X"  # 1: group health plan
    assert page[(10, 2)] == "DOE, JANE, Q"  # 2
    assert page[(10, 31)] == "01 02 1980"  # 3
    assert page[(10, 47)] == "X"  # 3: female
    assert page[(12, 33)] == "X"  # 6: self
    assert page[(18, 50)] == "GRP77"  # 11
    assert page[(24, 50)] == "GOLD PPO"  # 11c
    assert (page[(34, 1)], page[(34, 4)], page[(34, 34)]) == ("DN", "RAY SMITH", "1234567893")
    assert page[(37, 38)] == "0"  # 21: ICD-10
    assert [page[(38, 3)], page[(38, 16)], page[(38, 29)]] == ["E119", "I10", "Z0000"]
    assert page[(40, 50)] == "PA998"  # 23
    first, second = 46, 48
    assert page[(first, 25)] == "99213" and page[(first, 32)] == "25"
    assert page[(first, 45)] == "AB"  # pointers 1 and 2
    assert page[(first, 50)] == "100" and page[(first, 58)] == "00"
    assert page[(second, 45)] == "C"
    assert page[(second - 1, 1)] == "N400409488201 ML1.5"  # the shaded NDC line
    assert page[(58, 23)] == "RFM0000042"  # 26
    assert page[(58, 52)] == "200" and page[(58, 59)] == "01"  # 28: $200.01
    assert (22, 50) not in page  # no resubmission code on an original claim


def test_more_than_six_lines_continue_with_the_total_on_the_last_page():
    claim = make_claim(lines=7)
    first, last = placed(cms1500.render(cms1500.form_for_claim(claim), with_form=True))
    assert first[(58, 52)] == "CONTINUED"
    assert first[(65, 1)] == "PAGE 1 OF 2" and last[(65, 1)] == "PAGE 2 OF 2"
    assert sum(1 for (line, column) in first if column == 25 and line >= 46) == 6
    assert last[(46, 25)] == "J3420"
    assert last[(58, 52)] == str(claim.total_charge_cents // 100)


def test_a_replacement_prints_its_code_and_the_payers_claim_number():
    original = make_claim(control_number="RFM0000001", payer_claim_number="PCN-555")
    replacement = make_claim(
        control_number="RFM0000002", frequency_code=FrequencyCode.REPLACEMENT, replaces=original
    )
    (page,) = placed(cms1500.render(cms1500.form_for_claim(replacement)))
    assert page[(38, 50)] == "7" and page[(38, 62)] == "PCN-555"


def test_money_is_split_into_dollars_and_cents_without_float():
    assert cms1500.dollars_and_cents(12345) == ("123", "45")
    assert cms1500.dollars_and_cents(5) == ("0", "05")
    assert cms1500.dollars_and_cents(-250) == ("-2", "50")


def test_the_download_needs_claims_view_and_is_audited(client_for):
    claim = make_claim()
    url = reverse("claims:claim_cms1500", args=[claim.pk])
    assert client_for("front_desk").get(url).status_code == 403
    response = client_for("biller").get(url + "?form=1")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    event = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).latest("id")
    assert event.reason == "CMS-1500 claim PDF"
    assert str(event.patient_id) == str(claim.encounter.patient_id)
    assert (
        client_for("biller").get(reverse("claims:claim_cms1500", args=[999999])).status_code == 404
    )


def test_no_two_values_print_over_each_other(practice):
    """Each value ends before the next one on its line starts (the billing phone once sat on
    box 29's amount paid), with every box filled: a phone, a paid amount, three lines."""
    from medoffice.core.models import Practice

    Practice.objects.update(phone="+14885550185")
    claim = make_claim(control_number="RFM0000042", lines=3)
    for page in placed(cms1500.render(cms1500.form_for_claim(claim))):
        by_line: dict[int, list[tuple[int, str]]] = {}
        for (line, column), text in page.items():
            by_line.setdefault(line, []).append((column, text))
        for line, values in by_line.items():
            values.sort()
            for (column, text), (next_column, next_text) in pairwise(values):
                assert column + len(text) <= next_column, (line, text, next_text)
        assert page[(62, 50)] == "(488) 555-0185"
