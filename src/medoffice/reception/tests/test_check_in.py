"""Check-in: everything in one transaction; each refusal leaves the database as it was."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotPermitted
from medoffice.patients.models import EligibilityCheck
from medoffice.reception import selectors, services
from medoffice.reception.exceptions import IllegalStageTransition
from medoffice.reception.models import Payment, ReceiptSequence, SignedForm, Stage, Visit
from medoffice.reception.payments import PaymentInput
from medoffice.scheduling.models import Appointment
from medoffice.testing import patients_factories as pf
from medoffice.testing import reception_factories as rf
from medoffice.testing import scheduling_factories as sf


def snapshot():
    return {
        "visits": list(Visit.objects.values_list("pk", "stage")),
        "payments": Payment.objects.count(),
        "receipt_numbers": list(ReceiptSequence.objects.values_list("year", "last_number")),
        "signed": SignedForm.objects.count(),
        "eligibility": EligibilityCheck.objects.count(),
        "appointments": list(Appointment.objects.values_list("pk", "status", "checked_in_at")),
    }


def do_check_in(day, user, **overrides):
    values = {
        "appointment_id": day.appointment.pk,
        "checked_in_by": user,
        "demographics_confirmed": True,
        "coverage_confirmed": True,
        "eligibility": [services.EligibilityInput(day.coverage.pk, "active", "CALL-1")],
        "forms_signed": [day.privacy.pk, day.financial.pk],
        "copay": PaymentInput("25.00", "card", "AUTH42"),
    }
    values.update(overrides)
    return services.check_in(**values)


def test_happy_path_writes_everything(desk_day, users):
    result = do_check_in(desk_day, users["front_desk"])

    visit = Visit.objects.get()
    assert visit == result.visit
    assert visit.stage == Stage.ARRIVED and visit.arrived_at is not None
    assert visit.demographics_confirmed and visit.coverage_confirmed
    assert visit.coverage == desk_day.coverage
    check = EligibilityCheck.objects.get()
    assert (check.status, check.method, check.reference) == ("active", "manual", "CALL-1")
    assert check.checked_by == users["front_desk"]
    assert visit.eligibility_check == check
    desk_day.appointment.refresh_from_db()
    assert desk_day.appointment.status == "checked_in"
    assert desk_day.appointment.checked_in_at is not None
    assert set(SignedForm.objects.values_list("form_type", flat=True)) == {
        desk_day.privacy.pk,
        desk_day.financial.pk,
    }
    payment = Payment.objects.get()
    assert payment == result.payment
    assert (payment.amount, payment.method, payment.reference) == (
        Decimal("25.00"),
        "card",
        "AUTH42",
    )
    assert payment.visit == visit and payment.location == desk_day.location
    assert selectors.patient_balance(desk_day.patient) == Decimal("-25.00")
    assert selectors.forms_due(desk_day.patient) == []


def test_check_in_without_copay_or_forms(desk_day, users):
    result = do_check_in(desk_day, users["front_desk"], copay=None, forms_signed=[], eligibility=[])
    assert result.payment is None
    assert Visit.objects.get().stage == Stage.ARRIVED
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"demographics_confirmed": False}, "demographics_confirmed"),
        ({"coverage_confirmed": False}, "coverage_confirmed"),
        ({"copay": PaymentInput("0", "cash")}, "copay.amount"),
        ({"copay": PaymentInput("25.00", "card", "4111111111111111")}, "copay.reference"),
        ({"copay": PaymentInput("25.00", "check", "")}, "copay.reference"),
        ({"copay": PaymentInput("25.00", "iou")}, "copay.method"),
        ({"forms_signed": [999999]}, "forms_signed"),
        ({"notes": "x" * 301}, "notes"),
        ({"notes": "card 4111111111111111"}, "notes"),
    ],
)
def test_invalid_input_writes_nothing(desk_day, users, overrides, field):
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        do_check_in(desk_day, users["front_desk"], **overrides)
    assert field in caught.value.errors
    assert snapshot() == before


def test_eligibility_for_a_coverage_not_in_force_writes_nothing(desk_day, users):
    other = pf.coverage()  # another patient's
    ended = pf.coverage(
        patient=desk_day.patient, priority=2, effective_date=desk_day.coverage.effective_date,
        end_date=desk_day.coverage.effective_date + timedelta(days=30),
    )  # fmt: skip
    before = snapshot()
    for coverage in (other, ended):
        with pytest.raises(InvalidInput) as caught:
            do_check_in(
                desk_day,
                users["front_desk"],
                eligibility=[services.EligibilityInput(coverage.pk, "active")],
            )
        assert "eligibility.1.coverage_id" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        do_check_in(
            desk_day,
            users["front_desk"],
            eligibility=[services.EligibilityInput(desk_day.coverage.pk, "maybe")],
        )
    assert "eligibility.1.status" in caught.value.errors
    assert snapshot() == before


def test_every_bad_field_is_named_at_once(desk_day, users):
    with pytest.raises(InvalidInput) as caught:
        do_check_in(
            desk_day,
            users["front_desk"],
            demographics_confirmed=False,
            coverage_confirmed=False,
            copay=PaymentInput("-1", "cash"),
        )
    assert {"demographics_confirmed", "coverage_confirmed", "copay.amount"} <= set(
        caught.value.errors
    )


def test_a_failure_late_in_the_transaction_rolls_everything_back(desk_day, users, monkeypatch):
    """The payment is written last; if it fails, the visit, stage change, forms and
    eligibility check written before it are gone too."""
    from medoffice.reception.services import checkin

    def broken(**kwargs):
        raise RuntimeError("printer on fire")

    monkeypatch.setattr(checkin, "_write_payment", broken)
    before = snapshot()
    with pytest.raises(RuntimeError):
        do_check_in(desk_day, users["front_desk"])
    assert snapshot() == before


def test_checking_in_twice_is_an_illegal_transition(desk_day, users):
    do_check_in(desk_day, users["front_desk"])
    before = snapshot()
    with pytest.raises(IllegalStageTransition):
        do_check_in(desk_day, users["front_desk"])
    assert snapshot() == before


@pytest.mark.parametrize("status", ["cancelled", "no_show", "completed"])
def test_only_booked_appointments_check_in(desk_day, users, status):
    appointment = sf.appointment(
        patient=desk_day.patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type, status=status,
    )  # fmt: skip
    before = snapshot()
    with pytest.raises(InvalidTransition):
        do_check_in(desk_day, users["front_desk"], appointment_id=appointment.pk)
    assert snapshot() == before


def test_an_appointment_on_another_day_is_not_checked_in(desk_day, users):
    tomorrow = desk_day.appointment.start + timedelta(days=1)
    appointment = sf.appointment(
        patient=desk_day.patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type, start=tomorrow,
    )  # fmt: skip
    before = snapshot()
    with pytest.raises(InvalidTransition):
        do_check_in(desk_day, users["front_desk"], appointment_id=appointment.pk)
    assert snapshot() == before


def test_roles_without_check_in_are_refused(desk_day, users):
    before = snapshot()
    for role in ("clinician", "auditor", "biller", "hr_payroll"):
        with pytest.raises(NotPermitted):
            do_check_in(desk_day, users[role])
    assert snapshot() == before


def test_self_pay_patient_needs_no_coverage_confirmation(desk_day, users):
    patient = pf.patient()
    appointment = sf.appointment(
        patient=patient, provider=desk_day.provider, location=desk_day.location,
        appointment_type=desk_day.visit_type,
    )  # fmt: skip
    result = do_check_in(
        desk_day,
        users["front_desk"],
        appointment_id=appointment.pk,
        coverage_confirmed=False,
        eligibility=[],
    )
    assert result.visit.coverage is None and not result.visit.coverage_confirmed


def test_forms_due_follow_the_renewal_interval(desk_day, users):
    from django.utils import timezone

    now = timezone.now()
    rf.signed_form(
        patient=desk_day.patient, form_type=desk_day.privacy, recorded_by=users["front_desk"],
        signed_at=now - timedelta(days=366),
    )  # fmt: skip
    rf.signed_form(
        patient=desk_day.patient, form_type=desk_day.financial, recorded_by=users["front_desk"],
        signed_at=now - timedelta(days=3000),
    )  # fmt: skip
    due = selectors.forms_due(desk_day.patient)
    assert [d.form_type for d in due] == [desk_day.privacy]
    assert due[0].reason.startswith("renewal due")
    rf.signed_form(
        patient=desk_day.patient, form_type=desk_day.privacy, recorded_by=users["front_desk"],
        signed_at=now - timedelta(days=10),
    )  # fmt: skip
    assert selectors.forms_due(desk_day.patient) == []


def test_check_in_completes_an_appointment_checked_in_on_the_schedule(desk_day, users):
    from medoffice.core.services import module_set_enabled
    from medoffice.scheduling.services import appointment_check_in

    # Checked in on the schedule while the front desk module was off, then switched on.
    module_set_enabled(actor=None, module="reception", enabled=False)
    appointment_check_in(appointment=desk_day.appointment, checked_in_by=users["front_desk"])
    module_set_enabled(actor=None, module="reception", enabled=True)
    arrived_on_schedule = Appointment.objects.get(pk=desk_day.appointment.pk).checked_in_at
    result = do_check_in(desk_day, users["front_desk"])
    assert result.visit.stage == Stage.ARRIVED
    assert result.visit.arrived_at == arrived_on_schedule  # the arrival time already recorded
    assert result.payment is not None
    assert Appointment.objects.get(pk=desk_day.appointment.pk).status == "checked_in"
    with pytest.raises(IllegalStageTransition):
        do_check_in(desk_day, users["front_desk"])
