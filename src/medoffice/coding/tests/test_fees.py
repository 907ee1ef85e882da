"""The fee schedule and payer contracts: spans that never overlap, imports that are all or
nothing (naming line and column), idempotent imports, who may set what, the pages and the API,
and two people setting the same fee at the same moment (PostgreSQL)."""

from __future__ import annotations

import json
import threading
from datetime import date
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections

from medoffice.coding import fees
from medoffice.coding.models import ContractRate, Fee, FeeImport, PayerContract, PriorAuthRule
from medoffice.coding.tests.mpfs_corpus import load_gpcis, load_rvus, places_of_service
from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.core.idempotency import HEADER
from medoffice.core.models import AuditEvent
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

MANHATTAN = ("13202", "01")
ALABAMA = ("10112", "00")


@pytest.fixture
def manager(users):
    return users["manager"]


def spans(code: str, modifier: str = "") -> list[tuple[date, date | None, int]]:
    return list(
        Fee.objects.filter(code=code, modifier=modifier)
        .order_by("effective_from")
        .values_list("effective_from", "effective_to", "charge_cents")
    )


# --- Fees ---------------------------------------------------------------------------------------


def test_a_new_fee_ends_the_one_before_and_stops_where_the_next_starts(manager):
    fees.fee_set(actor=manager, code="99213", charge="$120.00", effective_from="2024-01-01")
    assert spans("99213") == [(date(2024, 1, 1), None, 12000)]
    fees.fee_set(actor=manager, code="99213", charge="130", effective_from="07/01/2024")
    assert spans("99213") == [
        (date(2024, 1, 1), date(2024, 6, 30), 12000),
        (date(2024, 7, 1), None, 13000),
    ]
    # between the two: the first now ends the day before, the new one where the second starts
    fees.fee_set(actor=manager, code="99213", charge="1,125.50", effective_from=date(2024, 3, 1))
    assert spans("99213") == [
        (date(2024, 1, 1), date(2024, 2, 29), 12000),
        (date(2024, 3, 1), date(2024, 6, 30), 112550),
        (date(2024, 7, 1), None, 13000),
    ]
    # the same start again corrects that fee; a modifier's fee is a span of its own
    fees.fee_set(actor=manager, code="99213", charge="125", effective_from=date(2024, 3, 1))
    fees.fee_set(
        actor=manager, code="99213", modifier="25", charge="0", effective_from="2024-01-01"
    )
    assert spans("99213")[1] == (date(2024, 3, 1), date(2024, 6, 30), 12500)
    assert spans("99213", "25") == [(date(2024, 1, 1), None, 0)]
    # each change is in the audit trail, naming who made it
    events = AuditEvent.objects.filter(object_type="coding.fee")
    assert events.count() >= 7
    assert set(events.values_list("actor_id", flat=True)) == {manager.pk}


def test_an_ended_fee_and_spans_that_cannot_overlap(manager):
    fee = fees.fee_set(actor=manager, code="93000", charge="60", effective_from="2024-01-01")
    fees.fee_end(actor=manager, fee=fee, last_day="2024-03-31")
    assert spans("93000") == [(date(2024, 1, 1), date(2024, 3, 31), 6000)]
    with pytest.raises(InvalidInput) as early:
        fees.fee_end(actor=manager, fee=fee, last_day="2023-12-31")
    assert early.value.field == "effective_to"
    # set before an existing fee: it runs until that one starts
    fees.fee_set(actor=manager, code="93000", charge="55", effective_from="2023-07-01")
    assert spans("93000") == [
        (date(2023, 7, 1), date(2023, 12, 31), 5500),
        (date(2024, 1, 1), date(2024, 3, 31), 6000),
    ]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "9921", "charge": "10", "effective_from": "2024-01-01"}, "code"),
        (
            {"code": "99213", "modifier": "2", "charge": "10", "effective_from": "2024-01-01"},
            "modifier",
        ),
        ({"code": "99213", "charge": "1.234", "effective_from": "2024-01-01"}, "charge"),
        ({"code": "99213", "charge": "-5", "effective_from": "2024-01-01"}, "charge"),
        ({"code": "99213", "charge": "1e3", "effective_from": "2024-01-01"}, "charge"),
        ({"code": "99213", "charge": 12.5, "effective_from": "2024-01-01"}, "charge"),
        ({"code": "99213", "charge": "10", "effective_from": "2024-13-01"}, "effective_from"),
        ({"code": "99213", "charge": "10", "effective_from": ""}, "effective_from"),
    ],
)
def test_bad_fee_input_is_refused_naming_the_field(manager, values, field):
    with pytest.raises(InvalidInput) as refused:
        fees.fee_set(actor=manager, **values)
    assert refused.value.field == field
    assert not Fee.objects.exists()


