"""Audit capture in the model layer: every write of an audited record leaves an event.

`AuditedModel` is the base of every audited model. Its manager's queryset records
`update()`, `delete()`, `bulk_create()` and `bulk_update()` as one event each, naming the
rows (ids) and the fields set; single saves and deletes are recorded by `save_base` and
the `post_delete` signal (which the delete collector also sends for queryset deletes).
The values a row had when it was loaded are kept from `from_db`, so an update needs no
extra SELECT to know what changed.

The actor is the one bound with `acting_as` (the page's or token's user, the CLI's
`--as` user, a job's enqueuing user, or the user a service was given: see
`context.binds_actor`). Inside an `audit.unit(...)` block the per-row events are replaced
by one event for the whole unit (an import, a batch, a run), which the rows can link to.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import UserManager
from django.db import models, transaction
from django.db.models.expressions import Combinable

from medoffice.core.context import Actor, acting_as, current_actor
from medoffice.core.exceptions import MedofficeError
from medoffice.core.fields import EncryptedTextField

if TYPE_CHECKING:
    from medoffice.core.models import AuditEvent

IGNORED_FIELDS = frozenset({"last_login", "updated_at", "password"})
MASKED = "(encrypted value)"
DETAILS_SHOWN = 1000  # a bulk event names every id, and the values of at most this many rows


class ActorRequired(MedofficeError):
    code = "actor_required"
    status = 400

    def __init__(self, what: str = "") -> None:
        detail = f" ({what})" if what else ""
        super().__init__(
            "this command writes practice records"
            + detail
            + ": name the user it acts for with --as USERNAME"
        )


# --- What a value looks like in the trail ----------------------------------------------------


def masked(value: object) -> str:
    """A keyed fingerprint: shows that an encrypted value changed without revealing it."""
    if not value:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"{MASKED} #{digest[:8]}"


def _plain(field: models.Field, value: object) -> object:
    if isinstance(field, EncryptedTextField):
        return masked(value)
    # A FieldFile first: asking it for `read` opens the stored file (or raises when empty).
    if isinstance(value, models.fields.files.FieldFile) or hasattr(value, "read"):
        return getattr(value, "name", "") or ""
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)


_audited_by_model: dict[type[models.Model], list[models.Field]] = {}


def _audited_fields(model: type[models.Model]) -> list[models.Field]:
    """The model's audited fields, worked out once per model (every audited save reads them)."""
    found = _audited_by_model.get(model)
    if found is None:
        ignored = IGNORED_FIELDS | set(getattr(model, "audit_ignore_fields", ()))
        found = [f for f in model._meta.concrete_fields if f.name not in ignored]
        _audited_by_model[model] = found
    return found


def snapshot(instance: models.Model, names: Iterable[str] | None = None) -> dict[str, object]:
    """The instance's audited values by field name; deferred fields are left out (no query)."""
    deferred = instance.get_deferred_fields()
    wanted = set(names) if names is not None else None
    values: dict[str, object] = {}
    for f in _audited_fields(type(instance)):
        if f.attname in deferred or (wanted is not None and f.name not in wanted):
            continue
        values[f.name] = _plain(f, getattr(instance, f.attname))
    return values


def _loaded_snapshot(instance: models.Model) -> dict[str, object] | None:
    loaded = getattr(instance, "_audit_loaded", None)
    if loaded is None:
        return None
    by_attname = {f.attname: f for f in _audited_fields(type(instance))}
    return {
        by_attname[a].name: _plain(by_attname[a], v) for a, v in loaded.items() if a in by_attname
    }


def _remember_loaded(instance: models.Model) -> None:
    deferred = instance.get_deferred_fields()
    instance._audit_loaded = {  # type: ignore[attr-defined]
        f.attname: _copy(getattr(instance, f.attname))
        for f in _audited_fields(type(instance))
        if f.attname not in deferred
    }


def _copy(value: object) -> object:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


