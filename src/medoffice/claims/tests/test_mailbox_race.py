"""Many collections and submissions at the same moment, each thread with its own database
connection and its own SFTP session to the same real server: every answer is filed exactly
once and a name is sent once. Variants switch the Python pre-checks off, so only the unique
constraints stand between the threads."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from medoffice.claims import mailbox_services as services
from medoffice.claims.models import MailboxReceipt, MailboxSubmission
from medoffice.claims.tests.mailbox_support import sftp_clearinghouse

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
THREADS = 20
FILES = 12


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("twenty writers at once: PostgreSQL only")


def in_threads(count, work):
    barrier = threading.Barrier(count)
    outcomes: list = []
    lock = threading.Lock()

    def run(n):
        try:
            barrier.wait(timeout=60)
            outcome = work(n)
        except Exception as exc:  # reported, so the assertion shows it
            outcome = f"error:{type(exc).__name__}:{exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(outcomes) == count, "a thread did not finish"
    return outcomes


@pytest.mark.parametrize("after_collect", ["keep", "delete"])
@pytest.mark.parametrize("precheck", [True, False], ids=["precheck", "constraint-only"])
def test_twenty_collections_at_once_file_each_answer_once(
    sftp_server, users, monkeypatch, settings, tmp_path, after_collect, precheck
):
    settings.MEDIA_ROOT = tmp_path / "files"  # this test's own stored files, to count them
    inbound = sftp_server.root / "inbound"
    expected = {f"resp-{n:02}.txt": f"answer {n} ".encode() * (50 + n) for n in range(FILES)}
    for name, content in expected.items():
        (inbound / name).write_bytes(content)
    house = sftp_clearinghouse(sftp_server, users["manager"], after_collect=after_collect)
    if not precheck:
        monkeypatch.setattr(services, "_filed_already", lambda key: False)
    biller = users["biller"]

    outcomes = in_threads(THREADS, lambda n: services.collect(actor=biller, clearinghouse=house))
    errors = [o for o in outcomes if isinstance(o, str)]
    assert errors == []
    assert all(not result.error for result in outcomes), [r.error for r in outcomes]
    filed = Counter(r.name for result in outcomes for r in result.filed)
    assert filed == Counter(expected.keys()), filed  # each filed by exactly one of the threads
    receipts = MailboxReceipt.objects.filter(clearinghouse=house)
    assert sorted(receipts.values_list("name", flat=True)) == sorted(expected)
    storage = MailboxReceipt._meta.get_field("file").storage
    _, stored = storage.listdir(f"claims/mailbox/{house.pk}")
    assert len(stored) == FILES  # the threads that lost the race removed their copies
    for receipt in receipts:
        with receipt.file.open("rb") as kept:
            assert kept.read() == expected[receipt.name]
    if after_collect == "delete":
        assert list(inbound.iterdir()) == []
        # Threads that found a file gone (fetched or deleted by another) said so; none lost it.
        for result in outcomes:
            assert {name for name, _ in result.failed} <= set(expected)
    again = services.collect(actor=biller, clearinghouse=house)
    assert again.filed == [] and receipts.count() == FILES


def test_twenty_submissions_of_one_name_at_once_send_it_once(sftp_server, users, monkeypatch):
    """All twenty look before any inserts (the barrier), so the unique name decides."""
    house = sftp_clearinghouse(sftp_server, users["manager"])
    sends = []
    real_open = services.open_transport

    def counting(config):
        transport = real_open(config)
        real_send = transport.send

        def send(name, content):
            sends.append(name)
            real_send(name, content)

        transport.send = send
        return transport

    monkeypatch.setattr(services, "open_transport", counting)
    batch = b"ISA*00*          *00*          *ZZ*RIVERSIDE01    *ZZ*AVAILITY       *~" * 200
    biller = users["biller"]

    outcomes = in_threads(
        THREADS,
        lambda n: services.submit_file(
            actor=biller, clearinghouse=house, name="batch-0042.837", content=batch
        ),
    )
    errors = [o for o in outcomes if isinstance(o, str)]
    assert errors == []
    assert sends == ["batch-0042.837"]
    assert {o.pk for o in outcomes} == {MailboxSubmission.objects.get().pk}
    assert MailboxSubmission.objects.get().status == "sent"
    assert {p.name: p.read_bytes() for p in (sftp_server.root / "outbound").iterdir()} == {
        "batch-0042.837": batch
    }
