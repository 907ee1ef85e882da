"""`medoffice claims submit` and `medoffice claims collect`, as the user named with --as."""

from __future__ import annotations

import pytest

from medoffice import cli
from medoffice.claims.models import MailboxReceipt, MailboxSubmission
from medoffice.claims.tests.mailbox_support import folder_clearinghouse, sftp_clearinghouse
from medoffice.testing.ops import one_line

pytestmark = pytest.mark.django_db


def recorded_batch(house, users):
    """An 837P batch medoffice built for `house` and recorded: the only claims file the CLI
    sends, by the batch's own send."""
    from medoffice.claims import batches
    from medoffice.claims.models import ClaimStatus
    from medoffice.core.models import Practice
    from medoffice.testing.claim_builders import make_claim

    Practice.objects.update(phone="+12175550100")
    make_claim(lines=1, status=ClaimStatus.READY)
    exchange = batches.clearinghouse_exchange(house)
    return batches.batch_build(actor=users["biller"], exchange=exchange)


def test_submit_needs_a_named_user_with_the_role(sftp_server, users, tmp_path, capsys):
    house = sftp_clearinghouse(sftp_server, users["manager"])
    made = recorded_batch(house, users)
    batch = tmp_path / "batch-9.837"
    batch.write_bytes(bytes(made.content))
    assert cli.main(["claims", "submit", str(batch)]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    assert cli.main(["claims", "submit", str(batch), "--as", users["front_desk"].username]) == 1
    assert "Your role does not allow this" in one_line(capsys.readouterr().err)
    assert not MailboxSubmission.objects.exists()
    assert list((sftp_server.root / "outbound").iterdir()) == []

    biller = users["biller"].username
    assert cli.main(["claims", "submit", str(batch), "--clearinghouse", "availity test",
                     "--as", biller]) == 0  # fmt: skip
    assert f"batch-9.837: {made.file_name} sent to Availity test" in capsys.readouterr().out
    assert (sftp_server.root / "outbound" / made.file_name).read_bytes() == bytes(made.content)
    made.refresh_from_db()
    assert made.submitted_at is not None
    assert set(made.claims.values_list("status", flat=True)) == {"submitted"}
    # The batch's own send goes once: asked again, it says so and sends nothing.
    (sftp_server.root / "outbound" / made.file_name).unlink()
    assert cli.main(["claims", "submit", str(batch), "--as", biller]) == 1
    assert f"{made.file_name} was sent already" in one_line(capsys.readouterr().err)
    assert list((sftp_server.root / "outbound").iterdir()) == []
    assert MailboxSubmission.objects.count() == 1


def test_submit_refuses_unknown_clearinghouses_and_missing_files(tmp_path, users, capsys):
    house = folder_clearinghouse(tmp_path / "mb", users["manager"])
    biller = users["biller"].username
    assert cli.main(["claims", "submit", str(tmp_path / "nope.837"), "--as", biller]) == 1
    assert "nope.837: No such file or directory" in one_line(capsys.readouterr().err)
    batch = tmp_path / "b.837"
    batch.write_bytes(bytes(recorded_batch(house, users).content))
    assert cli.main(["claims", "submit", str(batch), "--clearinghouse", "Other",
                     "--as", biller]) == 1  # fmt: skip
    assert "no clearinghouse named 'Other'" in one_line(capsys.readouterr().err)
    assert not MailboxSubmission.objects.exists()


def test_a_failed_send_exits_non_zero_with_the_reason(tmp_path, users, capsys):
    house = folder_clearinghouse(tmp_path / "mb", users["manager"])
    made = recorded_batch(house, users)
    (tmp_path / "mb" / "out").rmdir()
    batch = tmp_path / "b.837"
    batch.write_bytes(bytes(made.content))
    assert cli.main(["claims", "submit", str(batch), "--as", users["biller"].username]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"{made.file_name} was not sent: The outbound folder" in err
    assert MailboxSubmission.objects.get(clearinghouse=house).status == "failed"
    made.refresh_from_db()
    assert made.submitted_at is None


def test_submit_sends_only_x12_and_claims_only_as_medoffice_built_them(tmp_path, users, capsys):
    house = folder_clearinghouse(tmp_path / "mb", users["manager"])
    content = bytes(recorded_batch(house, users).content)
    biller = users["biller"].username
    export = tmp_path / "patients.csv"
    export.write_bytes(b"mrn,name\n1,Jane Doe\n")
    edited = tmp_path / "edited.837"
    edited.write_bytes(content.replace(b"DOE", b"ROE"))
    good = tmp_path / "good.837"
    good.write_bytes(content)
    assert cli.main(["claims", "submit", str(good), str(export), "--as", biller]) == 1
    assert "patients.csv is not an X12 file that reads" in one_line(capsys.readouterr().err)
    assert cli.main(["claims", "submit", str(edited), "--as", biller]) == 1
    assert "edited.837 is not a batch medoffice built" in one_line(capsys.readouterr().err)
    answer = tmp_path / "answer.999"
    answer.write_bytes(_a_999(house))
    assert cli.main(["claims", "submit", str(answer), "--as", biller]) == 1
    assert "answer.999 holds 999: an answer comes from a payer" in one_line(capsys.readouterr().err)
    assert not MailboxSubmission.objects.exists()
    assert list((tmp_path / "mb" / "out").iterdir()) == []


def _a_999(house) -> bytes:
    from medoffice.claims.tests.test_acks import ack_999

    return ack_999(submitter=house.submitter_id or "SUB", group=1)


def test_collect_files_once_as_the_named_user(tmp_path, users, capsys):
    folder_clearinghouse(tmp_path / "mb", users["manager"])
    (tmp_path / "mb" / "in" / "resp.txt").write_bytes(b"answer")
    assert cli.main(["claims", "collect"]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    biller = users["biller"]
    assert cli.main(["claims", "collect", "--as", biller.username]) == 0
    out = capsys.readouterr().out
    assert "Portal uploads: 1 new file(s) filed." in out and "filed resp.txt: Other" in out
    assert cli.main(["claims", "collect", "--clearinghouse", "Portal uploads",
                     "--as", biller.username]) == 0  # fmt: skip
    assert "0 new file(s) filed, 1 already filed" in capsys.readouterr().out
    assert MailboxReceipt.objects.get().received_by == biller
