"""Backups hold TOTP seeds only as tokens, after rotation too, and restore them intact."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile

from medoffice.testing.ops import Installation

MAKE_DEVICE = (  # a setup step, recorded as the system's
    "from medoffice.core.context import SYSTEM, acting_as\n"
    "from medoffice.core.models import User, TOTPAuthenticator\n"
    "with acting_as(SYSTEM):\n"
    "    u = User.objects.create_user('mgr', password='a-long-passphrase')\n"
    "    d = TOTPAuthenticator.objects.create(user=u, name='phone')\n"
    "print(d.key)"
)
READ_SEEDS = (
    "from medoffice.core.models import TOTPAuthenticator; import json; "
    "print(json.dumps({d.pk: d.key for d in TOTPAuthenticator.objects.order_by('pk')}))"
)
RAW_COLUMN = (
    "from django.db import connection; c = connection.cursor(); "
    "c.execute('SELECT key FROM core_totpauthenticator ORDER BY id'); "
    "print('|'.join(row[0] for row in c.fetchall()))"
)
LEGACY_SEED = "3132333435363738393031323334353637383930"


def _rewrite_with_legacy_device(source, target, user_pk: int) -> None:
    """A backup as an older medoffice made it: one django-otp TOTP device, seed in clear."""
    with zipfile.ZipFile(source) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        rows = json.loads(archive.read("data.json"))
        others = {n: archive.read(n) for n in archive.namelist() if n not in {"manifest.json", "data.json"}}  # fmt: skip
    rows.append({
        "model": "otp_totp.totpdevice", "pk": 77,
        "fields": {"user": user_pk, "name": "old phone", "confirmed": True, "key": LEGACY_SEED,
                   "step": 30, "t0": 0, "digits": 6, "tolerance": 1, "drift": 0, "last_t": 5,
                   "throttling_failure_timestamp": None, "throttling_failure_count": 0},
    })  # fmt: skip
    data = json.dumps(rows).encode()
    manifest["data_sha256"] = hashlib.sha256(data).hexdigest()
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("data.json", data)
        for name, content in others.items():
            archive.writestr(name, content)


def test_backups_hold_no_seed_through_rotation_and_restore_it(fresh_install, tmp_path):
    fresh_install.run("migrate")
    seed = fresh_install.python(MAKE_DEVICE)
    assert len(seed) == 40
    fresh_install.run("rotate-keys", "--drop-old")
    assert len((fresh_install.data / "field_keys").read_text().split()) == 1
    raw = fresh_install.python(RAW_COLUMN)
    assert raw.startswith("enc1:") and seed not in raw

    path = tmp_path / "backup.zip"
    fresh_install.run("backup", str(path))
    with zipfile.ZipFile(path) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert '"model": "core.totpauthenticator"' in everything.decode()
    for form in (seed, seed.upper(), base64.b32encode(bytes.fromhex(seed)).decode()):
        assert form.encode() not in everything

    other = Installation.create(tmp_path / "other")
    try:
        for name in ("field_keys", "audit_keys"):  # the keys travel apart from the backup
            shutil.copy(fresh_install.data / name, other.data / name)
        other.run("restore", str(path))
        ((device_pk, restored),) = json.loads(other.python(READ_SEEDS)).items()
        assert restored == seed

        # An older backup with django-otp's clear device: restored into the encrypted table.
        legacy = tmp_path / "legacy.zip"
        user_pk = int(other.python("from medoffice.core.models import User; print(User.objects.get().pk)"))  # fmt: skip
        _rewrite_with_legacy_device(path, legacy, user_pk)
        other.run("restore", "--force", str(legacy))
        assert json.loads(other.python(READ_SEEDS)) == {device_pk: seed, "77": LEGACY_SEED}
        assert LEGACY_SEED not in other.python(RAW_COLUMN)
    finally:
        other.destroy()
