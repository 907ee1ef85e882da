"""Input the API's schema refuses is named in words, fields counted from 1."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from medoffice.core.input_words import schema_problems, sentence


class _Line(BaseModel):
    account: str
    debit: StrictStr | StrictInt = ""


class _Entry(BaseModel):
    memo: str = Field(..., max_length=5)
    reason: str = Field(..., min_length=1)
    lines: list[_Line]


def _errors(data: dict) -> list:
    with pytest.raises(ValidationError) as caught:
        _Entry.model_validate(data)
    return caught.value.errors()


def test_a_union_that_fails_every_member_reads_as_one_choice():
    data = {
        "memo": "ok",
        "reason": "r",
        "lines": [{"account": "1"}, {"account": "2", "debit": True}],
    }
    problems = schema_problems(_errors(data))
    assert problems == {"lines.2.debit": ["must be text or a whole number"]}
    assert sentence(problems) == "Line 2 debit must be text or a whole number."


def test_lengths_and_missing_fields_are_said_in_words():
    problems = schema_problems(_errors({"memo": "too long", "reason": ""}))
    assert problems == {
        "memo": ["must be at most 5 characters"],
        "reason": ["must not be empty"],
        "lines": ["is required"],
    }
    said = sentence(problems)
    assert said == "Memo must be at most 5 characters. Reason must not be empty. Lines is required."
    assert "Input should" not in said and "str" not in said


def test_the_api_answers_a_schema_refusal_in_words(client_for):
    body = {"date": "2026-13-01", "memo": "x", "lines": [{"account": "5200", "debit": True}]}
    response = client_for("manager").post(
        "/api/ledger/manual-entries", json.dumps(body), content_type="application/json",
        headers={"Idempotency-Key": "words-1"},
    )  # fmt: skip
    assert response.status_code == 422
    answer = response.json()
    assert set(answer["errors"]) == {"date", "lines.1.debit"}
    assert "Line 1 debit must be text or a whole number." in answer["detail"]
    assert "Date must be a date such as 2026-11-30." in answer["detail"]
    assert "Invalid input" not in answer["detail"] and ".str" not in answer["detail"]


def test_items_of_a_list_without_a_plural_name_are_counted_as_items():
    problems = {"forms_signed.2": ["must be a whole number"], "1.role": ["must not be empty"]}
    assert sentence(problems) == (
        "Forms signed item 2 must be a whole number. Item 1 role must not be empty."
    )


def test_a_list_items_name_is_its_singular():
    from medoffice.core.input_words import _spoken

    assert _spoken(["diagnoses", 1]) == "diagnosis 1"
    assert _spoken(["addresses", 2, "city"]) == "address 2 city"
    assert _spoken(["entries", 3]) == "entry 3"
    assert _spoken(["lines", 1, "debit"]) == "line 1 debit"
    assert _spoken(["data", 1]) == "data item 1"
