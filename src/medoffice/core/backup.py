"""Backups: one zip holding a consistent copy of the database and every stored file.

Layout of a backup file:

    manifest.json   format, version, database kind, applied migrations, row counts,
                    audit chain head, SHA-256 of data.json
    data.json       every row of every model (Django's JSON serialization, primary keys kept)
    files/...       the stored files (MEDIA_ROOT), same relative paths

Consistency: on PostgreSQL the rows are read in one REPEATABLE READ, READ ONLY transaction;
on SQLite the database is first copied with SQLite's online backup API (a snapshot that does
not block the practice's writes) and the rows are read from the copy. Files are copied after
the rows, so every file a row points to is there (files added meanwhile are extra, harmless).

Encrypted fields stay encrypted: data.json holds Fernet tokens, never plaintext, and the
field keys are NOT in the backup. Restoring needs the keys of the installation that made it
(its `field_keys` file or MEDOFFICE_FIELD_KEYS); restore checks every token can be read
before it touches the database, and re-encrypts under the newest key as it loads.
The audit keys (`audit_keys` file or MEDOFFICE_AUDIT_KEYS) are not in the backup either:
the restored trail verifies only with the audit keys of the installation that made it
(restore names every record signed with a key this installation lacks).

Not in a backup: sessions (everyone signs in again), queued background-job results
(periodic jobs are enqueued again by the worker), and the key epoch and the heartbeats of
running processes (state of the processes, not of the practice).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from medoffice import __version__
from medoffice.core import capture, db_guards, maintenance
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.fields import TOKEN_PREFIX, decrypt_text, encrypted_fields

FORMAT = "medoffice-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.json"
FILES = "files/"
NOT_BACKED_UP = {
    "sessions.session", "django_tasks_db.dbtaskresult",
    "core.fieldkeyepoch", "core.fieldkeyholder",  # running processes' key state
}  # fmt: skip
SNAPSHOT_ALIAS = "medoffice_backup_snapshot"
# Rows of models that moved: older backups hold django-otp's TOTP devices (seed in clear);
# they load into core's authenticators, whose seed field encrypts them on save.
MOVED_MODELS = {"otp_totp.totpdevice": "core.totpauthenticator"}
CHUNK = 2000


class _ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but times keep their microseconds (the audit chain hashes them)."""

    def default(self, o):
        if isinstance(o, datetime | time):
            return o.isoformat()
        return super().default(o)


class BackupInvalid(InvalidInput):
    code = "backup_invalid"


@dataclass
class BackupSummary:
    path: Path
    rows: int
    files: int
    bytes: int
    audit_last_seq: int
    problems: list[str] = field(default_factory=list)


def backed_up_models() -> list:
    return [
        model
        for model in apps.get_models()
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.label_lower not in NOT_BACKED_UP
    ]


# --- Making a backup ---------------------------------------------------------------------


@contextlib.contextmanager
def _consistent_source() -> Iterator[str]:
    """A database alias whose reads all see one moment of the database."""
    connection = connections[DEFAULT_DB_ALIAS]
    maintenance.check_connection()
    if connection.vendor == "sqlite":
        with tempfile.TemporaryDirectory(prefix="medoffice-backup-") as tmp:
            copy = Path(tmp) / "snapshot.sqlite3"
            target = sqlite3.connect(copy)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
            config = {**settings.DATABASES[DEFAULT_DB_ALIAS], "NAME": str(copy), "OPTIONS": {}}
            connections.settings[SNAPSHOT_ALIAS] = connections.configure_settings(
                {DEFAULT_DB_ALIAS: settings.DATABASES[DEFAULT_DB_ALIAS], SNAPSHOT_ALIAS: config}
            )[SNAPSHOT_ALIAS]
            try:
                yield SNAPSHOT_ALIAS
            finally:
                connections[SNAPSHOT_ALIAS].close()
                del connections[SNAPSHOT_ALIAS]
                del connections.settings[SNAPSHOT_ALIAS]
    else:
        with transaction.atomic():
            if connection.vendor == "postgresql" and not connection.savepoint_ids:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield DEFAULT_DB_ALIAS


def _rows(alias: str, counts: dict[str, int]) -> Iterator:
    for model in backed_up_models():
        m2m = [
            f.name for f in model._meta.many_to_many if f.remote_field.through._meta.auto_created
        ]
        queryset = model._base_manager.using(alias).order_by(model._meta.pk.name)
        if m2m:
            queryset = queryset.prefetch_related(*m2m)
        counted = 0
        for obj in queryset.iterator(chunk_size=CHUNK):
            counted += 1
            yield obj
        if counted:
            counts[model._meta.label_lower] = counted


class _HashingWriter(io.RawIOBase):
    def __init__(self, target):
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.digest.update(data)
        return self.target.write(data)


def _applied_migrations(alias: str) -> list[list[str]]:
    recorder = MigrationRecorder(connections[alias])
    return sorted([app, name] for app, name in recorder.applied_migrations())