def test_a_fee_is_for_a_code_that_can_be_one(manager):
    """ZZZZZ is neither CPT nor HCPCS; once CPT codes are loaded a fee names one of them, and a
    HCPCS code stands while no HCPCS set is loaded."""
    from medoffice.testing import claims_factories as cf

    with pytest.raises(InvalidInput, match=r"must be a CPT code .* not “ZZZZZ”"):
        fees.fee_set(actor=manager, code="ZZZZZ", charge="150", effective_from="2026-12-05")
    fees.fee_set(actor=manager, code="99999", charge="150", effective_from="2026-12-05")
    cf.procedure_codes(["99213"])
    with pytest.raises(InvalidInput, match="99998 is not in the CPT codes loaded") as refused:
        fees.fee_set(actor=manager, code="99998", charge="150", effective_from="2026-12-05")
    assert refused.value.field == "code"
    fees.fee_set(actor=manager, code="99213", charge="150", effective_from="2026-12-05")
    fees.fee_set(actor=manager, code="J1100", charge="12", effective_from="2026-12-05")
    assert sorted(Fee.objects.values_list("code", flat=True)) == ["99213", "99999", "J1100"]


def test_only_a_role_with_manage_fees_sets_fees(users):
    for role in ("biller", "front_desk", "clinician", "auditor"):
        with pytest.raises(NotPermitted):
            fees.fee_set(actor=users[role], code="99213", charge="10", effective_from="2024-01-01")
    assert not Fee.objects.exists()
    fees.fee_set(actor=users["owner"], code="99213", charge="10", effective_from="2024-01-01")
    assert Fee.objects.count() == 1


# --- The fee schedule file ----------------------------------------------------------------------

GOOD_CSV = (
    "code,modifier,charge,effective_from\n"
    "99213,,150.00,2024-01-01\n"
    "99214,,$210.00,2024-01-01\n"
    "71046,26,40,01/01/2024\n"
)


def test_a_fee_schedule_file_is_imported_once_per_key(manager):
    result = fees.fee_schedule_import(actor=manager, data=GOOD_CSV, source_name="fees.csv",
                                      idempotency_key="k1")  # fmt: skip
    assert not result.replayed and result.record.row_count == 3
    assert spans("99214") == [(date(2024, 1, 1), None, 21000)]
    assert spans("71046", "26") == [(date(2024, 1, 1), None, 4000)]
    # one event for the whole file
    assert AuditEvent.objects.filter(object_type="coding.fee_schedule_import").count() == 1
    again = fees.fee_schedule_import(actor=manager, data=GOOD_CSV, idempotency_key="k1")
    assert again.replayed and again.record.pk == result.record.pk
    assert Fee.objects.count() == 3
    assert AuditEvent.objects.filter(object_type="coding.fee_schedule_import").count() == 1
    with pytest.raises(Conflict):
        fees.fee_schedule_import(actor=manager, data=GOOD_CSV + "99215,,250,2024-01-01\n",
                                 idempotency_key="k1")  # fmt: skip
    assert Fee.objects.count() == 3 and FeeImport.objects.count() == 1


