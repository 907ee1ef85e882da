"""Coding's reads: code lookups for the claims scrubber and the pages.

The scrubber calls these for every claim: each takes all of a claim's codes at once and runs
a fixed number of queries (one, for the edit tables), never one per line.

Edit tables and MPFS tables are kept per release: a read for a day uses the newest release
of the kind effective on or before that day; before the first release, an NCCI table's first
release, and no MPFS table.
ICD-10-CM comes from `simple-icd-10-cm` 1.5.0 (the April 1, 2026 code files): it is read into
an index in memory once per process, on first use (about five seconds).
"""

from __future__ import annotations

import bisect
import heapq
import re
import threading
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, reduce
from pathlib import Path
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from medoffice.coding.models import (
    AddOnEdit,
    CodeSetKind,
    CodeSetRelease,
    Modifier,
    MpfsGpci,
    MpfsRvu,
    MueEdit,
    PlaceOfService,
    ProcedureCode,
    PtpEdit,
)

ANY_PRIMARY = "CCCCC"
NCCI_KINDS = (CodeSetKind.NCCI_PTP, CodeSetKind.NCCI_MUE, CodeSetKind.NCCI_ADD_ON)
_Row = TypeVar("_Row")


def latest_releases() -> list[CodeSetRelease]:
    """The newest release of each kind of table, in the kinds' order."""
    latest: dict[str, CodeSetRelease] = {}
    for release in CodeSetRelease.objects.order_by("kind", "-effective_date", "-id"):
        latest.setdefault(release.kind, release)
    return [latest[kind] for kind in CodeSetKind.values if kind in latest]


def recent_releases(limit: int = 50) -> list[CodeSetRelease]:
    return list(
        CodeSetRelease.objects.select_related("imported_by").order_by("-imported_at", "-id")[:limit]
    )


# --- Which release is in force ------------------------------------------------------------------


# Before its first release an NCCI table's first release speaks (its rows carry their own
# deletion dates, so it holds the earlier edits too); an MPFS table prices nothing before its
# first release (as `pricing.mpfs_release`).
_EARLIEST_BEFORE_FIRST = frozenset(NCCI_KINDS)


def _release_in_force_id(kind: str, day: date) -> Subquery | Coalesce:
    """The id of the release of `kind` in force on `day`, as an expression (no query of its own):
    the newest effective on or before the day (for the NCCI tables, else the earliest)."""
    releases = CodeSetRelease.objects.filter(kind=kind)
    newest = releases.filter(effective_date__lte=day).order_by("-effective_date", "-id")
    if kind not in _EARLIEST_BEFORE_FIRST:
        return Subquery(newest.values("id")[:1])
    earliest = releases.order_by("effective_date", "id")
    return Coalesce(Subquery(newest.values("id")[:1]), Subquery(earliest.values("id")[:1]))


def _release_on(kind: str, releases: Sequence[tuple[date, int]], day: date) -> int | None:
    """The same rule as `_release_in_force_id`, over the releases of `kind` already read
    (their (effective date, id), by effective date then id): for many days at once."""
    chosen = None
    for effective, pk in releases:
        if effective > day:
            break
        chosen = pk
    if chosen is None and releases and kind in _EARLIEST_BEFORE_FIRST:
        return releases[0][1]
    return chosen


def release_in_force(kind: str, day: date) -> CodeSetRelease | None:
    """The release of a table that the reads for `day` use (see the module's docstring)."""
    return CodeSetRelease.objects.filter(pk=_release_in_force_id(kind, day)).first()


def _in_release(model: type[models.Model], kind: str, day: date) -> QuerySet:
    return model._default_manager.filter(release_id=_release_in_force_id(kind, day))


def _codes(codes: Iterable[str]) -> set[str]:
    return {c.strip().upper() for c in codes if c and c.strip()}


def in_force(day: date, start: date | None, end: date | None) -> bool:
    """Whether a row with these dates applies on `day`: an edit's effective and deletion
    dates, a code's effective and termination dates, both inclusive, either open."""
    return (start is None or start <= day) and (end is None or day <= end)


# --- Procedure codes, modifiers, places of service ----------------------------------------------


def procedure_on(code: str, day: date) -> ProcedureCode | None:
    """The CPT or HCPCS code if it may be billed on `day` (not yet effective or terminated: None)."""
    found = ProcedureCode.objects.filter(code=code.strip().upper()).first()
    if found is None or not in_force(day, found.effective_date, found.termination_date):
        return None
    return found


