"""What a new user meets first at the command line: one clear line, and nothing created."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from medoffice.testing.ops import Installation, free_port, on_postgres, one_line


@pytest.mark.parametrize(
    "args",
    [("backup", "x.zip"), ("audit", "verify"), ("worker", "--batch"), ("rotate-keys",),
     ("createadmin", "--username", "dana")],
)  # fmt: skip
def test_commands_that_need_an_installation_say_there_is_none_and_create_nothing(tmp_path, args):
    if on_postgres():
        pytest.skip("an installation on SQLite is its data folder; PostgreSQL is tested below")
    data = tmp_path / "nothing-here"
    install = Installation(data=data)
    result = install.run(*args, check=False, env={"PWD": str(tmp_path)})
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith(f"medoffice: there is no medoffice installation in {data}")
    assert "medoffice migrate" in line
    assert not data.exists()
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.postgres
def test_on_an_empty_postgresql_database_backup_says_there_is_no_installation(tmp_path):
    if not on_postgres():
        pytest.skip("needs PostgreSQL")
    install = Installation.create(tmp_path / "empty")
    try:
        data = tmp_path / "empty-data"
        install.data = data
        result = install.run("backup", str(tmp_path / "x.zip"), check=False)
        assert result.returncode == 1
        assert "there is no medoffice installation in the database" in one_line(result.stderr)
        assert not data.exists()
        assert not (tmp_path / "x.zip").exists()
    finally:
        install.destroy()


def test_an_unknown_command_suggests_help(tmp_path):
    result = Installation(data=tmp_path / "data").run("frobnicate", check=False)
    assert result.returncode == 2
    assert (
        one_line(result.stderr) == "medoffice: unknown command 'frobnicate'; see `medoffice --help`"
    )


def test_serve_on_a_busy_port_says_so_before_printing_any_address(demo_install):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = demo_install.run("serve", "--port", str(port), check=False)
    assert result.returncode == 1
    assert one_line(result.stderr) == (
        f"medoffice: cannot listen on 127.0.0.1:{port}: port {port} is in use"
    )
    assert "http://" not in result.stdout


def test_serve_demo_on_an_existing_demo_prints_the_logins_again_and_runs_workers(
    demo_install, tmp_path
):
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "medoffice.cli", "serve", "--demo", "--port", str(port),
             "--workers", "2"],
            env=demo_install.env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        status = None
        while status is None and time.monotonic() < deadline and process.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/account/login/"
                with urllib.request.urlopen(url, timeout=20) as response:
                    status = response.status
            except OSError:
                time.sleep(0.3)
        children = subprocess.run(
            ["pgrep", "-a", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.splitlines()
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = log.read_text()
    assert status == 200, output
    assert "is already loaded" in output
    assert "Office manager     manager" in output
    assert "Front desk         frontdesk" in output
    assert "'medoffice-demo'" in output
    assert "2 workers" in output
    background = [line for line in children if line.endswith("medoffice.cli worker")]
    assert len(background) == 1, children  # the background jobs run beside the server
    assert len(children) == 2 + 1, children  # two gunicorn workers and that one
