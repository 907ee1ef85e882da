"""The front desk's JSON API: permissions, 422 naming the fields, and what each call does."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from medoffice.reception.models import Payment, Stage, Visit
from medoffice.reception.selectors import local_today
from medoffice.testing import reception_factories as rf

API = "/api/reception"


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def check_in_body(day, **overrides):
    body = {
        "demographics_confirmed": True,
        "coverage_confirmed": True,
        "eligibility": [{"coverage_id": day.coverage.pk, "status": "active", "reference": "R1"}],
        "forms_signed": [day.privacy.pk],
        "copay": {"amount": "25.00", "method": "card", "reference": "AUTH9"},
    }
    body.update(overrides)
    return body


def endpoints(day, payment):
    a = day.appointment.pk
    return [
        ("post", f"{API}/appointments/{a}/check-in", check_in_body(day), "reception.check_in"),
        ("get", f"{API}/flow-board", None, "reception.view_flow"),
        ("post", f"{API}/appointments/{a}/advance", {"stage": "roomed", "room_id": day.rooms[0].pk}, "reception.check_in"),
        ("post", f"{API}/appointments/{a}/check-out", {}, "reception.check_in"),
        ("post", f"{API}/payments", {"patient_id": day.patient.pk, "amount": "10", "method": "cash"}, "reception.collect_payment"),
        ("get", f"{API}/payments/{payment.pk}", None, "reception.collect_payment"),
        ("get", f"{API}/payments/{payment.pk}/receipt.pdf", None, "reception.collect_payment"),
        ("get", f"{API}/chart-prep", None, "reception.check_in"),
        ("post", f"{API}/payments/{payment.pk}/void", {"reason": "typed twice"}, "reception.collect_payment"),
        ("post", f"{API}/refunds", {"patient_id": day.patient.pk, "amount": "5.00", "method": "card", "reason": "overpaid"}, "reception.collect_payment"),
        ("get", f"{API}/patients/{day.patient.pk}/account", None, "reception.collect_payment"),
    ]  # fmt: skip


def test_anonymous_gets_401(desk_day, users):
    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    client = Client()
    for method, url, body, _ in endpoints(desk_day, payment):
        response = post(client, url, body) if method == "post" else client.get(url)
        assert response.status_code == 401, url


@pytest.mark.parametrize("role", ["clinician", "auditor", "biller", "hr_payroll"])
def test_roles_without_the_permission_get_403_and_nothing_changes(
    client_for, desk_day, users, role
):
    from medoffice.core.access import permissions_of

    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    held = permissions_of(users[role])
    client = client_for(role)
    for method, url, body, perm in endpoints(desk_day, payment):
        response = post(client, url, body) if method == "post" else client.get(url)
        assert response.status_code == (200 if perm in held else 403), (url, response.content)
    assert not Visit.objects.exists()
    assert Payment.objects.count() == 1


def test_check_in_then_the_way_through(client_for, desk_day):
    client = client_for("front_desk")
    a = desk_day.appointment.pk
    response = post(client, f"{API}/appointments/{a}/check-in", check_in_body(desk_day))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["visit"]["stage"] == "arrived"
    assert Decimal(data["payment"]["amount"]) == Decimal("25.00")
    assert data["payment"]["receipt_number"].endswith("-000001")
    assert len(data["signed_form_ids"]) == 1 and len(data["eligibility_check_ids"]) == 1

    board = client.get(f"{API}/flow-board", {"location": desk_day.location.pk}).json()
    assert board["checked_in"] == 1 and board["waiting"] == 1
    assert board["rows"][0]["stage"] == "arrived"
    assert board["rows"][0]["minutes_since_arrival"] == 0

    assert (
        post(client, f"{API}/appointments/{a}/advance", {"stage": "with_provider"}).status_code
        == 409
    )
    roomed = post(
        client,
        f"{API}/appointments/{a}/advance",
        {"stage": "roomed", "room_id": desk_day.rooms[0].pk},
    )
    assert roomed.json()["stage"] == "roomed" and roomed.json()["room_id"] == desk_day.rooms[0].pk
    post(client, f"{API}/appointments/{a}/advance", {"stage": "with_provider"})
    out = post(client, f"{API}/appointments/{a}/check-out", {})
    assert out.status_code == 200 and out.json()["stage"] == "checked_out"

    pdf = client.get(data["payment"]["receipt_pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_illegal_transition_answers_409_with_code(client_for, desk_day):
    rf.visit(appointment=desk_day.appointment, stage=Stage.ARRIVED)
    response = post(
        client_for("front_desk"),
        f"{API}/appointments/{desk_day.appointment.pk}/advance",
        {"stage": "checked_out"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_stage_transition"
    assert Visit.objects.get().stage == Stage.ARRIVED


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"demographics_confirmed": False}, {"demographics_confirmed"}),
        ({"copay": {"amount": "abc", "method": "cash"}}, {"copay.amount"}),
        ({"copay": {"amount": "-3", "method": "cash"}}, {"copay.amount"}),
        ({"copay": {"amount": "20", "method": "card", "reference": "4111111111111111"}}, {"copay.reference"}),
        ({"copay": {"amount": "20"}}, {"copay.method"}),
        ({"eligibility": [{"coverage_id": 0, "status": "active"}]}, {"eligibility.1.coverage_id"}),
        ({"forms_signed": ["x"]}, {"forms_signed.1"}),
    ],
)  # fmt: skip
def test_check_in_422_names_the_fields_and_writes_nothing(client_for, desk_day, change, fields):
    response = post(
        client_for("front_desk"),
        f"{API}/appointments/{desk_day.appointment.pk}/check-in",
        check_in_body(desk_day, **change),
    )
    assert response.status_code == 422, response.content
    assert fields <= set(response.json()["errors"]), response.json()
    assert not Visit.objects.exists() and not Payment.objects.exists()


def test_unknown_appointment_is_404(client_for, desk_day):
    response = post(
        client_for("front_desk"), f"{API}/appointments/999999/check-in", check_in_body(desk_day)
    )
    assert response.status_code == 404


def test_record_payment(client_for, desk_day):
    client = client_for("front_desk")
    response = post(
        client,
        f"{API}/payments",
        {"patient_id": desk_day.patient.pk, "amount": "12.50", "method": "check", "reference": "881",
         "location_id": desk_day.location.pk},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["amount"] in ("12.50", 12.5)
    bad = post(
        client,
        f"{API}/payments",
        {"patient_id": desk_day.patient.pk, "amount": "12.50", "method": "check"},
    )
    assert bad.status_code == 422 and "reference" in bad.json()["errors"]
    missing = post(
        client, f"{API}/payments", {"patient_id": 999999, "amount": "5", "method": "cash"}
    )
    assert missing.status_code == 404
    balance = client.get(f"{API}/patients/{desk_day.patient.pk}/balance").json()
    assert Decimal(str(balance["balance"])) == Decimal("-12.50")
    assert Payment.objects.count() == 1


def test_balance_is_dollars_and_cents_after_several_payments(client_for, desk_day):
    # On SQLite the sum came back as a binary float: "-29.3400000000000".
    client = client_for("front_desk")
    for amount in ("12.34", "5", "12.00"):
        body = {"patient_id": desk_day.patient.pk, "amount": amount, "method": "cash"}
        assert post(client, f"{API}/payments", body).status_code == 201
    balance = client.get(f"{API}/patients/{desk_day.patient.pk}/balance").json()
    assert balance["balance"] == "-29.34"


def test_chart_prep_api(client_for, desk_day):
    from datetime import datetime, time

    from medoffice.reception.selectors import practice_zone
    from medoffice.testing import scheduling_factories as sf

    tomorrow = local_today() + timedelta(days=1)
    sf.appointment(
        patient=desk_day.patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type,
        start=datetime.combine(tomorrow, time(9), tzinfo=practice_zone()),
    )  # fmt: skip
    client = client_for("front_desk")
    rows = client.get(f"{API}/chart-prep").json()
    assert len(rows) == 1
    assert {item["kind"] for item in rows[0]["items"]} == {"eligibility", "form"}
    assert client.get(f"{API}/chart-prep", {"date": "2001-01-01"}).json() == []
    bad = client.get(f"{API}/chart-prep", {"stale_days": "0"})
    assert bad.status_code == 422 and "stale_days" in bad.json()["errors"]
    bad_date = client.get(f"{API}/flow-board", {"date": "not-a-date"})
    assert bad_date.status_code == 422 and "date" in bad_date.json()["errors"]