def procedures_on(codes: Collection[str], day: date) -> dict[str, ProcedureCode]:
    """The codes among `codes` that may be billed on `day`, by code (one query)."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    return {
        p.code: p
        for p in ProcedureCode.objects.filter(code__in=wanted)
        if in_force(day, p.effective_date, p.termination_date)
    }


_CODE_TEXT = re.compile(r"[0-9A-Za-z]{1,5}")


def procedure_search(text: str, limit: int = 20) -> list[ProcedureCode]:
    """Codes starting with `text`, or whose descriptions hold every word of it."""
    text = text.strip()
    if not text:
        return []
    limit = max(1, min(limit, 200))
    found = ProcedureCode.objects.all()
    if _CODE_TEXT.fullmatch(text) and any(ch.isdigit() for ch in text):
        return list(found.filter(code__startswith=text.upper()).order_by("code")[:limit])
    words = text.split()[:8]
    for word in words:
        found = found.filter(
            Q(short_description__icontains=word) | Q(long_description__icontains=word)
        )
    by_code = ProcedureCode.objects.filter(code=text.upper())
    exact = list(by_code) if _CODE_TEXT.fullmatch(text) else []
    rest = list(found.exclude(pk__in=[p.pk for p in exact]).order_by("code")[: limit - len(exact)])
    return (exact + rest)[:limit]


def modifier(code: str) -> Modifier | None:
    return Modifier.objects.filter(code=code.strip().upper()).first()


def modifiers(codes: Collection[str]) -> dict[str, Modifier]:
    """The known modifiers among `codes`, by code (one query)."""
    wanted = _codes(codes)
    return {m.code: m for m in Modifier.objects.filter(code__in=wanted)} if wanted else {}


def place_of_service(code: str) -> PlaceOfService | None:
    code = code.strip()
    if code.isdigit() and len(code) == 1:
        code = code.zfill(2)
    return PlaceOfService.objects.filter(code=code).first()


# --- NCCI edits ------------------------------------------------------------------------------------


def ptp_edits(codes: Collection[str], day: date) -> list[PtpEdit]:
    """The NCCI pairs among `codes` in force on `day` (not deleted before it), one per pair.

    A pair that was deleted and added again appears twice in CMS's file; the row that lasts
    longest (no deletion date, else the latest) speaks for the pair.
    """
    wanted = _codes(codes)
    if len(wanted) < 2:
        return []
    rows = _in_release(PtpEdit, CodeSetKind.NCCI_PTP, day).filter(
        column1__in=wanted, column2__in=wanted
    )
    by_pair: dict[tuple[str, str], list[PtpEdit]] = {}
    for edit in rows:
        if edit.column1 != edit.column2:
            by_pair.setdefault((edit.column1, edit.column2), []).append(edit)
    best = [
        found
        for pair_rows in by_pair.values()
        if (found := _speaking(pair_rows, day, lambda e: (e.effective_date, e.deletion_date)))
    ]
    return sorted(best, key=lambda e: (e.column1, e.column2))


def _lasts_longer(end: date | None, other_end: date | None) -> bool:
    """Whether a row deleted at `end` outlasts one deleted at `other_end` (None: never)."""
    if other_end is None:
        return False
    return end is None or end > other_end


def _speaking(
    rows: Iterable[_Row], day: date, dates: Callable[[_Row], tuple[Any, Any]]
) -> _Row | None:
    """Of one pair's PTP rows (of the release in force), the row in force on `day` that
    speaks for the pair: the one that lasts longest, the first of equals."""
    held: _Row | None = None
    held_end: date | None = None
    for row in rows:
        start, end = dates(row)
        if not in_force(day, start, end):
            continue
        if held is None or _lasts_longer(end, held_end):
            held, held_end = row, end
    return held


def _lowest(limits: Iterable[tuple[int, str]]) -> tuple[int, str] | None:
    """An MUE's limit (units, adjudication indicator): the lowest of the code's rows."""
    return min(limits, default=None)


def mue_limits(codes: Collection[str], day: date) -> dict[str, int]:
    """The most units per day of each code among `codes` that has an MUE."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    rows: dict[str, list[tuple[int, str]]] = {}
    for code, units, indicator in (
        _in_release(MueEdit, CodeSetKind.NCCI_MUE, day)
        .filter(code__in=wanted)
        .values_list("code", "max_units", "adjudication_indicator")
    ):
        rows.setdefault(code, []).append((units, indicator))
    return {code: limit[0] for code, found in rows.items() if (limit := _lowest(found))}