# Types whose equal values always look the same in the trail (`_plain` gives equal results):
# not datetimes (equal instants in two zones), decimals (1.0 and 1.00), floats or containers.
_SAME_WHEN_EQUAL = frozenset({str, int, bool, type(None)})


def _changes_since_loaded(
    instance: models.Model, loaded: dict[str, object], names: set[str] | None
) -> tuple[dict[str, object], dict[str, object]]:
    """Before and after values of the audited fields that changed since the row was loaded
    (or last saved), and remember the saved values as loaded.

    The same fields as comparing `_loaded_snapshot` with `snapshot`, without rendering the
    fields that kept their value: a value identical to the loaded one, or equal to it and
    of a type that always renders the same, is unchanged; any other is compared rendered.
    Only the fields written (`names`, from update_fields) are remembered as saved.
    """
    deferred = instance.get_deferred_fields()
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    missing = object()
    for f in _audited_fields(type(instance)):
        attname = f.attname
        if attname in deferred or (names is not None and f.name not in names):
            continue
        value = getattr(instance, attname)
        old = loaded.get(attname, missing)
        if old is value or (
            type(old) is type(value) and type(value) in _SAME_WHEN_EQUAL and old == value
        ):
            continue
        loaded[attname] = _copy(value)
        now = _plain(f, value)
        was = None if old is missing else _plain(f, old)
        if was != now:
            before[f.name] = was
            after[f.name] = now
    return before, after


def _describe_set(model: type[models.Model], values: Mapping[str, object]) -> dict[str, object]:
    """What a queryset update sets, per field, as the trail shows it."""
    described: dict[str, object] = {}
    for name, value in values.items():
        try:
            f = model._meta.get_field(name)
        except Exception:
            described[name] = str(value)
            continue
        if isinstance(value, Combinable):
            described[f.name] = f"(computed: {value})"
        elif isinstance(value, models.Model):
            described[f.name] = value.pk
        else:
            described[f.name] = _plain(f, value)  # type: ignore[arg-type]
    return described


def label_of(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


# --- Units: one event for a whole import, batch or run ---------------------------------------


@dataclass
class Unit:
    """One unit of bulk work in progress; `key` is stored on its rows and names its event."""

    action: str
    actor: Actor
    what: str
    description: str
    file: dict[str, object] | None
    counts: dict[str, object] = field(default_factory=dict)
    totals: dict[str, object] = field(default_factory=dict)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    rows: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    event: AuditEvent | None = None

    def count_rows(self, model: type[models.Model], verb: str, n: int) -> None:
        per_model = self.rows[label_of(model)]
        per_model[verb] = per_model.get(verb, 0) + n


_unit: ContextVar[Unit | None] = ContextVar("medoffice_audit_unit", default=None)
_quiet: ContextVar[bool] = ContextVar("medoffice_audit_quiet", default=False)
_deleting: ContextVar[dict | None] = ContextVar("medoffice_audit_deleting", default=None)


def file_facts(file: object) -> dict[str, object]:
    """Name, size and SHA-256 of a file: a path, an open/uploaded file, or bytes."""
    import os

    digest = hashlib.sha256()
    if isinstance(file, bytes):
        digest.update(file)
        return {"name": "", "size": len(file), "sha256": digest.hexdigest()}
    if isinstance(file, str | os.PathLike):
        size = 0
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
                size += len(chunk)
        return {"name": os.path.basename(str(file)), "size": size, "sha256": digest.hexdigest()}
    chunks = file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(1 << 16), b"")  # type: ignore[attr-defined]
    if hasattr(file, "seek"):
        file.seek(0)
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    if hasattr(file, "seek"):
        file.seek(0)
    name = os.path.basename(str(getattr(file, "name", "") or ""))
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


