"""What the mailbox tests share: a clearinghouse for the test SFTP server or two folders,
and the shared X12 corpus (read in place; tests skip without it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from medoffice.claims import mailbox_services as services
from medoffice.claims.models import Clearinghouse


def corpus() -> Path | None:
    if os.environ.get("MEDOFFICE_X12_CORPUS"):
        return Path(os.environ["MEDOFFICE_X12_CORPUS"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "x12"
        if candidate.is_dir():
            return candidate
    return None


CORPUS = corpus()
needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")

# One answer of each kind from the corpus (read in place, never copied into the repository).
ANSWERS = {
    "999": "999/Project-Herophilus__Project-Herophilus-Assets__999_Sample_Accepted_.txt",
    "277CA": "277ca/Inteligenz__X12Parser__277_Deidentified_from_nth.txt",
    "835": "835/CHS-CDS-AIML__edi-835-parser__test.835",
}


def answer(kind: str) -> bytes:
    assert CORPUS is not None
    return (CORPUS / ANSWERS[kind]).read_bytes()


def sftp_clearinghouse(server, actor, **changes) -> Clearinghouse:
    values: dict[str, Any] = dict(
        name="Availity test", transport="sftp", host=server.host, port=server.port,
        username=server.username, secret=server.password, secret_kind="password",
        host_key=server.host_key, outbound_path="/outbound", inbound_path="/inbound",
        archive_path="/archive", after_collect="keep", submitter_id="RIVERSIDE01",
        receiver_id="AVAILITY",
    )  # fmt: skip
    values.update(changes)
    return services.clearinghouse_save(actor=actor, **values)


def folder_clearinghouse(root: Path, actor, **changes) -> Clearinghouse:
    for name in ("out", "in", "archive"):
        (root / name).mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = dict(
        name="Portal uploads", transport="folder", outbound_path=str(root / "out"),
        inbound_path=str(root / "in"), archive_path=str(root / "archive"), after_collect="keep",
    )  # fmt: skip
    values.update(changes)
    return services.clearinghouse_save(actor=actor, **values)