@dataclass(frozen=True)
class AddOnRule:
    """An add-on code's edit: type 1 lists every primary; type 2 has none listed (any primary);
    type 3 lists some, and the payer may accept others."""

    code: str
    edit_types: frozenset[str]
    primaries: frozenset[str] | None  # None: any primary (CMS writes 'CCCCC')
    required: frozenset[str] = frozenset()  # the type 1 primaries listed (one must be billed)


def _add_on_rule(code: str, rows: Iterable[tuple[str, str]]) -> AddOnRule | None:
    """An add-on code's rule from its edit rows in force, (primary, edit type) each."""
    types: set[str] = set()
    primaries: set[str] = set()
    required: set[str] = set()
    any_primary = False
    for primary, kind in rows:
        types.add(kind)
        if primary == ANY_PRIMARY:
            any_primary = True
            continue
        primaries.add(primary)
        if kind == "1":
            required.add(primary)
    if not types:
        return None
    return AddOnRule(
        code=code,
        edit_types=frozenset(types),
        primaries=None if any_primary else frozenset(primaries),
        required=frozenset(required),
    )


def add_on_rules(codes: Collection[str], day: date) -> dict[str, AddOnRule]:
    """The add-on edits of the add-on codes among `codes` (one query)."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    rows: dict[str, list[tuple[str, str]]] = {}
    for code, primary, kind, start, end in (
        _in_release(AddOnEdit, CodeSetKind.NCCI_ADD_ON, day)
        .filter(add_on_code__in=wanted)
        .values_list("add_on_code", "primary_code", "edit_type", "effective_date", "deletion_date")
    ):
        if in_force(day, start, end):
            rows.setdefault(code, []).append((primary, kind))
    return {code: rule for code, found in rows.items() if (rule := _add_on_rule(code, found))}


def add_on_primaries(codes: Collection[str], day: date) -> dict[str, set[str] | None]:
    """For each add-on code among `codes`: the primary codes it may be billed with, or None
    when any primary will do. (Type 3 lists are not exhaustive: see `add_on_rules`.)"""
    return {
        code: None if rule.primaries is None else set(rule.primaries)
        for code, rule in add_on_rules(codes, day).items()
    }


# --- Many codes and days at once (the claims scrubber) -----------------------------------------

_Dates = tuple[date | None, date | None]


@dataclass(slots=True)
class EditTables:
    """The procedure codes, modifiers and NCCI rows of a set of codes, read once for many days
    (`edit_tables`): each method answers for one day by the same rules as the single-day
    reads above (`_release_on`, `in_force`, `_speaking`, `_lowest`, `_add_on_rule`)."""

    releases: dict[str, list[tuple[date, int]]] = field(default_factory=dict)
    procedures: dict[str, _Dates] = field(default_factory=dict)
    modifiers: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # active, NCCI bypass
    ptp_rows: dict[tuple[str, str], list[tuple[date | None, date | None, str, int]]] = field(
        default_factory=dict
    )
    mue_rows: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)
    add_on_rows: dict[str, list[tuple[str, str, date | None, date | None, int]]] = field(
        default_factory=dict
    )
    pctc: dict[str, str] = field(default_factory=dict)  # MPFS PC/TC indicator, newest release
    _release: dict[tuple[str, date], int | None] = field(default_factory=dict)
    _add_on: dict[tuple[str, date], AddOnRule | None] = field(default_factory=dict)

    def release(self, kind: str, day: date) -> int | None:
        """The id of the release of `kind` in force on `day`."""
        key = (kind, day)
        if key not in self._release:
            self._release[key] = _release_on(kind, self.releases.get(kind, []), day)
        return self._release[key]

    def procedure_dates(self, code: str) -> _Dates | None:
        """The code's (effective, termination) dates, or None when it is not a known code."""
        return self.procedures.get(code)

    def procedure_active(self, code: str, day: date) -> bool:
        dates = self.procedures.get(code)
        return dates is not None and in_force(day, dates[0], dates[1])

    def pctc_indicator(self, code: str) -> str | None:
        """The code's MPFS PC/TC indicator (whether 26 and TC apply), None: not in the MPFS."""
        return self.pctc.get(code)

    def modifier(self, code: str) -> tuple[bool, bool] | None:
        """(active, NCCI bypass) of a known modifier, else None."""
        return self.modifiers.get(code)

    def ptp(self, column1: str, column2: str, day: date) -> str | None:
        """The modifier indicator of the NCCI pair on `day` (as `ptp_edits`), None: no edit."""
        rows = self.ptp_rows.get((column1, column2))
        if not rows or column1 == column2:
            return None
        release = self.release(CodeSetKind.NCCI_PTP, day)
        found = _speaking(
            (row for row in rows if row[3] == release), day, lambda row: (row[0], row[1])
        )
        return None if found is None else found[2]

    def mue(self, code: str, day: date) -> tuple[int, str] | None:
        """The code's MUE on `day` (as `mue_limits`): (units, adjudication indicator)."""
        rows = self.mue_rows.get(code)
        if not rows:
            return None
        release = self.release(CodeSetKind.NCCI_MUE, day)
        return _lowest((units, kind) for units, kind, at in rows if at == release)

    def is_add_on(self, code: str) -> bool:
        """Whether an add-on edit of any release names the code as an add-on."""
        return code in self.add_on_rows

    def add_on(self, code: str, day: date) -> AddOnRule | None:
        """The code's add-on rule on `day` (as `add_on_rules`), None: not an add-on then."""
        if code not in self.add_on_rows:
            return None
        key = (code, day)
        if key not in self._add_on:
            release = self.release(CodeSetKind.NCCI_ADD_ON, day)
            self._add_on[key] = _add_on_rule(
                code,
                ((primary, kind) for primary, kind, start, end, at in self.add_on_rows[code]
                 if at == release and in_force(day, start, end)),
            )  # fmt: skip
        return self._add_on[key]