def test_a_file_stitches_its_fees_into_the_stored_spans_as_setting_them_one_by_one(manager):
    ended = fees.fee_set(actor=manager, code="99213", charge="100", effective_from="2024-01-01")
    fees.fee_end(actor=manager, fee=ended, last_day="2024-03-31")
    fees.fee_set(actor=manager, code="99214", charge="200", effective_from="2024-01-01")
    fees.fee_set(actor=manager, code="99214", charge="210", effective_from="2024-07-01")
    fees.fee_schedule_import(actor=manager, data=(
        "code,modifier,charge,effective_from\n"
        "99214,,215,2024-07-01\n"  # corrects the stored fee from that day
        "99213,,120,2024-06-01\n"  # after a fee that was ended: the gap stays
        "99214,,220,2024-10-01\n"
        "99215,,310,2024-05-01\n"
        "99214,,205,2024-03-01\n"  # between two stored fees
        "99215,,300,2024-01-01\n"
    ))  # fmt: skip
    assert spans("99213") == [
        (date(2024, 1, 1), date(2024, 3, 31), 10000),
        (date(2024, 6, 1), None, 12000),
    ]
    assert spans("99214") == [
        (date(2024, 1, 1), date(2024, 2, 29), 20000),
        (date(2024, 3, 1), date(2024, 6, 30), 20500),
        (date(2024, 7, 1), date(2024, 9, 30), 21500),
        (date(2024, 10, 1), None, 22000),
    ]
    assert spans("99215") == [
        (date(2024, 1, 1), date(2024, 4, 30), 30000),
        (date(2024, 5, 1), None, 31000),
    ]


def test_a_bad_fee_schedule_file_names_line_and_column_and_writes_nothing(manager):
    fees.fee_set(actor=manager, code="99213", charge="100", effective_from="2023-01-01")
    before = spans("99213")
    bad = (
        "code,modifier,charge,effective_from\n"
        "99213,,150.00,2024-01-01\n"  # good: must not be written either
        "9921X1,,150.00,2024-01-01\n"  # line 3: code
        "99214,,12.345,2024-01-01\n"  # line 4: charge
        "99215,,200,2024-02-30\n"  # line 5: date
        "99213,,155,2024-01-01\n"  # line 6: the same span as line 2
    )
    with pytest.raises(InvalidInput) as refused:
        fees.fee_schedule_import(actor=manager, data=bad, idempotency_key="k2")
    problems = refused.value.errors["file"]
    assert any(p.startswith("Line 3, column code:") for p in problems)
    assert any(
        p.startswith("Line 4, column charge:") and "fractions of a cent" in p for p in problems
    )
    assert any(p.startswith("Line 5, column effective_from:") for p in problems)
    assert any(p.startswith("Line 6, column effective_from:") and "line 2" in p for p in problems)
    assert len(problems) == 4
    assert spans("99213") == before
    assert Fee.objects.count() == 1 and not FeeImport.objects.exists()
    # the key was not spent: the corrected file goes through with it
    fees.fee_schedule_import(actor=manager, data=GOOD_CSV, idempotency_key="k2")
    assert Fee.objects.count() == 4


def test_a_fee_file_without_its_columns_is_refused(manager):
    with pytest.raises(InvalidInput, match="Line 1"):
        fees.fee_schedule_import(actor=manager, data="code,price\n99213,10\n")
    with pytest.raises(InvalidInput, match="no rows"):
        fees.fee_schedule_import(actor=manager, data="code,modifier,charge,effective_from\n")
    with pytest.raises(NotPermitted):
        fees.fee_schedule_import(actor=factories.user("biller"), data=GOOD_CSV)
    assert not Fee.objects.exists()


# --- Contracts ----------------------------------------------------------------------------------


