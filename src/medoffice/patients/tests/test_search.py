from datetime import date

import pytest

from medoffice.patients import selectors
from medoffice.testing import patients_factories as pf


@pytest.fixture
def people(db):
    return {
        "ana": pf.patient(mrn="00001234", first_name="Ana", last_name="Smith", date_of_birth=date(1980, 3, 14),
                          phone="+13125550142"),
        "john": pf.patient(mrn="00001235", first_name="John", last_name="Smithers", date_of_birth=date(1975, 1, 2),
                           phone="+17735550100"),
        "jose": pf.patient(mrn="00001236", first_name="José", last_name="Núñez", date_of_birth=date(1980, 3, 14)),
        "obrien": pf.patient(mrn="00001237", first_name="Mary", last_name="O'Brien", date_of_birth=date(1962, 7, 4)),
        "gone": pf.patient(mrn="00001238", first_name="Sam", last_name="Smith", is_active=False,
                           date_of_birth=date(1950, 1, 1)),
    }  # fmt: skip


def names(results):
    return [f"{p.first_name} {p.last_name}" for p in results]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smi", ["Ana Smith", "John Smithers"]),
        ("SMITH", ["Ana Smith", "John Smithers"]),
        ("smith, a", ["Ana Smith"]),
        ("Smithers, John", ["John Smithers"]),
        ("john smith", ["John Smithers"]),
        ("smith john", ["John Smithers"]),
        ("nunez", ["José Núñez"]),
        ("núñez, jose", ["José Núñez"]),
        ("obri", ["Mary O'Brien"]),
        ("o'brien", ["Mary O'Brien"]),
        ("03/14/1980", ["José Núñez", "Ana Smith"]),
        ("1980-03-14", ["José Núñez", "Ana Smith"]),
        ("3/14/80", ["José Núñez", "Ana Smith"]),
        ("smith 03/14/1980", ["Ana Smith"]),
        ("(312) 555-0142", ["Ana Smith"]),
        ("312.555.0142", ["Ana Smith"]),
        ("+1 773 555 0100", ["John Smithers"]),
        ("3125550142", ["Ana Smith"]),
        ("00001236", ["José Núñez"]),
        ("1237", ["Mary O'Brien"]),
        ("zzz", []),
        ("", []),
    ],
)
def test_search_by_each_key(people, text, expected):
    assert names(selectors.search_patients(text)) == expected


@pytest.mark.django_db
def test_inactive_patients_only_on_request(people):
    assert "Sam Smith" not in names(selectors.search_patients("smith"))
    assert "Sam Smith" in names(selectors.search_patients("smith", include_inactive=True))


@pytest.mark.django_db
def test_search_is_limited(db):
    for n in range(30):
        pf.patient(last_name=f"Taylor{n:02d}")
    assert len(selectors.search_patients("taylor")) == 25
    assert len(selectors.search_patients("taylor", limit=5)) == 5


@pytest.mark.django_db
def test_search_runs_a_few_indexed_queries(people, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        selectors.search_patients("smith 03/14/1980")
