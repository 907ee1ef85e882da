"""Merging a duplicate patient record into the surviving one: every record of every app
that points at the duplicate moves, and the trail says what moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotFound
from medoffice.core.models import AuditAction, User
from medoffice.patients.models import Coverage, Patient, Relationship
from medoffice.patients.permissions import PatientsPerm

# Records that are history and never change (the books' lines) are not re-pointed: their app
# moves what they hold another way (the ledger posts a transfer of the duplicate's balance)
# and returns the ids of what it wrote.
MergeHandler = Callable[..., list[Any]]
_merge_handlers: dict[type[models.Model], MergeHandler] = {}


def on_merge(model: type[models.Model], handler: MergeHandler) -> None:
    """Called from an app's AppConfig.ready(): `handler(survivor=, duplicate=, actor=)`."""
    _merge_handlers[model] = handler


def moved_by_handler(model: type[models.Model]) -> bool:
    return model in _merge_handlers


def _references_to_patient() -> list[tuple[type[models.Model], models.Field[Any, Any], bool]]:
    """Every (model, fk field) that points at Patient, found from Patient._meta.related_objects:
    foreign keys and one-to-ones of any app, and the through tables of many-to-manys."""
    found: list[tuple[type[models.Model], models.Field[Any, Any], bool]] = []
    for relation in Patient._meta.related_objects:
        if isinstance(relation, models.ManyToManyRel):
            through = relation.through
            assert through is not None  # Django fills in the through model at setup
            for field in through._meta.fields:
                if field.is_relation and field.related_model is Patient:
                    found.append((through, field, True))
        else:
            related = relation.related_model
            assert not isinstance(related, str)  # resolved to a class once apps are ready
            found.append((related, relation.field, False))
    return found


