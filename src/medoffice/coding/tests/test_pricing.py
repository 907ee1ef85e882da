"""Charges and expected payments, with the Medicare arithmetic done by hand from CMS's July 2024
figures (the corpus files pfs_national_rvu_2024_jul.tsv and pfs_gpci_2024_jul.tsv).

The lines used (work RVU, non-facility PE RVU, facility PE RVU, MP RVU; CF 33.2875):

    99213       1.30  1.33  0.56  0.10
    99214       1.92  1.79  0.83  0.14
    93000       0.17  0.24  0.24  0.02   (facility NA: the global ECG is not paid in a facility)
    71046-26    0.22  0.08  0.08  0.01
    71046-TC    0.00  0.69  0.69  0.01   (facility NA)
    27447      19.60 14.96 14.96  4.01   (non-facility NA: a knee replacement is not done in an office)
    45378       3.26  6.51  1.77  0.42
    45378-53    1.63  3.25  0.89  0.21   (a discontinued colonoscopy has its own line)

The localities (work, PE, MP GPCI): Manhattan 13202/01 1.065 1.166 1.656; Alabama 10112/00
1.000 0.869 0.575.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medoffice.coding import fees, pricing
from medoffice.coding.models import CodeSetKind, CodeSetRelease, MpfsRvu
from medoffice.coding.tests.mpfs_corpus import load_gpcis, load_rvus, places_of_service
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

DAY = date(2024, 9, 16)
CF = Decimal("33.2875")
MANHATTAN = ("13202", "01")
ALABAMA = ("10112", "00")
CODES = {"99213", "99214", "93000", "71046", "27447", "45378"}


@pytest.fixture
def mpfs(db):
    load_rvus(CODES)
    load_gpcis({MANHATTAN, ALABAMA})
    places_of_service()


def _dollars(work: str, pe: str, mp: str) -> int:
    """Sum of the products (written out in each test) times the CF, half-up to the cent."""
    total = (Decimal(work) + Decimal(pe) + Decimal(mp)) * CF
    return int(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


# --- The Medicare amount ------------------------------------------------------------------------


def test_99213_in_manhattan_and_alabama_office_and_facility(mpfs):
    # Manhattan, office: 1.30*1.065 = 1.3845; 1.33*1.166 = 1.55078; 0.10*1.656 = 0.1656
    # sum 3.10088 * 33.2875 = 103.220543 -> $103.22
    assert _dollars("1.3845", "1.55078", "0.1656") == 10322
    assert pricing.medicare_allowed_cents("99213", "", DAY, *MANHATTAN, False) == 10322
    # Manhattan, facility: PE 0.56*1.166 = 0.65296; sum 2.20306 * 33.2875 = 73.33435975 -> $73.33
    assert _dollars("1.3845", "0.65296", "0.1656") == 7333
    assert pricing.medicare_allowed_cents("99213", "", DAY, *MANHATTAN, True) == 7333
    # Alabama, office: 1.30*1 = 1.30; 1.33*0.869 = 1.15577; 0.10*0.575 = 0.0575
    # sum 2.51327 * 33.2875 = 83.660475125 -> $83.66
    assert _dollars("1.30", "1.15577", "0.0575") == 8366
    assert pricing.medicare_allowed_cents("99213", "", DAY, *ALABAMA, False) == 8366
    # Alabama, facility: 0.56*0.869 = 0.48664; sum 1.84414 * 33.2875 = 61.38681025 -> $61.39
    assert pricing.medicare_allowed_cents("99213", "", DAY, *ALABAMA, True) == 6139


def test_99214_rounds_half_up_only_at_the_end(mpfs):
    # Manhattan, facility: 1.92*1.065 = 2.0448; 0.83*1.166 = 0.96778; 0.14*1.656 = 0.23184
    # sum 3.24442 * 33.2875 = 107.99863075 -> $108.00 (rounded once, at the end)
    assert _dollars("2.0448", "0.96778", "0.23184") == 10800
    assert pricing.medicare_allowed_cents("99214", "", DAY, *MANHATTAN, True) == 10800
    # Manhattan, office: 1.79*1.166 = 2.08714; sum 4.36378 * 33.2875 = 145.25932675 -> $145.26
    assert pricing.medicare_allowed_cents("99214", "", DAY, *MANHATTAN, False) == 14526
    # Alabama, office: 1.92 + 1.79*0.869 (1.55551) + 0.14*0.575 (0.0805) = 3.55601
    # * 33.2875 = 118.370682875 -> $118.37
    assert _dollars("1.92", "1.55551", "0.0805") == 11837
    assert pricing.medicare_allowed_cents("99214", "", DAY, *ALABAMA, False) == 11837


def test_93000_and_the_components_of_71046(mpfs):
    # 93000 Manhattan office: 0.17*1.065 = 0.18105; 0.24*1.166 = 0.27984; 0.02*1.656 = 0.03312
    # sum 0.49401 * 33.2875 = 16.444357875 -> $16.44
    assert pricing.medicare_allowed_cents("93000", "", DAY, *MANHATTAN, False) == 1644
    # 93000 Alabama office: 0.17 + 0.24*0.869 (0.20856) + 0.02*0.575 (0.0115) = 0.39006
    # * 33.2875 = 12.98412225 -> $12.98
    assert pricing.medicare_allowed_cents("93000", "", DAY, *ALABAMA, False) == 1298
    # The global ECG has no facility rate (NA): no Medicare amount, not $0.
    assert pricing.medicare_allowed_cents("93000", "", DAY, *MANHATTAN, True) is None
    # 71046-26 Manhattan: 0.22*1.065 = 0.2343; 0.08*1.166 = 0.09328; 0.01*1.656 = 0.01656
    # sum 0.34414 * 33.2875 = 11.45556025 -> $11.46 (its own line, facility or not)
    assert pricing.medicare_allowed_cents("71046", "26", DAY, *MANHATTAN, False) == 1146
    assert pricing.medicare_allowed_cents("71046", "26", DAY, *MANHATTAN, True) == 1146
    # 71046-TC Alabama office: 0 + 0.69*0.869 (0.59961) + 0.01*0.575 (0.00575) = 0.60536
    # * 33.2875 = 20.150921 -> $20.15; in a facility the hospital bills the technical part (NA)
    assert pricing.medicare_allowed_cents("71046", "TC", DAY, *ALABAMA, False) == 2015
    assert pricing.medicare_allowed_cents("71046", "TC", DAY, *ALABAMA, True) is None
    # The global 71046, Alabama office: 0.22 + 0.77*0.869 (0.66913) + 0.02*0.575 (0.0115)
    # = 0.90063 * 33.2875 = 29.979721125 -> $29.98; a modifier other than 26/TC prices the same
    assert pricing.medicare_allowed_cents("71046", "", DAY, *ALABAMA, False) == 2998
    assert pricing.medicare_allowed_cents("71046", "59", DAY, *ALABAMA, False) == 2998


def test_a_discontinued_colonoscopy_is_priced_on_its_own_line(mpfs):
    # 45378-53 Alabama office: 1.63*1 = 1.63; 3.25*0.869 = 2.82425; 0.21*0.575 = 0.12075
    # sum 4.575 * 33.2875 = 152.2903125 -> $152.29
    assert _dollars("1.63", "2.82425", "0.12075") == 15229
    assert pricing.medicare_allowed_cents("45378", "53", DAY, *ALABAMA, False) == 15229
    # 45378 whole: 3.26 + 6.51*0.869 (5.65719) + 0.42*0.575 (0.2415) = 9.15869
    # * 33.2875 = 304.869893375 -> $304.87
    assert _dollars("3.26", "5.65719", "0.2415") == 30487
    assert pricing.medicare_allowed_cents("45378", "", DAY, *ALABAMA, False) == 30487


def test_no_amount_where_the_schedule_has_none(mpfs):
    assert pricing.medicare_allowed_cents("27447", "", DAY, *MANHATTAN, False) is None  # NA
    assert pricing.medicare_allowed_cents("27447", "", DAY, *MANHATTAN, True) is not None
    assert pricing.medicare_allowed_cents("99999", "", DAY, *MANHATTAN, False) is None
    assert pricing.medicare_allowed_cents("99213", "", DAY, "99999", "01", False) is None
    assert pricing.medicare_allowed_cents("99213", "", date(2024, 6, 30), *MANHATTAN, False) is None


def test_the_newest_release_in_effect_on_the_day_is_read(mpfs):
    later = CodeSetRelease.objects.create(
        kind=CodeSetKind.MPFS_RVU, label="2025 A", effective_date=date(2025, 1, 1),
        source_name="test", sha256="f" * 64,
    )  # fmt: skip
    MpfsRvu.objects.create(
        code="99213", status_code="A", work_rvu=Decimal("1"), non_facility_pe_rvu=Decimal("1"),
        facility_pe_rvu=Decimal("1"), mp_rvu=Decimal("1"), conversion_factor=Decimal("10"),
        release=later,
    )  # fmt: skip
    assert pricing.medicare_allowed_cents("99213", "", DAY, *ALABAMA, False) == 8366
    # 2025: (1*1 + 1*0.869 + 1*0.575) * 10 = 24.44
    assert pricing.medicare_allowed_cents("99213", "", date(2025, 2, 1), *ALABAMA, False) == 2444


# --- Contracts ----------------------------------------------------------------------------------


@pytest.fixture
def manager(users):
    return users["manager"]


def _medicare_contract(manager, payer, percent, place, start=date(2024, 1, 1), end=None):
    return fees.contract_create(
        actor=manager, payer=payer, name=f"{percent}% of Medicare", basis="medicare_percent",
        medicare_percent=percent, mac=place[0], locality=place[1], effective_from=start,
        effective_to=end,
    )  # fmt: skip


def test_a_medicare_percent_contract_for_codes_and_localities(mpfs, manager):
    city = pf.payer(name="City Health")
    south = pf.payer(name="Southern Mutual")
    _medicare_contract(manager, city, "110", MANHATTAN)
    _medicare_contract(manager, south, "92.5", ALABAMA)
    # 110% of $103.22 = $113.542 -> $113.54
    assert pricing.expected_payment_cents(city, "99213", [], DAY, "11") == 11354
    # facility (21): 110% of $73.33 = $80.663 -> $80.66
    assert pricing.expected_payment_cents(city, "99213", [], DAY, "21") == 8066
    # 110% of $145.26 = $159.786 -> $159.79
    assert pricing.expected_payment_cents(city, "99214", ["25"], DAY, "11") == 15979
    # 110% of $11.46 (71046-26) = $12.606 -> $12.61
    assert pricing.expected_payment_cents(city, "71046", ["26"], DAY, "22") == 1261
    # 92.5% of $83.66 = $77.3855 -> $77.39 (half-up; half-even would give $77.38)
    assert pricing.expected_payment_cents(south, "99213", [], DAY, "11") == 7739
    # 92.5% of $118.37 = $109.49225 -> $109.49
    assert pricing.expected_payment_cents(south, "99214", [], DAY, "11") == 10949
    # 92.5% of $12.98 (93000) = $12.0065 -> $12.01
    assert pricing.expected_payment_cents(south, "93000", [], DAY, "11") == 1201
    # 92.5% of $20.15 (71046-TC) = $18.63875 -> $18.64
    assert pricing.expected_payment_cents(south, "71046", ["TC"], DAY, "11") == 1864
    # NA in the setting, or a code off the schedule: no expected payment
    assert pricing.expected_payment_cents(south, "93000", [], DAY, "21") is None
    assert pricing.expected_payment_cents(south, "99999", [], DAY, "11") is None


def test_a_rate_wins_over_the_percentage_and_rates_contracts_price_only_their_codes(mpfs, manager):
    city = pf.payer(name="City Health")
    plan = pf.payer(name="Rate Plan")
    contract = _medicare_contract(manager, city, "110", MANHATTAN)
    fees.contract_rate_set(actor=manager, contract=contract, code="99213", rate="95.00")
    fees.contract_rate_set(actor=manager, contract=contract, code="71046", modifier="26",
                           rate="9.10")  # fmt: skip
    rates = fees.contract_create(actor=manager, payer=plan, name="2024 rates", basis="rates",
                                 effective_from=date(2024, 1, 1))  # fmt: skip
    fees.contract_rate_set(actor=manager, contract=rates, code="99214", rate="120.00")
    assert pricing.expected_payment_cents(city, "99213", [], DAY, "11") == 9500
    assert pricing.expected_payment_cents(city, "71046", ["26"], DAY, "11") == 910
    assert pricing.expected_payment_cents(city, "99214", [], DAY, "11") == 15979  # the percentage
    assert pricing.expected_payment_cents(plan, "99214", [], DAY, "11") == 12000
    assert pricing.expected_payment_cents(plan, "99213", [], DAY, "11") is None


def test_no_contract_in_force_means_no_expected_payment(mpfs, manager):
    city = pf.payer(name="City Health")
    _medicare_contract(manager, city, "110", MANHATTAN, start=date(2024, 1, 1),
                       end=date(2024, 6, 30))  # fmt: skip
    assert (
        pricing.expected_payment_cents(city, "99213", [], date(2024, 6, 30), "11") is None
    )  # no MPFS yet
    assert pricing.expected_payment_cents(city, "99213", [], DAY, "11") is None
    assert pricing.expected_payment_cents(pf.payer(), "99213", [], DAY, "11") is None


def test_an_unknown_place_of_service_is_refused(mpfs, manager):
    city = pf.payer(name="City Health")
    _medicare_contract(manager, city, "110", MANHATTAN)
    from medoffice.core.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        pricing.expected_payment_cents(city, "99213", [], DAY, "98")
    assert refused.value.field == "place_of_service"


# --- Charges, prior authorization and the table -------------------------------------------------


def test_the_charge_of_a_modifier_first_then_the_code(db, manager):
    fees.fee_set(actor=manager, code="71046", charge="80.00", effective_from=date(2024, 1, 1))
    fees.fee_set(actor=manager, code="71046", modifier="26", charge="30.00",
                 effective_from=date(2024, 1, 1))  # fmt: skip
    assert pricing.fee_cents("71046", [], DAY) == 8000
    assert pricing.fee_cents("71046", ["26"], DAY) == 3000
    assert pricing.fee_cents("71046", ["59", "26"], DAY) == 3000
    assert pricing.fee_cents("71046", ["TC"], DAY) == 8000
    assert pricing.fee_cents("71046", [], date(2023, 12, 31)) is None
    assert pricing.fee_cents("99213", [], DAY) is None


def test_prior_authorization_rules(db, manager):
    payer = pf.payer()
    fees.prior_auth_rules_set(actor=manager, payer=payer, codes=["70553", "27447"])
    assert pricing.requires_prior_auth(payer, ["99213", "70553", "27447"]) == {"70553", "27447"}
    fees.prior_auth_rules_set(actor=manager, payer=payer, codes=["70553"])
    assert pricing.requires_prior_auth(payer, ["99213", "70553", "27447"]) == {"70553"}
    assert pricing.requires_prior_auth(pf.payer(), ["70553"]) == set()


def test_the_fee_table_in_a_fixed_number_of_queries(mpfs, manager):
    city = pf.payer(name="City Health")
    south = pf.payer(name="Southern Mutual")
    plan = pf.payer(name="Rate Plan")
    none = pf.payer(name="No Contract")
    contract = _medicare_contract(manager, city, "110", MANHATTAN)
    _medicare_contract(manager, south, "92.5", ALABAMA)
    rates = fees.contract_create(actor=manager, payer=plan, name="rates", basis="rates",
                                 effective_from=date(2024, 1, 1))  # fmt: skip
    fees.contract_rate_set(actor=manager, contract=rates, code="99214", rate="120.00")
    fees.contract_rate_set(actor=manager, contract=contract, code="99213", rate="95.00")
    for code, modifier, charge in (("99213", "", "150"), ("99214", "", "210"),
                                   ("93000", "", "60"), ("71046", "26", "40")):  # fmt: skip
        fees.fee_set(actor=manager, code=code, modifier=modifier, charge=charge,
                     effective_from=date(2024, 1, 1))  # fmt: skip
    payers = [city, south, plan, none]
    with CaptureQueriesContext(connection) as queries:
        rows = pricing.fee_table(DAY, payers)
    assert len(queries) <= 8
    table = {(row.code, row.modifier): (row.charge_cents, row.expected_cents) for row in rows}
    assert table == {
        ("71046", "26"): (4000, (1261, 909, None, None)),  # 92.5% of $9.83 = $9.09275
        ("93000", ""): (6000, (1808, 1201, None, None)),  # 110% of $16.44 = $18.084
        ("99213", ""): (15000, (9500, 7739, None, None)),
        ("99214", ""): (21000, (15979, 10949, 12000, None)),
    }
    # the same figures, one by one
    for row in rows:
        modifiers = [row.modifier] if row.modifier else []
        for payer, cents in zip(payers, row.expected_cents, strict=True):
            assert pricing.expected_payment_cents(payer, row.code, modifiers, DAY, "11") == cents
    # more codes, the same queries
    fees.fee_set(actor=manager, code="27447", charge="2000", effective_from=date(2024, 1, 1))
    with CaptureQueriesContext(connection) as again:
        rows = pricing.fee_table(DAY, payers, facility=True)
    assert len(again) == len(queries)
    facility = {(row.code, row.modifier): row.expected_cents for row in rows}
    assert facility[("99213", "")][1] == 5679  # 92.5% of $61.39 = $56.78575
    assert facility[("93000", "")][:2] == (None, None)  # NA in a facility