@pytest.fixture
def localities(db):
    load_gpcis({MANHATTAN, ALABAMA})


def test_contracts_of_one_payer_cannot_overlap(manager, localities):
    payer = pf.payer(name="City Health")
    first = fees.contract_create(actor=manager, payer=payer, name="2024", basis="rates",
                                 effective_from="2024-01-01", effective_to="2024-12-31")  # fmt: skip
    for start, end in (("2024-06-01", None), ("2023-01-01", "2024-01-01"), ("2023-01-01", None)):
        with pytest.raises(InvalidInput, match="cannot overlap") as refused:
            fees.contract_create(actor=manager, payer=payer, name="x", basis="rates",
                                 effective_from=start, effective_to=end)  # fmt: skip
        assert refused.value.field == "effective_from"
    assert PayerContract.objects.count() == 1
    # after it, or another payer on the same days: fine
    fees.contract_create(actor=manager, payer=payer, name="2025", basis="medicare_percent",
                         medicare_percent="105", mac=MANHATTAN[0], locality=MANHATTAN[1],
                         effective_from="2025-01-01")  # fmt: skip
    fees.contract_create(actor=manager, payer=pf.payer(), name="2024", basis="rates",
                         effective_from="2024-01-01")  # fmt: skip
    # stretching the first into the second is refused; shortening it is fine
    with pytest.raises(InvalidInput, match="cannot overlap"):
        fees.contract_update(actor=manager, contract=first, name="2024", basis="rates",
                             effective_from="2024-01-01", effective_to="2025-03-31")  # fmt: skip
    fees.contract_end(actor=manager, contract=first, last_day="2024-09-30")
    first.refresh_from_db()
    assert first.effective_to == date(2024, 9, 30)
    # ending it later than the next one starts is an overlap too
    with pytest.raises(InvalidInput, match="cannot overlap"):
        fees.contract_end(actor=manager, contract=first, last_day="2025-01-01")
    first.refresh_from_db()
    assert first.effective_to == date(2024, 9, 30)


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"medicare_percent": "", "mac": "13202", "locality": "01"}, "medicare_percent"),
        ({"medicare_percent": "0", "mac": "13202", "locality": "01"}, "medicare_percent"),
        ({"medicare_percent": "abc", "mac": "13202", "locality": "01"}, "medicare_percent"),
        ({"medicare_percent": "110.125", "mac": "13202", "locality": "01"}, "medicare_percent"),
        ({"medicare_percent": "110", "mac": "99999", "locality": "01"}, "mac"),
        ({"medicare_percent": "110", "mac": "13202", "locality": "77"}, "locality"),
        ({"medicare_percent": "110", "mac": "13202", "locality": ""}, "locality"),
    ],
)
def test_a_medicare_percent_contract_needs_a_real_locality(manager, localities, terms, field):
    with pytest.raises(InvalidInput) as refused:
        fees.contract_create(actor=manager, payer=pf.payer(), name="x", basis="medicare_percent",
                             effective_from="2024-01-01", **terms)  # fmt: skip
    assert refused.value.field == field
    assert not PayerContract.objects.exists()


def test_contract_rates_from_a_file_all_or_nothing_and_once(manager):
    contract = fees.contract_create(actor=manager, payer=pf.payer(), name="r", basis="rates",
                                    effective_from="2024-01-01")  # fmt: skip
    fees.contract_rate_set(actor=manager, contract=contract, code="99213", rate="90")
    bad = "code,modifier,rate\n99213,,95\n99214,XYZ,120\n99215,,\n"
    with pytest.raises(InvalidInput) as refused:
        fees.contract_rates_import(actor=manager, contract=contract, data=bad)
    assert refused.value.errors["file"] == [
        "Line 3, column modifier: The modifier must be two letters or digits (such as 26 or TC), "
        "not “XYZ”.",
        "Line 4, column rate: The rate is required.",
    ]
    assert list(ContractRate.objects.values_list("code", "rate_cents")) == [("99213", 9000)]
    good = "code,modifier,rate\n99213,,95\n99214,,120\n71046,26,9.10\n"
    result = fees.contract_rates_import(actor=manager, contract=contract, data=good,
                                        idempotency_key="r1")  # fmt: skip
    again = fees.contract_rates_import(actor=manager, contract=contract, data=good,
                                       idempotency_key="r1")  # fmt: skip
    assert again.replayed and again.record.pk == result.record.pk
    assert dict(ContractRate.objects.values_list("code", "rate_cents")) == {
        "99213": 9500, "99214": 12000, "71046": 910,
    }  # fmt: skip


