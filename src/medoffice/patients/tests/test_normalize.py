from datetime import date

import pytest

from medoffice.patients import matching, normalize


@pytest.mark.parametrize(
    "raw",
    [
        "(312) 555-0142",
        "312-555-0142",
        "312.555.0142",
        "+1 312 555 0142",
        "1 (312) 555 0142",
        "3125550142",
    ],
)
def test_us_phone_in_any_format_is_normalised_to_e164(raw):
    assert normalize.phone_e164(raw) == "+13125550142"


@pytest.mark.parametrize(
    "raw", ["555-0142", "123", "(012) 555-0142", "not a phone", "+1 999 555 0142"]
)
def test_invalid_phone_is_refused_with_a_reason(raw):
    with pytest.raises(ValueError, match="phone number"):
        normalize.phone_e164(raw)


def test_international_phone_keeps_its_country():
    assert normalize.phone_e164("+44 20 7946 0958") == "+442079460958"
    assert normalize.phone_display("+442079460958").startswith("+44")
    assert normalize.phone_display("+13125550142") == "(312) 555-0142"


@pytest.mark.parametrize(
    "text",
    ["03/14/1980", "3/14/1980", "1980-03-14", "03-14-1980", "03.14.1980", "03141980", "3/14/80"],
)
def test_birth_dates_typed_several_ways(text):
    assert normalize.parse_date(text) == date(1980, 3, 14)


def test_two_digit_year_is_never_in_the_future():
    assert normalize.parse_date("1/2/05").year == 2005
    assert normalize.parse_date("1/2/95").year == 1995


def test_name_key_folds_case_accents_and_punctuation():
    assert normalize.name_key("  O'Brien-Núñez ") == "obriennunez"
    assert normalize.name_key("ZOË") == "zoe"
    assert normalize.name_key("Müller") == normalize.name_key("muller")


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        (("john", "smith"), ("john", "smith"), "same name"),
        (("john", "smith"), ("smith", "john"), "first and last names swapped"),
        (("william", "brown"), ("bill", "brown"), "nickname of the first name"),
        (("jonathon", "lee"), ("jonathan", "lee"), "similar name"),
        (("maria", "garcia"), ("maria", "garcialopez"), "similar name"),
        (("steven", "thompson"), ("steven", "thopmson"), "similar name"),
        (("christopher", "reyes"), ("chris", "reyes"), "nickname of the first name"),
    ],
)
def test_similar_names(a, b, why):
    assert matching.name_similarity(*a, *b) == why


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("john", "smith"), ("jane", "smith")),
        (("maria", "lopez"), ("mario", "perez")),
        (("ann", "lee"), ("bob", "kim")),
    ],
)
def test_different_people_are_not_similar(a, b):
    assert matching.name_similarity(*a, *b) is None


def test_edit_distance_counts_a_transposition_as_one():
    assert matching.edit_distance("smith", "smtih") == 1
    assert matching.edit_distance("kitten", "sitting") == 3