def edit_tables(
    codes: Collection[str], days: Collection[date], *, modifier_codes: Collection[str] = ()
) -> EditTables:
    """The procedure codes, modifiers and NCCI rows of `codes` for any of `days`: one query
    for the releases and one per table (the PTP rows only for two codes or more). PTP and MUE
    rows are read for the releases in force on the days; add-on rows of every release (a code
    an add-on edit names in any release counts as an add-on, not as another's primary)."""
    wanted = sorted(_codes(codes))
    tables = EditTables()
    if not wanted:
        return tables
    tables.procedures = {
        code: (start, end)
        for code, start, end in ProcedureCode.objects.filter(code__in=wanted).values_list(
            "code", "effective_date", "termination_date"
        )
    }
    for code, indicator in (
        MpfsRvu.objects.filter(code__in=wanted, modifier="")
        .order_by("release__effective_date", "release_id")
        .values_list("code", "pctc_indicator")
    ):
        if indicator:
            tables.pctc[code] = indicator  # the newest release's, read last
    mods = sorted(_codes(modifier_codes))
    if mods:
        tables.modifiers = {
            code: (active, bypass)
            for code, active, bypass in Modifier.objects.filter(code__in=mods).values_list(
                "code", "is_active", "ncci_bypass"
            )
        }
    for kind, effective, pk in (
        CodeSetRelease.objects.filter(kind__in=NCCI_KINDS)
        .order_by("effective_date", "id")
        .values_list("kind", "effective_date", "id")
    ):
        tables.releases.setdefault(kind, []).append((effective, pk))
    in_use = {tables.release(kind, day) for kind in NCCI_KINDS for day in set(days)}
    if len(wanted) > 1:
        for c1, c2, start, end, indicator, release in PtpEdit.objects.filter(
            release_id__in=in_use, column1__in=wanted, column2__in=wanted
        ).values_list(
            "column1", "column2", "effective_date", "deletion_date", "modifier_indicator",
            "release_id",
        ):  # fmt: skip
            tables.ptp_rows.setdefault((c1, c2), []).append((start, end, indicator, release))
    for code, units, indicator, release in MueEdit.objects.filter(
        release_id__in=in_use, code__in=wanted
    ).values_list("code", "max_units", "adjudication_indicator", "release_id"):
        tables.mue_rows.setdefault(code, []).append((units, indicator, release))
    for add_on, primary, kind, start, end, release in AddOnEdit.objects.filter(
        add_on_code__in=wanted
    ).values_list(
        "add_on_code", "primary_code", "edit_type", "effective_date", "deletion_date",
        "release_id",
    ):  # fmt: skip
        tables.add_on_rows.setdefault(add_on, []).append((primary, kind, start, end, release))
    return tables