def create_backup(path: Path | str, *, overwrite: bool = False) -> BackupSummary:
    """Write a backup zip of the database and the stored files to `path`."""
    from medoffice.core.audit import seal
    from medoffice.core.models import AuditChainHead

    path = Path(path)
    if path.exists() and not overwrite:
        raise Conflict(f"{path} already exists: choose another file name")
    if not path.parent.exists():
        raise InvalidInput(f"the folder {path.parent} does not exist", field="file")
    partial = path.with_name(path.name + ".partial")
    seal()  # the manifest's chain head then covers every event committed so far
    counts: dict[str, int] = {}
    media = Path(settings.MEDIA_ROOT)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with _consistent_source() as alias:
                migrations = _applied_migrations(alias)
                head = AuditChainHead.objects.using(alias).filter(pk=1).first()
                with archive.open(DATA, "w", force_zip64=True) as raw:
                    hashing = _HashingWriter(raw)
                    # A raw binary stream; the stubs want a buffered one.
                    text = io.TextIOWrapper(hashing, encoding="utf-8", write_through=True)  # type: ignore[type-var]
                    serializers.serialize(
                        "json", _rows(alias, counts), stream=text, cls=_ExactJSONEncoder
                    )
                    text.flush()
                    text.detach()
            files = 0
            size = 0
            if media.exists():
                for item in sorted(media.rglob("*")):
                    if item.is_file() and not item.is_symlink():
                        archive.write(item, FILES + item.relative_to(media).as_posix())
                        files += 1
                        size += item.stat().st_size
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "medoffice_version": __version__,
                "created_at": timezone.now().isoformat(),
                "database": connections[DEFAULT_DB_ALIAS].vendor,
                "migrations": migrations,
                "rows": counts,
                "files": files,
                "file_bytes": size,
                "audit": {
                    "last_seq": head.last_seq if head else 0,
                    "last_hash": head.last_hash if head else "",
                },
                "data_sha256": hashing.digest.hexdigest(),
                "encrypted_fields": "Fernet tokens; the field keys are not in this file",
            }
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(
        path=path,
        rows=sum(counts.values()),
        files=files,
        bytes=path.stat().st_size,
        audit_last_seq=manifest["audit"]["last_seq"],
    )


# --- Restoring ----------------------------------------------------------------------------


def _open_backup(path: Path) -> tuple[zipfile.ZipFile, dict]:
    if not path.is_file():
        raise BackupInvalid(f"{path} does not exist or is not a file", field="file")
    if not zipfile.is_zipfile(path):
        raise BackupInvalid(f"{path} is not a medoffice backup (not a zip file)", field="file")
    try:
        archive = zipfile.ZipFile(path)
        damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise BackupInvalid(f"{path} is damaged: {exc}", field="file") from exc
    if damaged is not None:
        archive.close()
        raise BackupInvalid(f"{path} is damaged: {damaged} fails its checksum", field="file")
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        archive.close()
        raise BackupInvalid(
            f"{path} is not a medoffice backup (it has no {MANIFEST})", field="file"
        ) from None
    except ValueError as exc:
        archive.close()
        raise BackupInvalid(f"{path} has an unreadable {MANIFEST}: {exc}", field="file") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        archive.close()
        raise BackupInvalid(f"{path} is not a medoffice backup (unknown format)", field="file")
    if manifest.get("format_version") != FORMAT_VERSION:
        archive.close()
        raise BackupInvalid(
            f"{path} is a backup format version {manifest.get('format_version')!r}; "
            f"this medoffice reads version {FORMAT_VERSION}",
            field="file",
        )
    if DATA not in archive.namelist():
        archive.close()
        raise BackupInvalid(f"{path} is incomplete: it has no {DATA}", field="file")
    return archive, manifest


def _read_rows(archive: zipfile.ZipFile, manifest: dict, path: Path) -> list[dict]:
    raw = archive.read(DATA)
    if hashlib.sha256(raw).hexdigest() != manifest.get("data_sha256"):
        raise BackupInvalid(f"{path} is damaged: {DATA} does not match its manifest", field="file")
    try:
        rows = json.loads(raw)
    except ValueError as exc:
        raise BackupInvalid(f"{path} is damaged: {DATA} is not valid JSON", field="file") from exc
    if not isinstance(rows, list):
        raise BackupInvalid(f"{path} is damaged: {DATA} is not a list of rows", field="file")
    return rows


