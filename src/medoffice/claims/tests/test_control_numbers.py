"""Control numbers: consecutive, per submitter and kind, never handed out twice."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections

from medoffice.claims.control_numbers import LIMITS, reserve_control_numbers
from medoffice.claims.models import ControlCounter
from medoffice.core.exceptions import Conflict, InvalidInput


@pytest.mark.django_db
def test_numbers_follow_on_per_submitter_and_kind():
    assert list(reserve_control_numbers("SUB1", "ISA")) == [1]
    assert list(reserve_control_numbers("SUB1", "ISA", 3)) == [2, 3, 4]
    assert list(reserve_control_numbers("SUB1", "GS")) == [1]
    assert list(reserve_control_numbers("SUB2", "ISA")) == [1]


@pytest.mark.django_db
def test_bad_requests_are_refused_in_words():
    with pytest.raises(InvalidInput, match="not 'ST'"):
        reserve_control_numbers("SUB1", "ST")
    with pytest.raises(InvalidInput, match="at least one"):
        reserve_control_numbers("SUB1", "ISA", 0)
    with pytest.raises(InvalidInput, match="submitter id"):
        reserve_control_numbers(" ", "ISA")


@pytest.mark.django_db
def test_numbers_past_the_limit_are_refused_not_wrapped():
    ControlCounter.objects.create(submitter_id="SUB1", kind="ISA", last_value=LIMITS["ISA"] - 1)
    assert list(reserve_control_numbers("SUB1", "ISA")) == [LIMITS["ISA"]]
    with pytest.raises(Conflict, match="used up"):
        reserve_control_numbers("SUB1", "ISA")


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_get_the_same_number():
    """Twelve threads, each on its own connection, reserve at once (a first reservation
    creates the counter row, so the creation race is run too)."""
    got: list[int] = []
    errors: list[Exception] = []
    start = threading.Barrier(12)

    def work() -> None:
        try:
            start.wait()
            for _ in range(5):
                got.extend(reserve_control_numbers("RACE", "ISA", 2))
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(got) == list(range(1, 121))
