"""What the transaction builders share: a cursor over a transaction's segments, element
access, and the parties (NM1 with its address, references and contacts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from medoffice.x12 import values
from medoffice.x12.errors import BadValue, X12Error, X12Warning
from medoffice.x12.tokenizer import Delimiters


def el(fields: list[str], index: int) -> str:
    """Element `index` (1-based, as in NM103), or "" when the segment is shorter."""
    return fields[index] if index < len(fields) else ""


def required(fields: list[str], index: int, name: str) -> str:
    value = fields[index] if index < len(fields) else ""
    if not value:
        raise BadValue(f"{fields[0]}{index:02d} ({name}) is required")
    return value


class Cursor:
    """Walks the segments between ST and SE. `first` is the file number of the first."""

    __slots__ = ("body", "delimiters", "first", "pos", "warnings")

    def __init__(
        self,
        body: list[list[str]],
        first: int,
        delimiters: Delimiters,
        warnings: list[X12Warning],
    ) -> None:
        self.body = body
        self.first = first
        self.pos = 0
        self.delimiters = delimiters
        self.warnings = warnings

    # --- looking and taking ---
    def peek(self) -> str:
        return self.body[self.pos][0] if self.pos < len(self.body) else "SE"

    def peek_element(self, index: int) -> str:
        if self.pos >= len(self.body):
            return ""
        return el(self.body[self.pos], index)

    def at(self, sid: str, index: int = 0, codes: frozenset[str] | set[str] | None = None) -> bool:
        if self.pos >= len(self.body) or self.body[self.pos][0] != sid:
            return False
        return codes is None or el(self.body[self.pos], index) in codes

    def take(self) -> list[str]:
        fields = self.body[self.pos]
        self.pos += 1
        return fields

    def number(self) -> int:
        """The file number of the segment last taken."""
        return self.first + self.pos - 1

    # --- errors and warnings ---
    def here(self, message: str) -> X12Error:
        """An error at the segment not yet taken (what is missing or out of place)."""
        sid = self.peek()
        return X12Error(message, segment_number=self.first + self.pos, segment_id=sid)

    def last(self, message: str) -> X12Error:
        """An error at the segment last taken."""
        index = max(self.pos - 1, 0)
        sid = self.body[index][0] if self.body else "SE"
        return X12Error(message, segment_number=self.first + index, segment_id=sid)

    def warn(self, message: str) -> None:
        index = max(self.pos - 1, 0)
        sid = self.body[index][0] if self.body else "SE"
        self.warnings.append(X12Warning(self.first + index, sid, message))

    def warn_here(self, message: str) -> None:
        self.warnings.append(X12Warning(self.first + self.pos, self.peek(), message))

    def expect(
        self, sid: str, what: str, index: int = 0, codes: frozenset[str] | None = None
    ) -> list[str]:
        if not self.at(sid, index, codes):
            wanted = f"{sid}*{'/'.join(sorted(codes))}" if codes else sid
            raise self.here(f"{what} is required here: expected {wanted}, found {self._found()}")
        return self.take()

    def optional(
        self, sid: str, index: int = 0, codes: frozenset[str] | None = None
    ) -> list[str] | None:
        return self.take() if self.at(sid, index, codes) else None

    def repeat(
        self, sid: str, limit: int, what: str, index: int = 0, codes: frozenset[str] | None = None
    ) -> list[list[str]]:
        taken: list[list[str]] = []
        while self.at(sid, index, codes):
            if len(taken) == limit:
                raise self.here(f"{what} repeats more than {limit} time(s)")
            taken.append(self.take())
        return taken

    def _found(self) -> str:
        if self.pos >= len(self.body):
            return "the end of the transaction set (SE)"
        fields = self.body[self.pos]
        return f"{fields[0]}*{el(fields, 1)}" if len(fields) > 1 else fields[0]

    def ordered(
        self, ranks: Mapping[str, int], where: str, *, strict: bool = True
    ) -> Iterator[list[str]]:
        """Take the segments of a loop whose segments come in a fixed order, one by one.

        `ranks` gives each segment id its place (equal ranks may come in any order); the walk
        stops at the first segment not in it. A segment whose rank is lower than the one
        before it is out of order "in `where`": an error, or with `strict=False` a warning.
        While a segment is handled it is the one last taken (for `last` and `warn`).
        """
        body, pos, end = self.body, self.pos, len(self.body)
        rank = 0
        get = ranks.get
        while pos < end:
            fields = body[pos]
            here = get(fields[0])
            if here is None:
                break
            pos += 1
            self.pos = pos
            if here < rank:
                if strict:
                    raise self.last(f"{fields[0]} is out of order in {where}")
                self.warn(f"{fields[0]} is out of order in {where}")
            rank = here
            yield fields
            pos = self.pos

    def unexpected(self, where: str) -> X12Error:
        return self.here(f"{self._found()} is not expected here ({where})")

    def components(self, value: str) -> list[str]:
        return value.split(self.delimiters.component)

    def composite(self, value: str, name: str) -> list[str]:
        """A composite's components; a sender that used another usual component separator
        than its ISA16 declares is read with a warning."""
        component = self.delimiters.component
        if component in value or not value:
            return value.split(component)
        for other in _USUAL_COMPONENT_SEPARATORS:
            if other != component and other in value and other not in self.delimiters.all():
                self.warn(
                    f"{name} {value!r} uses {other!r} as component separator; ISA16 is {component!r}"
                )
                return value.split(other)
        return [value]


_USUAL_COMPONENT_SEPARATORS = (":", ">", "<", "\\", "^")


@dataclass(slots=True)
class Address:
    lines: list[str]
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(slots=True)
class Contact:
    function: str
    name: str
    numbers: list[tuple[str, str]]  # (qualifier: TE, EM, FX, EX..., number)


@dataclass(slots=True)
class Party:
    entity_code: str  # NM101 / N101 (85 billing provider, IL insured, PR payer, ...)
    entity_type: str  # NM102: 1 person, 2 organization ("" for N1)
    name: str  # last name or organization name
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    identifier: str = ""
    address: Address | None = None
    references: list[tuple[str, str]] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    birth_date: dt.date | None = None
    gender: str = ""

    def reference(self, qualifier: str) -> str:
        for code, value in self.references:
            if code == qualifier:
                return value
        return ""

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.name, self.suffix) if p)


_NM1_CODE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def nm1(fields: list[str], codes: frozenset[str] | None = None) -> Party:
    """An NM1 segment as a party, with the element checks that hold in every transaction."""
    if len(fields) < 10:
        fields = fields + [""] * (10 - len(fields))
    code = fields[1]
    if not code:
        raise BadValue("NM101 (entity identifier code) is required")
    if not 2 <= len(code) <= 3 or not _NM1_CODE.issuperset(code):
        raise BadValue(f"NM101 (entity identifier code) {code!r} is not a code")
    if codes is not None and code not in codes:
        raise BadValue(
            f"NM101 (entity identifier code) {code!r} is not valid here "
            f"(expected {', '.join(sorted(codes))})"
        )
    kind = fields[2]
    if not kind:
        raise BadValue("NM102 (entity type qualifier) is required")
    if kind not in ("1", "2"):
        raise BadValue(
            f"NM102 (entity type qualifier) {kind!r} is not 1 (person) or 2 (organization)"
        )
    qualifier, identifier = fields[8], fields[9]
    if qualifier and not 1 <= len(qualifier) <= 2:
        raise BadValue(
            f"NM108 (identification code qualifier) {qualifier!r} is not a 1-2 character code"
        )
    if identifier and not qualifier:
        raise BadValue("NM108 (identification code qualifier) is required with NM109")
    # positional: keywords cost twice as much in this hot constructor
    return Party(code, kind, fields[3], fields[4], fields[5], fields[7], qualifier, identifier)


def n1(fields: list[str], codes: frozenset[str] | None = None) -> Party:
    code = required(fields, 1, "entity identifier code")
    if codes is not None and code not in codes:
        raise BadValue(
            f"N101 (entity identifier code) {code!r} is not valid here (expected {', '.join(sorted(codes))})"
        )
    return Party(
        entity_code=code,
        entity_type="",
        name=el(fields, 2),
        id_qualifier=el(fields, 3),
        identifier=el(fields, 4),
    )


def address(
    cur: Cursor,
    party: Party,
    *,
    n3_required: bool = False,
    n4_required: bool = False,
    what: str = "",
) -> None:
    """N3 then N4 after a name (N3/N4 in the other order is refused as out of order)."""
    lines: list[str] = []
    n3 = cur.expect("N3", f"the address (N3) of {what}") if n3_required else cur.optional("N3")
    if n3 is not None:
        lines = [line for line in n3[1:3] if line]
        if not lines:
            raise cur.last("N301 (address line) is required")
    n4 = (
        cur.expect("N4", f"the city, state and ZIP (N4) of {what}")
        if n4_required
        else cur.optional("N4")
    )
    if n4 is None and n3 is not None and cur.at("N3"):
        raise cur.here("a second N3 (the address appears twice)")
    if n3 is None and n4 is not None and cur.at("N3"):
        raise cur.here("N3 (address) must come before N4 (city, state, ZIP)")
    if n3 is not None or n4 is not None:
        party.address = Address(
            lines=lines,
            city=el(n4, 1) if n4 else "",
            state=el(n4, 2) if n4 else "",
            postal_code=el(n4, 3) if n4 else "",
            country=el(n4, 4) if n4 else "",
        )


def contact(fields: list[str]) -> Contact:
    function = required(fields, 1, "contact function code")
    numbers = []
    for index in (3, 5, 7):
        qualifier, value = el(fields, index), el(fields, index + 1)
        if qualifier or value:
            if not qualifier or not value:
                raise BadValue(
                    f"PER{index:02d}/PER{index + 1:02d}: a communication number needs its qualifier and its value"
                )
            if qualifier not in COMMUNICATION_QUALIFIERS:
                raise BadValue(
                    f"PER{index:02d} (communication number qualifier) {qualifier!r} is not a known qualifier"
                )
            numbers.append((qualifier, value))
    return Contact(function=function, name=el(fields, 2), numbers=numbers)


COMMUNICATION_QUALIFIERS = frozenset(
    {"TE", "EM", "FX", "EX", "UR", "ED", "WP", "HP", "BN", "CP", "TM", "EA"}
)


def references(cur: Cursor, limit: int, what: str) -> list[tuple[str, str]]:
    found = []
    for fields in cur.repeat("REF", limit, f"the references (REF) of {what}"):
        found.append(
            (required(fields, 1, "reference qualifier"), required(fields, 2, "reference value"))
        )
    return found


def contacts(cur: Cursor, limit: int, what: str) -> list[Contact]:
    return [contact(f) for f in cur.repeat("PER", limit, f"the contacts (PER) of {what}")]


def demographics(fields: list[str], party: Party) -> None:
    qualifier = el(fields, 1)
    if qualifier and qualifier != "D8":
        raise BadValue(f"DMG01 (date format) {qualifier!r} is not D8")
    if el(fields, 2):
        party.birth_date = values.date8(fields[2], "DMG02 (birth date)")
    party.gender = el(fields, 3)


def dated(fields: list[str], name: str) -> tuple[str, dt.date, dt.date]:
    """A DTP segment: (qualifier, start, end)."""
    qualifier = required(fields, 1, "date qualifier")
    start, end = values.date_or_period(
        required(fields, 2, "date format"), required(fields, 3, "date"), name
    )
    return qualifier, start, end


def hl(fields: list[str]) -> tuple[str, str, str, bool]:
    """An HL segment: (id, parent id, level code, has children)."""
    number = required(fields, 1, "hierarchical id number")
    level = required(fields, 3, "hierarchical level code")
    return number, el(fields, 2), level, el(fields, 4) == "1"