def _unique_sets(
    model: type[models.Model], field: models.Field[Any, Any]
) -> list[tuple[tuple[str, ...], Q | None]]:
    """The unique column sets of a model that include the given foreign key."""
    sets: list[tuple[tuple[str, ...], Q | None]] = []
    if field.unique:
        sets.append(((field.name,), None))
    for together in model._meta.unique_together:
        if field.name in together:
            sets.append((tuple(together), None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and field.name in constraint.fields:
            sets.append((tuple(constraint.fields), constraint.condition))
    return sets


def _attname(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # unique rules name concrete fields
    return field.attname


def _collisions(
    model: type[models.Model],
    field: models.Field[Any, Any],
    survivor: Patient,
    duplicate: Patient,
) -> list[tuple[Any, tuple[str, ...]]]:
    """Rows of the duplicate that would break a unique rule once moved to the survivor."""
    clashing: list[tuple[Any, tuple[str, ...]]] = []
    for names, condition in _unique_sets(model, field):
        others = [n for n in names if n != field.name]
        mine = model._default_manager.filter(**{field.name: duplicate})
        theirs = model._default_manager.filter(**{field.name: survivor})
        if condition is not None:
            mine, theirs = mine.filter(condition), theirs.filter(condition)
        attnames = [_attname(model, n) for n in others]
        existing = set(theirs.values_list(*attnames)) if attnames else (
            {()} if theirs.exists() else set()
        )  # fmt: skip
        if not existing:
            continue
        for row in mine.values("pk", *attnames):
            if tuple(row[a] for a in attnames) in existing:
                clashing.append((row["pk"], names))
    return clashing


@transaction.atomic
@binds_actor("actor")
def patient_merge(
    *, actor: User | None, survivor: Patient, duplicate: Patient, reason: str = ""
) -> dict[str, Any]:
    """Move every record of the duplicate to the survivor and retire the duplicate.

    Works over Patient._meta.related_objects, so appointments, payments and the records of
    apps added later move too. Where a unique rule would break: a many-to-many link the
    survivor already has is dropped, an open coverage at a priority the survivor already
    holds is withdrawn; any other clash stops the merge with a Conflict naming the record.
    Returns what moved ({"app.model.field": [ids]}), which is also written to the audit trail.
    """
    if actor is not None:
        require_perm(actor, PatientsPerm.MERGE_PATIENTS)
    if survivor.pk == duplicate.pk:
        raise InvalidInput("duplicate: choose two different records.", field="duplicate")
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise NotFound("One of the records no longer exists.")
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if duplicate.merged_into_id:
        raise InvalidTransition(f"MRN {duplicate.mrn} was already merged.")
    if survivor.merged_into_id:
        raise InvalidTransition(f"MRN {survivor.mrn} was merged itself; merge into its survivor.")

    moved: dict[str, list] = {}
    dropped: dict[str, list] = {}
    withdrawn = []
    # Our own rule: one open coverage per priority. Withdraw the duplicate's clashing ones.
    held = set(
        Coverage.objects.filter(
            patient=survivor, is_active=True, end_date__isnull=True
        ).values_list("priority", flat=True)
    )
    for coverage in Coverage.objects.filter(
        patient=duplicate, is_active=True, end_date__isnull=True, priority__in=held
    ):
        coverage.is_active = False
        coverage.save(update_fields=["is_active"])
        withdrawn.append(coverage.pk)

    for model, field, is_through in _references_to_patient():
        label = f"{model._meta.label_lower}.{field.name}"
        handler = _merge_handlers.get(model)
        if handler is not None:
            if written := handler(survivor=survivor, duplicate=duplicate, actor=actor):
                moved[f"{label} (transferred)"] = written
            continue
        rows = model._default_manager.filter(**{field.name: duplicate})
        if model is Patient:
            rows = rows.exclude(pk__in=[survivor.pk, duplicate.pk])
        clashes = _collisions(model, field, survivor, duplicate)
        if clashes:
            if is_through:
                ids = [pk for pk, _ in clashes]
                model._default_manager.filter(pk__in=ids).delete()
                dropped[label] = ids
            else:
                pk, names = clashes[0]
                raise Conflict(
                    f"Cannot merge: {model._meta.verbose_name} #{pk} of MRN {duplicate.mrn} "
                    f"clashes with the survivor's on {', '.join(names)}. Resolve it first.",
                    field="duplicate",
                )
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                model._default_manager.filter(pk__in=ids).update(**{field.name: survivor})
        except IntegrityError as exc:
            raise Conflict(
                f"Cannot merge: moving {model._meta.verbose_name_plural} breaks a rule ({exc}).",
                field="duplicate",
            ) from exc
        moved[label] = ids

    # The survivor's own pointers at the duplicate (e.g. the duplicate was its guarantor).
    if survivor.guarantor_patient_id == duplicate.pk:
        survivor.guarantor_patient = None
        survivor.guarantor_relationship = Relationship.SELF
        survivor.save(update_fields=["guarantor_patient", "guarantor_relationship", "updated_at"])
        moved.setdefault("patients.patient.guarantor_patient", []).append(survivor.pk)
    # Fill the survivor's empty contact fields from the duplicate.
    filled = {}
    for name in ("phone", "email", "address_line1", "address_line2", "city", "state", "zip_code",
                 "emergency_contact_name", "emergency_contact_relationship",
                 "emergency_contact_phone", "middle_name"):  # fmt: skip
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
            filled[name] = getattr(duplicate, name)
    if filled:
        survivor.save()

    duplicate.merged_into = survivor
    duplicate.merged_at = timezone.now()
    duplicate.is_active = False
    if duplicate.guarantor_patient_id == survivor.pk:
        duplicate.guarantor_patient = None
        duplicate.guarantor_relationship = Relationship.SELF
    duplicate.save()

    summary = {
        "survivor": {"id": survivor.pk, "mrn": survivor.mrn},
        "duplicate": {"id": duplicate.pk, "mrn": duplicate.mrn},
        "moved": moved,
        "dropped_duplicate_links": dropped,
        "withdrawn_coverages": withdrawn,
        "filled_fields": sorted(filled),
    }
    note = (reason or "").strip() or "duplicate record merged"
    audit.record(AuditAction.UPDATE, obj=survivor, reason=note, changes={"merge": summary})
    audit.record(AuditAction.UPDATE, obj=duplicate, reason=note, changes={"merge": summary})
    return summary
