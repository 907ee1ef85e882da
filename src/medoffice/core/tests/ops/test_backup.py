"""Backups: a round trip into a fresh installation, and restores that must be refused."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest

from medoffice import cli
from medoffice.core.tests.ops.conftest import STORED_FILE


def _stderr_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_round_trip_into_a_fresh_installation(demo_install, demo_backup, fresh_install):
    path, source = demo_backup
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        data = archive.read("data.json").decode()
        assert archive.read("files/" + STORED_FILE[0]) == STORED_FILE[1]
    assert manifest["format"] == "medoffice-backup"
    assert manifest["rows"]["core.practice"] == 1
    # Encrypted fields travel encrypted: the tax id is in the backup only as a token.
    tax_id = demo_install.python(
        "from medoffice.core.models import Practice; print(Practice.objects.get().tax_id)"
    )
    assert tax_id and tax_id not in data
    assert '"tax_id": "enc1:' in data

    # The audit keys stay out of the backup too.
    audit_keys = (demo_install.data / "audit_keys").read_text().split()
    assert audit_keys
    with zipfile.ZipFile(path) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert not any(line.split(":")[1].encode() in everything for line in audit_keys)
    assert "audit_keys" not in " ".join(zipfile.ZipFile(path).namelist())

    # A fresh install has its own keys; restoring needs the keys of the one that made it.
    shutil.copy(demo_install.data / "field_keys", fresh_install.data / "field_keys")
    shutil.copy(demo_install.data / "audit_keys", fresh_install.data / "audit_keys")
    result = fresh_install.run("restore", str(path))
    assert "The audit trail verifies." in result.stdout

    assert fresh_install.fingerprint()["models"] == source["models"]
    assert fresh_install.fingerprint()["files"] == source["files"]
    assert (fresh_install.data / "files" / STORED_FILE[0]).read_bytes() == STORED_FILE[1]
    verify = fresh_install.run("audit", "verify")
    assert "intact" in verify.stdout
    restored_tax_id = fresh_install.python(
        "from medoffice.core.models import Practice; print(Practice.objects.get().tax_id)"
    )
    assert restored_tax_id == tax_id


def test_restore_refuses_an_installation_that_holds_data(demo_install, demo_backup):
    path, source = demo_backup
    result = demo_install.run("restore", str(path), check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already holds data" in lines[0] and "--force" in lines[0]
    assert demo_install.fingerprint()["models"] == source["models"]


def test_restore_refuses_a_backup_it_cannot_decrypt(demo_backup, fresh_install):
    path, _ = demo_backup
    result = fresh_install.run("restore", str(path), check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "field keys cannot decrypt" in lines[0]
    assert not any((fresh_install.data / "files").glob("**/*.png"))


def _rewrite(source, target, change) -> None:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            content = change(info.filename, src.read(info.filename))
            if content is not None:
                dst.writestr(info.filename, content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("not a zip", "not a medoffice backup (not a zip file)"),
        ("foreign zip", "not a medoffice backup (it has no manifest.json)"),
        ("edited rows", "data.json does not match its manifest"),
        ("bad checksum", "is damaged"),
        ("truncated", "not a medoffice backup (not a zip file)"),
        ("newer medoffice", "made by a newer medoffice"),
    ],
)
def test_restore_refuses_a_bad_file_with_one_line(
    kind, message, demo_backup, tmp_path, capsys, practice
):
    from medoffice.core.models import Practice

    good, _ = demo_backup
    bad = tmp_path / "bad.zip"
    if kind == "not a zip":
        bad.write_text("name,amount\nrent,1200\n")
    elif kind == "foreign zip":
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("report.csv", "a,b\n")
    elif kind == "edited rows":
        _rewrite(good, bad, lambda name, data: data.replace(b"manager", b"mallory"))
    elif kind == "bad checksum":
        raw = bytearray(good.read_bytes())
        with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
            info = archive.getinfo("data.json")
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        raw[start + 20] ^= 0xFF  # flip bits inside the compressed rows
        bad.write_bytes(bytes(raw))
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "newer medoffice":

        def newer(name, data):
            if name != "manifest.json":
                return data
            manifest = json.loads(data)
            manifest["migrations"].append(["core", "9999_from_the_future"])
            return json.dumps(manifest)

        _rewrite(good, bad, newer)

    assert cli.main(["restore", str(bad)]) == 1
    line = _stderr_line(capsys)
    assert line.startswith("medoffice: ")
    assert message in line
    assert Practice.objects.get().pk == practice.pk  # nothing was touched


@pytest.mark.django_db
def test_backup_refuses_to_overwrite_or_write_nowhere(tmp_path, capsys):
    existing = tmp_path / "taken.zip"
    existing.write_text("keep me")
    assert cli.main(["backup", str(existing)]) == 1
    assert "already exists" in _stderr_line(capsys)
    assert existing.read_text() == "keep me"
    assert cli.main(["backup", str(tmp_path / "missing" / "b.zip")]) == 1
    assert "does not exist" in _stderr_line(capsys)
