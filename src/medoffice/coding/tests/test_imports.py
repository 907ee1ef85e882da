"""The code-set imports on the shipped CMS files: row counts and exact rows; bad rows refused
with the line and column named and nothing written; the same file twice refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from medoffice.coding import code_files, imports
from medoffice.coding.code_files import CodeSetFileError
from medoffice.coding.imports import AlreadyLoaded
from medoffice.coding.models import (
    AddOnEdit,
    CodeSetKind,
    CodeSetRelease,
    Modifier,
    ModifierKind,
    MpfsGpci,
    MpfsRvu,
    MueEdit,
    PlaceOfService,
    ProcedureCode,
    PtpEdit,
)
from medoffice.coding.tests.corpus import (
    ADD_ON,
    CPT_CSV,
    CPT_MAP,
    GPCI,
    HCPCS,
    MUE,
    POS,
    PTP,
    RVU,
    corpus_bytes,
    needs_corpus,
)
from medoffice.core.capture import ActorRequired
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _nothing_written() -> None:
    assert not CodeSetRelease.objects.exists()
    for model in (ProcedureCode, PtpEdit, MueEdit, AddOnEdit, MpfsRvu, MpfsGpci):
        assert not model.objects.exists(), model


@needs_corpus
def test_hcpcs_loads_every_code_with_its_dates_and_a_release(users):
    biller = users["biller"]
    result = imports.import_hcpcs(
        data=corpus_bytes(HCPCS), source_name="hcpcs_level2_2024.tsv", actor=biller
    )
    assert result.rows == 8033 and result.created == 8033 and result.updated == 0
    assert ProcedureCode.objects.count() == 8033
    release = CodeSetRelease.objects.get()
    assert (release.kind, release.label, release.effective_date) == (
        CodeSetKind.HCPCS, "2024", dt.date(2024, 1, 1)
    )  # fmt: skip
    assert release.row_count == 8033 and release.imported_by == biller
    assert release.source_name == "hcpcs_level2_2024.tsv" and len(release.sha256) == 64
    g0438 = ProcedureCode.objects.get(code="G0438")
    assert g0438.system == "HCPCS" and g0438.short_description == "Ppps, initial visit"
    assert g0438.long_description.startswith("Annual wellness visit; includes a personalized")
    assert g0438.effective_date == dt.date(2011, 1, 1) and g0438.termination_date is None
    sleeve = ProcedureCode.objects.get(code="A4397")
    assert sleeve.termination_date == dt.date(2021, 12, 31)
    # a doubled quote inside a quoted field is one quote
    assert ProcedureCode.objects.get(code="A4407").short_description.endswith('<=4sq"')
    event = AuditEvent.objects.filter(object_type="coding.codesetrelease").get()
    assert event.actor_id == biller.pk
    assert event.changes["file"]["sha256"] == release.sha256
    assert event.changes["counts"]["rows"] == 8033


@needs_corpus
def test_the_same_file_twice_is_refused_with_the_day_it_was_loaded(users):
    data = corpus_bytes(HCPCS)
    imports.import_hcpcs(data=data, source_name="hcpcs_level2_2024.tsv", actor=users["biller"])
    with pytest.raises(AlreadyLoaded) as refused:
        imports.import_hcpcs(data=data, source_name="renamed.tsv", actor=users["manager"],
                             label="again", effective=dt.date(2025, 1, 1))  # fmt: skip
    assert "This file was already loaded on" in refused.value.message
    assert "“2024”" in refused.value.message
    assert CodeSetRelease.objects.count() == 1
    assert ProcedureCode.objects.count() == 8033


def test_a_newer_hcpcs_release_updates_codes_and_keeps_those_it_leaves_out(users):
    header = "hcpcs\tshort_description\tlong_description\tdate_added\ttermination_date\n"
    first = (
        header + "G0001\tOld words\tOld long words\t2020-01-01\t\nG0002\tKept\tKept\t2020-01-01\t\n"
    )
    second = header + "G0001\tNew words\tNew long words\t2020-01-01\t2026-06-30\n"
    actor = users["biller"]
    imports.import_hcpcs(data=first.encode(), source_name="h_2025.tsv", actor=actor)
    result = imports.import_hcpcs(data=second.encode(), source_name="h_2026.tsv", actor=actor)
    assert (result.created, result.updated) == (0, 1)
    g1 = ProcedureCode.objects.get(code="G0001")
    assert g1.short_description == "New words" and g1.termination_date == dt.date(2026, 6, 30)
    assert g1.release.label == "2026"
    assert ProcedureCode.objects.get(code="G0002").short_description == "Kept"
    # an older release loaded late does not undo the newer one
    older = header + "G0001\tOlder words\tOlder\t2020-01-01\t\n"
    late = imports.import_hcpcs(data=older.encode(), source_name="h_2024.tsv", actor=actor)
    assert (late.created, late.updated) == (0, 0)
    assert ProcedureCode.objects.get(code="G0001").short_description == "New words"


@needs_corpus
def test_bad_hcpcs_rows_are_named_by_line_and_column_and_nothing_is_written(users):
    lines = corpus_bytes(HCPCS).decode().splitlines(keepends=True)[:50]
    lines[3] = "Z9999" + lines[3][5:]  # not a HCPCS Level II code
    fields = lines[7].split("\t")
    fields[8] = "2011-13-01"  # date_added
    lines[7] = "\t".join(fields)
    with pytest.raises(CodeSetFileError) as refused:
        imports.import_hcpcs(data="".join(lines).encode(), source_name="h_2024.tsv",
                             actor=users["biller"])  # fmt: skip
    message = refused.value.message
    assert "line 4, column “hcpcs”: “Z9999” is not a HCPCS Level II code" in message
    assert "line 8, column “date_added”: “2011-13-01” is not a date" in message
    assert "nothing was written" in message
    _nothing_written()
    assert not AuditEvent.objects.filter(object_type="coding.codesetrelease").exists()


def test_a_missing_column_and_a_duplicate_code_are_refused(users):
    with pytest.raises(CodeSetFileError, match="line 1: the column “long_description” is missing"):
        imports.import_hcpcs(data=b"hcpcs\tshort_description\nA0021\tx\n", source_name="h_2024.tsv",
                             actor=users["biller"])  # fmt: skip
    dup = b"hcpcs\tshort_description\tlong_description\nA0021\tx\ty\nA0021\tx\ty\n"
    with pytest.raises(
        CodeSetFileError, match="line 3, column “hcpcs”: A0021 is already on line 2"
    ):
        imports.import_hcpcs(data=dup, source_name="h_2024.tsv", actor=users["biller"])
    _nothing_written()


def test_importing_needs_the_permission_and_a_user(users):
    data = b"hcpcs\tshort_description\tlong_description\nA0021\tx\ty\n"
    with pytest.raises(NotPermitted, match="import code sets"):
        imports.import_hcpcs(data=data, source_name="h_2024.tsv", actor=users["front_desk"])
    with pytest.raises(ActorRequired):
        imports.import_hcpcs(data=data, source_name="h_2024.tsv", actor=None)
    _nothing_written()


def test_cpt_loads_from_a_mapped_csv_and_never_takes_a_hcpcs_code(users):
    result = imports.import_cpt(
        data=CPT_CSV, source_name="our_cpt_2024.csv", column_map=CPT_MAP, actor=users["biller"]
    )
    assert result.rows == 4
    code = ProcedureCode.objects.get(code="99213")
    assert code.system == "CPT" and code.short_description == "Office visit est low"
    assert code.effective_date == dt.date(2021, 1, 1) and code.termination_date is None
    assert ProcedureCode.objects.get(code="0001U").termination_date == dt.date(2023, 12, 31)
    assert CodeSetRelease.objects.get().kind == CodeSetKind.CPT
    with pytest.raises(CodeSetFileError, match="line 2, column “CPT_CODE”: “G0438” is not a CPT"):
        imports.import_cpt(data=b"CPT_CODE,SHORT\nG0438,x\n", source_name="c_2025.csv",
                           column_map="code=CPT_CODE,short=SHORT", actor=users["biller"])  # fmt: skip


def test_cpt_column_map_and_file_problems_are_named(users):
    actor = users["biller"]
    with pytest.raises(InvalidInput, match="Say which column holds the short"):
        imports.import_cpt(data=CPT_CSV, source_name="c_2024.csv", column_map="code=CPT_CODE",
                           actor=actor)  # fmt: skip
    with pytest.raises(InvalidInput, match="“colour” is not one of"):
        imports.import_cpt(data=CPT_CSV, source_name="c_2024.csv",
                           column_map="code=CPT_CODE,short=SHORT,colour=X", actor=actor)  # fmt: skip
    with pytest.raises(CodeSetFileError, match="the column “DESCR” is missing"):
        imports.import_cpt(data=CPT_CSV, source_name="c_2024.csv",
                           column_map="code=CPT_CODE,short=DESCR", actor=actor)  # fmt: skip
    with pytest.raises(InvalidInput, match="give its effective date"):
        imports.import_cpt(data=CPT_CSV, source_name="ours.csv", column_map=CPT_MAP, actor=actor)
    backwards = b"CPT_CODE,SHORT,START,END\n99213,x,2024-01-01,2023-01-01\n"
    with pytest.raises(CodeSetFileError, match="line 2, column “END”: 2023-01-01 comes before"):
        imports.import_cpt(data=backwards, source_name="c_2024.csv",
                           column_map="code=CPT_CODE,short=SHORT,effective=START,termination=END",
                           actor=actor)  # fmt: skip
    _nothing_written()


@needs_corpus
def test_ncci_tables_load_with_the_release_named_from_the_file(users):
    actor = users["biller"]
    ptp = imports.import_ncci(table="ptp", data=corpus_bytes(PTP),
                              source_name="ncci_ptp_practitioner_2024q3_sample.tsv", actor=actor)  # fmt: skip
    assert ptp.rows == 24859 and PtpEdit.objects.count() == 24859
    release = CodeSetRelease.objects.get(kind=CodeSetKind.NCCI_PTP)
    assert (release.label, release.effective_date) == ("2024 Q3", dt.date(2024, 7, 1))
    pairs = PtpEdit.objects.filter(column1="99214", column2="99213")
    assert sorted((str(p.deletion_date), p.modifier_indicator) for p in pairs) == [
        ("2019-12-31", "1"), ("None", "1")
    ]  # fmt: skip
    assert pairs[0].rationale == "Misuse of Column Two code with Column One code"

    mue = imports.import_ncci(table="mue", data=corpus_bytes(MUE),
                              source_name="ncci_mue_practitioner_2024q3.tsv", actor=actor)  # fmt: skip
    assert mue.rows == 14677
    m = MueEdit.objects.get(code="99213")
    assert (m.max_units, m.adjudication_indicator, m.rationale) == (2, "3", "Clinical: Data")

    add_on = imports.import_ncci(table="add-on", data=corpus_bytes(ADD_ON),
                                 source_name="ncci_add_on_code_edits_2024.tsv", actor=actor,
                                 label="2024 Q3", effective=dt.date(2024, 7, 1))  # fmt: skip
    assert add_on.rows == 7465 and AddOnEdit.objects.count() == 7465
    assert AddOnEdit.objects.filter(
        add_on_code="99417", primary_code="99215", edit_type="1"
    ).exists()
    assert AddOnEdit.objects.filter(
        add_on_code="0054T", primary_code="CCCCC", edit_type="2"
    ).exists()
    assert CodeSetRelease.objects.get(kind=CodeSetKind.NCCI_ADD_ON).label == "2024 Q3"


def test_bad_ncci_rows_are_named(users):
    ptp = b"column1_code\tcolumn2_code\tdeletion_date\tmodifier_indicator\n99213\t36415\t\t2\n"
    with pytest.raises(
        CodeSetFileError, match="line 2, column “modifier_indicator”: “2” is not one of 0, 1, 9"
    ):
        imports.import_ncci(
            table="ptp", data=ptp, source_name="p_2024q3.tsv", actor=users["biller"]
        )
    mue = b"hcpcs\tmue_units\n99213\tmany\n"
    with pytest.raises(
        CodeSetFileError, match="line 2, column “mue_units”: “many” is not a whole number"
    ):
        imports.import_ncci(
            table="mue", data=mue, source_name="m_2024q3.tsv", actor=users["biller"]
        )
    aoc = b"primary_code\tadd_on_code\taoc_edit_type\n99215\t99417\t4\n"
    with pytest.raises(CodeSetFileError, match="line 2, column “aoc_edit_type”"):
        imports.import_ncci(
            table="add-on", data=aoc, source_name="a_2024.tsv", actor=users["biller"]
        )
    with pytest.raises(InvalidInput, match="“cci” is not one of ptp, mue, add-on"):
        imports.import_ncci(table="cci", data=aoc, source_name="a_2024.tsv", actor=users["biller"])
    _nothing_written()


@needs_corpus
def test_mpfs_rvus_and_gpcis_load_with_the_na_flags(users):
    actor = users["biller"]
    rvu = imports.import_mpfs(table="rvu", data=corpus_bytes(RVU),
                              source_name="pfs_national_rvu_2024_jul.tsv", actor=actor)  # fmt: skip
    assert rvu.rows == 18664 and MpfsRvu.objects.count() == 18664
    release = CodeSetRelease.objects.get(kind=CodeSetKind.MPFS_RVU)
    assert (release.label, release.effective_date) == ("2024 July", dt.date(2024, 7, 1))
    office = MpfsRvu.objects.get(code="99213", modifier="")
    assert (office.work_rvu, office.non_facility_pe_rvu, office.facility_pe_rvu, office.mp_rvu) == (
        Decimal("1.3"), Decimal("1.33"), Decimal("0.56"), Decimal("0.1")
    )  # fmt: skip
    assert office.conversion_factor == Decimal("33.2875")
    assert (office.status_code, office.global_days) == ("A", "XXX")
    assert not office.non_facility_na and not office.facility_na
    xray_tc = MpfsRvu.objects.get(code="71046", modifier="TC")
    assert xray_tc.facility_na and not xray_tc.non_facility_na and xray_tc.pctc_indicator == "1"
    assert MpfsRvu.objects.filter(non_facility_na=True).count() == 4066

    gpci = imports.import_mpfs(table="gpci", data=corpus_bytes(GPCI),
                               source_name="pfs_gpci_2024_jul.tsv", actor=actor)  # fmt: skip
    assert gpci.rows == 109
    la = MpfsGpci.objects.get(mac="01182", locality="18")
    assert la.state == "CA" and la.name.startswith("LOS ANGELES-LONG BEACH")
    assert (la.work_gpci, la.pe_gpci, la.mp_gpci) == (
        Decimal("1.042"),
        Decimal("1.194"),
        Decimal("0.69"),
    )


def test_bad_mpfs_rows_are_named(users):
    header = "\t".join(imports.RVU_COLUMNS) + "\tnon_facility_na_indicator\n"
    bad = (
        header
        + "99213\t\t1.3\t1.33\t0.56\t0.1\t33.2875\tYES\n99214\t\t1.9\t1.9999\t1\t1\t33.2875\t\n"
    )
    with pytest.raises(CodeSetFileError) as refused:
        imports.import_mpfs(table="rvu", data=bad.encode(), source_name="r_2024_jul.tsv",
                            actor=users["biller"])  # fmt: skip
    assert (
        "line 2, column “non_facility_na_indicator”: “YES” is not one of (empty), NA"
        in refused.value.message
    )
    assert (
        "line 3, column “non_facility_pe_rvu”: “1.9999” has more than 3 decimal places"
        in refused.value.message
    )
    gpci = "mac\tstate\tlocality\tlocality_name\tgpci_work\tgpci_pe\tgpci_mp\n10112\tAL\t00\tALABAMA\t0\t0.869\t0.575\n"
    with pytest.raises(
        CodeSetFileError, match="line 2, column “gpci_work”: must be more than zero"
    ):
        imports.import_mpfs(table="gpci", data=gpci.encode(), source_name="g_2024_jul.tsv",
                            actor=users["biller"])  # fmt: skip
    _nothing_written()


@needs_corpus
def test_places_of_service_and_modifiers_load_and_load_again_in_place(users):
    actor = users["biller"]
    result = imports.import_places_of_service(data=corpus_bytes(POS), source_name="pos.tsv",
                                              actor=actor)  # fmt: skip
    assert result.rows == 99 and PlaceOfService.objects.count() == 99
    office = PlaceOfService.objects.get(code="11")
    assert office.name == "Office" and not office.is_facility and office.is_assigned
    assert PlaceOfService.objects.get(code="22").is_facility
    unassigned = PlaceOfService.objects.get(code="28")
    assert not unassigned.is_assigned and not unassigned.is_facility
    assert PlaceOfService.objects.filter(is_assigned=False).count() == 47
    again = imports.import_places_of_service(data=corpus_bytes(POS), source_name="pos.tsv",
                                             actor=actor)  # fmt: skip
    assert (again.created, again.updated) == (0, 0) and PlaceOfService.objects.count() == 99

    mods = imports.load_modifiers(actor=actor)
    assert mods.created == Modifier.objects.count() >= 80
    for code in ("25", "59", "XE", "XP", "XS", "XU", "LT", "RT", "E1", "FA", "F9", "TA", "T9",
                 "LC", "LD", "RC", "LM", "RI", "24", "57", "58", "78", "79", "27", "91"):  # fmt: skip
        assert Modifier.objects.get(code=code).ncci_bypass, code
    for code in ("26", "TC", "51", "76", "77", "50", "GA", "GY", "GZ", "KX", "95", "GT"):
        assert not Modifier.objects.get(code=code).ncci_bypass, code
    assert Modifier.objects.get(code="26").kind == ModifierKind.PRICING
    assert Modifier.objects.get(code="GA").kind == ModifierKind.INFORMATIONAL
    assert imports.load_modifiers(actor=actor).created == 0
    events = AuditEvent.objects.filter(object_type__in=["coding.placeofservice", "coding.modifier"])
    assert events.count() == 4 and {e.actor_id for e in events} == {actor.pk}


def test_release_label_and_date_from_the_file_name():
    name = code_files.release_from_name
    assert name("ncci_ptp_practitioner_2024q3_sample.tsv") == ("2024 Q3", dt.date(2024, 7, 1))
    assert name("pfs_gpci_2024_jul.tsv") == ("2024 July", dt.date(2024, 7, 1))
    assert name("hcpcs_level2_2024.tsv") == ("2024", dt.date(2024, 1, 1))
    assert name("MUE-2025-Q1.txt") == ("2025 Q1", dt.date(2025, 1, 1))
    assert name("ours.csv") is None


def test_the_corpus_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(imports.CORPUS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(imports.CorpusMissing, match="MEDOFFICE_CODES_CORPUS"):
        imports.codes_corpus()
    monkeypatch.setenv(imports.CORPUS_ENV, str(tmp_path))
    assert imports.codes_corpus() == tmp_path


def test_load_defaults_says_which_files_are_missing(users, monkeypatch, tmp_path):
    monkeypatch.setenv(imports.CORPUS_ENV, str(tmp_path))
    with pytest.raises(imports.CorpusMissing, match=r"hcpcs/hcpcs_level2_2024\.tsv"):
        imports.load_defaults(actor=users["biller"])
    _nothing_written()


# CMS's own layouts: notices before the header, its column names, dates as YYYYMMDD, "*" for no
# deletion date, and the MUE indicator written with its meaning.
CMS_PTP = (
    "CPT only copyright 2023 American Medical Association. All rights reserved.\r\n"
    "\r\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date "
    "*=no data\tModifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\r\n"
    "99214\t99213\t\t20200101\t*\t1\tMisuse of Column Two code with Column One code\r\n"
    "20610\t20611\t\t20150101\t20191231\t0\tMore extensive procedure\r\n"
).encode("cp1252")
CMS_MUE = (
    b'"CPT codes, descriptions and other data only are copyright 2023 AMA."\r\n'
    b'"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
    b'"MUE Rationale"\r\n'
    b'"99213","2","3 Date of Service Edit: Clinical","Clinical: Data"\r\n'
    b'"36415","1","2 Date of Service Edit: Policy","CMS Policy"\r\n'
)
CMS_ADD_ON = (
    b"Add-on Code\tPrimary Code\tAOC Edit Type\tAdd-on Code Effective Date\tAdd-on Code "
    b"Deletion Date\tPrimary Code Effective Date\tPrimary Code Deletion Date\tAOC Edit Effective "
    b"Date\tAOC Edit Deletion Date\tSpecial Instruction Notes\n"
    b"99417\t99215\t1\t20210101\t*\t19920101\t*\t20210101\t*\t\n"
    b"11045\t11042\t1\t20110101\t*\t20110101\t*\t20110101\t20231231\t\n"
)


def test_ncci_tables_load_from_cms_own_files(users):
    actor = users["biller"]
    imports.import_ncci(table="ptp", data=CMS_PTP, source_name="ccipra_2024q3.txt", actor=actor)
    assert sorted(
        PtpEdit.objects.values_list(
            "column1", "column2", "effective_date", "deletion_date", "modifier_indicator"
        )
    ) == [
        ("20610", "20611", dt.date(2015, 1, 1), dt.date(2019, 12, 31), "0"),
        ("99214", "99213", dt.date(2020, 1, 1), None, "1"),
    ]
    imports.import_ncci(table="mue", data=CMS_MUE, source_name="mue_prac_2024q3.csv", actor=actor)
    assert sorted(MueEdit.objects.values_list("code", "max_units", "adjudication_indicator")) == [
        ("36415", 1, "2"), ("99213", 2, "3"),
    ]  # fmt: skip
    imports.import_ncci(table="add-on", data=CMS_ADD_ON, source_name="aoc_2024q3.txt",
                        actor=actor)  # fmt: skip
    assert sorted(
        AddOnEdit.objects.values_list("add_on_code", "primary_code", "effective_date",
                                      "deletion_date")
    ) == [
        ("11045", "11042", dt.date(2011, 1, 1), dt.date(2023, 12, 31)),
        ("99417", "99215", dt.date(2021, 1, 1), None),
    ]  # fmt: skip


def test_a_cms_file_without_its_columns_names_what_is_missing(users):
    notice_only = b"CPT only copyright 2023 American Medical Association.\nColumn 1\tColumn 2\n"
    with pytest.raises(CodeSetFileError) as caught:
        imports.import_ncci(table="ptp", data=notice_only, source_name="p_2024q3.txt",
                            actor=users["biller"])  # fmt: skip
    assert "line 1: the column “deletion_date” is missing" in str(caught.value)
    _nothing_written()
