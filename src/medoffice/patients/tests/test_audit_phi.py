"""Patient values in the audit trail: encrypted at rest, readable only by the roles allowed
to see PHI, re-encrypted with the field keys, and tamper-evident (core/audit.py).

A patient's change goes through the patients service, so these tests live with that app;
the chain's helpers come from core's audit-chain tests.
"""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction

from medoffice.core import audit, keys
from medoffice.core.models import AuditAction, AuditEvent, AuditSecret
from medoffice.core.tests.test_audit_chain import _raw_rows, _sql, _verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_change(db, practice, users):
    """A patient's phone changed through the patients service."""
    from medoffice.patients import services as patient_services
    from medoffice.testing import patients_factories as pf

    patient = pf.patient(first_name="Maria", last_name="Lopez", phone="(217) 555-0101")
    patient_services.patient_update(
        actor=users["front_desk"], patient=patient, phone="(217) 555-0102"
    )
    return AuditEvent.objects.filter(
        object_type="patients.patient", object_id=str(patient.pk), action=AuditAction.UPDATE
    ).latest("id")


def test_patient_values_in_the_trail_are_encrypted_at_rest(patient_change):
    raw = _raw_rows()
    assert "555-0101" not in raw and "5550102" not in raw
    assert set(patient_change.changes["after"]) >= {"phone"}
    assert set(patient_change.changes["after"]["phone"]) == {audit.PHI_MARK}
    token = AuditSecret.objects.values_list("values", flat=True).get(event=patient_change)
    assert "5550102" in token  # decrypted by the field on the way out


def test_readable_changes_decrypts_for_phi_roles_and_masks_for_others(patient_change, users):
    for role in ("front_desk", "auditor", "manager"):
        readable = audit.readable_changes(patient_change, users[role])
        assert readable["before"]["phone"] == "(217) 555-0101", role
        assert readable["after"]["phone"] == "+12175550102", role
    for user in (users["hr_payroll"], None):
        readable = audit.readable_changes(patient_change, user)
        assert readable["before"]["phone"] == audit.MASKED_PHI
        assert readable["after"]["phone"] == audit.MASKED_PHI
        assert "555010" not in json.dumps(readable)


def test_protected_values_survive_field_key_rotation_and_the_chain_still_verifies(
    patient_change, users, capsys
):
    from django.conf import settings

    from medoffice import paths

    original = list(settings.FIELD_ENCRYPTION_KEYS)
    token_before = _token(patient_change)
    try:
        keys.rotate_field_keys(drop_old=True)
        token_after = _token(patient_change)
        assert token_after != token_before
        readable = audit.readable_changes(patient_change, users["auditor"])
        assert readable["after"]["phone"] == "+12175550102"
        assert _verify(capsys)[0] == 0
    finally:
        paths.write_field_keys(original)
        settings.FIELD_ENCRYPTION_KEYS = original


def _token(event: AuditEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute('SELECT "values" FROM core_auditsecret WHERE event_id = %s', [event.pk])
        return cursor.fetchone()[0]


def test_a_swapped_or_changed_protected_value_is_found(patient_change, capsys):
    from medoffice.core.fields import encrypt_text

    audit.seal()
    forged = json.dumps({"after": {"phone": "(555) 999-9999"}, "before": {"phone": "x"}})
    _sql(
        'UPDATE core_auditsecret SET "values" = %s WHERE event_id = %s',
        [encrypt_text(forged), patient_change.pk],
    )
    code, out, _ = _verify(capsys)
    assert code == 1
    assert "its protected value" in out and "was changed" in out


def test_a_removed_protected_value_is_refused_by_the_triggers(patient_change):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql("DELETE FROM core_auditsecret WHERE event_id = %s", [patient_change.pk])
    assert AuditSecret.objects.filter(event=patient_change).exists()