# --- MPFS ------------------------------------------------------------------------------------------


def mpfs_rvus(codes: Collection[str], day: date) -> dict[tuple[str, str], MpfsRvu]:
    """The MPFS lines of `codes` in force on `day`, by (code, modifier '' / '26' / 'TC' / '53')."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    return {
        (r.code, r.modifier): r
        for r in _in_release(MpfsRvu, CodeSetKind.MPFS_RVU, day).filter(code__in=wanted)
    }


def mpfs_gpci(mac: str, locality: str, day: date) -> MpfsGpci | None:
    """The GPCIs of one Medicare locality in force on `day`."""
    return (
        _in_release(MpfsGpci, CodeSetKind.MPFS_GPCI, day)
        .filter(mac=mac.strip(), locality=locality.strip().zfill(2))
        .first()
    )


def mpfs_localities(day: date) -> list[MpfsGpci]:
    return list(_in_release(MpfsGpci, CodeSetKind.MPFS_GPCI, day).order_by("state", "name"))


# --- ICD-10-CM ---------------------------------------------------------------------------------


ICD10_RELEASE = "ICD-10-CM April 1, 2026 (simple-icd-10-cm 1.5.0)"


@dataclass(frozen=True)
class Icd10Code:
    code: str  # with the dot: E11.9
    description: str
    billable: bool  # a leaf of the classification: only these go on a claim


def _plain(description: str) -> bool:
    """A description of the plain form of a condition: unspecified, without complications."""
    text = description.lower()
    return any(words in text for words in PLAIN_WORDS)


def _secondary(code: str, description: str) -> bool:
    """A code that is rarely the one meant by a condition's name alone: the Z codes (a history,
    a screening, a reason for an encounter: "asthma" should not find "Family history of asthma"
    first), those of pregnancy (O) and of the newborn (P), which a query naming them still
    finds first, and manifestation codes, which are never listed first on a claim."""
    return code[0] in "ZOP" or "classified elsewhere" in description.lower()


class _Icd10Index:
    """Every ICD-10-CM category and subcategory, ordered billable first then by code, with a
    sorted list of codes (prefix search by bisection) and of description words (each word of
    a query matches the start of a word of the description).

    Words find the common billable code first: billable codes, those whose descriptions have
    each query word whole ("diabetes", not only "diabetic"), then the least specific codes
    (fewest characters: I10 before I15.0), the plain forms ("unspecified", "without
    complications") before the others, the shortest descriptions, and the code."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library reads its data with a deprecated API
            import simple_icd_10_cm as icd  # type: ignore[import-untyped]

        entries = [
            (code, icd.get_description(code), bool(icd.is_leaf(code)))
            for code in icd.get_all_codes(True)
            if not icd.is_chapter_or_block(code)
        ]
        entries.sort(key=lambda e: (not e[2], e[0]))
        self.items = [Icd10Code(code=c, description=d, billable=b) for c, d, b in entries]
        self.by_code = {c.replace(".", ""): i for i, (c, _d, _b) in enumerate(entries)}
        self.sorted_codes = sorted(self.by_code)  # without dots
        postings: dict[str, list[int]] = {}
        self.entry_words: list[tuple[str, ...]] = []
        for i, (_c, description, _b) in enumerate(entries):
            distinct = tuple(set(_WORD.findall(description.lower())))
            self.entry_words.append(distinct)
            for word in distinct:
                postings.setdefault(word, []).append(i)
        by_relevance = sorted(
            range(len(entries)),
            key=lambda i: (
                not entries[i][2], _secondary(entries[i][0], entries[i][1]),
                len(entries[i][0].replace(".", "")),
                not _plain(entries[i][1]), len(entries[i][1]), entries[i][0],
            ),
        )  # fmt: skip
        self.by_rank = by_relevance
        self.word_rank = [0] * len(entries)
        for rank, i in enumerate(by_relevance):
            self.word_rank[i] = rank
        self.words = sorted(postings)
        self.postings = postings
        self.short_counts: dict[str, int] = {}  # how many postings a one- or two-letter start has
        for word, ids in postings.items():
            for size in range(1, SHORT_WORD):
                if len(word) >= size:
                    start = word[:size]
                    self.short_counts[start] = self.short_counts.get(start, 0) + len(ids)
        self._prefix_cache: dict[str, frozenset[int]] = {}
        self._lock = threading.Lock()

    def lookup(self, code: str) -> Icd10Code | None:
        at = self.by_code.get(code)
        return None if at is None else self.items[at]

    def by_prefix(self, prefix: str, limit: int) -> list[Icd10Code]:
        start = bisect.bisect_left(self.sorted_codes, prefix)
        end = bisect.bisect_left(self.sorted_codes, prefix + "\uffff")
        ids = sorted(self.by_code[c] for c in self.sorted_codes[start:end])
        exact = self.by_code.get(prefix)
        if exact is not None:
            ids = [exact, *(i for i in ids if i != exact)]
        return [self.items[i] for i in ids[:limit]]

    def _with_word(self, prefix: str) -> frozenset[int]:
        found = self._prefix_cache.get(prefix)
        if found is None:
            start = bisect.bisect_left(self.words, prefix)
            end = bisect.bisect_left(self.words, prefix + "\uffff")
            found = frozenset().union(*(self.postings[w] for w in self.words[start:end]))
            with self._lock:
                if len(self._prefix_cache) > 5000:
                    self._prefix_cache.clear()
                self._prefix_cache[prefix] = found
        return found

    def _scan(self, ids: Iterable[int], words: list[str], limit: int) -> list[int]:
        """The first `limit` of `ids` that have a word starting with each of `words`."""
        found: list[int] = []
        for i in ids:
            own = self.entry_words[i]
            if all(any(w.startswith(prefix) for w in own) for prefix in words):
                found.append(i)
                if len(found) == limit:
                    break
        return found

    def by_words(self, words: list[str], limit: int) -> list[Icd10Code]:
        unspecified = " ".join(words) + ", unspecified"  # "Fever, unspecified": the plain code
        words = sorted(set(words), key=len, reverse=True)
        # A word of one or two letters that starts words in many descriptions is matched by
        # scanning the descriptions in rank order (its matches come early); a rarer one by set.
        short = [w for w in words if self.short_counts.get(w, 0) > COMMON_START]
        narrow = [w for w in words if w not in short]
        if not narrow:
            first = self._scan(self.by_rank[:SCAN_FIRST], short, limit)
            if len(first) == limit:
                return [self.items[i] for i in first]
            narrow, short = words, []
        sets = sorted((self._with_word(w) for w in narrow), key=len)
        matched = reduce(lambda a, b: a & b, sets)
        rank = self.word_rank.__getitem__
        if short:
            best = self._scan(sorted(matched, key=rank), short, limit)
        else:
            # Billable first; of each, the descriptions with every word whole first, then
            # those the words only start words of (the best few of each group suffice).
            whole = matched.intersection(*(self.postings.get(w, ()) for w in words))
            items = self.items
            # Of those, the condition's own unspecified code first ("Otitis media,
            # unspecified" before "Scarlet fever with otitis media").
            pool = limit * 5
            best = sorted(
                heapq.nsmallest(pool, whole, key=rank)
                + heapq.nsmallest(pool, matched - whole, key=rank),
                key=lambda i: (
                    not items[i].billable, i not in whole,
                    not items[i].description.lower().startswith(unspecified), rank(i),
                ),
            )[:limit]  # fmt: skip
        return [self.items[i] for i in best]


_WORD = re.compile(r"[a-z0-9]+")
SHORT_WORD = 3  # query words shorter than this may be matched by scanning, not by set
COMMON_START = 20_000  # postings above which a short word is scanned for
SCAN_FIRST = 3000
PLAIN_WORDS = ("unspecified", "without complication", "uncomplicated")
# Abbreviations a coder types for a condition, as the words of its ICD-10-CM description.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "adhd": ("attention", "deficit", "hyperactivity"),
    "afib": ("atrial", "fibrillation"),
    "bph": ("benign", "prostatic", "hyperplasia"),
    "cad": ("atherosclerotic", "heart", "disease"),
    "chf": ("heart", "failure"),
    "ckd": ("chronic", "kidney", "disease"),
    "copd": ("chronic", "obstructive", "pulmonary"),
    "cva": ("cerebral", "infarction"),
    "dm": ("diabetes", "mellitus"),
    "dm2": ("type", "2", "diabetes"),
    "t2dm": ("type", "2", "diabetes"),
    "dvt": ("thrombosis", "deep", "vein"),
    "flu": ("influenza",),
    "gad": ("generalized", "anxiety"),
    "gerd": ("gastro", "esophageal", "reflux"),
    "hld": ("hyperlipidemia",),
    "htn": ("hypertension",),
    "ibs": ("irritable", "bowel"),
    "mdd": ("major", "depressive"),
    "mi": ("myocardial", "infarction"),
    "oa": ("osteoarthritis",),
    "osa": ("obstructive", "sleep", "apnea"),
    "pe": ("pulmonary", "embolism"),
    "ra": ("rheumatoid", "arthritis"),
    "tia": ("transient", "ischemic"),
    "uri": ("upper", "respiratory", "infection"),
    "uti": ("urinary", "tract", "infection"),
}
_ICD_CODE_TEXT = re.compile(r"[A-Z][0-9A-Z]{1,6}")  # FY2026 brought QA0.0101
_index: _Icd10Index | None = None
_index_lock = threading.Lock()