@contextmanager
def unit(
    action: str,
    *,
    actor: Actor,
    what: str = "core.unit",
    description: str = "",
    file: object | None = None,
    counts: Mapping[str, object] | None = None,
    totals: Mapping[str, object] | None = None,
) -> Iterator[Unit]:
    """Run bulk work as one unit: one event (who, file, counts, totals), no per-row events.

    The block runs in one transaction and as `actor`; the event is written when it ends
    without an error (all or nothing). Rows may store `unit.key`; the event's object_id is
    that key, so `unit_event(key)` finds it. Counts and totals may be filled in on the way.
    """
    facts = file if isinstance(file, dict) or file is None else file_facts(file)
    current = Unit(
        action=action, actor=actor, what=what, description=description,
        file=facts, counts=dict(counts or {}), totals=dict(totals or {}),
    )  # fmt: skip
    token = _unit.set(current)
    try:
        with transaction.atomic(), acting_as(actor):
            yield current
            current.event = _record_unit(current)
    finally:
        _unit.reset(token)


def _record_unit(current: Unit) -> AuditEvent:
    from medoffice.core import audit

    changes: dict[str, object] = {"unit": current.key, "counts": current.counts}
    if current.totals:
        changes["totals"] = {k: str(v) for k, v in current.totals.items()}
    if current.file is not None:
        changes["file"] = current.file
    if current.rows:
        changes["rows"] = {label: dict(verbs) for label, verbs in current.rows.items()}
    repr_ = current.description or ", ".join(f"{k}: {v}" for k, v in current.counts.items())
    return audit.record(
        current.action, object_type=current.what, object_id=current.key,
        object_repr=repr_[:200], changes=changes, actor=current.actor,
    )  # fmt: skip


def unit_event(key: str) -> AuditEvent | None:
    from medoffice.core.models import AuditEvent

    return AuditEvent.objects.filter(object_id=key).exclude(object_type="").order_by("id").first()


def current_unit() -> Unit | None:
    return _unit.get()


