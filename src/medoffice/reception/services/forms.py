"""Forms the desk collects and the patients' signatures on them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import (
    InvalidInput,
)
from medoffice.core.models import User
from medoffice.core.permissions import Perm
from medoffice.core.services import full_clean_or_raise
from medoffice.reception.models import (
    FormType,
    SignedForm,
    Visit,
)
from medoffice.scheduling.permissions import SchedulingPerm

if TYPE_CHECKING:
    from medoffice.patients.models import Patient
from medoffice.reception.services.common import _refuse_merged


@transaction.atomic
@binds_actor("actor")
def form_type_save(
    *, actor: User | None, form_type: FormType | None = None, **fields: Any
) -> FormType:
    """Add or change a form the desk collects (manager's setting)."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    form_type = form_type or FormType()
    for name, value in fields.items():
        setattr(form_type, name, value)
    full_clean_or_raise(form_type)
    form_type.save()
    return form_type


def _sign(
    *,
    patient: Patient,
    form_type: FormType,
    recorded_by: User,
    visit: Visit | None,
    now: datetime,
) -> SignedForm:
    signed = SignedForm(
        patient=patient, form_type=form_type, signed_at=now, recorded_by=recorded_by, visit=visit
    )
    signed.save(force_insert=True)
    return signed


@transaction.atomic
@binds_actor("recorded_by")
def form_sign(
    *,
    patient: Patient,
    form_type: FormType,
    recorded_by: User,
    visit: Visit | None = None,
    signed_at: datetime | None = None,
) -> SignedForm:
    """Record that the patient signed a form (today, or at a time given, never in the future)."""
    require_perm(recorded_by, SchedulingPerm.CHECK_IN)
    _refuse_merged(patient)
    now = timezone.now()
    signed_at = signed_at or now
    if signed_at > now:
        raise InvalidInput("A form cannot be signed in the future.", field="signed_at")
    if not form_type.is_active:
        raise InvalidInput(f"{form_type.name} is no longer collected.", field="form_type")
    return _sign(
        patient=patient, form_type=form_type, recorded_by=recorded_by, visit=visit, now=signed_at
    )
