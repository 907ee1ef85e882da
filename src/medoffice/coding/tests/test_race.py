"""Two imports of the same file at once, on PostgreSQL: the release's unique key lets exactly
one through (the early Python check is switched off, so the database alone decides)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from medoffice.coding import imports
from medoffice.coding.models import CodeSetRelease, MueEdit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
THREADS = 4


def test_the_same_file_imported_at_once_makes_exactly_one_release(users, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers: PostgreSQL only")
    monkeypatch.setattr(imports, "_loaded_before", lambda kind, digest: None)
    rows = "".join(f"{90000 + n}\t{n % 7 + 1}\n" for n in range(3000))
    data = ("hcpcs\tmue_units\n" + rows).encode()
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    guard = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=60)
            imports.import_ncci(table="mue", data=data, source_name="mue_2024q3.tsv",
                                actor=users["biller"])  # fmt: skip
            result = "loaded"
        except imports.AlreadyLoaded as exc:
            result = "refused" if "already loaded on" in exc.message else f"odd:{exc.message}"
        except Exception as exc:  # reported, so the assertion shows it
            result = f"error:{type(exc).__name__}:{exc}"
        finally:
            connections.close_all()
        with guard:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["loaded"] + ["refused"] * (THREADS - 1), outcomes
    assert CodeSetRelease.objects.count() == 1
    assert MueEdit.objects.count() == 3000