def _icd10() -> _Icd10Index:
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                _index = _Icd10Index()
    return _index


def _icd_code(text: str) -> str:
    return text.strip().upper().replace(".", "")


def icd10_lookup(code: str) -> Icd10Code | None:
    """An ICD-10-CM code (with or without its dot, any case), or None when there is none."""
    normal = _icd_code(code)
    if not _ICD_CODE_TEXT.fullmatch(normal):
        return None
    return _icd10().lookup(normal)


ICD10_CHANGES_FILE = Path(__file__).resolve().parent / "data" / "icd10cm_changes.tsv"
ICD10_RELEASE_SINCE = date(2025, 10, 1)  # the fiscal year of the release carried began


@dataclass(frozen=True, slots=True)
class Icd10Change:
    """A code the release carried added, deleted or expanded (made a category) on
    ICD10_RELEASE_SINCE, as `scripts/icd10cm_changes.py` wrote it: for a visit before that day,
    the earlier release's code is the one in force."""

    kind: str  # added, deleted, expanded
    code: Icd10Code  # as the release that has it describes it (the earlier one unless added)


@lru_cache(maxsize=1)
def _icd10_changes() -> dict[str, Icd10Change]:
    changes: dict[str, Icd10Change] = {}
    with ICD10_CHANGES_FILE.open(encoding="utf-8") as rows:
        for row in rows:
            if row.startswith(("#", "change\t")) or not row.strip():
                continue
            kind, code, billable, text = row.rstrip("\n").split("\t", 3)
            changes[_icd_code(code)] = Icd10Change(kind, Icd10Code(code, text, billable == "yes"))
    return changes


