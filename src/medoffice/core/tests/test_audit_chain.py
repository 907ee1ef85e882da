"""The sealed, keyed audit chain: sealing, the audit key, tampering found, checkpoints, PHI.

Each tampering test works on the database directly (raw SQL, with the guard triggers
dropped where they would refuse), as someone with database access but not the audit key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections, transaction

from medoffice import cli
from medoffice.core import audit, db_guards, keys
from medoffice.core.models import AuditAction, AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


def _record(n: int, **kwargs) -> AuditEvent:
    return audit.record(AuditAction.SECURITY, object_type="test.thing", object_id=str(n), **kwargs)


@pytest.fixture
def sealed(db):
    """Five events, sealed."""
    made = [_record(n) for n in range(5)]
    audit.seal()
    return [AuditEvent.objects.get(pk=event.pk) for event in made]


def _sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))


def _drop_guard() -> None:
    db_guards.remove(connection)


def _verify(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["audit", "verify", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- Sealing ------------------------------------------------------------------------------


def test_events_are_written_unsealed_and_sealing_chains_them_without_gaps(db):
    before = AuditChainHead.objects.get(pk=1).last_seq
    made = [_record(n) for n in range(4)]
    assert all(event.seq is None and event.hash is None for event in made)
    assert all(len(event.digest) == 64 and event.key_id for event in made)
    assert audit.seal() == 4
    rows = list(AuditEvent.objects.filter(pk__in=[e.pk for e in made]).order_by("seq"))
    assert [row.seq for row in rows] == list(range(before + 1, before + 5))
    assert [row.pk for row in rows] == [e.pk for e in made]  # found in insertion order
    for earlier, later in itertools.pairwise(rows):
        assert later.prev_hash == earlier.hash
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (rows[-1].seq, rows[-1].hash)
    assert audit.seal() == 0
    assert list(audit.verify_chain()) == []


def test_sealing_works_in_batches(db):
    made = [_record(n) for n in range(7)]
    assert audit.seal(batch_size=3) == 7
    assert sorted(
        AuditEvent.objects.filter(pk__in=[e.pk for e in made]).values_list("seq", flat=True)
    ) == list(range(1, 8))
    assert list(audit.verify_chain()) == []


def test_record_keeps_its_public_signature_and_returns_the_event_with_a_pk(users):
    from medoffice.core.context import actor_for_user

    event = audit.record(
        AuditAction.UPDATE, obj=users["manager"], changes={"before": {"a": 1}, "after": {"a": 2}},
        reason="why", flagged=True, actor=actor_for_user(users["owner"]),
    )  # fmt: skip
    assert event.pk is not None
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_id, stored.object_type, stored.reason, stored.flagged) == (
        users["owner"].pk, "core.user", "why", True,
    )  # fmt: skip
    assert stored.changes == {"before": {"a": 1}, "after": {"a": 2}}  # not PHI: kept in clear


@pytest.mark.parametrize(
    "sql",
    [
        # Sealing while also changing the content.
        "UPDATE core_auditevent SET seq = 99, prev_hash = 'p', hash = 'h', seal_key = 'k', "
        "actor_name = 'someone else'",
        # Sealing only part of it.
        "UPDATE core_auditevent SET seq = 99",
        # Changing the content of an unsealed event.
        "UPDATE core_auditevent SET reason = 'edited'",
        "DELETE FROM core_auditevent",
    ],
)
def test_the_triggers_allow_only_a_clean_seal_of_an_unsealed_event(db, sql):
    event = _record(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql(sql + f" WHERE id = {event.pk}" if "WHERE" not in sql else sql)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.seq, stored.hash, stored.actor_name, stored.reason) == (None, None, "system", "")


def test_a_sealed_event_cannot_be_sealed_again(sealed):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql(
            "UPDATE core_auditevent SET seq = 50, prev_hash = 'p', hash = 'h', seal_key = 'k' "
            "WHERE id = %s",
            [sealed[0].pk],
        )
    assert AuditEvent.objects.get(pk=sealed[0].pk).seq == sealed[0].seq


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("locked", [True, False], ids=["with-lock", "lock-bypassed"])
def test_two_sealers_at_once_never_fork_the_chain(monkeypatch, locked):
    """Both sealers read the same head and the same unsealed events at the same moment.
    With the head lock they take turns; with it bypassed, the unique seq and hash and the
    `seq IS NULL` guard of each update let at most one of them keep its seal."""
    made = [_record(n) for n in range(20)]
    barrier = threading.Barrier(2)
    real = audit._head_for_update

    def head_then_wait():
        if locked:
            head = real()
        else:
            AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
            head = AuditChainHead.objects.get(pk=1)
            # Both read the unsealed events before either writes.
            list(AuditEvent.objects.filter(seq__isnull=True).values_list("id"))
        # With the lock, the other sealer waits for it, so this wait times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        return head

    monkeypatch.setattr(audit, "_head_for_update", head_then_wait)
    outcomes: list[str] = []

    def run():
        try:
            outcomes.append(f"sealed:{audit.seal()}")
        except Exception as exc:  # the loser of a bypassed lock fails; nothing of it is kept
            outcomes.append(f"error:{type(exc).__name__}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.undo()
    audit.seal()  # whatever is left
    seqs = sorted(
        AuditEvent.objects.filter(pk__in=[e.pk for e in made]).values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 21)), outcomes
    assert list(audit.verify_chain()) == [], outcomes
    if locked:
        assert sorted(outcomes) == ["sealed:0", "sealed:20"], outcomes
    else:
        assert sum(int(o.split(":")[1]) for o in outcomes if o.startswith("sealed")) <= 20, outcomes


def test_the_worker_seals_every_few_seconds(db, settings):
    from medoffice.core import jobs, tasks

    interval = settings.MEDOFFICE_SCHEDULE["medoffice.core.tasks.seal_audit_trail"]
    assert 0 < interval <= 10
    assert jobs.schedule_check_seconds() <= interval
    _record(1)
    assert audit.unsealed_count() >= 1
    assert tasks.seal_audit_trail.call() >= 1
    assert audit.unsealed_count() == 0


# --- The audit key --------------------------------------------------------------------------


def test_the_audit_key_file_is_created_once_private_and_outside_the_database(db):
    path = keys.audit_keys_path()
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    key_id, secret = keys.audit_signing_key()
    # Another test of this process may have added a key: the signing key is one of the lines.
    (line,) = [ln for ln in path.read_text().splitlines() if ln.startswith(f"{key_id}:")]
    event = _record(1)
    assert event.key_id == key_id
    encoded = line.split(":", 1)[1].strip()
    raw = _raw_rows()
    assert secret.hex() not in raw and encoded not in raw


CREATE_KEYS = r"""
import sys
sys.path[:0] = sys.argv[2:]
import django
django.setup()
from medoffice.core import keys
sys.stdin.readline()
print(keys.audit_signing_key()[0], flush=True)
"""


def test_two_processes_starting_at_once_end_with_one_audit_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != keys.AUDIT_KEYS_ENV}
    env.update(MEDOFFICE_DATA=str(tmp_path), DJANGO_SETTINGS_MODULE="medoffice.test_settings")
    src = str(Path(__file__).resolve().parents[3])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE_KEYS, "x", src],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    done = [proc.communicate(timeout=60) for proc in procs]
    ids = {out.strip() for out, _ in done}
    assert all(proc.returncode == 0 for proc in procs), [err[-300:] for _, err in done]
    lines = (tmp_path / keys.AUDIT_KEYS_FILE).read_text().split()
    assert len(lines) == 1
    assert ids == {lines[0].split(":")[0]}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{keys.AUDIT_KEYS_FILE}")]


def test_keys_from_the_environment_are_used_and_cannot_be_added_to(monkeypatch):
    line = keys.generate_audit_key()
    monkeypatch.setenv(keys.AUDIT_KEYS_ENV, line)
    assert keys.audit_signing_key()[0] == line.split(":")[0]
    with pytest.raises(keys.AuditKeyError, match="MEDOFFICE_AUDIT_KEYS"):
        keys.add_audit_key()
    monkeypatch.setenv(keys.AUDIT_KEYS_ENV, "not a key")
    with pytest.raises(keys.AuditKeyError, match="ID:SECRET"):
        keys.audit_keys()


def test_an_added_key_signs_new_events_and_old_ones_still_verify(sealed, capsys):
    old_id = keys.audit_signing_key()[0]
    before = [k for k, _ in keys.audit_keys()]  # (other tests in this process may have added)
    original = keys.audit_keys_path().read_text()
    try:
        new_id = keys.add_audit_key()
        assert new_id != old_id
        assert [k for k, _ in keys.audit_keys()] == [new_id, *before]
        event = _record(99)
        assert event.key_id == new_id
        audit.seal()
        assert AuditEvent.objects.get(pk=event.pk).seal_key == new_id
        assert AuditChainHead.objects.get(pk=1).key_id == new_id
        assert _verify(capsys)[0] == 0
    finally:
        keys._write_new_file(keys.audit_keys_path(), original, replace=True)


def test_events_signed_with_a_key_this_installation_lacks_are_named(sealed, capsys):
    original = keys.audit_keys_path().read_text()
    try:
        keys._write_new_file(keys.audit_keys_path(), keys.generate_audit_key() + "\n", replace=True)
        code, out, err = _verify(capsys)
    finally:
        keys._write_new_file(keys.audit_keys_path(), original, replace=True)
    assert code == 1
    assert "which this installation does not hold" in out
    assert err.startswith("medoffice: the audit trail has")


# --- Tampering found ----------------------------------------------------------------------


def test_an_untouched_trail_verifies_from_the_command_line(sealed, capsys):
    _record(100)  # not sealed yet: `audit verify` seals first
    code, out, err = _verify(capsys)
    assert code == 0 and err == ""
    assert "The audit trail is intact: 6 records" in out
    assert audit.unsealed_count() == 0


def test_a_changed_newest_event_is_found(sealed, capsys):
    newest = sealed[-1]
    _drop_guard()
    _sql("UPDATE core_auditevent SET object_repr = 'edited' WHERE id = %s", [newest.pk])
    code, out, _ = _verify(capsys)
    assert code == 1
    assert f"record #{newest.seq}: was changed after it was written" in out


def test_a_newest_event_re_signed_without_the_key_is_found_by_the_head(sealed, capsys):
    """Its content and seal rewritten with a made-up key: the signed head no longer agrees."""
    newest = sealed[-1]
    fake = b"x" * 32
    event = AuditEvent.objects.get(pk=newest.pk)
    event.object_repr = "edited"
    digest = audit.content_digest(event, fake)
    new_hash = audit.seal_hash(
        fake, seq=event.seq, prev_hash=event.prev_hash, event_id=event.pk, digest=digest
    )
    _drop_guard()
    _sql(
        "UPDATE core_auditevent SET object_repr = 'edited', digest = %s, hash = %s WHERE id = %s",
        [digest, new_hash, newest.pk],
    )
    code, out, _ = _verify(capsys)
    assert code == 1
    assert "differs from the chain head's hash" in out
    assert "digest mismatch" in out


def test_a_removed_event_is_found(sealed, capsys):
    _drop_guard()
    _sql("DELETE FROM core_auditevent WHERE id = %s", [sealed[2].pk])
    code, out, _ = _verify(capsys)
    assert code == 1
    assert f"record #{sealed[2].seq} before it was removed" in out


def test_a_removed_tail_is_found_even_with_the_head_moved_back(sealed, capsys):
    _drop_guard()
    _sql("DELETE FROM core_auditevent WHERE seq >= %s", [sealed[3].seq])
    assert _verify(capsys)[1].count("were removed") == 1
    _sql(
        "UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = 1",
        [sealed[2].seq, sealed[2].hash],
    )
    code, out, _ = _verify(capsys)
    assert code == 1
    assert "the chain head is not signed by the audit key" in out


def test_an_event_inserted_into_the_middle_is_found(sealed, capsys):
    _drop_guard()
    _sql("UPDATE core_auditevent SET seq = seq + 1000 WHERE seq > %s", [sealed[1].seq])
    _sql("UPDATE core_auditevent SET seq = seq - 999 WHERE seq > 1000")
    forged = AuditEvent(
        at=sealed[1].at, action=AuditAction.VIEW, actor_name="nobody", key_id=sealed[1].key_id,
        nonce="0" * 32, seq=sealed[1].seq + 1, prev_hash=sealed[1].hash, seal_key=sealed[1].key_id,
    )  # fmt: skip
    forged.digest = hashlib.sha256(b"forged").hexdigest()
    forged.hash = hashlib.sha256(b"forged seal").hexdigest()
    forged.save(force_insert=True)
    code, out, _ = _verify(capsys)
    assert code == 1
    assert f"record #{forged.seq}: its seal is not signed by the audit key" in out
    assert f"record #{forged.seq}: was changed after it was written, or written without" in out


def test_an_unsealed_event_inserted_without_the_key_is_found(sealed, capsys):
    forged = AuditEvent(
        at=sealed[0].at, action=AuditAction.VIEW, actor_name="nobody",
        key_id=sealed[0].key_id, nonce="1" * 32, digest="2" * 64,
    )  # fmt: skip
    forged.save(force_insert=True)
    code, out, _ = _verify(capsys)  # verify seals it, then finds it
    assert code == 1
    assert "written without the audit key (digest mismatch)" in out


def test_a_copied_event_is_found(sealed, capsys):
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX core_audit_digest_once")
        columns = ", ".join(f'"{c}"' for c in db_guards.FIXED_COLUMNS if c != "id")
        cursor.execute(
            f"INSERT INTO core_auditevent ({columns}) SELECT {columns} FROM core_auditevent "  # noqa: S608
            "WHERE id = %s",
            [sealed[1].pk],
        )
    code, out, _ = _verify(capsys)
    assert code == 1
    assert "one record appears 2 times" in out


def _recompute_chain(key_id: str, key: bytes) -> None:
    """Rewrite every digest, seal and the head, as someone holding `key` would."""
    prev = audit.GENESIS_HASH
    last = None
    with connection.cursor() as cursor:
        for event in AuditEvent.objects.filter(seq__isnull=False).order_by("seq"):
            if event.seq == 2:
                event.reason = "rewritten history"
            event.key_id = key_id
            digest = audit.content_digest(event, key)
            sealed_hash = audit.seal_hash(
                key, seq=event.seq, prev_hash=prev, event_id=event.pk, digest=digest
            )
            cursor.execute(
                "UPDATE core_auditevent SET reason = %s, key_id = %s, digest = %s, "
                "prev_hash = %s, hash = %s, seal_key = %s WHERE id = %s",
                [event.reason, key_id, digest, prev, sealed_hash, key_id, event.pk],
            )
            prev, last = sealed_hash, event
        head = AuditChainHead.objects.get(pk=1)
        assert last is not None
        head.last_seq, head.last_hash, head.key_id = last.seq, prev, key_id
        cursor.execute(
            "UPDATE core_auditchainhead SET last_hash = %s, key_id = %s, mac = %s WHERE id = 1",
            [prev, key_id, audit.head_mac(key, head)],
        )


def test_a_whole_chain_recomputed_without_the_key_is_found(sealed, capsys):
    _drop_guard()
    key_id = keys.audit_signing_key()[0]  # the id is no secret; the key is
    _recompute_chain(key_id, hashlib.sha256(b"a guess").digest())
    code, out, _ = _verify(capsys)
    assert code == 1
    for event in sealed:
        assert f"record #{event.seq}: its seal is not signed by the audit key" in out
    assert "the chain head is not signed by the audit key" in out


# --- Checkpoints --------------------------------------------------------------------------


def _checkpoint(capsys) -> str:
    capsys.readouterr()
    assert cli.main(["audit", "checkpoint"]) == 0
    return capsys.readouterr().out.strip()


def test_a_checkpoint_is_a_signed_line_and_verifies(sealed, capsys):
    line = _checkpoint(capsys)
    head = AuditChainHead.objects.get(pk=1)
    assert line.startswith(f"medoffice-audit-checkpoint seq={head.last_seq} hash={head.last_hash} ")
    _record(7)
    code, out, err = _verify(capsys, "--checkpoint", line)
    assert (code, err) == (0, "")
    assert f"unchanged up to checkpoint #{head.last_seq}" in out


def test_a_checkpoint_finds_history_rewritten_even_by_someone_with_the_key(sealed, capsys):
    line = _checkpoint(capsys)
    _drop_guard()
    _recompute_chain(*keys.audit_signing_key())
    assert _verify(capsys)[0] == 0  # with the key, a rewrite is consistent...
    code, out, _ = _verify(capsys, "--checkpoint", line)
    assert code == 1  # ...but not with what the auditor kept
    assert "differs from the checkpoint" in out


def test_a_checkpoint_finds_the_tail_removed_past_it(sealed, capsys):
    line = _checkpoint(capsys)
    _drop_guard()
    _sql("DELETE FROM core_auditevent WHERE seq >= %s", [sealed[3].seq])
    key = keys.audit_signing_key()[1]  # even with the head re-signed
    head = AuditChainHead.objects.get(pk=1)
    head.last_seq, head.last_hash = sealed[2].seq, sealed[2].hash
    _sql(
        "UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s, mac = %s WHERE id = 1",
        [head.last_seq, head.last_hash, audit.head_mac(key, head)],
    )
    code, out, _ = _verify(capsys, "--checkpoint", line)
    assert code == 1
    assert (
        f"the checkpoint names record #{sealed[-1].seq}, but the chain ends at #{sealed[2].seq}"
        in out
    )


@pytest.mark.parametrize("change", ["seq", "hash", "mac", "garbage"])
def test_a_forged_checkpoint_line_is_refused(sealed, capsys, change):
    line = _checkpoint(capsys)
    fields = dict(part.split("=", 1) for part in line.split()[1:])
    if change == "seq":
        fields["seq"] = str(int(fields["seq"]) - 1)
    elif change == "hash":
        fields["hash"] = sealed[0].hash
    elif change == "mac":
        fields["mac"] = hmac.new(b"guess", b"x", hashlib.sha256).hexdigest()
    forged = (
        "hello" if change == "garbage"
        else "medoffice-audit-checkpoint " + " ".join(f"{k}={v}" for k, v in fields.items())
    )  # fmt: skip
    code, out, err = _verify(capsys, "--checkpoint", forged)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert ("forged or altered" in err) if change != "garbage" else ("not a checkpoint line" in err)


def _raw_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_auditevent")
        events = cursor.fetchall()
        cursor.execute("SELECT * FROM core_auditsecret")
        secrets_ = cursor.fetchall()
    return json.dumps([events, secrets_], default=str)


# --- Which values are protected ---------------------------------------------------------


def test_a_model_declares_its_values_protected_or_not(db, users):
    from medoffice.core.models import Location, User

    assert not audit.is_phi_model(Location)
    event = audit.record(AuditAction.UPDATE, obj=users["manager"], changes={"after": {"x": "1"}})
    assert event.changes == {"after": {"x": "1"}}
    User.audit_phi = True  # a personnel model says so
    try:
        assert audit.is_phi_model(User)
        event = audit.record(
            AuditAction.UPDATE, obj=users["manager"], changes={"after": {"x": "1"}}
        )
        assert audit.PHI_MARK in event.changes["after"]["x"]
    finally:
        del User.audit_phi


def test_the_seal_and_new_key_commands(db, capsys):
    _record(1)
    _record(2)
    capsys.readouterr()
    assert cli.main(["audit", "seal"]) == 0
    assert capsys.readouterr().out.strip() == "Sealed 2 audit record(s) into the chain."
    assert audit.unsealed_count() == 0
    assert cli.main(["audit", "new-key"]) == 0
    line = capsys.readouterr().out.strip()
    assert keys._parse_audit_keys(line, "test")[0][0] == line.split(":")[0]
    assert line not in keys.audit_keys_path().read_text()  # only printed, not added
    assert cli.main(["audit", "seal", "--checkpoint", "x"]) == 1
    assert capsys.readouterr().err.strip() == "medoffice: --checkpoint goes with `audit verify`"


# --- Events chained before the audit key existed ----------------------------------------------


def _legacy_trail(count: int) -> list[AuditEvent]:
    """Events as the unkeyed chain wrote them, and the head the migration left (legacy_seq)."""
    from django.utils import timezone

    assert not AuditEvent.objects.exists(), "start from an empty trail"
    prev = audit.GENESIS_HASH
    made = []
    for n in range(1, count + 1):
        event = AuditEvent(
            seq=n, at=timezone.now(), action=AuditAction.VIEW, actor_name="legacy",
            object_type="test.old", object_id=str(n), prev_hash=prev,
        )  # fmt: skip
        event.hash = audit.event_digest(event)
        event.save(force_insert=True)
        prev = event.hash
        made.append(event)
    AuditChainHead.objects.update_or_create(
        pk=1, defaults={"last_seq": count, "last_hash": prev, "legacy_seq": count, "mac": ""}
    )
    return made


def test_a_legacy_chain_verifies_and_new_events_continue_it(db, capsys):
    old = _legacy_trail(3)
    assert _verify(capsys)[0] == 0
    new = _record(1)
    audit.seal()
    sealed = AuditEvent.objects.get(pk=new.pk)
    assert (sealed.seq, sealed.prev_hash) == (4, old[-1].hash)
    code, out, _ = _verify(capsys)
    assert code == 0, out
    _drop_guard()
    _sql("UPDATE core_auditevent SET actor_name = 'edited' WHERE seq = 2")
    code, out, _ = _verify(capsys)
    assert code == 1 and "record #2: was changed after it was written (hash mismatch)" in out


def test_the_legacy_boundary_cannot_be_moved_to_pass_off_a_rewrite(db, capsys):
    _legacy_trail(2)
    _record(1)
    _record(2)
    audit.seal()
    _drop_guard()
    _sql("UPDATE core_auditchainhead SET legacy_seq = last_seq WHERE id = 1")
    code, out, _ = _verify(capsys)
    assert code == 1
    assert "the chain head is not signed by the audit key" in out
