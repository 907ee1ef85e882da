"""X12 5010 for medoffice: a plain library (no Django), reader and writer.

    from medoffice.x12 import read
    document = read(path_or_bytes)          # X12Error on anything malformed
    for transaction in document.transactions():
        transaction.kind, transaction.data  # e.g. "835", Remittance(...)

The reader streams the file in chunks; `iter_interchanges` yields one interchange at a
time for files too large to hold.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from medoffice.x12.envelope import (
    Document,
    FunctionalGroup,
    Interchange,
    Transaction,
    iter_interchanges,
)
from medoffice.x12.errors import X12Error, X12Warning
from medoffice.x12.tokenizer import Delimiters

Source = bytes | bytearray | str | os.PathLike[str] | BinaryIO

__all__ = [
    "Delimiters",
    "Document",
    "FunctionalGroup",
    "Interchange",
    "Transaction",
    "X12Error",
    "X12Warning",
    "iter_interchanges",
    "read",
    "read_file",
]


def read(source: Source, *, strict: bool = False, chunk_size: int = 1 << 20) -> Document:
    """Read X12 from bytes, text, a path or a binary file object into a Document.

    A `str` is X12 text (not a path: pass a `Path` for a file).
    """
    if isinstance(source, bytes | bytearray):
        return _read_stream(io.BytesIO(bytes(source)), strict, chunk_size)
    if isinstance(source, str):
        return _read_stream(io.BytesIO(source.encode("utf-8")), strict, chunk_size)
    if isinstance(source, os.PathLike):
        return read_file(Path(source), strict=strict, chunk_size=chunk_size)
    return _read_stream(source, strict, chunk_size)


def read_file(
    path: str | os.PathLike[str], *, strict: bool = False, chunk_size: int = 1 << 20
) -> Document:
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise X12Error(f"cannot open {os.fspath(path)}: {exc.strerror or exc}") from exc
    with handle:
        return _read_stream(handle, strict, chunk_size)


def _read_stream(stream: BinaryIO, strict: bool, chunk_size: int) -> Document:
    reader: Iterator[Interchange] = iter_interchanges(stream, strict=strict, chunk_size=chunk_size)
    interchanges = _guarded(reader)
    count = (
        interchanges[-1].first_segment + interchanges[-1].segment_count - 1 if interchanges else 0
    )
    return Document(interchanges=interchanges, segment_count=count)


def _guarded(reader: Iterator[Interchange]) -> list[Interchange]:
    try:
        return list(reader)
    except X12Error:
        raise
    except RecursionError as exc:  # pragma: no cover (the reader does not recurse)
        raise X12Error("the file nests too deeply to read") from exc
    except MemoryError as exc:  # pragma: no cover
        raise X12Error("the file is too large to read in memory") from exc