def icd10_change(code: str) -> Icd10Change | None:
    """How the release carried changed `code` on ICD10_RELEASE_SINCE, or None."""
    return _icd10_changes().get(_icd_code(code))


def icd10_on(code: str, day: date) -> Icd10Code | None:
    """An ICD-10-CM code as it was in force on `day`: the release carried from
    ICD10_RELEASE_SINCE, the earlier release before it (a code added since is not one then, a
    code deleted or made a category since is the billable code it was). None when there is none
    on that day; `icd10_change` says why."""
    found = icd10_lookup(code)
    if day >= ICD10_RELEASE_SINCE:
        return found
    change = icd10_change(code)
    if change is None:
        return found
    return None if change.kind == "added" else change.code


def icd10_search(text: str, limit: int = 20) -> list[Icd10Code]:
    """Codes starting with `text` (dot or not; billable first, an exact match before all), or
    whose description has a word starting with each word of `text` (billable first, then the
    shortest descriptions)."""
    limit = max(1, min(limit, 200))
    normal = _icd_code(text)
    if not normal:
        return []
    index = _icd10()
    if _ICD_CODE_TEXT.fullmatch(normal) and any(ch.isdigit() for ch in normal):
        found = index.by_prefix(normal, limit)
        if found:
            return found
    words = [
        word for typed in _WORD.findall(text.lower())[:8]
        for word in ABBREVIATIONS.get(typed, (typed,))
    ]  # fmt: skip
    return index.by_words(words, limit) if words else []


def icd10_ready() -> bool:
    return _index is not None
