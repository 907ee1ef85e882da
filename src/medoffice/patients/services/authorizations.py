"""Referrals and prior authorizations, and the visits counted against them."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import User
from medoffice.patients.models import Authorization, AuthorizationKind, Coverage, Patient
from medoffice.patients.permissions import PatientsPerm
from medoffice.patients.services._common import (
    _check_known,
    _date,
    _locked_patient,
    _model_errors,
    _raise_if,
    _text,
)

AUTHORIZATION_FIELDS = frozenset(
    [
        "coverage",
        "kind",
        "number",
        "referring_provider_name",
        "referring_provider_npi",
        "valid_from",
        "valid_to",
        "visits_allowed",
        "visits_used",
        "notes",
        "is_active",
    ]
)


@transaction.atomic
@binds_actor("actor")
def authorization_save(
    *,
    actor: User | None,
    patient: Patient,
    authorization: Authorization | None = None,
    **fields: Any,
) -> Authorization:
    """Record or change a referral or prior authorization."""
    if actor is not None:
        require_perm(actor, PatientsPerm.EDIT_PATIENTS)
    _check_known(fields, AUTHORIZATION_FIELDS)
    patient = _locked_patient(patient)
    if authorization is not None:
        authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
        if authorization.patient_id != patient.pk:
            raise InvalidInput("This authorization belongs to another patient.", field="patient")
    authorization = authorization or Authorization(patient=patient)
    errors: dict = {}
    for name, value in fields.items():
        if name == "coverage":
            pk = value.pk if isinstance(value, Coverage) else value
            if pk in (None, ""):
                authorization.coverage = None
                continue
            found = (
                Coverage.objects.filter(pk=pk, patient=patient).first()
                if str(pk).isdigit()
                else None
            )
            if found is None:
                errors["coverage"] = ["Choose one of this patient's coverages."]
            authorization.coverage = found
        elif name in ("valid_from", "valid_to"):
            setattr(authorization, name, _date(value, name, errors))
        elif name in ("visits_allowed", "visits_used"):
            if value in (None, ""):
                value = None if name == "visits_allowed" else 0
            else:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    errors[name] = ["Enter a whole number."]
                    continue
                if value < 0:
                    errors[name] = ["Must not be negative."]
                    continue
            setattr(authorization, name, value)
        elif name == "is_active":
            authorization.is_active = bool(value)
        elif name == "notes":
            authorization.notes = str(value or "").strip()
        else:
            setattr(authorization, name, _text(value))
    if authorization.kind and authorization.kind not in AuthorizationKind.values:
        errors["kind"] = ["Choose referral or prior authorization."]
    npi = authorization.referring_provider_npi
    if npi:
        from medoffice.core.validators import npi_is_valid

        if not npi_is_valid(npi):
            errors["referring_provider_npi"] = ["Not a valid NPI (10 digits, check digit)."]
    _raise_if({**_model_errors(authorization), **errors})
    authorization.save()
    return authorization


@transaction.atomic
def authorization_use_visit(*, authorization: Authorization) -> Authorization:
    """Count one visit against an authorization; refused when none are left."""
    authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if (
        authorization.visits_allowed is not None
        and authorization.visits_used >= authorization.visits_allowed
    ):
        raise Conflict(
            f"Authorization {authorization.number or authorization.pk} has no visits left.",
            field="authorization",
        )
    authorization.visits_used += 1
    authorization.save(update_fields=["visits_used"])
    return authorization


@transaction.atomic
def authorization_release_visit(*, authorization: Authorization) -> Authorization:
    """Give back a visit counted for an appointment that did not happen."""
    authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if authorization.visits_used > 0:
        authorization.visits_used -= 1
        authorization.save(update_fields=["visits_used"])
    return authorization
