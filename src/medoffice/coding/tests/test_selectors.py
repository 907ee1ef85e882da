"""The reads the claims scrubber calls: one query per claim for the edit tables, the release
in force on the day asked, ICD-10-CM lookups and search (timed)."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medoffice.coding import imports, selectors
from medoffice.coding.models import CodeSetKind, CodeSetRelease
from medoffice.coding.selectors import Icd10Code
from medoffice.coding.tests.corpus import CPT_CSV, CPT_MAP, needs_corpus

pytestmark = pytest.mark.django_db

PTP_HEADER = "column1_code\tcolumn2_code\tdeletion_date\tmodifier_indicator\tptp_edit_rationale\n"


def _ptp(users, body: str, name: str, **kwargs):
    return imports.import_ncci(table="ptp", data=(PTP_HEADER + body).encode(), source_name=name,
                               actor=users["biller"], **kwargs)  # fmt: skip


def test_ptp_pairs_among_the_codes_in_force_on_the_day(users):
    _ptp(users, "99214\t99213\t2019-12-31\t1\told\n99214\t99213\t\t1\tnow\n"
                "99213\t36415\t2020-06-30\t0\tgone\n20610\t99213\t\t9\tn/a\n", "p_2024q3.tsv")  # fmt: skip
    day = dt.date(2024, 8, 1)
    with CaptureQueriesContext(connection) as queries:
        edits = selectors.ptp_edits(["99213", "99214", "36415", "85025"], day)
    assert len(queries) == 1
    assert [(e.column1, e.column2, e.rationale) for e in edits] == [("99214", "99213", "now")]
    # before its deletion the 36415 edit applied; the pair deleted and added again is one
    early = selectors.ptp_edits(["99213", "99214", "36415"], dt.date(2019, 5, 1))
    assert [(e.column1, e.column2, e.rationale) for e in early] == [
        ("99213", "36415", "gone"), ("99214", "99213", "now")
    ]  # fmt: skip
    assert selectors.ptp_edits(["99213"], day) == []
    assert selectors.ptp_edits(["99213", "20610"], day)[0].modifier_indicator == "9"


def test_a_newer_release_takes_over_from_its_effective_date(users):
    _ptp(users, "99214\t99213\t\t1\tfirst\n", "p_2024q3.tsv")
    _ptp(users, "99214\t99213\t\t0\tsecond\n", "p_2024q4.tsv")
    assert selectors.ptp_edits(["99213", "99214"], dt.date(2024, 9, 30))[0].rationale == "first"
    assert selectors.ptp_edits(["99213", "99214"], dt.date(2024, 10, 1))[0].rationale == "second"
    # before the first release, the first release speaks
    assert selectors.ptp_edits(["99213", "99214"], dt.date(2023, 1, 1))[0].rationale == "first"
    assert selectors.release_in_force(CodeSetKind.NCCI_PTP, dt.date(2025, 1, 1)).label == "2024 Q4"
    assert selectors.release_in_force(CodeSetKind.NCCI_MUE, dt.date(2025, 1, 1)) is None
    assert CodeSetRelease.objects.filter(kind=CodeSetKind.NCCI_PTP).count() == 2


def test_mue_limits_and_add_on_primaries(users):
    actor = users["biller"]
    imports.import_ncci(table="mue", data=b"hcpcs\tmue_units\n99213\t2\n36415\t3\nJ1100\t120\n",
                        source_name="m_2024q3.tsv", actor=actor)  # fmt: skip
    aoc = (
        "primary_code\tadd_on_code\taoc_edit_type\n99205\t99417\t1\n99215\t99417\t1\n"
        "CCCCC\t0054T\t2\n11042\t11045\t3\n"
    )
    imports.import_ncci(table="add-on", data=aoc.encode(), source_name="a_2024.tsv", actor=actor)
    day = dt.date(2024, 8, 1)
    with CaptureQueriesContext(connection) as queries:
        limits = selectors.mue_limits(["99213", "36415", "99999", "j1100"], day)
        primaries = selectors.add_on_primaries(["99215", "99417", "0054T", "11045", "99213"], day)
    assert len(queries) == 2
    assert limits == {"99213": 2, "36415": 3, "J1100": 120}
    assert primaries == {"99417": {"99205", "99215"}, "0054T": None, "11045": {"11042"}}
    rules = selectors.add_on_rules(["11045"], day)
    assert rules["11045"].edit_types == {"3"}
    assert selectors.mue_limits([], day) == {} and selectors.add_on_primaries([], day) == {}


def test_procedure_codes_active_on_the_day_and_search(users):
    imports.import_cpt(data=CPT_CSV, source_name="cpt_2024.csv", column_map=CPT_MAP,
                       actor=users["biller"])  # fmt: skip
    header = "hcpcs\tshort_description\tlong_description\tdate_added\ttermination_date\n"
    hcpcs = header + "G0438\tPpps, initial visit\tAnnual wellness visit; initial\t2011-01-01\t\n"
    imports.import_hcpcs(data=hcpcs.encode(), source_name="h_2024.tsv", actor=users["biller"])
    assert selectors.procedure_on("99213", dt.date(2024, 5, 1)).short_description.startswith(
        "Office"
    )
    assert selectors.procedure_on(" g0438 ", dt.date(2024, 5, 1)).system == "HCPCS"
    assert selectors.procedure_on("G0438", dt.date(2010, 12, 31)) is None  # not yet
    assert selectors.procedure_on("0001U", dt.date(2023, 12, 31)) is not None
    assert selectors.procedure_on("0001U", dt.date(2024, 1, 1)) is None  # terminated
    assert selectors.procedure_on("99999", dt.date(2024, 1, 1)) is None
    with CaptureQueriesContext(connection) as queries:
        active = selectors.procedures_on(["99213", "0001U", "G0438"], dt.date(2024, 5, 1))
    assert len(queries) == 1 and sorted(active) == ["99213", "G0438"]
    assert [p.code for p in selectors.procedure_search("992")] == ["99213", "99214"]
    assert [p.code for p in selectors.procedure_search("office visit moderate")] == ["99214"]
    assert [p.code for p in selectors.procedure_search("WELLNESS")] == ["G0438"]
    assert selectors.procedure_search("   ") == []


@needs_corpus
def test_modifiers_places_mpfs_and_the_shipped_defaults(users):
    results = imports.load_defaults(actor=users["biller"])
    assert [r.kind for r in results] == [
        "hcpcs", "pos", "modifiers", "ncci_ptp", "ncci_mue", "ncci_add_on", "mpfs_rvu", "mpfs_gpci"
    ]  # fmt: skip
    assert not any(r.skipped for r in results)
    assert CodeSetRelease.objects.count() == 6
    again = imports.load_defaults(actor=users["biller"])
    assert [r.skipped for r in again if r.kind not in ("pos", "modifiers")] == [True] * 6
    assert CodeSetRelease.objects.count() == 6

    assert selectors.modifier("xu").ncci_bypass and not selectors.modifier("26").ncci_bypass
    assert selectors.modifier("ZZ") is None
    assert sorted(selectors.modifiers(["25", "59", "ZZ"])) == ["25", "59"]
    assert selectors.place_of_service("11").name == "Office"
    assert selectors.place_of_service("2").is_facility  # telehealth (02) is a facility setting
    assert selectors.place_of_service("00") is None

    day = dt.date(2024, 8, 15)
    office = ["99213", "36415", "96372", "99214", "G0463"]
    pairs = {(e.column1, e.column2): e.modifier_indicator for e in selectors.ptp_edits(office, day)}
    assert pairs[("99214", "99213")] == "1"
    assert all(day <= (e.deletion_date or day) for e in selectors.ptp_edits(office, day))
    assert selectors.mue_limits(["99213", "36415"], day) == {"99213": 2, "36415": 2}
    assert selectors.add_on_primaries(["99417"], day)["99417"] >= {"99205", "99215"}
    assert selectors.add_on_primaries(["0054T"], day) == {"0054T": None}
    rvus = selectors.mpfs_rvus(["99213", "71046"], day)
    assert rvus[("99213", "")].work_rvu == Decimal("1.3") and ("71046", "26") in rvus
    gpci = selectors.mpfs_gpci("10112", "0", day)
    assert gpci is not None and gpci.name == "ALABAMA" and gpci.pe_gpci == Decimal("0.869")
    assert len(selectors.mpfs_localities(day)) == 109
    assert selectors.procedure_on("G0438", day).short_description == "Ppps, initial visit"


def test_icd10_lookup_with_or_without_the_dot_in_any_case():
    assert selectors.icd10_lookup("e119") == Icd10Code(
        "E11.9", "Type 2 diabetes mellitus without complications", True
    )
    assert selectors.icd10_lookup(" E11.9 ") == selectors.icd10_lookup("E119")
    e11 = selectors.icd10_lookup("E11")
    assert e11 is not None and not e11.billable  # a category: not on a claim
    assert selectors.icd10_lookup("S00.01XA").billable
    assert selectors.icd10_lookup("Z99.999") is None
    assert selectors.icd10_lookup("not a code") is None
    assert selectors.icd10_lookup("") is None


def test_icd10_search_by_code_prefix_or_words_billable_first():
    by_code = selectors.icd10_search("e11.6", limit=5)
    assert by_code[0].code == "E11.6" and not by_code[0].billable  # the exact code comes first
    assert all(c.code.startswith("E11.6") for c in by_code)
    assert [c.billable for c in by_code[1:]] == sorted(
        (c.billable for c in by_code[1:]), reverse=True
    )
    words = selectors.icd10_search("Type 2 Diabetes Without", limit=50)
    assert "E11.9" in [c.code for c in words]
    for code in words:
        text = code.description.lower()
        assert "type" in text and "diabetes" in text and "without" in text
    billable = [c.billable for c in selectors.icd10_search("diabetes", limit=200)]
    assert billable == sorted(billable, reverse=True) and True in billable
    assert selectors.icd10_search("chest pai")[0].code.startswith("R07")  # as one types
    assert selectors.icd10_search("xyzzy plugh") == []
    assert len(selectors.icd10_search("a", limit=7)) == 7


def test_icd10_search_by_a_plain_word_puts_the_common_billable_code_first():
    def codes(text: str, limit: int = 5) -> list[str]:
        return [c.code for c in selectors.icd10_search(text, limit=limit)]

    assert "E11.9" in codes("diabetes")  # type 2 without complications, not diabetes insipidus
    assert "E11.9" in codes("diab")  # as one types the word
    assert codes("hypertension")[0] == "I10"  # the three-character code before its refinements
    assert codes("asthma")[0].startswith("J45")  # not Z82.5, "Family history of asthma"
    assert codes("family history asthma")[0] == "Z82.5"  # which a query naming it finds
    assert codes("pneumonia")[0] == "J18.9" and codes("fever")[0] == "R50.9"  # "X, unspecified"
    assert codes("otitis media")[0].startswith("H66.9")  # not "Scarlet fever with otitis media"
    # The abbreviations coders type.
    assert codes("copd")[0] == "J44.9" and codes("uti")[0] == "N39.0" and codes("htn")[0] == "I10"
    assert codes("gerd")[0] == "K21.9" and codes("afib")[0].startswith("I48")
    assert codes("t2dm")[0] == "E11.9" and codes("chf")[0] == "I50.9"
    assert codes("hyperlipidemia")[0] == "E78.5" and codes("back pain")[0] == "M54.50"
    # Each word whole before a word it only starts: "pain" before "painful".
    found = selectors.icd10_search("pain", limit=20)
    assert found[0].code == "R52" and all(c.billable for c in found)
    assert all("pain" in re.findall(r"[a-z0-9]+", c.description.lower()) for c in found)
    # Billable first still, and code prefixes as before.
    billable = [c.billable for c in selectors.icd10_search("fracture", limit=200)]
    assert billable == sorted(billable, reverse=True)
    assert codes("i10") == ["I10"] and codes("E11.9") == ["E11.9"]
    assert codes("e11")[0] == "E11" and all(code.startswith("E11") for code in codes("e11", 20))
    assert codes("J45.9")[0] == "J45.9"


def test_icd10_search_is_fast_enough_to_type_into():
    queries = ["e", "e1", "e11", "e11.9", "d", "di", "dia", "diab", "diabetes mel", "fracture of fe",
               "acute", "chronic kidney disease stage 3", "s72.00", "z00", "hypertension", "pain"]  # fmt: skip
    for text in queries:  # warm-up: the index is built, each text's word sets are cached
        selectors.icd10_search(text)
    times = []
    for text in queries:
        start = time.perf_counter()
        selectors.icd10_search(text)
        times.append(time.perf_counter() - start)
    assert max(times) < 0.05, times  # 50 ms a keystroke


def test_no_mpfs_table_prices_before_its_first_release(users):
    gpci = b"mac\tstate\tlocality\tlocality_name\tgpci_work\tgpci_pe\tgpci_mp\n10112\tAL\t00\tALABAMA\t1\t0.869\t0.575\n"
    imports.import_mpfs(
        table="gpci", data=gpci, source_name="g_2024_jul.tsv", actor=users["biller"]
    )
    assert selectors.mpfs_gpci("10112", "00", dt.date(2024, 7, 1)).name == "ALABAMA"
    assert selectors.mpfs_gpci("10112", "00", dt.date(2024, 6, 30)) is None
    assert selectors.mpfs_localities(dt.date(2024, 6, 30)) == []


def test_the_reader_for_many_days_answers_as_the_single_day_reads(users):
    actor = users["biller"]
    _ptp(users, "99214\t99213\t2024-09-30\t1\tfirst\n99214\t99213\t\t0\tagain\n"
                "97110\t97140\t2024-08-15\t1\tgone\n", "p_2024q3.tsv")  # fmt: skip
    _ptp(users, "99214\t99213\t\t9\tsecond\n", "p_2024q4.tsv")
    imports.import_ncci(table="mue", data=b"hcpcs\tmue_units\n99213\t2\n97110\t4\n",
                        source_name="m_2024q3.tsv", actor=actor)  # fmt: skip
    aoc = "primary_code\tadd_on_code\taoc_edit_type\n99205\t99417\t1\nCCCCC\t0054T\t2\n"
    imports.import_ncci(table="add-on", data=aoc.encode(), source_name="a_2024.tsv", actor=actor)
    codes = ["99213", "99214", "97110", "97140", "99417", "0054T", "99205"]
    days = [dt.date(2023, 1, 1), dt.date(2024, 8, 15), dt.date(2024, 8, 16),
            dt.date(2024, 9, 30), dt.date(2024, 10, 1), dt.date(2026, 1, 1)]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        tables = selectors.edit_tables(codes, days)
    assert len(queries) == 6  # procedures, MPFS PC/TC, releases, PTP, MUE, add-on
    seen = set()
    for day in days:
        pairs = {(e.column1, e.column2): e.modifier_indicator
                 for e in selectors.ptp_edits(codes, day)}  # fmt: skip
        assert pairs == {
            (c1, c2): tables.ptp(c1, c2, day)
            for c1 in codes for c2 in codes if tables.ptp(c1, c2, day) is not None
        }  # fmt: skip
        seen.add(tuple(sorted(pairs.items())))
        limits = selectors.mue_limits(codes, day)
        assert limits == {c: m[0] for c in codes if (m := tables.mue(c, day))}
        rules = selectors.add_on_rules(codes, day)
        assert rules == {c: r for c in codes if (r := tables.add_on(c, day))}
        for kind in selectors.NCCI_KINDS:
            release = selectors.release_in_force(kind, day)
            assert tables.release(kind, day) == (release.pk if release else None)
    assert len(seen) >= 3  # the days above read different rows
    assert tables.ptp("99214", "99213", dt.date(2024, 9, 30)) == "0"  # the row that lasts...
    assert tables.ptp("99214", "99213", dt.date(2024, 10, 1)) == "9"  # ...then the new release
    assert tables.add_on("99417", dt.date(2024, 8, 1)).required == {"99205"}
    assert tables.add_on("0054T", dt.date(2024, 8, 1)).primaries is None
