"""Writing X12: the ISA/IEA, GS/GE and ST/SE envelopes around segments a transaction gives.

    from medoffice.x12.writer import Group, Interchange, TransactionSet, write
    data = write([Interchange(sender_id="SUBMITTER", receiver_id="PAYER", control_number=17,
                              created=now, groups=[Group(...)])])

The transaction writers (837P, 270, 276) send one interchange of one group each:
`write_one_group` builds it from what their request says about the envelope.

A segment is a sequence of elements, its id first; an element is text, a sequence of
components (a composite, joined with the component separator) or None (empty). Trailing
empty elements and components are dropped. The writer counts the segments (SE01), the
transaction sets (GE01) and the groups (IEA01), and repeats the control numbers in the
trailers.

Control numbers are the caller's: the apps allocate them from the database, unique per
submitter; the writer only checks they fit (1..999999999). The output is ASCII: an element
that holds a delimiter, a control character or a character outside ASCII is refused with an
X12Error that names the segment and the element (`uppercase=True` also upper-cases letters,
for receivers that take only the basic character set).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from medoffice.x12.errors import X12Error
from medoffice.x12.tokenizer import Delimiters

Element = str | Sequence[str] | None
Segment = Sequence[Element]

MAX_CONTROL_NUMBER = 999_999_999
_ASCII_PRINTABLE = frozenset(chr(code) for code in range(32, 127))


@dataclass
class TransactionSet:
    """ST..SE: `segments` are the body between them (ST and SE are written here)."""

    set_id: str  # ST01: "837", "270", ...
    control_number: int  # ST02, written with at least 4 digits
    implementation: str  # ST03: e.g. "005010X222A1"
    segments: Sequence[Segment]


@dataclass
class Group:
    """GS..GE."""

    functional_id: str  # GS01: HC claims, HS eligibility inquiry, HR claim status request...
    sender_code: str  # GS02
    receiver_code: str  # GS03
    control_number: int  # GS06
    version: str  # GS08: e.g. "005010X222A1"
    transactions: Sequence[TransactionSet]
    created: dt.datetime | None = None  # GS04/GS05; the interchange's when None


@dataclass
class Interchange:
    """ISA..IEA."""

    sender_id: str  # ISA06, at most 15 characters (padded with spaces)
    receiver_id: str  # ISA08
    control_number: int  # ISA13 (1..999999999, written as 9 digits)
    created: dt.datetime  # ISA09/ISA10
    groups: Sequence[Group] = field(default_factory=list)
    sender_qualifier: str = "ZZ"  # ISA05
    receiver_qualifier: str = "ZZ"  # ISA07
    usage: str = "P"  # ISA15: P production, T test
    acknowledgment_requested: bool = False  # ISA14
    version: str = "00501"  # ISA12


def amount(value: Decimal | int, name: str, *, places: int = 2) -> str:
    """A decimal the X12 way: no trailing zeros, no exponent (100, 100.5, 100.25, -3).

    More than `places` decimals is refused (money has cents); a float is refused (money is
    never a float)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise X12Error(f"{name}: {value!r} is not a Decimal amount")
    number = Decimal(value)
    if not number.is_finite():
        raise X12Error(f"{name}: {value!r} is not a finite amount")
    text = f"{number.normalize():f}"
    point = text.find(".")
    if point >= 0 and len(text) - point - 1 > places:
        raise X12Error(f"{name}: {value} has more than {places} decimal places")
    if text in ("-0", "0"):
        return "0"
    return text