def test_prior_auth_rules_need_manage_fees(users):
    payer = pf.payer()
    with pytest.raises(NotPermitted):
        fees.prior_auth_rules_set(actor=users["biller"], payer=payer, codes=["70553"])
    with pytest.raises(InvalidInput):
        fees.prior_auth_rules_set(actor=users["manager"], payer=payer, codes=["7055"])
    assert not PriorAuthRule.objects.exists()


# --- Pages --------------------------------------------------------------------------------------


PAGES = ("/coding/fees/", "/coding/fees/expected/", "/coding/contracts/")


def test_who_sees_and_who_changes_the_pages(client_for, manager, localities):
    contract = fees.contract_create(actor=manager, payer=pf.payer(name="City Health"), name="c",
                                    basis="rates", effective_from="2024-01-01")  # fmt: skip
    detail = f"/coding/contracts/{contract.pk}/"
    for role in ("front_desk", "medical_assistant", "hr_payroll"):
        client = client_for(role)
        for url in (*PAGES, detail):
            assert client.get(url).status_code == 403, (role, url)
    biller = client_for("biller")
    for url in (*PAGES, detail):
        assert biller.get(url).status_code == 200, url
    page = biller.get("/coding/fees/").content.decode()
    assert "Set a fee" not in page
    refused = biller.post("/coding/fees/set", {"code": "99213", "charge": "10",
                                                "effective_from": "2024-01-01"})  # fmt: skip
    assert refused.status_code == 403
    assert biller.get("/coding/contracts/new").status_code == 403
    assert not Fee.objects.exists()
    assert "Set a fee" in client_for("manager").get("/coding/fees/").content.decode()


def test_setting_and_importing_fees_on_the_page(client_for):
    client = client_for("manager")
    response = client.post("/coding/fees/set", {"code": "99213", "charge": "150.00",
                                                 "effective_from": "2024-01-01"})  # fmt: skip
    assert response.status_code == 302
    bad = client.post("/coding/fees/set", {"code": "99213", "charge": "1.234",
                                            "effective_from": "2024-01-01"})  # fmt: skip
    assert bad.status_code == 422 and "fractions of a cent" in bad.content.decode()
    upload = SimpleUploadedFile(
        "fees.csv", b"code,modifier,charge,effective_from\n99214,,x,2024-01-01\n"
    )
    refused = client.post("/coding/fees/import", {"file": upload, "idempotency_key": "p1"})
    assert refused.status_code == 422
    assert "Line 2, column charge" in refused.content.decode()
    upload = SimpleUploadedFile("fees.csv", GOOD_CSV.encode())
    assert (
        client.post("/coding/fees/import", {"file": upload, "idempotency_key": "p1"}).status_code
        == 302
    )
    upload = SimpleUploadedFile("fees.csv", GOOD_CSV.encode())
    assert (
        client.post("/coding/fees/import", {"file": upload, "idempotency_key": "p1"}).status_code
        == 302
    )
    assert Fee.objects.count() == 3
    page = client.get("/coding/fees/").content.decode()
    assert "210.00" in page and "99214" in page
    fee = Fee.objects.get(code="99214")
    editing = client.get(f"/coding/fees/?edit={fee.pk}").content.decode()
    assert 'name="charge" value="210.00"' in editing and 'value="2024-01-01"' in editing


