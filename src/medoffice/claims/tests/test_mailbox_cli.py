"""`medoffice claims submit` and `medoffice claims collect`, as the user named with --as."""

from __future__ import annotations

import pytest

from medoffice import cli
from medoffice.claims.models import MailboxReceipt, MailboxSubmission
from medoffice.claims.tests.mailbox_support import folder_clearinghouse, sftp_clearinghouse
from medoffice.testing.ops import one_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch_bytes(users) -> bytes:
    """An 837P batch medoffice built and recorded (only such claims files leave by the CLI)."""
    from medoffice.claims import batches
    from medoffice.claims.models import ClaimStatus
    from medoffice.core.models import Practice
    from medoffice.testing.claim_builders import make_claim

    Practice.objects.update(phone="+12175550100")
    make_claim(lines=1, status=ClaimStatus.READY)
    exchange = batches.practice_exchange(receiver_id="RCV01", usage="T")
    return bytes(batches.batch_build(actor=users["biller"], exchange=exchange).content)


def test_submit_needs_a_named_user_with_the_role(sftp_server, users, tmp_path, capsys, batch_bytes):
    sftp_clearinghouse(sftp_server, users["manager"])
    batch = tmp_path / "batch-9.837"
    batch.write_bytes(batch_bytes)
    assert cli.main(["claims", "submit", str(batch)]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    assert cli.main(["claims", "submit", str(batch), "--as", users["front_desk"].username]) == 1
    assert "Your role does not allow this" in one_line(capsys.readouterr().err)
    assert not MailboxSubmission.objects.exists()
    assert list((sftp_server.root / "outbound").iterdir()) == []

    biller = users["biller"].username
    assert cli.main(["claims", "submit", str(batch), "--clearinghouse", "availity test",
                     "--as", biller]) == 0  # fmt: skip
    assert "batch-9.837: sent to Availity test" in capsys.readouterr().out
    assert (sftp_server.root / "outbound" / "batch-9.837").read_bytes() == batch_bytes
    (sftp_server.root / "outbound" / "batch-9.837").unlink()
    assert cli.main(["claims", "submit", str(batch), "--as", biller]) == 0
    assert "already submitted to Availity test (sent); not sent again" in capsys.readouterr().out
    assert list((sftp_server.root / "outbound").iterdir()) == []
    assert MailboxSubmission.objects.count() == 1


def test_submit_refuses_unknown_clearinghouses_and_missing_files(
    tmp_path, users, capsys, batch_bytes
):
    folder_clearinghouse(tmp_path / "mb", users["manager"])
    biller = users["biller"].username
    assert cli.main(["claims", "submit", str(tmp_path / "nope.837"), "--as", biller]) == 1
    assert "nope.837: No such file or directory" in one_line(capsys.readouterr().err)
    batch = tmp_path / "b.837"
    batch.write_bytes(batch_bytes)
    assert cli.main(["claims", "submit", str(batch), "--clearinghouse", "Other",
                     "--as", biller]) == 1  # fmt: skip
    assert "no clearinghouse named 'Other'" in one_line(capsys.readouterr().err)
    assert not MailboxSubmission.objects.exists()


def test_a_failed_send_exits_non_zero_with_the_reason(tmp_path, users, capsys, batch_bytes):
    house = folder_clearinghouse(tmp_path / "mb", users["manager"])
    (tmp_path / "mb" / "out").rmdir()
    batch = tmp_path / "b.837"
    batch.write_bytes(batch_bytes)
    assert cli.main(["claims", "submit", str(batch), "--as", users["biller"].username]) == 1
    captured = capsys.readouterr()
    assert "b.837: not sent to Portal uploads: The outbound folder" in captured.out
    assert "1 of 1 file(s) could not be sent" in one_line(captured.err)
    assert MailboxSubmission.objects.get(clearinghouse=house).status == "failed"


def test_submit_sends_only_x12_and_claims_only_as_medoffice_built_them(
    tmp_path, users, capsys, batch_bytes
):
    folder_clearinghouse(tmp_path / "mb", users["manager"])
    biller = users["biller"].username
    export = tmp_path / "patients.csv"
    export.write_bytes(b"mrn,name\n1,Jane Doe\n")
    edited = tmp_path / "edited.837"
    edited.write_bytes(batch_bytes.replace(b"DOE", b"ROE"))
    good = tmp_path / "good.837"
    good.write_bytes(batch_bytes)
    assert cli.main(["claims", "submit", str(good), str(export), "--as", biller]) == 1
    assert "patients.csv is not an X12 file that reads" in one_line(capsys.readouterr().err)
    assert cli.main(["claims", "submit", str(edited), "--as", biller]) == 1
    assert "edited.837 is not a batch medoffice built" in one_line(capsys.readouterr().err)
    assert not MailboxSubmission.objects.exists()
    assert list((tmp_path / "mb" / "out").iterdir()) == []


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
