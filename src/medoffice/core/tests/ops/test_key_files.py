"""First-run key files: processes starting at once end with one file that all of them use."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from medoffice import paths

STARTERS = 12

# Each process waits for the same instant, then reads (or creates) every key file.
PROCESS = """
import json, sys, time
from medoffice import paths
start = float(sys.argv[1])
while time.time() < start:
    pass
print(json.dumps({"secret": paths.secret_key(), "field": paths.field_keys()}))
"""


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDOFFICE_DATA", str(tmp_path))
    monkeypatch.delenv("MEDOFFICE_FIELD_KEYS", raising=False)
    monkeypatch.delenv("MEDOFFICE_SECRET_KEY", raising=False)
    return tmp_path


def _in_threads(function) -> list:
    barrier = threading.Barrier(STARTERS)
    results: list = [None] * STARTERS

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = function()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _only_key_files(folder: Path) -> list[str]:
    return sorted(item.name for item in folder.iterdir())


@pytest.mark.parametrize(
    ("function", "name"),
    [(paths.secret_key, paths.SECRET_KEY_FILE), (paths.field_keys, paths.FIELD_KEYS_FILE)],
)
def test_threads_starting_at_once_share_one_key_file(data, function, name):
    for _attempt in range(5):  # several rounds: each a fresh race
        (data / name).unlink(missing_ok=True)
        results = _in_threads(function)
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, errors
        assert all(r == results[0] for r in results) and results[0]
        on_disk = (data / name).read_text().strip()
        expected = "\n".join(results[0]) if isinstance(results[0], list) else results[0]
        assert on_disk == expected
        assert _only_key_files(data) == [name]  # no temporary file left behind
        assert (data / name).stat().st_mode & 0o777 == 0o600


def test_the_field_keys_made_at_first_run_are_a_working_fernet_key(data):
    (key,) = paths.field_keys()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert paths.field_keys() == [key]  # the second run reads, it does not make another


def test_processes_starting_at_once_share_one_key_file_each(data):
    env = {**os.environ, "MEDOFFICE_DATA": str(data)}
    start = time.time() + 3  # all are running and spinning by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    seen = {out.strip() for out, _err in outputs}
    assert len(seen) == 1
    assert _only_key_files(data) == [paths.FIELD_KEYS_FILE, paths.SECRET_KEY_FILE]
    assert (data / paths.SECRET_KEY_FILE).read_text().strip() in seen.pop()


def test_an_empty_key_file_is_refused_not_used(data):
    (data / paths.FIELD_KEYS_FILE).write_text("")
    with pytest.raises(paths.KeyFileError, match="empty"):
        paths.field_keys()
    assert (data / paths.FIELD_KEYS_FILE).read_text() == ""  # not silently replaced


def test_a_key_rewrite_is_atomic_and_private(data):
    paths.write_field_keys(["b", "a"])
    assert (data / paths.FIELD_KEYS_FILE).read_text() == "b\na\n"
    assert (data / paths.FIELD_KEYS_FILE).stat().st_mode & 0o777 == 0o600
    assert _only_key_files(data) == [paths.FIELD_KEYS_FILE]
