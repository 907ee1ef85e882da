"""Key rotation while other processes keep writing: afterwards every stored value decrypts.

Two real OS processes write and read encrypted fields (TOTP seeds) against the same data
folder and database while `medoffice rotate-keys --drop-old` runs in a third. The control
case runs the writers with the epoch check switched off (as every process was before key
epochs): the same test then finds values that no remaining key reads (or, when the drop's
last check catches them in time, a refused drop).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

WRITER = r"""
import json, os, random, sys, time
import django
django.setup()
from django.db import transaction
from medoffice.core.models import TOTPAuthenticator, User, new_totp_seed

stop, name = sys.argv[1], sys.argv[2]
user = User.objects.get(username="writer")
mine, errors, i = {}, [], 0
while not os.path.exists(stop):
    i += 1
    try:
        if i % 3 == 0:
            with transaction.atomic():  # a write inside a transaction
                device = TOTPAuthenticator.objects.create(user=user, name=f"{name}-{i}")
        else:
            device = TOTPAuthenticator.objects.create(user=user, name=f"{name}-{i}")
        mine[device.pk] = device.key
        pk = random.choice(list(mine))
        again = TOTPAuthenticator.objects.get(pk=pk)  # a read of an older value
        if again.key != mine[pk]:
            errors.append(f"read {pk}: wrong value")
        if i % 4 == 0:  # an update of an older row (races the re-encryption)
            again.key = new_totp_seed()
            again.save(update_fields=["key"])
            mine[pk] = again.key
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}"[:200])
    time.sleep(0.005)
print(json.dumps({"seeds": mine, "errors": errors[:20], "error_count": len(errors)}))
"""

CHECK_ALL = """
import json
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection
from medoffice import paths
from medoffice.core.fields import encrypted_fields
(key,) = paths.field_keys()
only = Fernet(key.encode())
total, unreadable, seeds = 0, 0, {}
q = connection.ops.quote_name
with connection.cursor() as cursor:
    for model, field in encrypted_fields():
        cursor.execute(f'SELECT {q(model._meta.pk.column)}, {q(field.column)} FROM {q(model._meta.db_table)}')
        for pk, token in cursor.fetchall():
            if not token:
                continue
            total += 1
            try:
                plain = only.decrypt(token.removeprefix("enc1:").encode()).decode()
            except InvalidToken:
                unreadable += 1
                continue
            if model._meta.label_lower == "core.totpauthenticator":
                seeds[str(pk)] = plain
print(json.dumps({"total": total, "unreadable": unreadable, "seeds": seeds}))
"""


def _start_writers(install, stop, check_seconds: str) -> list[subprocess.Popen]:
    env = {**install.env, "DJANGO_SETTINGS_MODULE": "medoffice.settings",
           "MEDOFFICE_KEY_CHECK_SECONDS": check_seconds}  # fmt: skip
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(stop), name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("w1", "w2")
    ]


@pytest.mark.parametrize("check_seconds", ["0.2", "0"], ids=["epoch-checked", "control-unchecked"])
def test_two_writing_processes_survive_a_rotation_with_drop_old(
    fresh_install, tmp_path, check_seconds
):
    install = fresh_install
    install.extra_env.update({"MEDOFFICE_KEY_CHECK_SECONDS": "0.2", "MEDOFFICE_KEY_LIVE_SECONDS": "3"})  # fmt: skip
    install.run("migrate")
    install.python(  # a setup step, recorded as the system's
        "from medoffice.core.context import SYSTEM, acting_as\n"
        "from medoffice.core.models import User\n"
        "with acting_as(SYSTEM):\n    User.objects.create_user('writer', password='x')"
    )
    (first_key,) = (install.data / "field_keys").read_text().split()
    stop = tmp_path / "stop"
    writers = _start_writers(install, stop, check_seconds)
    try:
        time.sleep(4)  # both are writing (Django set up, rows going in)
        started = time.monotonic()
        rotation = install.run("rotate-keys", "--drop-old", "--wait", "20", check=False)
        took = time.monotonic() - started
        time.sleep(2)  # and they keep writing after the old key is gone
    finally:
        stop.touch()
        outputs = [w.communicate(timeout=120) for w in writers]
    results = []
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    stored = json.loads(install.python(CHECK_ALL)) if rotation.returncode == 0 else None
    written = {pk: seed for r in results for pk, seed in r["seeds"].items()}
    assert all(len(r["seeds"]) >= 20 for r in results)  # both wrote throughout

    if check_seconds == "0":
        # Without the epoch check the writers kept encrypting under the old key: either the
        # drop's last check caught their values (and kept the old keys), or it ran between
        # two of their writes and the later ones are now unreadable.
        caught = rotation.returncode == 1 and "still decrypt only with an old key" in (
            rotation.stderr
        )
        assert caught or stored["unreadable"] > 0, rotation
        return
    assert rotation.returncode == 0, rotation.stderr
    assert "Old keys dropped" in rotation.stdout
    (remaining,) = (install.data / "field_keys").read_text().split()
    assert remaining != first_key
    assert not [r["errors"] for r in results if r["error_count"]]
    assert stored["unreadable"] == 0 and stored["total"] >= len(written)
    # Every value each process wrote reads back as it wrote it: no lost update either.
    assert {pk: stored["seeds"][pk] for pk in written} == written
    assert took < 20
