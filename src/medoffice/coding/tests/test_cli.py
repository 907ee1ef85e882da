"""`medoffice codes …`: imports need a named user with the permission; errors are one line."""

from __future__ import annotations

import pytest

from medoffice import cli
from medoffice.coding.models import (
    CodeSetKind,
    CodeSetRelease,
    MueEdit,
    PlaceOfService,
    ProcedureCode,
)
from medoffice.coding.tests.corpus import CORPUS, CPT_CSV, CPT_MAP, POS, needs_corpus
from medoffice.core.models import AuditEvent, User
from medoffice.testing.ops import one_line

pytestmark = pytest.mark.django_db


def test_import_cpt_needs_a_named_user_who_may_import(users, tmp_path, capsys):
    file = tmp_path / "cpt_2024.csv"
    file.write_bytes(CPT_CSV)
    assert cli.main(["codes", "import-cpt", str(file), "--map", CPT_MAP]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    assert cli.main(["codes", "import-cpt", str(file), "--map", CPT_MAP,
                     "--as", users["front_desk"].username]) == 1  # fmt: skip
    assert "import code sets" in one_line(capsys.readouterr().err)
    assert not ProcedureCode.objects.exists()
    assert cli.main(["codes", "import-cpt", str(file), "--map", CPT_MAP, "--label", "Ours 2024",
                     "--as", users["biller"].username]) == 0  # fmt: skip
    assert "Loaded CPT (the practice's licensed file): Ours 2024: 4 rows (4 new, 0 updated)." in (
        capsys.readouterr().out
    )
    release = CodeSetRelease.objects.get()
    assert release.imported_by == users["biller"] and release.label == "Ours 2024"
    assert cli.main(["codes", "import-cpt", str(file), "--map", CPT_MAP,
                     "--as", users["biller"].username]) == 1  # fmt: skip
    assert "This file was already loaded on" in one_line(capsys.readouterr().err)
    assert CodeSetRelease.objects.count() == 1


def test_import_ncci_with_label_and_date_and_its_errors(users, tmp_path, capsys):
    file = tmp_path / "mue.tsv"
    file.write_bytes(b"hcpcs\tmue_units\n99213\t2\n36415\t3\n")
    biller = users["biller"].username
    assert cli.main(["codes", "import-ncci", "mue", str(file), "--as", biller]) == 1
    assert "give its effective date" in one_line(capsys.readouterr().err)
    assert cli.main(["codes", "import-ncci", "mue", str(file), "--effective", "1/7/2024",
                     "--as", biller]) == 1  # fmt: skip
    assert "--effective" in one_line(capsys.readouterr().err)
    assert cli.main(["codes", "import-ncci", "mue", str(file), "--effective", "2024-07-01",
                     "--label", "2024 Q3", "--as", biller]) == 0  # fmt: skip
    release = CodeSetRelease.objects.get()
    assert (release.kind, release.row_count) == (CodeSetKind.NCCI_MUE, 2)
    assert MueEdit.objects.get(code="36415").max_units == 3
    bad = tmp_path / "bad_2024q4.tsv"
    bad.write_bytes(b"hcpcs\tmue_units\n99213\t-1\n")
    assert cli.main(["codes", "import-ncci", "mue", str(bad), "--as", biller]) == 1
    assert "line 2, column “mue_units”" in one_line(capsys.readouterr().err)
    assert (
        cli.main(["codes", "import-ncci", "mue", str(tmp_path / "none.tsv"), "--as", biller]) == 1
    )
    assert "no such file" in one_line(capsys.readouterr().err)
    assert CodeSetRelease.objects.count() == 1


def test_import_hcpcs_mpfs_and_pos(users, tmp_path, capsys):
    biller = users["biller"].username
    hcpcs = tmp_path / "hcpcs_2024.tsv"
    hcpcs.write_bytes(
        b"hcpcs\tshort_description\tlong_description\nG0438\tPpps, initial visit\tAWV\n"
    )
    assert cli.main(["codes", "import-hcpcs", str(hcpcs), "--as", biller]) == 0
    assert "Loaded HCPCS Level II: 2024: 1 rows" in capsys.readouterr().out
    gpci = tmp_path / "gpci_2024_jul.tsv"
    gpci.write_bytes(b"mac\tstate\tlocality\tlocality_name\tgpci_work\tgpci_pe\tgpci_mp\n"
                     b"10112\tAL\t00\tALABAMA\t1\t0.869\t0.575\n")  # fmt: skip
    assert cli.main(["codes", "import-mpfs", "gpci", str(gpci), "--as", biller]) == 0
    assert "2024 July: 1 rows" in capsys.readouterr().out
    if CORPUS is not None:
        assert cli.main(["codes", "import-pos", str(CORPUS / POS), "--as", biller]) == 0
        assert PlaceOfService.objects.count() == 99


def test_search_prints_icd10_and_procedure_codes(users, tmp_path, capsys):
    file = tmp_path / "cpt_2024.csv"
    file.write_bytes(CPT_CSV)
    assert cli.main(["codes", "import-cpt", str(file), "--map", CPT_MAP,
                     "--as", users["biller"].username]) == 0  # fmt: skip
    capsys.readouterr()
    assert cli.main(["codes", "search", "e11.9", "--icd10"]) == 0
    out = capsys.readouterr().out
    assert "ICD-10-CM  E11.9    billable Type 2 diabetes mellitus without complications" in out
    assert cli.main(["codes", "search", "venipuncture", "--procedure"]) == 0
    assert "CPT        36415    Venipuncture" in capsys.readouterr().out
    assert cli.main(["codes", "search", "type", "2", "diabetes"]) == 0
    assert "E11.9" in capsys.readouterr().out
    assert cli.main(["codes", "search", "xyzzy"]) == 0
    assert "No code matches 'xyzzy'." in capsys.readouterr().out


@needs_corpus
def test_load_defaults_loads_once(users, capsys):
    biller = users["biller"].username
    assert cli.main(["codes", "load-defaults"]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    assert cli.main(["codes", "load-defaults", "--as", biller]) == 0
    out = capsys.readouterr().out
    assert "NCCI procedure-to-procedure edits 2024 Q3: 24859 rows" in out
    assert "Medicare physician fee schedule RVUs 2024 July: 18664 rows" in out
    assert cli.main(["codes", "load-defaults", "--as", biller]) == 0
    assert "2024 Q3: already loaded" in capsys.readouterr().out
    assert CodeSetRelease.objects.count() == 6


@needs_corpus
def test_the_first_owner_gets_the_shipped_code_tables_in_their_name(tmp_path, capsys):
    secret = tmp_path / "password"
    secret.write_text("plum-orchard-lantern-42\n")
    assert cli.main(["createadmin", "--username", "dana", "--password-file", str(secret)]) == 0
    out = capsys.readouterr().out
    assert "Loaded the shipped code tables:" in out and "NCCI procedure-to-procedure" in out
    kinds = set(CodeSetRelease.objects.values_list("kind", flat=True))
    assert {CodeSetKind.NCCI_PTP, CodeSetKind.NCCI_MUE, CodeSetKind.NCCI_ADD_ON} <= kinds
    assert MueEdit.objects.exists() and PlaceOfService.objects.exists()
    dana = User.objects.get(username="dana")
    assert set(CodeSetRelease.objects.values_list("imported_by", flat=True)) == {dana.pk}
    events = AuditEvent.objects.filter(object_type="coding.codesetrelease")
    assert events.exists() and set(events.values_list("actor_name", flat=True)) == {"dana"}

    releases = CodeSetRelease.objects.count()
    assert cli.main(["createadmin", "--username", "erin", "--password-file", str(secret),
                     "--as", "dana"]) == 0  # fmt: skip
    assert "code tables" not in capsys.readouterr().out  # only a new installation's first owner
    assert CodeSetRelease.objects.count() == releases


def test_a_first_owner_without_the_corpus_is_told_how_to_load_it(tmp_path, capsys, monkeypatch):
    empty = tmp_path / "codes"
    empty.mkdir()
    monkeypatch.setenv("MEDOFFICE_CODES_CORPUS", str(empty))
    secret = tmp_path / "password"
    secret.write_text("plum-orchard-lantern-42\n")
    assert cli.main(["createadmin", "--username", "dana", "--password-file", str(secret)]) == 0
    out = capsys.readouterr().out
    assert "Created dana with the owner role." in out
    assert "The shipped code tables were not found" in out
    assert "medoffice codes load-defaults --as dana" in out
    assert not CodeSetRelease.objects.exists()


def test_a_failing_first_owner_step_leaves_the_account_and_says_what_to_run(
    tmp_path, capsys, monkeypatch
):
    from medoffice.core import first_run

    def broken(owner):
        raise RuntimeError("disk full")

    monkeypatch.setattr(first_run, "_STEPS", {})
    first_run.register_first_owner_step("widgets", broken, instead="medoffice widgets load")
    secret = tmp_path / "password"
    secret.write_text("plum-orchard-lantern-42\n")
    assert cli.main(["createadmin", "--username", "dana", "--password-file", str(secret)]) == 0
    out = capsys.readouterr().out
    assert "Could not set up the widgets (disk full); run: medoffice widgets load" in out
    assert User.objects.filter(username="dana").exists()