class _Table(HTMLParser):
    """The header and body cells (their text) of the table with the id given."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.cell = table_id, False, None
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def expected_table(page: str) -> dict[str, dict[str, str]]:
    """{code: {column header: cell}} of the expected-payments table."""
    parser = _Table("expected-table")
    parser.feed(page)
    header, *body = parser.rows
    assert len(set(header)) == len(header), header
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def test_contract_pages_and_the_expected_payments_page(client_for, manager):
    load_rvus({"99213", "99214"})
    load_gpcis({MANHATTAN})
    places_of_service()
    payer = pf.payer(name="City Health")
    lake = pf.payer(name="Lake Mutual")
    client = client_for("manager")
    response = client.post("/coding/contracts/new", {
        "payer": payer.pk, "name": "110% of Medicare", "basis": "medicare_percent",
        "medicare_percent": "110", "mac": "13202", "locality": "01", "effective_from": "2024-01-01",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    contract = PayerContract.objects.get()
    overlapping = client.post("/coding/contracts/new", {
        "payer": payer.pk, "name": "again", "basis": "rates", "effective_from": "2024-06-01",
    })  # fmt: skip
    assert overlapping.status_code == 422 and "cannot overlap" in overlapping.content.decode()
    assert client.post(f"/coding/contracts/{contract.pk}/rates",
                       {"code": "99214", "rate": "152.40"}).status_code == 302  # fmt: skip
    response = client.post("/coding/contracts/new", {
        "payer": lake.pk, "name": "Lake rates", "basis": "rates", "effective_from": "2024-01-01",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    lake_contract = PayerContract.objects.get(payer=lake)
    assert client.post(f"/coding/contracts/{lake_contract.pk}/rates",
                       {"code": "99213", "rate": "97.25"}).status_code == 302  # fmt: skip
    # Charges, Medicare-percent amounts and contract rates are all different numbers, so each
    # is found in its own cell only.
    fees.fee_set(actor=manager, code="99213", charge="165", effective_from="2024-01-01")
    fees.fee_set(actor=manager, code="99214", charge="240", effective_from="2024-01-01")
    page = client.get("/coding/fees/expected/?day=2024-09-16").content.decode()
    table = expected_table(page)
    assert set(table) == {"99213", "99214"}
    office = {code: (row["Charge"], row["City Health"], row["Lake Mutual"])
              for code, row in table.items()}  # fmt: skip
    assert office == {
        "99213": ("165.00", "113.54", "97.25"),  # 110% of Manhattan's office $103.22; Lake's rate
        "99214": ("240.00", "152.40", ""),  # City Health's own rate; Lake prices nothing for it
    }
    facility = client.get("/coding/fees/expected/?day=2024-09-16&setting=facility").content.decode()
    in_facility = expected_table(facility)
    assert (in_facility["99213"]["Charge"], in_facility["99213"]["City Health"]) == (
        "165.00", "80.66")  # 110% of $73.33  # fmt: skip
    assert in_facility["99214"]["City Health"] == "152.40"  # a rate is the rate in any setting
    assert in_facility["99213"]["Lake Mutual"] == "97.25"
    assert client.get("/coding/fees/expected/?day=nonsense").status_code == 422
    assert client.get(f"/coding/contracts/{contract.pk}/").status_code == 200
    assert client.get(f"/coding/contracts/{contract.pk}/edit").status_code == 200


# --- API ----------------------------------------------------------------------------------------


def _post(client, url, data, key=None):
    headers = {HEADER: key} if key else {}
    return client.post(url, json.dumps(data), content_type="application/json", headers=headers)


def test_the_api_lists_and_sets_fees_with_the_pages_permissions(client_for):
    body = {"code": "99213", "charge": "150.00", "effective_from": "2024-01-01"}
    assert _post(client_for("front_desk"), "/api/coding/fees", body).status_code == 403
    assert _post(client_for("biller"), "/api/coding/fees", body).status_code == 403
    assert client_for("front_desk").get("/api/coding/fees").status_code == 403
    manager = client_for("manager")
    first = _post(manager, "/api/coding/fees", body, key="a1")
    assert first.status_code == 201, first.content
    assert first.json()["charge"] == "150.00"
    replay = _post(manager, "/api/coding/fees", body, key="a1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    later = _post(
        manager, "/api/coding/fees", {**body, "charge": "160", "effective_from": "2024-07-01"}
    )
    assert later.status_code == 201
    bad = _post(manager, "/api/coding/fees", {**body, "charge": 1.5})
    assert bad.status_code == 422
    listed = client_for("biller").get("/api/coding/fees?code=99213").json()
    assert [(f["charge"], f["effective_from"], f["effective_to"]) for f in listed] == [
        ("160.00", "2024-07-01", None),
        ("150.00", "2024-01-01", "2024-06-30"),
    ]
    in_force = client_for("biller").get("/api/coding/fees?day=2024-03-01").json()
    assert [f["charge"] for f in in_force] == ["150.00"]


def test_the_api_gives_contracts_and_expected_payments(client_for, manager):
    load_rvus({"99213", "71046"})
    load_gpcis({ALABAMA})
    places_of_service()
    payer = pf.payer(name="Southern Mutual")
    contract = fees.contract_create(actor=manager, payer=payer, name="92.5%",
                                    basis="medicare_percent", medicare_percent="92.5",
                                    mac=ALABAMA[0], locality=ALABAMA[1],
                                    effective_from="2024-01-01")  # fmt: skip
    fees.fee_set(
        actor=manager, code="71046", modifier="TC", charge="55", effective_from="2024-01-01"
    )
    biller = client_for("biller")
    contracts = biller.get("/api/coding/contracts").json()
    assert contracts[0]["id"] == contract.pk and contracts[0]["medicare_percent"] == "92.50"
    url = f"/api/coding/expected-payment?payer_id={payer.pk}&code=71046&modifiers=TC&day=2024-09-16"
    answer = biller.get(url).json()
    # 92.5% of the Alabama office amount of 71046-TC, $20.15: $18.63875 -> $18.64
    assert answer["expected"] == "18.64" and answer["charge"] == "55.00"
    assert answer["facility"] is False and answer["contract_id"] == contract.pk
    facility = biller.get(url + "&place_of_service=22").json()
    assert facility["expected"] is None and facility["facility"] is True  # NA in a facility
    assert biller.get(url + "&place_of_service=98").status_code == 422
    assert biller.get("/api/coding/expected-payment?payer_id=999999&code=99213").status_code == 404
    assert client_for("front_desk").get(url).status_code == 403


# --- At the same moment -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("locked", [True, False], ids=["with the lock", "constraint alone"])
def test_two_people_setting_the_same_fee_at_once_leave_one_row(users, monkeypatch, locked):
    """Eight writers set 99213 from the same day at once: one row, and nobody gets an error.
    Without the per-code lock the unique key (code, modifier, start) still decides."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency: PostgreSQL only")
    if not locked:
        monkeypatch.setattr(fees, "_lock_code", lambda code, modifier: None)
    people = [users["manager"], users["owner"]] * 4
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []
    guard = threading.Lock()

    def run(person) -> None:
        try:
            barrier.wait(timeout=30)
            fees.fee_set(actor=person, code="99213", charge="150.00", effective_from="2024-01-01")
            result = "ok"
        except Exception as exc:  # reported, so the assertion shows it
            result = f"error:{type(exc).__name__}:{exc}"
        finally:
            connections.close_all()
        with guard:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["ok"] * len(people)
    assert spans("99213") == [(date(2024, 1, 1), None, 15000)]
