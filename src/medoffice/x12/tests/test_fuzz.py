"""Fuzzing the reader: corpus files (and a file our writer made) mutated by flipped bytes,
deleted and duplicated segments, swapped delimiters and truncation must be read or refused
with X12Error. Any other exception is a crash and fails; an example that runs over its
deadline (or the watchdog's alarm) is a hang and fails.

Derandomized, so CI runs the same examples every time; sized to run in a few seconds.

atheris (coverage-guided, libFuzzer) runs where it is installed: atheris 3.0.0 installs from a
wheel on CPython 3.11 (3.1.0 is announced, but the package index here serves 3.0.0), but it
is not a pinned test dependency, so `test_atheris_finds_no_crash` skips without it. The
harness is `fuzz_atheris.py`, also runnable by hand for longer campaigns.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medoffice.x12 import X12Error, read
from medoffice.x12.tests.test_corpus import CORPUS

SEED_LIMIT = 12_000  # bytes: small files keep each example fast
WATCHDOG_SECONDS = 10


def _seeds() -> list[bytes]:
    from medoffice.x12.tests.test_professional_claim_writer import ALL, batch
    from medoffice.x12.transactions.professional_claim_writer import write_batch

    seeds = [write_batch(batch(*ALL)), write_batch(batch(*ALL), line_break=True)]
    if CORPUS is not None:
        for folder in ("835", "837p", "270", "271", "276", "277", "277ca", "999"):
            for path in sorted((CORPUS / folder).iterdir()):
                if path.stat().st_size <= SEED_LIMIT:
                    seeds.append(path.read_bytes())
    return seeds


SEEDS = _seeds()


class Hang(Exception):
    pass


@contextmanager
def _watchdog(seconds: int) -> Iterator[None]:
    """SIGALRM raises Hang in the reader if an example never returns (hypothesis's deadline
    only reports an example that finished)."""

    def alarm(signum, frame):
        raise Hang(f"the reader ran over {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _delimiters(data: bytes) -> bytes:
    """The element separator, component separator and terminator the file declares."""
    start = data.find(b"ISA")
    if start < 0 or len(data) < start + 106:
        return b"*:~"
    isa = data[start : start + 106]
    return isa[3:4] + isa[104:105] + isa[105:106]


def _segments(data: bytes) -> list[bytes]:
    terminator = _delimiters(data)[2:3] or b"~"
    return data.split(terminator)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["flip", "delete", "duplicate", "drop", "swap", "truncate", "insert"])
        )
        if not data:
            break
        if kind == "flip":
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            at = draw(st.integers(0, len(data) - 1))
            data[at : at + draw(st.integers(1, 40))] = b""
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.sampled_from([b"*", b":", b"~", b"^", b"\n", b"ISA", b"\xef"]))
        elif kind in ("duplicate", "drop"):
            segments = _segments(bytes(data))
            index = draw(st.integers(0, len(segments) - 1))
            if kind == "duplicate":
                segments.insert(index, segments[index])
            else:
                del segments[index]
            data = bytearray((_delimiters(bytes(data))[2:3] or b"~").join(segments))
        elif kind == "swap":
            declared = _delimiters(bytes(data))
            old = declared[draw(st.integers(0, len(declared) - 1))]
            new = draw(st.sampled_from(b"*:~^|>\n!"))
            data = bytearray(bytes(data).replace(bytes([old]), bytes([new])))
        else:
            data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(
    max_examples=1200,
    derandomize=True,
    database=None,
    deadline=dt.timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_a_mutated_file_is_read_or_refused_with_x12error(data):
    with _watchdog(WATCHDOG_SECONDS):
        try:
            read(data)
        except X12Error as exc:
            assert isinstance(exc.segment_number, int) and exc.segment_number >= 0
            assert str(exc)


@settings(max_examples=1000, derandomize=True, database=None, deadline=dt.timedelta(seconds=2))
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_refused_with_x12error(data):
    with _watchdog(WATCHDOG_SECONDS), suppress(X12Error):
        read(b"ISA" + data)


def test_the_watchdog_stops_a_hang():
    with pytest.raises(Hang), _watchdog(1):
        while True:
            pass


def test_the_seeds_are_read():
    """The fuzzer starts from files the reader reads (the check above would be weak if the
    seeds were all refused already)."""
    read_ok = 0
    for seed in SEEDS:
        try:
            read(seed)
            read_ok += 1
        except X12Error:
            pass
    assert read_ok >= 2
    if CORPUS is not None:
        assert read_ok >= 20


pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGALRM"), reason="the hang watchdog needs SIGALRM (POSIX)"
)


def test_atheris_finds_no_crash(tmp_path):
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    seeds = tmp_path / "seeds"  # libFuzzer adds to its folder: a copy, not the shared corpus
    seeds.mkdir()
    for number, seed in enumerate(SEEDS):
        (seeds / f"seed{number}").write_bytes(seed)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fuzz_atheris.py")), str(seeds), "-max_total_time=8",
         "-timeout=5", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    found = sorted(p.name for p in tmp_path.iterdir() if p.name != "seeds")
    assert done.returncode == 0 and not found, (found, done.stderr[-3000:])
