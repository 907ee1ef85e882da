"""Interchanges, functional groups and transaction sets: the envelopes and their checks.

ISA/IEA, GS/GE and ST/SE must nest; every segment belongs to a transaction set (TA1 may
stand between ISA and GS). Header elements are checked (dates, times, control numbers).

Trailer counts and control numbers (SE01/SE02, GE01/GE02, IEA01/IEA02) that do not match:
for a transaction set the library maps, whose structure its builder validates, a mismatch is
recorded as a warning (senders get these wrong often: a third of the public sample files
do); for a transaction set it does not map, the trailers are the only check on the content,
so a mismatch is an error, and so are trailing separators and blank elements there.
`strict=True` turns every warning into an error.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import BinaryIO

from medoffice.x12 import values
from medoffice.x12.errors import BadValue, X12Error, X12Warning
from medoffice.x12.tokenizer import Delimiters, Tokenizer
from medoffice.x12.transactions import build_transaction, check_unmapped, kind_of

ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})
_DIGITS = frozenset("0123456789")


@dataclass
class Transaction:
    """One transaction set (ST..SE); `data` holds its loops when the library maps the type."""

    set_id: str
    control_number: str
    implementation: str  # ST03, or the group's GS08 when ST03 is absent
    kind: str  # "837P", "835", "270", "271", "276", "277", "277CA", "999" or "unknown"
    first_segment: int
    segment_count: int  # ST..SE inclusive, as counted
    data: object | None = None
    segments: list[list[str]] | None = None  # the raw segments of an unmapped type
    warnings: list[X12Warning] = field(default_factory=list)


@dataclass
class FunctionalGroup:
    functional_id: str
    sender_id: str
    receiver_id: str
    date: dt.date
    time: dt.time
    control_number: str
    version: str
    first_segment: int
    transactions: list[Transaction] = field(default_factory=list)


@dataclass
class Interchange:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: dt.date
    time: dt.time
    version: str
    control_number: str
    acknowledgment_requested: bool
    usage: str  # P production, T test, I information
    delimiters: Delimiters
    first_segment: int
    segment_count: int = 0
    groups: list[FunctionalGroup] = field(default_factory=list)
    acknowledgments: list[list[str]] = field(default_factory=list)  # TA1 segments
    warnings: list[X12Warning] = field(default_factory=list)

    def transactions(self) -> Iterator[Transaction]:
        for group in self.groups:
            yield from group.transactions


@dataclass
class Document:
    interchanges: list[Interchange]
    segment_count: int

    @property
    def warnings(self) -> list[X12Warning]:
        found: list[X12Warning] = []
        for interchange in self.interchanges:
            found.extend(interchange.warnings)
            for transaction in interchange.transactions():
                found.extend(transaction.warnings)
        return sorted(found, key=lambda w: w.segment_number)

    def transactions(self) -> Iterator[Transaction]:
        for interchange in self.interchanges:
            yield from interchange.transactions()


def _element(fields: list[str], index: int) -> str:
    return fields[index] if index < len(fields) else ""


class _Reader:
    """Walks the batches of segments the tokenizer produces; `number()` is the file number
    of the segment last taken."""

    def __init__(self, stream: BinaryIO, strict: bool, chunk_size: int) -> None:
        self.tokenizer = Tokenizer(stream, chunk_size)
        self.batches = self.tokenizer.batches()
        self.batch: list[list[str]] = []
        self.marks: list[int] = []  # where the envelope segments are in the batch
        self.mark = 0  # the first of them not passed yet
        self.index = 0  # the next segment of the batch
        self.first = 1  # the number of the batch's first segment
        self.strict = strict

    def fill(self) -> bool:
        """The next batch of segments; False at the end of the file."""
        try:
            batch = next(self.batches)
        except StopIteration:
            return False
        self.batch, self.marks, self.mark, self.index = batch, self.tokenizer.marks, 0, 0
        self.first = self.tokenizer.count - len(batch) + 1
        return True

    def number(self) -> int:
        return self.first + self.index - 1

    def error(self, message: str, sid: str, number: int | None = None) -> X12Error:
        return X12Error(
            message,
            segment_number=self.number() if number is None else number,
            segment_id=sid,
        )

    def ended(self, inside: str) -> X12Error:
        return X12Error(
            f"the file ends inside {inside}",
            segment_number=self.tokenizer.count,
            segment_id=self.tokenizer.last_id,
        )

    def next(self, inside: str) -> list[str]:
        if self.index >= len(self.batch) and not self.fill():
            raise self.ended(inside)
        fields = self.batch[self.index]
        self.index += 1
        return fields

    def mismatch(
        self, problems: list[X12Warning], warnings: list[X12Warning], lenient: bool
    ) -> None:
        for problem in problems:
            if self.strict or not lenient:
                raise X12Error(
                    problem.message,
                    segment_number=problem.segment_number,
                    segment_id=problem.segment_id,
                )
            warnings.append(problem)

    # --- ISA .. IEA ---------------------------------------------------------------------
    def interchanges(self) -> Iterator[Interchange]:
        while self.index < len(self.batch) or self.fill():
            isa = self.batch[self.index]
            self.index += 1
            with _collector_paused():
                interchange = self.interchange(isa, self.number())
            yield interchange

    def interchange(self, isa: list[str], number: int) -> Interchange:
        try:
            date = values.date6(isa[9], "ISA09 (interchange date)")
            time = values.time_of_day(isa[10], "ISA10 (interchange time)")
            if not _DIGITS.issuperset(isa[12]):
                raise BadValue(f"ISA12 (version) {isa[12]!r} is not a version number")
            if not _DIGITS.issuperset(isa[13]):
                raise BadValue(f"ISA13 (interchange control number) {isa[13]!r} is not 9 digits")
            if isa[14] not in ("0", "1"):
                raise BadValue(f"ISA14 (acknowledgment requested) {isa[14]!r} is not 0 or 1")
            if isa[15] not in ("P", "T", "I"):
                raise BadValue(f"ISA15 (usage) {isa[15]!r} is not P, T or I")
        except BadValue as exc:
            raise self.error(str(exc), "ISA", number) from None
        interchange = Interchange(
            sender_qualifier=isa[5],
            sender_id=isa[6].rstrip(),
            receiver_qualifier=isa[7],
            receiver_id=isa[8].rstrip(),
            date=date,
            time=time,
            version=isa[12],
            control_number=isa[13],
            acknowledgment_requested=isa[14] == "1",
            usage=isa[15],
            delimiters=self.tokenizer.delimiters,
            first_segment=number,
        )
        delimiters = interchange.delimiters
        if delimiters.repetition and delimiters.repetition == delimiters.component:
            shared = X12Warning(
                number,
                "ISA",
                f"ISA11 (repetition separator) and ISA16 (component separator) are both "
                f"{delimiters.component!r}: it is read as the repetition separator in "
                "repeating elements and as the component separator in composites",
            )
            self.mismatch([shared], interchange.warnings, lenient=True)
        all_mapped = True
        while True:
            fields = self.next(f"interchange {isa[13]} (IEA missing)")
            sid = fields[0]
            if sid == "GS":
                group = self.group(fields, interchange)
                interchange.groups.append(group)
                all_mapped = all_mapped and all(t.kind != "unknown" for t in group.transactions)
            elif sid == "TA1":
                interchange.acknowledgments.append(fields)
            elif sid == "IEA":
                break
            else:
                raise self.error(
                    f"a {sid} segment outside a functional group (expected GS, TA1 or IEA)", sid
                )
        here = self.number()
        interchange.segment_count = here - number + 1
        count, control = _element(fields, 1), _element(fields, 2)
        if not count or not _DIGITS.issuperset(count):
            raise self.error(f"IEA01 (number of groups) {count!r} is not a number", "IEA")
        problems = []
        if int(count) != len(interchange.groups):
            problems.append(
                X12Warning(
                    here,
                    "IEA",
                    f"IEA01 says {count} functional group(s); the interchange holds "
                    f"{len(interchange.groups)}",
                )
            )
        if control != isa[13]:
            problems.append(
                X12Warning(
                    here,
                    "IEA",
                    f"IEA02 control number {control!r} does not match ISA13 {isa[13]!r}",
                )
            )
        self.mismatch(problems, interchange.warnings, lenient=all_mapped)
        return interchange

    # --- GS .. GE -----------------------------------------------------------------------
    def group(self, gs: list[str], interchange: Interchange) -> FunctionalGroup:
        number = self.number()
        try:
            code = _element(gs, 1)
            if len(code) != 2 or not code.isalpha() or not code.isupper():
                raise BadValue(
                    f"GS01 (functional identifier code) {code!r} is not a two-letter code"
                )
            if not _element(gs, 2) or not _element(gs, 3):
                raise BadValue("GS02 and GS03 (sender and receiver codes) are required")
            date = values.date8(_element(gs, 4), "GS04 (group date)")
            time = values.time_of_day(_element(gs, 5), "GS05 (group time)")
            control = _element(gs, 6)
            if not control or len(control) > 9 or not _DIGITS.issuperset(control):
                raise BadValue(f"GS06 (group control number) {control!r} is not 1-9 digits")
            if _element(gs, 7) not in ("X", "T"):
                raise BadValue(f"GS07 (agency) {_element(gs, 7)!r} is not X")
            if not _element(gs, 8):
                raise BadValue("GS08 (version) is required")
        except BadValue as exc:
            raise self.error(str(exc), "GS", number) from None
        group = FunctionalGroup(
            functional_id=code,
            sender_id=gs[2].strip(),
            receiver_id=gs[3].strip(),
            date=date,
            time=time,
            control_number=control,
            version=gs[8],
            first_segment=number,
        )
        warnings = interchange.warnings
        while True:
            fields = self.next(f"functional group {control} (GE missing)")
            sid = fields[0]
            if sid == "ST":
                group.transactions.append(self.transaction(fields, group))
            elif sid == "GE":
                break
            else:
                raise self.error(
                    f"a {sid} segment outside a transaction set (expected ST or GE)", sid
                )
        here = self.number()
        count, trailer_control = _element(fields, 1), _element(fields, 2)
        if not count or not _DIGITS.issuperset(count):
            raise self.error(f"GE01 (number of transaction sets) {count!r} is not a number", "GE")
        problems = []
        if int(count) != len(group.transactions):
            problems.append(
                X12Warning(
                    here,
                    "GE",
                    f"GE01 says {count} transaction set(s); the group holds "
                    f"{len(group.transactions)}",
                )
            )
        if trailer_control != control:
            problems.append(
                X12Warning(
                    here,
                    "GE",
                    f"GE02 control number {trailer_control!r} does not match GS06 {control!r}",
                )
            )
        mapped = all(t.kind != "unknown" for t in group.transactions)
        self.mismatch(problems, warnings, lenient=mapped)
        return group

    # --- ST .. SE -----------------------------------------------------------------------
    def transaction(self, st: list[str], group: FunctionalGroup) -> Transaction:
        number = self.number()
        set_id, control = _element(st, 1), _element(st, 2)
        if len(set_id) != 3 or not _DIGITS.issuperset(set_id):
            raise self.error(f"ST01 (transaction set id) {set_id!r} is not 3 digits", "ST")
        if not 4 <= len(control) <= 9 or " " in control:
            raise self.error(
                f"ST02 (transaction set control number) {control!r} is not 4-9 characters",
                "ST",
            )
        implementation = _element(st, 3) or group.version
        kind = kind_of(set_id, implementation)
        fields, body = self.body(control)
        here = self.number()
        transaction = Transaction(
            set_id=set_id,
            control_number=control,
            implementation=implementation,
            kind=kind or "unknown",
            first_segment=number,
            segment_count=here - number + 1,
        )
        count, trailer_control = _element(fields, 1), _element(fields, 2)
        if not count or not _DIGITS.issuperset(count):
            raise self.error(f"SE01 (number of segments) {count!r} is not a number", "SE")
        problems = []
        if int(count) != transaction.segment_count:
            problems.append(
                X12Warning(
                    here,
                    "SE",
                    f"SE01 says {count} segments; transaction set {control} has "
                    f"{transaction.segment_count} (ST to SE)",
                )
            )
        if trailer_control != control:
            problems.append(
                X12Warning(
                    here,
                    "SE",
                    f"SE02 control number {trailer_control!r} does not match ST02 {control!r}",
                )
            )
        self.mismatch(problems, transaction.warnings, lenient=kind is not None)
        if kind is None:
            _check_syntax(body, number + 1, self.tokenizer.delimiters)
            check_unmapped(
                set_id,
                implementation,
                body,
                number + 1,
                self.tokenizer.delimiters,
                transaction.warnings,
            )
            transaction.segments = body
        else:
            transaction.data = build_transaction(
                kind, body, number + 1, self.tokenizer.delimiters, transaction.warnings
            )
        if self.strict and transaction.warnings:
            first = transaction.warnings[0]
            raise X12Error(
                first.message, segment_number=first.segment_number, segment_id=first.segment_id
            )
        return transaction

    def body(self, control: str) -> tuple[list[str], list[list[str]]]:
        """The segments after the ST up to its SE, taken at once, and the SE."""
        pieces: list[list[list[str]]] = []
        while True:
            batch, index, marks, mark = self.batch, self.index, self.marks, self.mark
            while mark < len(marks) and marks[mark] < index:
                mark += 1
            self.mark = mark
            if mark < len(marks):
                stop = marks[mark]
                pieces.append(batch[index:stop])
                self.index = stop + 1
                break
            pieces.append(batch[index:])
            self.index = len(batch)
            if not self.fill():
                raise self.error(
                    f"the file ends inside transaction set {control} (SE missing)",
                    self.tokenizer.last_id,
                    self.tokenizer.count,
                )
        fields = batch[stop]
        sid = fields[0]
        if sid != "SE":
            raise self.error(
                f"a {sid} segment inside transaction set {control} (SE missing before it)", sid
            )
        return fields, pieces[0] if len(pieces) == 1 else list(chain.from_iterable(pieces))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while an interchange is read.

    Reading builds hundreds of thousands of small lists and objects that all stay alive, and
    none of them in a cycle: the collector would walk them again and again (half the reading
    time) to free nothing. Reference counting still frees what is dropped.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def _check_syntax(body: list[list[str]], first: int, delimiters: Delimiters) -> None:
    """The syntax rules held strictly where no map validates the content."""
    previous = ""
    component = delimiters.component
    for offset, fields in enumerate(body):
        sid = fields[0]
        number = first + offset
        if len(fields) > 1 and fields[-1] == "":
            raise X12Error(
                "the segment ends with an element separator (trailing empty elements are not "
                "allowed)",
                segment_number=number,
                segment_id=sid,
            )
        for index in range(1, len(fields)):
            value = fields[index]
            if value and (
                value.isspace() or any(part.isspace() for part in value.split(component))
            ):
                raise X12Error(
                    f"{sid}{index:02d} holds only spaces (an element is either empty or has a "
                    "value)",
                    segment_number=number,
                    segment_id=sid,
                )
        if sid == "HL" and previous == "HL":
            raise X12Error(
                "the hierarchical level before this HL has no segments of its own",
                segment_number=number,
                segment_id=sid,
            )
        previous = sid


def iter_interchanges(
    stream: BinaryIO, *, strict: bool = False, chunk_size: int = 1 << 20
) -> Iterator[Interchange]:
    """Interchanges one by one, read from a binary stream in chunks."""
    return _Reader(stream, strict, chunk_size).interchanges()