@contextmanager
def quietly() -> Iterator[None]:
    """Write without capture: only for loading rows back as they were (restoring a backup)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


# --- Writing the events ------------------------------------------------------------------------


def is_audited(model: type[models.Model]) -> bool:
    return issubclass(model, AuditedModel) and not model._meta.abstract


def refuse_without_actor(model: type[models.Model]) -> None:
    """A command line run without --as may not write audited records."""
    if current_actor().requires_user:
        raise ActorRequired(f"{model._meta.verbose_name_plural}")


def _guard(model: type[models.Model]) -> bool:
    """True when this write is to be recorded; refuses a CLI write with no --as user."""
    if _quiet.get() or not is_audited(model):
        return False
    refuse_without_actor(model)
    return True


def _record(action: str, model: type[models.Model], **kwargs: Any) -> None:
    """Write one event; before/after values of PHI models are protected (encrypted) by the
    trail whether the event is about one row or many."""
    from medoffice.core import audit

    audit.record(action, actor=current_actor(), phi=audit.is_phi_model(model), **kwargs)


def _patients_of(model: type[models.Model], instances: Iterable[models.Model]) -> list[str]:
    if model._meta.label_lower == "patients.patient":
        return sorted({str(i.pk) for i in instances if i.pk is not None})
    names = {f.attname for f in model._meta.concrete_fields}
    if "patient_id" in names:
        return sorted({str(i.patient_id) for i in instances if getattr(i, "patient_id", None)})  # type: ignore[attr-defined]
    return []


def _bulk_object(model: type[models.Model], ids: list, patients: list[str]) -> dict[str, object]:
    """object_id / object_repr / patient_id for an event about several rows."""
    one = len(ids) == 1
    name = model._meta.verbose_name if one else model._meta.verbose_name_plural
    return {
        "object_type": label_of(model),
        "object_id": str(ids[0]) if one else "",
        "object_repr": f"{len(ids)} {name}",
        "patient_id": patients[0] if len(patients) == 1 else None,
    }


def _ids_changes(ids: list, patients: list[str]) -> dict[str, object]:
    changes: dict[str, object] = {"ids": ids, "rows": len(ids)}
    if patients:
        changes["patients"] = patients
    return changes


def record_saved(
    instance: models.Model, *, created: bool, update_fields: Iterable[str] | None
) -> None:
    from medoffice.core.models import AuditAction

    model = type(instance)
    current = _unit.get()
    if current is not None:
        current.count_rows(model, "created" if created else "updated", 1)
        _remember_loaded(instance)
        return
    if created:
        after = snapshot(instance)
        _record(AuditAction.CREATE, model, obj=instance, changes={"after": after})
        _remember_loaded(instance)
        return
    names = None
    if update_fields is not None:
        names = {model._meta.get_field(n).name for n in update_fields}
    fetched = instance.__dict__.pop("_audit_before", None)
    loaded = getattr(instance, "_audit_loaded", None)
    if fetched is None and loaded is not None:
        was, now = _changes_since_loaded(instance, loaded, names)
        changed = sorted(now)
    else:  # never loaded (built by hand): compare with the row read before the save
        now = snapshot(instance, names)
        was = fetched or {}
        changed = sorted(n for n in now if was.get(n) != now[n])
        _remember_loaded(instance)
    if not changed:
        return
    _record(
        AuditAction.UPDATE, model, obj=instance,
        changes={"before": {k: was.get(k) for k in changed}, "after": {k: now[k] for k in changed}},
    )  # fmt: skip


def before_save(instance: models.Model) -> None:
    """Refuse an unnamed CLI write; fetch the old row only when it was never loaded."""
    model = type(instance)
    if not _guard(model):
        return
    if instance._state.adding or instance.pk is None or _unit.get() is not None:
        return
    if getattr(instance, "_audit_loaded", None) is None:
        old = model._base_manager.filter(pk=instance.pk).first()
        instance._audit_before = snapshot(old) if old is not None else None  # type: ignore[attr-defined]


def record_deleted(instance: models.Model) -> None:
    from medoffice.core.models import AuditAction

    model = type(instance)
    if _quiet.get() or not is_audited(model):
        return
    current = _unit.get()
    if current is not None:
        current.count_rows(model, "deleted", 1)
        return
    grouped = _deleting.get()
    if grouped is not None:  # the collector clears the pk afterwards: keep what it was now
        grouped[model].append((instance.pk, _patients_of(model, [instance]), snapshot(instance)))
        return
    _record(AuditAction.DELETE, model, obj=instance, changes={"before": snapshot(instance)})


class AuditedQuerySet(models.QuerySet):
    """A queryset whose bulk writes are recorded: one event per call, naming the rows."""

    def update(self, **kwargs: Any) -> int:
        from medoffice.core.models import AuditAction

        if not _guard(self.model):
            return super().update(**kwargs)
        ignored = IGNORED_FIELDS | set(getattr(self.model, "audit_ignore_fields", ()))
        names = [self.model._meta.get_field(n).name for n in kwargs]
        if all(n in ignored for n in names):
            return super().update(**kwargs)
        current = _unit.get()
        with transaction.atomic(using=self.db):
            if current is not None:
                rows = super().update(**kwargs)
                current.count_rows(self.model, "updated", rows)
                return rows
            attnames = [self.model._meta.get_field(n).attname for n in names]
            wants_patient = "patient_id" in {f.attname for f in self.model._meta.concrete_fields}
            columns = ["pk", *attnames, *(["patient_id"] if wants_patient else [])]
            before_rows = list(self.order_by().values_list(*columns))
            rows = super().update(**kwargs)
            if not before_rows:
                return rows
            ids = [row[0] for row in before_rows]
            fields = [self.model._meta.get_field(n) for n in names]
            before = {
                str(row[0]): {f.name: _plain(f, v) for f, v in zip(fields, row[1:], strict=False)}
                for row in before_rows[:DETAILS_SHOWN]
            }
            if self.model._meta.label_lower == "patients.patient":
                patients = sorted({str(i) for i in ids})
            elif wants_patient:
                patients = sorted({str(row[-1]) for row in before_rows if row[-1] is not None})
            else:
                patients = []
            changes = _ids_changes(ids, patients)
            changes["fields"] = sorted(names)
            changes["after"] = _describe_set(self.model, kwargs)  # the values set, per field
            changes["before"] = before  # per row
            _record(
                AuditAction.UPDATE,
                self.model,
                changes=changes,
                **_bulk_object(self.model, ids, patients),
            )
        return rows

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        """One event per model for everything the delete removes (cascades included)."""
        from medoffice.core.models import AuditAction

        if not _guard(self.model) or _unit.get() is not None or _deleting.get() is not None:
            return super().delete()
        grouped: dict[type[models.Model], list[tuple]] = defaultdict(list)
        with transaction.atomic(using=self.db):
            token = _deleting.set(grouped)
            try:
                result = super().delete()
            finally:
                _deleting.reset(token)
            for model, deleted in grouped.items():
                ids = [pk for pk, _, _ in deleted]
                patients = sorted({p for _, of, _ in deleted for p in of})
                changes = _ids_changes(ids, patients)
                changes["before"] = {str(pk): values for pk, _, values in deleted[:DETAILS_SHOWN]}
                _record(
                    AuditAction.DELETE, model, changes=changes,
                    **_bulk_object(model, ids, patients),
                )  # fmt: skip
        return result

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list:
        from medoffice.core.models import AuditAction

        objs = list(objs)
        if not objs or not _guard(self.model):
            return super().bulk_create(objs, *args, **kwargs)
        current = _unit.get()
        with transaction.atomic(using=self.db), quietly():
            created = super().bulk_create(objs, *args, **kwargs)
        for obj in created:
            _remember_loaded(obj)
        if current is not None:
            current.count_rows(self.model, "created", len(created))
            return created
        ids = [obj.pk for obj in created]
        patients = _patients_of(self.model, created)
        changes = _ids_changes(ids, patients)
        changes["after"] = {
            str(obj.pk) if obj.pk is not None else f"row {n}": snapshot(obj)
            for n, obj in enumerate(created[:DETAILS_SHOWN], start=1)
        }
        _record(
            AuditAction.CREATE,
            self.model,
            changes=changes,
            **_bulk_object(self.model, ids, patients),
        )
        return created

    bulk_create.alters_data = True  # type: ignore[attr-defined]

    def bulk_update(
        self, objs: Iterable[models.Model], fields: Iterable[str], *args: Any, **kwargs: Any
    ) -> int:
        from medoffice.core.models import AuditAction

        objs = list(objs)
        fields = list(fields)
        if not objs or not _guard(self.model):
            return super().bulk_update(objs, fields, *args, **kwargs)
        current = _unit.get()
        with transaction.atomic(using=self.db), quietly():
            rows = super().bulk_update(objs, fields, *args, **kwargs)
        if current is not None:
            current.count_rows(self.model, "updated", rows)
            return rows
        names = {self.model._meta.get_field(n).name for n in fields}
        before, after = {}, {}
        for obj in objs[:DETAILS_SHOWN]:
            now = snapshot(obj, names)
            was = _loaded_snapshot(obj) or {}
            changed = sorted(n for n in now if was.get(n) != now[n]) if was else sorted(now)
            if changed:
                before[str(obj.pk)] = {n: was.get(n) for n in changed} if was else {}
                after[str(obj.pk)] = {n: now[n] for n in changed}
        for obj in objs:
            _remember_loaded(obj)
        ids = [obj.pk for obj in objs]
        patients = _patients_of(self.model, objs)
        changes = _ids_changes(ids, patients)
        changes.update({"fields": sorted(names), "before": before, "after": after})
        _record(
            AuditAction.UPDATE,
            self.model,
            changes=changes,
            **_bulk_object(self.model, ids, patients),
        )
        return rows

    bulk_update.alters_data = True  # type: ignore[attr-defined]


class AuditedManager(models.Manager.from_queryset(AuditedQuerySet)):  # type: ignore[misc]
    pass


class AuditedUserManager(UserManager.from_queryset(AuditedQuerySet)):  # type: ignore[misc]
    # Migrations keep a plain manager: they never import this module.
    use_in_migrations = False


_mutable_by_model: dict[type[models.Model], tuple[str, ...]] = {}


def _mutable_attnames(model: type[models.Model]) -> tuple[str, ...]:
    """The columns whose loaded values are mutable containers (JSON), per model, once."""
    names = _mutable_by_model.get(model)
    if names is None:
        names = tuple(
            f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
        )
        _mutable_by_model[model] = names
    return names


class AuditedModel(models.Model):
    """Base of every audited model: writes through any path leave an event (see module doc)."""

    objects = AuditedManager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any]
    ) -> AuditedModel:
        instance = super().from_db(db, field_names, values)
        # Every page that lists records loads many of them: keep the loaded values as they
        # came (the snapshot reader skips the unaudited fields), copying only the mutable
        # ones (JSON), which code could change in place before saving.
        loaded = dict(zip(field_names, values, strict=False))
        for name in _mutable_attnames(cls):
            if name in loaded:
                loaded[name] = _copy(loaded[name])
        instance._audit_loaded = loaded  # type: ignore[attr-defined]
        return instance

    def save_base(self, *args: Any, **kwargs: Any) -> None:
        raw = kwargs.get("raw", False)
        if raw:
            super().save_base(*args, **kwargs)
            return
        if not _guard(type(self)):
            super().save_base(*args, **kwargs)
            return
        adding = self._state.adding
        before_save(self)
        with transaction.atomic(using=kwargs.get("using") or self._state.db, savepoint=False):
            super().save_base(*args, **kwargs)
            record_saved(self, created=adding, update_fields=kwargs.get("update_fields"))

    save_base.alters_data = True  # type: ignore[attr-defined]


def record_m2m(
    instance: models.Model,
    *,
    action: str,
    through: type[models.Model],
    related: type[models.Model],
    reverse: bool,
    pk_set: set | None,
) -> None:
    """Links added to or removed from a many-to-many field (roles, a provider's locations)."""
    from medoffice.core.models import AuditAction

    model = type(instance)
    if action not in (
        "pre_add",
        "post_add",
        "post_remove",
        "post_clear",
        "pre_remove",
        "pre_clear",
    ):
        return
    if not is_audited(model) or _quiet.get():
        return
    if action.startswith("pre_"):
        refuse_without_actor(model)
        return
    current = _unit.get()
    if current is not None:
        current.count_rows(model, "updated", 1)
        return
    if reverse:
        name = next(
            (r.get_accessor_name() for r in model._meta.related_objects
             if getattr(r, "through", None) is through), related._meta.model_name,
        )  # fmt: skip
    else:
        name = next(
            (f.name for f in model._meta.many_to_many if f.remote_field.through is through),
            related._meta.model_name,
        )
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    ids = sorted(pk_set or [])
    if action != "post_clear" and not ids:
        return
    _record(AuditAction.UPDATE, model, obj=instance, changes={name: {verb: ids}})


# --- Reads of lists ----------------------------------------------------------------------------


def record_list_view(
    what: str,
    *,
    patient_ids: Iterable[int | str | None],
    description: str,
    filters: Mapping[str, object] | None = None,
) -> AuditEvent:
    """One VIEW event for a list, search or board of PHI, naming every patient it showed."""
    from medoffice.core import audit
    from medoffice.core.models import AuditAction

    ids = sorted({int(p) for p in patient_ids if p is not None})
    changes: dict[str, object] = {"patients": ids, "shown": len(ids)}
    if filters:
        changes["filters"] = {k: str(v) for k, v in filters.items() if v not in (None, "")}
    noun = "patient" if len(ids) == 1 else "patients"
    return audit.record(
        AuditAction.VIEW, object_type=what, object_repr=f"{description}: {len(ids)} {noun}"[:200],
        patient_id=ids[0] if len(ids) == 1 else None, changes=changes, actor=current_actor(),
    )  # fmt: skip
