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
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from functools import reduce

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
_EARLIEST_BEFORE_FIRST = {CodeSetKind.NCCI_PTP, CodeSetKind.NCCI_MUE, CodeSetKind.NCCI_ADD_ON}


def _release_in_force_id(kind: str, day: date) -> Subquery | Coalesce:
    """The id of the release of `kind` in force on `day`, as an expression (no query of its own):
    the newest effective on or before the day (for the NCCI tables, else the earliest)."""
    releases = CodeSetRelease.objects.filter(kind=kind)
    newest = releases.filter(effective_date__lte=day).order_by("-effective_date", "-id")
    if kind not in _EARLIEST_BEFORE_FIRST:
        return Subquery(newest.values("id")[:1])
    earliest = releases.order_by("effective_date", "id")
    return Coalesce(Subquery(newest.values("id")[:1]), Subquery(earliest.values("id")[:1]))


def release_in_force(kind: str, day: date) -> CodeSetRelease | None:
    """The release of a table that the reads for `day` use (see the module's docstring)."""
    return CodeSetRelease.objects.filter(pk=_release_in_force_id(kind, day)).first()


def _in_release(model: type[models.Model], kind: str, day: date) -> QuerySet:
    return model._default_manager.filter(release_id=_release_in_force_id(kind, day))


def _codes(codes: Iterable[str]) -> set[str]:
    return {c.strip().upper() for c in codes if c and c.strip()}


def _in_force(day: date) -> Q:
    return (Q(effective_date__isnull=True) | Q(effective_date__lte=day)) & (
        Q(deletion_date__isnull=True) | Q(deletion_date__gte=day)
    )


# --- Procedure codes, modifiers, places of service ----------------------------------------------


def _active_on(day: date) -> Q:
    return (Q(effective_date__isnull=True) | Q(effective_date__lte=day)) & (
        Q(termination_date__isnull=True) | Q(termination_date__gte=day)
    )


def procedure_on(code: str, day: date) -> ProcedureCode | None:
    """The CPT or HCPCS code if it may be billed on `day` (not yet effective or terminated: None)."""
    return ProcedureCode.objects.filter(_active_on(day), code=code.strip().upper()).first()


def procedures_on(codes: Collection[str], day: date) -> dict[str, ProcedureCode]:
    """The codes among `codes` that may be billed on `day`, by code (one query)."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    return {p.code: p for p in ProcedureCode.objects.filter(_active_on(day), code__in=wanted)}


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
        _in_force(day), column1__in=wanted, column2__in=wanted
    )
    best: dict[tuple[str, str], PtpEdit] = {}
    for edit in rows:
        if edit.column1 == edit.column2:
            continue
        key = (edit.column1, edit.column2)
        held = best.get(key)
        if held is None or _lasts_longer(edit, held):
            best[key] = edit
    return sorted(best.values(), key=lambda e: (e.column1, e.column2))


def _lasts_longer(edit: PtpEdit, other: PtpEdit) -> bool:
    if other.deletion_date is None:
        return False
    return edit.deletion_date is None or edit.deletion_date > other.deletion_date


def mue_limits(codes: Collection[str], day: date) -> dict[str, int]:
    """The most units per day of each code among `codes` that has an MUE."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    limits: dict[str, int] = {}
    for code, units in (
        _in_release(MueEdit, CodeSetKind.NCCI_MUE, day)
        .filter(code__in=wanted)
        .values_list("code", "max_units")
    ):
        limits[code] = min(units, limits.get(code, units))
    return limits


@dataclass(frozen=True)
class AddOnRule:
    """An add-on code's edit: type 1 lists every primary; type 2 has none listed (any primary);
    type 3 lists some, and the payer may accept others."""

    code: str
    edit_types: frozenset[str]
    primaries: frozenset[str] | None  # None: any primary (CMS writes 'CCCCC')


def add_on_rules(codes: Collection[str], day: date) -> dict[str, AddOnRule]:
    """The add-on edits of the add-on codes among `codes` (one query)."""
    wanted = _codes(codes)
    if not wanted:
        return {}
    primaries: dict[str, set[str]] = {}
    types: dict[str, set[str]] = {}
    any_primary: set[str] = set()
    for code, primary, kind in (
        _in_release(AddOnEdit, CodeSetKind.NCCI_ADD_ON, day)
        .filter(_in_force(day), add_on_code__in=wanted)
        .values_list("add_on_code", "primary_code", "edit_type")
    ):
        types.setdefault(code, set()).add(kind)
        if primary == ANY_PRIMARY:
            any_primary.add(code)
        else:
            primaries.setdefault(code, set()).add(primary)
    return {
        code: AddOnRule(
            code=code,
            edit_types=frozenset(kinds),
            primaries=None if code in any_primary else frozenset(primaries.get(code, ())),
        )
        for code, kinds in types.items()
    }


def add_on_primaries(codes: Collection[str], day: date) -> dict[str, set[str] | None]:
    """For each add-on code among `codes`: the primary codes it may be billed with, or None
    when any primary will do. (Type 3 lists are not exhaustive: see `add_on_rules`.)"""
    return {
        code: None if rule.primaries is None else set(rule.primaries)
        for code, rule in add_on_rules(codes, day).items()
    }


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


class _Icd10Index:
    """Every ICD-10-CM category and subcategory, ordered billable first then by code, with a
    sorted list of codes (prefix search by bisection) and of description words (each word of
    a query matches the start of a word of the description; billable codes first, then the
    shortest descriptions: the plainest match before its refinements)."""

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
            key=lambda i: (not entries[i][2], len(entries[i][1]), entries[i][0]),
        )
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
            best = heapq.nsmallest(limit, matched, key=rank)
        return [self.items[i] for i in best]


_WORD = re.compile(r"[a-z0-9]+")
SHORT_WORD = 3  # query words shorter than this may be matched by scanning, not by set
COMMON_START = 20_000  # postings above which a short word is scanned for
SCAN_FIRST = 3000
_ICD_CODE_TEXT = re.compile(r"[A-Z][0-9][0-9A-Z]{0,5}")
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
    words = _WORD.findall(text.lower())[:8]
    return index.by_words(words, limit) if words else []


def icd10_ready() -> bool:
    return _index is not None