def _migration_targets(manifest: dict, path: Path) -> list[tuple[str, str]]:
    """The newest applied migration of each app in the backup, checked against this code."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    graph = executor.loader.graph
    applied = {tuple(item) for item in manifest.get("migrations", [])}
    installed = {config.label for config in apps.get_app_configs()}
    unknown = sorted(
        f"{app}.{name}"
        for app, name in applied
        if app in installed and (app, name) not in graph.nodes
    )
    if unknown:
        raise BackupInvalid(
            f"{path} was made by a newer medoffice (unknown migration {unknown[0]}); "
            "upgrade medoffice before restoring it",
            field="file",
        )
    known = {node for node in applied if node in graph.nodes}
    targets = []
    for node in known:
        children = {child for child in graph.node_map[node].children if child[0] == node[0]}
        if not children & known:
            targets.append(node)
    return sorted(targets)


def _check_keys(rows: list[dict], path: Path) -> None:
    fields_by_model: dict[str, list[str]] = {}
    for model, enc_field in encrypted_fields():
        fields_by_model.setdefault(model._meta.label_lower, []).append(enc_field.name)
    unreadable = 0
    for row in rows:
        for name in fields_by_model.get(str(row.get("model", "")).lower(), ()):
            value = row.get("fields", {}).get(name)
            if not value:
                continue
            if not str(value).startswith(TOKEN_PREFIX):
                raise BackupInvalid(
                    f"{path} holds a plaintext value in {row['model']}.{name}; refusing it",
                    field="file",
                )
            try:
                decrypt_text(value)
            except ValueError:
                unreadable += 1
    if unreadable:
        raise BackupInvalid(
            f"this installation's field keys cannot decrypt {unreadable} encrypted value(s) "
            "in the backup: use the field_keys file (or MEDOFFICE_FIELD_KEYS) of the "
            "installation that made it",
            field="keys",
        )


def _safe_member(name: str) -> PurePosixPath | None:
    relative = PurePosixPath(name[len(FILES) :])
    if not relative.parts or relative.is_absolute() or ".." in relative.parts:
        return None
    return relative


def _flush_all_rows() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    tables = []
    with connection.cursor() as cursor:
        for table in connection.introspection.django_table_names(only_existing=True):
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608 (names from introspection)
            if cursor.fetchone() is not None:
                tables.append(table)
    if tables:
        statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
        connection.ops.execute_sql_flush(statements)


def _load_rows(rows: list[dict]) -> int:
    connection = connections[DEFAULT_DB_ALIAS]
    installed = {model._meta.label_lower for model in backed_up_models()}
    rows = [
        {**row, "model": MOVED_MODELS[label]}
        if (label := str(row.get("model", "")).lower()) in MOVED_MODELS
        else row
        for row in rows
    ]
    wanted = [row for row in rows if str(row.get("model", "")).lower() in installed]
    loaded_models = set()
    # Rows come back as they were, events included: loading them is not a change to record.
    # The apps' guards (the ledger refuses lines added to a written entry) are lifted while
    # rows load in table order; `ledger verify` re-checks what was restored.
    with transaction.atomic(), capture.quietly(), db_guards.app_guards_lifted(connection):
        with connection.constraint_checks_disabled():
            for obj in serializers.deserialize("python", wanted, ignorenonexistent=True):
                obj.save(force_insert=True)
                loaded_models.add(type(obj.object))
        connection.check_constraints(table_names=[m._meta.db_table for m in loaded_models])
        statements = connection.ops.sequence_reset_sql(no_style(), list(loaded_models))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
    return len(wanted)


def restore_backup(path: Path | str, *, force: bool = False) -> BackupSummary:
    """Replace this installation's database and stored files with the backup's."""
    from medoffice.core.audit import verify_chain
    from medoffice.core.models import AuditChainHead

    path = Path(path)
    archive, manifest = _open_backup(path)
    with archive:
        rows = _read_rows(archive, manifest, path)
        maintenance.check_connection()
        targets = _migration_targets(manifest, path)
        _check_keys(rows, path)
        if not force and (maintenance.database_has_data() or maintenance.media_has_files()):
            raise Conflict(
                f"the {maintenance.describe_database()} (or its files folder) already holds data; "
                "`medoffice restore --force` replaces it"
            )
        maintenance.wipe_database()
        maintenance.wipe_media()
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        executor.migrate(targets, plan=executor.migration_plan(targets))
        with db_guards.app_guards_lifted(connections[DEFAULT_DB_ALIAS]):
            _flush_all_rows()  # what the migrations seeded (the chart of accounts, roles)
        loaded = _load_rows(rows)
        media = Path(settings.MEDIA_ROOT)
        files = 0
        size = 0
        for info in archive.infolist():
            if not info.filename.startswith(FILES) or info.is_dir():
                continue
            relative = _safe_member(info.filename)
            if relative is None:
                raise BackupInvalid(f"{path} names an unsafe file path {info.filename!r}")
            target = media.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            files += 1
            size += info.file_size
    # Migrations newer than the backup, and content types of apps it did not have.
    call_command("migrate", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()
    problems = [str(problem) for problem in verify_chain()]
    head = AuditChainHead.objects.filter(pk=1).first()
    expected = manifest.get("audit", {})
    if (head.last_seq if head else 0) != expected.get("last_seq", 0):
        problems.append(
            f"chain: the backup's trail ends at #{expected.get('last_seq')}, "
            f"the restored one at #{head.last_seq if head else 0}"
        )
    return BackupSummary(
        path=path,
        rows=loaded,
        files=files,
        bytes=size,
        audit_last_seq=head.last_seq if head else 0,
        problems=problems,
    )
