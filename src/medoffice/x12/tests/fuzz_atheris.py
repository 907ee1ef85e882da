"""Coverage-guided fuzzing of the reader with atheris (libFuzzer), where atheris installs.

    PYTHONPATH=src python src/medoffice/x12/tests/fuzz_atheris.py SEED_DIR [-runs=50000 ...]

SEED_DIR is a folder of X12 files libFuzzer may add to (give it a copy, not the shared
corpus: libFuzzer writes the inputs it finds interesting into its first folder). Any
exception other than X12Error is a crash: libFuzzer stops and writes the input as
`crash-*`; `-timeout=N` makes an input that runs over N seconds a hang. atheris is not a
pinned test dependency (the test that runs this skips without it); atheris 3.0.0 installs
from a wheel on CPython 3.11 (`pip install atheris`).
"""

from __future__ import annotations

import contextlib
import importlib
import sys


def main() -> None:
    atheris = importlib.import_module("atheris")  # not a pinned dependency (no stubs here)

    if "medoffice.x12" in sys.modules:
        raise SystemExit("run this file by its path (with -m the library loads uninstrumented)")
    with atheris.instrument_imports(include=["medoffice.x12"]):
        from medoffice.x12 import X12Error, read
        from medoffice.x12.transactions import (  # noqa: F401 (loaded on first use otherwise)
            claim_status,
            eligibility,
            implementation_ack,
            professional_claim,
            remittance,
        )

    def one_input(data: bytes) -> None:
        with contextlib.suppress(X12Error):
            read(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
