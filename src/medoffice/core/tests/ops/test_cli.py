"""The `medoffice` command: dispatch, and one clear stderr line for every expected failure."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from medoffice import cli
from medoffice.core.models import AuditChainHead, AuditEvent, Practice, User
from medoffice.testing.ops import Installation, free_port, one_line


def test_unreachable_database_isone_line(tmp_path):
    install = Installation(data=tmp_path, database_url="postgres://postgres@127.0.0.1:9/none")
    result = install.run("migrate", check=False)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("medoffice: cannot reach the PostgreSQL database none on 127.0.0.1:9")


def test_a_taken_port_isone_line(demo_install):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = demo_install.run("serve", "--port", str(port), check=False)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in one_line(result.stderr)


def test_serve_demo_answers_with_the_demo_practice(fresh_install, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "medoffice.cli", "serve", "--demo", "--port", str(port)],
            env=fresh_install.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        page = ""
        while not page and time.monotonic() < deadline and process.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/account/login/"
                with urllib.request.urlopen(url, timeout=20) as response:
                    page = response.read().decode()
            except urllib.error.HTTPError as exc:
                raise AssertionError(
                    f"the login page answered {exc.code}:\n{log.read_text()}"
                ) from exc
            except OSError:
                time.sleep(0.5)
        # The worker serve starts beside it seals the audit trail within seconds.
        unsealed = (
            "from medoffice.core.models import AuditEvent; "
            "print(AuditEvent.objects.filter(seq__isnull=True).count())"
        )
        left = fresh_install.python(unsealed)
        deadline = time.monotonic() + 60
        while left != "0" and time.monotonic() < deadline:
            time.sleep(2)
            left = fresh_install.python(unsealed)
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = log.read_text()
    assert left == "0", f"{left} audit events still unsealed:\n{output}"
    assert "Sign in" in page, output
    assert "demo practice" in page
    assert "Office manager     manager" in output
    assert "'medoffice-demo'" in output
    assert f"http://127.0.0.1:{port}/" in output


@pytest.mark.django_db
def test_audit_verify_passes_then_names_a_forged_record(capsys, users):
    assert cli.main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out

    head = AuditChainHead.objects.get(pk=1)
    AuditEvent(
        seq=head.last_seq + 1, at=timezone.now(),
        action="view", prev_hash=head.last_hash, hash="f" * 64,
    ).save(force_insert=True)  # fmt: skip

    assert cli.main(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert re.search(
        rf"record #{head.last_seq + 1}: is sealed with audit key \(none\)", captured.out
    )
    assert re.fullmatch(r"medoffice: the audit trail has \d problem\(s\)", one_line(captured.err))


@pytest.mark.django_db
def test_createadmin_from_a_password_file(tmp_path, capsys):
    secret = tmp_path / "password"
    secret.write_text("plum-orchard-lantern-42\n")
    assert cli.main(["createadmin", "--username", "dana", "--password-file", str(secret)]) == 0
    admin = User.objects.get(username="dana")
    assert admin.check_password("plum-orchard-lantern-42")
    assert list(admin.roles.values_list("code", flat=True)) == ["owner"]
    assert admin.is_superuser

    secret.write_text("short\n")
    as_dana = ["--as", "dana"]  # once there are users, a command names who creates the next one
    assert (
        cli.main(["createadmin", "--username", "eve", "--password-file", str(secret), *as_dana])
        == 1
    )
    assert "password" in one_line(capsys.readouterr().err)
    assert not User.objects.filter(username="eve").exists()

    assert (
        cli.main(
            [
                "createadmin",
                "--username",
                "dana",
                "--password-file",
                str(Path("/nonexistent")),
                *as_dana,
            ]
        )
        == 1
    )
    assert "cannot read the password file" in one_line(capsys.readouterr().err)


@pytest.mark.django_db
def test_demo_refuses_a_database_with_a_practice(practice, capsys):
    assert cli.main(["demo"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "already has a practice" in line
    assert Practice.objects.count() == 1


@pytest.mark.django_db
def test_reset_refuses_a_real_practice(practice, capsys):
    assert not practice.is_demo
    assert cli.main(["demo", "--reset"]) == 1
    assert "only replaces a demo practice" in one_line(capsys.readouterr().err)
    assert Practice.objects.filter(pk=practice.pk).exists()


def test_other_commands_go_to_django(demo_install):
    assert "no issues" in demo_install.run("manage", "check").stdout
    assert "[X] 0001_initial" in demo_install.run("showmigrations", "core").stdout