def date8(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _control(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise X12Error(f"{name} {value!r} is not a whole number")
    if not 1 <= value <= MAX_CONTROL_NUMBER:
        raise X12Error(f"{name} {value} is out of range (1 to {MAX_CONTROL_NUMBER})")
    return value


class Writer:
    """Serializes interchanges; one Writer may write many (its options do not change)."""

    def __init__(
        self,
        delimiters: Delimiters | None = None,
        *,
        line_break: bool = False,
        uppercase: bool = False,
    ) -> None:
        self.delimiters = delimiters or Delimiters()
        chars = self.delimiters.all()
        for char in chars:
            if len(char) != 1 or char.isalnum() or char == " " or char not in _ASCII_PRINTABLE:
                raise X12Error(
                    f"delimiter {char!r} must be one printable ASCII punctuation character"
                )
        if len(set(chars)) != 4:
            raise X12Error(f"the four delimiters must differ; got {chars!r}")
        self.line_break = line_break
        self.uppercase = uppercase
        self._forbidden = frozenset(chars)
        self._safe = _ASCII_PRINTABLE - self._forbidden
        self._terminator = self.delimiters.segment + ("\n" if line_break else "")

    # --- the public entry ---------------------------------------------------------------
    def write(self, interchanges: Iterable[Interchange]) -> bytes:
        out: list[str] = []
        for interchange in interchanges:
            self._interchange(interchange, out)
        if not out:
            raise X12Error("nothing to write: no interchange")
        return "".join(out).encode("ascii")

    # --- envelopes ----------------------------------------------------------------------
    def _interchange(self, interchange: Interchange, out: list[str]) -> None:
        control = _control(interchange.control_number, "ISA13 (interchange control number)")
        first = len(out) + 1
        out.append(self._isa(interchange, control, first))
        if not interchange.groups:
            raise X12Error(
                f"interchange {control} has no functional group",
                segment_number=first,
                segment_id="ISA",
            )
        for group in interchange.groups:
            self._group(group, interchange.created, out)
        self._segment(("IEA", str(len(interchange.groups)), f"{control:09d}"), out)

    def _isa(self, interchange: Interchange, control: int, number: int) -> str:
        d = self.delimiters

        def fixed(value: str, width: int, name: str) -> str:
            value = self._text(value, "ISA", name, number)
            if not value.strip() and width > 2 and name in ("ISA06", "ISA08"):
                raise X12Error(f"{name} is required", segment_number=number, segment_id="ISA")
            if len(value) > width:
                raise X12Error(
                    f"{name} {value!r} is longer than {width} characters",
                    segment_number=number,
                    segment_id="ISA",
                )
            return value.ljust(width)

        if interchange.usage not in ("P", "T"):
            raise X12Error(
                f"ISA15 (usage) {interchange.usage!r} is not P or T",
                segment_number=number,
                segment_id="ISA",
            )
        created = interchange.created
        elements = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            fixed(interchange.sender_qualifier, 2, "ISA05"),
            fixed(interchange.sender_id, 15, "ISA06"),
            fixed(interchange.receiver_qualifier, 2, "ISA07"),
            fixed(interchange.receiver_id, 15, "ISA08"),
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            d.repetition,
            fixed(interchange.version, 5, "ISA12"),
            f"{control:09d}",
            "1" if interchange.acknowledgment_requested else "0",
            interchange.usage,
            d.component,
        ]
        return d.element.join(elements) + self._terminator

    def _group(self, group: Group, created: dt.datetime, out: list[str]) -> None:
        control = _control(group.control_number, "GS06 (group control number)")
        when = group.created or created
        first = len(out) + 1
        self._segment(
            (
                "GS",
                group.functional_id,
                group.sender_code,
                group.receiver_code,
                when.strftime("%Y%m%d"),
                when.strftime("%H%M"),
                str(control),
                "X",
                group.version,
            ),
            out,
        )
        if not group.transactions:
            raise X12Error(
                f"functional group {control} has no transaction set",
                segment_number=first,
                segment_id="GS",
            )
        for transaction in group.transactions:
            self._transaction(transaction, out)
        self._segment(("GE", str(len(group.transactions)), str(control)), out)

    def _transaction(self, transaction: TransactionSet, out: list[str]) -> None:
        control = (
            f"{_control(transaction.control_number, 'ST02 (transaction set control number)'):04d}"
        )
        start = len(out)
        self._segment(("ST", transaction.set_id, control, transaction.implementation), out)
        for segment in transaction.segments:
            self._segment(segment, out)
        count = len(out) - start + 1
        self._segment(("SE", str(count), control), out)

    # --- one segment --------------------------------------------------------------------
    def _segment(self, segment: Segment, out: list[str]) -> None:
        """The fast path: text elements and composites of text, every character checked at
        once; anything else (or a character refused) goes the careful way, which names it."""
        parts: list[str] = []
        checked: list[str] = []
        component = self.delimiters.component
        for value in segment:
            if value is None:
                parts.append("")
            elif type(value) is str:
                parts.append(value)
                checked.append(value)
            elif type(value) is tuple or type(value) is list:
                pieces = [piece or "" for piece in value]
                if not all(type(piece) is str for piece in pieces):
                    return self._segment_checked(segment, out)
                while pieces and not pieces[-1]:
                    pieces.pop()
                checked.extend(pieces)
                parts.append(component.join(pieces))
            else:
                return self._segment_checked(segment, out)
        if (
            not parts
            or not parts[0]
            or type(segment[0]) is not str
            or not self._safe.issuperset("".join(checked))
        ):
            return self._segment_checked(segment, out)
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        if len(parts) == 1:
            return self._segment_checked(segment, out)
        line = self.delimiters.element.join(parts)
        out.append((line.upper() if self.uppercase else line) + self._terminator)

    def _segment_checked(self, segment: Segment, out: list[str]) -> None:
        number = len(out) + 1
        if not segment or not isinstance(segment[0], str) or not segment[0]:
            raise X12Error("a segment needs its id first", segment_number=number)
        sid = segment[0]
        parts = [self._text(sid, sid, "the segment id", number)]
        component = self.delimiters.component
        for index in range(1, len(segment)):
            value = segment[index]
            if value is None:
                parts.append("")
            elif isinstance(value, str) or not isinstance(value, list | tuple):
                parts.append(self._text(value, sid, f"{sid}{index:02d}", number))
            else:
                pieces = [
                    self._text(piece or "", sid, f"{sid}{index:02d}-{position}", number)
                    for position, piece in enumerate(value, start=1)
                ]
                while pieces and not pieces[-1]:
                    pieces.pop()
                parts.append(component.join(pieces))
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        if len(parts) == 1:
            raise X12Error("the segment has no elements", segment_number=number, segment_id=sid)
        out.append(self.delimiters.element.join(parts) + self._terminator)

    def _text(self, value: object, sid: str, name: str, number: int) -> str:
        if not isinstance(value, str):
            raise X12Error(
                f"{name} {value!r} is not text (format numbers and dates before writing)",
                segment_number=number,
                segment_id=sid,
            )
        if self.uppercase:
            value = value.upper()
        if _ASCII_PRINTABLE.issuperset(value) and self._forbidden.isdisjoint(value):
            return value
        for char in value:
            if char in self._forbidden:
                which = {
                    self.delimiters.element: "element separator",
                    self.delimiters.component: "component separator",
                    self.delimiters.repetition: "repetition separator",
                    self.delimiters.segment: "segment terminator",
                }[char]
                raise X12Error(
                    f"{name} {value!r} contains the {which} {char!r}",
                    segment_number=number,
                    segment_id=sid,
                )
            if char not in _ASCII_PRINTABLE:
                raise X12Error(
                    f"{name} {value!r} contains {char!r}, which is not a printable ASCII "
                    "character (X12 text is ASCII: spell it without accents or control "
                    "characters)",
                    segment_number=number,
                    segment_id=sid,
                )
        raise AssertionError("unreachable")  # pragma: no cover


class Addressed(Protocol):
    """What a request to write (an 837P batch, a 270 inquiry, a 276 request) says about its
    envelope."""

    created: dt.datetime
    interchange_control_number: int
    group_control_number: int
    sender_id: str  # ISA06, and GS02 unless another sender code is given
    receiver_id: str  # ISA08, and GS03 unless another receiver code is given
    sender_qualifier: str
    receiver_qualifier: str
    usage: str


def write_one_group(
    request: Addressed,
    *,
    functional_id: str,
    set_id: str,
    implementation: str,
    transactions: Sequence[tuple[int, Sequence[Segment]]],
    sender_code: str = "",
    receiver_code: str = "",
    acknowledgment_requested: bool = False,
    delimiters: Delimiters | None = None,
    line_break: bool = False,
    uppercase: bool = False,
) -> bytes:
    """One interchange of one functional group, as the transaction writers send them: a
    transaction set `set_id` for each (control number, segments) of `transactions`, the
    group's version the implementation, its codes the interchange's sender and receiver ids
    unless `sender_code`/`receiver_code` are given."""
    interchange = Interchange(
        sender_id=request.sender_id,
        receiver_id=request.receiver_id,
        sender_qualifier=request.sender_qualifier,
        receiver_qualifier=request.receiver_qualifier,
        control_number=request.interchange_control_number,
        created=request.created,
        usage=request.usage,
        acknowledgment_requested=acknowledgment_requested,
        groups=[
            Group(
                functional_id=functional_id,
                sender_code=sender_code or request.sender_id,
                receiver_code=receiver_code or request.receiver_id,
                control_number=request.group_control_number,
                version=implementation,
                transactions=[
                    TransactionSet(set_id, control, implementation, segments)
                    for control, segments in transactions
                ],
            )
        ],
    )
    return write([interchange], delimiters=delimiters, line_break=line_break, uppercase=uppercase)


def write(
    interchanges: Iterable[Interchange],
    *,
    delimiters: Delimiters | None = None,
    line_break: bool = False,
    uppercase: bool = False,
) -> bytes:
    """The interchanges as X12 bytes (ASCII)."""
    return Writer(delimiters, line_break=line_break, uppercase=uppercase).write(interchanges)
