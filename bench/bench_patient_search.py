"""Patient search over 100,000 generated patients on SQLite.

    python bench/bench_patient_search.py          # prints `name: value unit` lines
    BENCH_PATIENTS=20000 python bench/bench_patient_search.py

`run()` returns [(name, value, unit), ...]; bench/run.py calls it in its own process on a
throwaway, migrated SQLite database, so it never touches a real installation. It loads the patients with bulk inserts, then times `patients.selectors.search_patients` for
each kind of search text the front desk types. The target is a median under 20 ms.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "100000"))
SEARCHES_PER_KIND = int(os.environ.get("BENCH_SEARCHES", "200"))
SEED = 2026


def _syllable_name(rng: random.Random) -> str:
    start = ("Bar", "Kel", "Mor", "Dan", "Vel", "Har", "Sten", "Lor", "Qui", "Fen", "Ash", "Tor")
    middle = ("", "a", "e", "i", "o", "an", "er", "el", "in")
    end = ("son", "ley", "ton", "field", "wick", "man", "ez", "ski", "berg", "ford", "ini", "ov")
    return rng.choice(start) + rng.choice(middle) + rng.choice(end)


def _load(count: int, rng: random.Random) -> list:
    from medoffice.patients.demo import AREA_CODES, FEMALE, LAST, MALE
    from medoffice.patients.models import Patient

    today = date(2026, 1, 1)
    made = []
    batch = []
    for n in range(1, count + 1):
        sex = rng.choice("FM")
        patient = Patient(
            mrn=f"{n:08d}",
            first_name=rng.choice(FEMALE if sex == "F" else MALE),
            last_name=rng.choice(LAST) if rng.random() < 0.6 else _syllable_name(rng),
            date_of_birth=today - timedelta(days=rng.randint(0, 95 * 365)),
            sex=sex,
            phone=f"+1{rng.choice(AREA_CODES)}55501{rng.randint(0, 99):02d}",
        )
        patient.refresh_search_keys()
        batch.append(patient)
        if len(batch) == 5000:
            made += Patient.objects.bulk_create(batch)
            batch = []
    made += Patient.objects.bulk_create(batch)
    return made


def _queries(patients: list, rng: random.Random) -> dict[str, list[str]]:
    from medoffice.patients.normalize import phone_display

    def sample() -> list:
        return rng.sample(patients, SEARCHES_PER_KIND)

    return {
        "last_prefix": [p.last_name[:3] for p in sample()],  # "smi"
        "last_comma_first": [f"{p.last_name}, {p.first_name[:2]}" for p in sample()],
        "first_last": [f"{p.first_name} {p.last_name}" for p in sample()],
        "dob_us": [p.date_of_birth.strftime("%m/%d/%Y") for p in sample()],
        "dob_iso": [p.date_of_birth.isoformat() for p in sample()],
        "name_dob": [f"{p.last_name} {p.date_of_birth:%m/%d/%Y}" for p in sample()],
        "phone_formatted": [phone_display(p.phone) for p in sample()],  # (312) 555-0142
        "phone_digits": [p.phone[2:] for p in sample()],
        "mrn": [p.mrn.lstrip("0") for p in sample()],
    }


def _p95(timings: list[float]) -> float:
    return round(statistics.quantiles(timings, n=20)[-1], 2)


def run() -> list[tuple[str, float, str]]:
    """Called by bench/run.py inside a migrated throwaway installation."""
    from django.db import connection, transaction

    from medoffice.patients.selectors import search_patients

    rng = random.Random(SEED)
    started = time.perf_counter()
    with transaction.atomic():
        patients = _load(PATIENTS, rng)
    load_seconds = time.perf_counter() - started
    results: list[tuple[str, float, str]] = [
        ("patient_search.patients", float(len(patients)), "patients"),
        ("patient_search.load", round(load_seconds, 1), "s"),
    ]
    everything: list[float] = []
    for kind, texts in _queries(patients, rng).items():
        for text in texts[:5]:  # warm the page cache
            search_patients(text)
        timings = []
        for text in texts:
            begin = time.perf_counter()
            found = search_patients(text)
            timings.append((time.perf_counter() - begin) * 1000)
            assert found, f"no result for {text!r}"
        everything += timings
        results.append(
            (f"patient_search.{kind}.median", round(statistics.median(timings), 2), "ms")
        )
        results.append((f"patient_search.{kind}.p95", _p95(timings), "ms"))
    results.append(("patient_search.all.median", round(statistics.median(everything), 2), "ms"))
    results.append(("patient_search.all.p95", _p95(everything), "ms"))
    assert connection.vendor == "sqlite"
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import main as run_benchmarks

    sys.exit(run_benchmarks([Path(__file__).stem.removeprefix("bench_")]))
