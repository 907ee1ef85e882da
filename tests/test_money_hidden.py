"""Roles without money (the medical assistant, the clinician) see no copay, balance or payment
on any page they reach, for a patient with a copay and a payment; the desk still does."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from medoffice.reception import services
from medoffice.testing import reception_factories as rf

pytestmark = pytest.mark.django_db

MONEY = re.compile(r"\$\s?\d")


@pytest.fixture
def paid(desk_day, users):
    """Maria Lopez ($25 copay, $30 specialist copay) checked in today, $25 paid."""
    desk_day.coverage.specialist_copay = "30.00"
    desk_day.coverage.save(update_fields=["specialist_copay"])
    services.check_in(
        appointment_id=desk_day.appointment.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    rf.payment(patient=desk_day.patient, received_by=users["front_desk"], amount="25.00")
    return desk_day


def pages(day) -> dict[str, str]:
    on = day.appointment.start.date().isoformat()
    return {
        "record": reverse("patients:detail", args=[day.patient.pk]),
        "search": reverse("patients:search") + "?q=lopez",
        "day schedule": reverse("scheduling:day") + f"?date={on}",
        "week": reverse("scheduling:week") + f"?date={on}",
        "appointment": reverse("scheduling:appointment", args=[day.appointment.pk]),
        "flow board": reverse("reception:flow_board"),
        "home": reverse("dashboard:home"),
    }


@pytest.mark.parametrize("role", ["medical_assistant", "clinician"])
def test_no_amounts_for_a_role_without_money(paid, client_for, role, users):
    if role == "clinician":  # the clinician's own patient, so the pages show her
        paid.provider.user = users["clinician"]
        paid.provider.save(update_fields=["user"])
    client = client_for(role)
    shown = 0
    for name, url in pages(paid).items():
        response = client.get(url)
        if response.status_code != 200:
            continue
        html = response.content.decode()
        shown += "Lopez" in html
        assert not MONEY.search(html), f"{name} shows an amount to the {role}"
        assert "Copay" not in html, name
    assert shown >= 3  # the checks above saw the patient on the record, schedule and board
    api = client.get(f"/api/coverages?patient_id={paid.patient.pk}")
    assert api.status_code == 200
    (coverage,) = api.json()
    assert coverage["copay"] is None and coverage["specialist_copay"] is None
    assert coverage["member_id"] == paid.coverage.member_id


def test_the_desk_still_sees_copays_and_the_account(paid, client_for):
    client = client_for("front_desk")
    html = client.get(reverse("patients:detail", args=[paid.patient.pk])).content.decode()
    assert "$25.00" in html and "specialist $30.00" in html
    assert 'id="record-account"' in html
    api = client.get(f"/api/coverages?patient_id={paid.patient.pk}").json()
    assert api[0]["copay"] == "25.00" and api[0]["specialist_copay"] == "30.00"
