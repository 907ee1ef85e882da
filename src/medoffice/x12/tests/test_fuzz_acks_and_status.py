"""Mutated 999, 277CA, 277, 276, 270 and 271 corpus files: the reader either reads them or
raises X12Error naming a segment; nothing else escapes and nothing hangs."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medoffice.x12 import X12Error, read
from medoffice.x12.tests.test_acks_and_status import _files
from medoffice.x12.tests.test_corpus import CORPUS, MALFORMED, needs_corpus

SAMPLES = [n for n in _files() if n not in MALFORMED]
_TEXTS = {n: (CORPUS / n).read_bytes() for n in SAMPLES} if CORPUS is not None else {}

_mutation = st.tuples(
    st.sampled_from(["replace", "delete", "duplicate", "insert"]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.integers(min_value=1, max_value=40),
    st.sampled_from(list(b"*:^~|>0123456789ABZ \n")),
)


def _mutate(data: bytes, mutations: list[tuple[str, float, int, int]]) -> bytes:
    buffer = bytearray(data)
    for operation, where, size, byte in mutations:
        if not buffer:
            break
        position = min(int(where * len(buffer)), len(buffer) - 1)
        if operation == "replace":
            buffer[position] = byte
        elif operation == "delete":
            del buffer[position : position + size]
        elif operation == "duplicate":
            buffer[position:position] = buffer[position : position + size]
        else:
            buffer[position:position] = bytes([byte]) * min(size, 3)
    return bytes(buffer)


@needs_corpus
@pytest.mark.skipif(not SAMPLES, reason="no corpus files of these types")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(SAMPLES or ["none"]),
    mutations=st.lists(_mutation, min_size=1, max_size=4),
)
def test_mutated_files_are_read_or_refused_with_the_segment_named(name, mutations):
    data = _mutate(_TEXTS[name], mutations)
    started = time.monotonic()
    try:
        read(data)
    except X12Error as error:
        assert str(error)
    assert time.monotonic() - started < 5
