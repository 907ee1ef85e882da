"""The front desk's pages: who may open them, and what they do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from medoffice.core.models import AuditEvent
from medoffice.reception.models import Payment, SignedForm, Stage, Visit
from medoffice.testing import reception_factories as rf
from medoffice.testing.forms import form_token

ROLES_WITHOUT_CHECK_IN = ("clinician", "auditor", "biller", "hr_payroll")


def urls(day, payment=None):
    pages = {
        "board": (reverse("reception:flow_board"), "reception.view_flow"),
        "check_in": (
            reverse("reception:check_in", args=[day.appointment.pk]),
            "reception.check_in",
        ),
        "check_out": (
            reverse("reception:check_out", args=[day.appointment.pk]),
            "reception.check_in",
        ),
        "prep": (reverse("reception:chart_prep"), "reception.check_in"),
        "desk": (reverse("reception:patient_desk", args=[day.patient.pk]), "reception.check_in"),
        "pay": (
            reverse("reception:payment_new", args=[day.patient.pk]),
            "reception.collect_payment",
        ),
    }
    if payment is not None:
        pages["receipt"] = (
            reverse("reception:receipt", args=[payment.pk]),
            "reception.collect_payment",
        )
        pages["pdf"] = (
            reverse("reception:receipt_pdf", args=[payment.pk]),
            "reception.collect_payment",
        )
    return pages


def test_anonymous_is_sent_to_login_everywhere(client, desk_day, users):
    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    for name, (url, _) in urls(desk_day, payment).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert reverse("core:login") in response["Location"]


@pytest.mark.parametrize(
    "role", ["front_desk", "manager", "owner", "clinician", "auditor", "biller", "hr_payroll"]
)
def test_each_page_follows_the_role(client_for, desk_day, users, role):
    from medoffice.core.access import permissions_of

    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    held = permissions_of(users[role])
    client = client_for(role)
    for name, (url, perm) in urls(desk_day, payment).items():
        response = client.get(url)
        expected = 200 if perm in held else 403
        assert response.status_code == expected, (name, role, response.status_code)


def test_board_shows_stages_and_polls_in_the_background(client_for, desk_day, users):
    rf.visit(appointment=desk_day.appointment, stage=Stage.ROOMED, room=desk_day.rooms[0])
    client = client_for("front_desk")
    page = client.get(reverse("reception:flow_board"), {"location": desk_day.location.pk})
    html = page.content.decode()
    assert "Lopez, Maria" in html
    assert 'hx-trigger="every 15s"' in html
    assert "X-Medoffice-Background" in html
    assert "Exam 1" in html
    partial = client.get(
        reverse("reception:flow_board"),
        {"location": desk_day.location.pk, "partial": "1"},
        headers={"HX-Request": "true", "X-Medoffice-Background": "1"},
    )
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert "Lopez, Maria" in partial.content.decode()


def test_background_refresh_does_not_keep_the_session_alive(client_for, desk_day):
    import time

    from medoffice.core.middleware import SESSION_LAST_SEEN

    client = client_for("front_desk")
    client.get(reverse("reception:flow_board"))
    a_minute_ago = time.time() - 60
    session = client.session
    session[SESSION_LAST_SEEN] = a_minute_ago
    session.save()
    poll = client.get(
        reverse("reception:flow_board"),
        {"partial": "1"},
        headers={"HX-Request": "true", "X-Medoffice-Background": "1"},
    )
    assert poll.status_code == 200
    assert client.session[SESSION_LAST_SEEN] == a_minute_ago  # the poll is not activity
    client.get(reverse("reception:flow_board"))
    assert client.session[SESSION_LAST_SEEN] > a_minute_ago  # a person's request is


def test_check_in_page_checks_in_with_copay_and_shows_receipt(client_for, desk_day):
    client = client_for("front_desk")
    url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Notice of privacy practices" in page.content.decode()
    assert 'value="25.00"' in page.content.decode()  # the primary coverage's copay
    response = client.post(
        url,
        {
            "form_token": form_token(client, url),
            "demographics_confirmed": "on",
            "coverage_confirmed": "on",
            f"elig_{desk_day.coverage.pk}": "active",
            f"form_{desk_day.privacy.pk}": "on",
            "copay_amount": "25.00",
            "copay_method": "check",
            "copay_reference": "1042",
        },
    )
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reception:receipt", args=[payment.pk])
    assert Visit.objects.get().stage == Stage.ARRIVED
    assert SignedForm.objects.get().form_type == desk_day.privacy
    receipt = client.get(response["Location"]).content.decode()
    assert payment.receipt_number in receipt and "$25.00" in receipt


def test_check_in_page_names_the_bad_fields_and_writes_nothing(client_for, desk_day):
    client = client_for("front_desk")
    url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    response = client.post(
        url,
        {"coverage_confirmed": "on", "copay_amount": "25.00", "copay_method": "card",
         "copay_reference": "4111 1111 1111 1111", "form_token": form_token(client, url)},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert (
        'id="id_demographics_confirmed" name="demographics_confirmed" aria-invalid="true"' in html
    )
    assert "Never record a card number" in html
    assert "4111 1111 1111 1111" not in html  # not echoed back either
    assert not Visit.objects.exists() and not Payment.objects.exists()


def test_check_in_summary_names_fields_by_their_labels(client_for, desk_day):
    # The summary read "check demographics_confirmed, coverage_confirmed, copay.amount".
    client = client_for("front_desk")
    url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    response = client.post(
        url,
        {"copay_amount": "1e400", "copay_method": "cash", "form_token": form_token(client, url)},
    )
    html = response.content.decode()
    assert (
        "Check-in not saved: check the patient&#x27;s details, insurance card and copay amount."
        in html
    )
    assert "demographics_confirmed," not in html and "copay.amount" not in html
    assert not Visit.objects.exists() and not Payment.objects.exists()


def test_payment_summary_names_fields_by_their_labels(client_for, desk_day):
    client = client_for("front_desk")
    url = reverse("reception:payment_new", args=[desk_day.patient.pk])
    response = client.post(
        url, {"amount": "5", "method": "bitcoin", "form_token": form_token(client, url)}
    )
    assert "Check the payment method." in response.content.decode()
    assert not Payment.objects.exists()


def test_advance_by_htmx_returns_the_board(client_for, desk_day):
    rf.visit(appointment=desk_day.appointment, stage=Stage.ARRIVED)
    client = client_for("front_desk")
    response = client.post(
        reverse("reception:flow_advance", args=[desk_day.appointment.pk]),
        {"stage": "roomed", "room": desk_day.rooms[1].pk, "location": desk_day.location.pk},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "roomed in Exam 2" in response.content.decode()
    assert Visit.objects.get().room == desk_day.rooms[1]
    illegal = client.post(
        reverse("reception:flow_advance", args=[desk_day.appointment.pk]),
        {"stage": "arrived", "location": desk_day.location.pk},
        headers={"HX-Request": "true"},
    )
    assert 'role="alert"' in illegal.content.decode()
    assert Visit.objects.get().stage == Stage.ROOMED


def test_advance_without_javascript_redirects_to_the_board(client_for, desk_day):
    rf.visit(appointment=desk_day.appointment, stage=Stage.ARRIVED)
    response = client_for("manager").post(
        reverse("reception:flow_advance", args=[desk_day.appointment.pk]),
        {"stage": "roomed", "room": desk_day.rooms[0].pk, "back": "location=1"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("reception:flow_board"))


@pytest.mark.parametrize("role", ["clinician", "auditor"])
def test_advance_is_refused_without_check_in(client_for, desk_day, role):
    rf.visit(appointment=desk_day.appointment, stage=Stage.ARRIVED)
    response = client_for(role).post(
        reverse("reception:flow_advance", args=[desk_day.appointment.pk]),
        {"stage": "roomed", "room": desk_day.rooms[0].pk},
    )
    assert response.status_code == 403
    assert Visit.objects.get().stage == Stage.ARRIVED


def test_check_out_page_completes_the_appointment(client_for, desk_day):
    rf.visit(appointment=desk_day.appointment, stage=Stage.WITH_PROVIDER)
    desk_day.appointment.status = "checked_in"
    desk_day.appointment.save()
    client = client_for("front_desk")
    url = reverse("reception:check_out", args=[desk_day.appointment.pk])
    page = client.get(url).content.decode()
    assert "No appointment booked yet" in page
    assert "Balance" in page
    response = client.post(url)
    assert response.status_code == 302
    desk_day.appointment.refresh_from_db()
    assert desk_day.appointment.status == "completed"
    assert Visit.objects.get().stage == Stage.CHECKED_OUT


def test_payment_page_records_and_refuses(client_for, desk_day):
    client = client_for("front_desk")
    url = reverse("reception:payment_new", args=[desk_day.patient.pk])
    token = form_token(client, url)
    bad = client.post(url, {"amount": "0", "method": "cash", "form_token": token})
    assert "Amount must be more than zero" in bad.content.decode()
    assert not Payment.objects.exists()
    good = client.post(
        url,
        {"amount": "40", "method": "cash", "location": desk_day.location.pk, "form_token": token},
    )
    payment = Payment.objects.get()
    assert good["Location"] == reverse("reception:receipt", args=[payment.pk])
    assert payment.amount == Decimal("40.00") and payment.location == desk_day.location


def test_receipt_pdf_download_is_audited(client_for, desk_day, users):
    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    response = client_for("front_desk").get(reverse("reception:receipt_pdf", args=[payment.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert AuditEvent.objects.filter(
        action="download", object_type="reception.payment", object_id=str(payment.pk)
    ).exists()


def test_forms_can_be_signed_on_the_patient_page(client_for, desk_day):
    client = client_for("front_desk")
    url = reverse("reception:patient_desk", args=[desk_day.patient.pk])
    assert "never signed" in client.get(url).content.decode()
    client.post(url, {"form_type": desk_day.financial.pk})
    assert SignedForm.objects.get().form_type == desk_day.financial


def test_chart_prep_page_lists_tomorrow(client_for, desk_day):
    from datetime import datetime, time, timedelta

    from medoffice.reception.selectors import local_today, practice_zone
    from medoffice.testing import scheduling_factories as sf

    tomorrow = local_today() + timedelta(days=1)
    sf.appointment(
        patient=desk_day.patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type,
        start=datetime.combine(tomorrow, time(9), tzinfo=practice_zone()),
    )  # fmt: skip
    html = client_for("front_desk").get(reverse("reception:chart_prep")).content.decode()
    assert "Lopez, Maria" in html
    assert "eligibility never verified" in html
    assert "Financial policy: never signed" in html


def test_dashboard_tiles(client_for, desk_day):
    rf.visit(appointment=desk_day.appointment, stage=Stage.ARRIVED)
    html = client_for("front_desk").get(reverse("dashboard:home")).content.decode()
    assert "Patients waiting now" in html and "Checked in today" in html


def test_form_types_page_permissions_and_changes(client, client_for, desk_day):
    from medoffice.reception.models import FormType

    url = reverse("reception:form_types")
    assert client.get(url).status_code == 302
    assert client_for("front_desk").get(url).status_code == 403
    assert client_for("front_desk").post(url, {"name": "Sneaky"}).status_code == 403
    manager = client_for("manager")
    assert "Notice of privacy practices" in manager.get(url).content.decode()

    manager.post(url, {"name": "Advance directive", "renew_every_days": "730", "is_active": "on"})
    made = FormType.objects.get(name="Advance directive")
    assert (made.renew_every_days, made.is_active) == (730, True)

    before = list(FormType.objects.values())
    bad = manager.post(url, {"name": "Photo consent", "renew_every_days": "yearly"})
    assert "renew_every_days" in bad.content.decode() and 'role="alert"' in bad.content.decode()
    dup = manager.post(url, {"name": "Financial policy"})
    assert 'role="alert"' in dup.content.decode()
    assert list(FormType.objects.values()) == before

    manager.post(
        reverse("reception:form_type", args=[desk_day.privacy.pk]),
        {"name": "Notice of privacy practices", "renew_every_days": "", "order": "1"},
    )
    desk_day.privacy.refresh_from_db()
    assert desk_day.privacy.renew_every_days is None and not desk_day.privacy.is_active


@pytest.mark.parametrize("chosen", ["9" * 25, "999999", "abc"])
def test_a_payment_at_no_active_location_is_refused_naming_the_location(
    client_for, desk_day, chosen
):
    """A location that is not one of the active ones was replaced by the first location, and
    the money filed there; it is refused with the field named, nothing written."""
    client = client_for("front_desk")
    url = reverse("reception:payment_new", args=[desk_day.patient.pk])
    token = form_token(client, url)
    bad = client.post(
        url, {"amount": "40", "method": "cash", "location": chosen, "form_token": token}
    )
    assert bad.status_code == 422
    assert "Choose one of the active locations." in bad.content.decode()
    assert not Payment.objects.exists()
    good = client.post(
        url,
        {"amount": "40", "method": "cash", "location": desk_day.location.pk, "form_token": token},
    )
    assert good.status_code == 302
    assert Payment.objects.get().location == desk_day.location


def test_a_payment_form_with_errors_answers_422(client_for, desk_day):
    client = client_for("front_desk")
    url = reverse("reception:payment_new", args=[desk_day.patient.pk])
    bad = client.post(url, {"amount": "0", "method": "cash", "form_token": form_token(client, url)})
    assert bad.status_code == 422
    assert "Amount must be more than zero" in bad.content.decode()


def test_the_audit_trail_links_a_receipt_only_for_roles_that_can_open_it(
    client_for, desk_day, users
):
    """The auditor reads the trail but cannot open receipts: the trail names the payment
    without a link that answers 403; the manager keeps the link."""
    payment = rf.payment(patient=desk_day.patient, received_by=users["front_desk"])
    receipt = reverse("reception:receipt", args=[payment.pk])
    trail = reverse("core:audit")
    auditor = client_for("auditor")
    page = auditor.get(trail, {"object_type": "reception.payment"}).content.decode()
    assert "Payment" in page and f'href="{receipt}"' not in page
    assert auditor.get(receipt).status_code == 403
    manager = client_for("manager").get(trail, {"object_type": "reception.payment"})
    assert f'href="{receipt}"' in manager.content.decode()
