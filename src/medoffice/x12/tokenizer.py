"""Segments out of a stream: the delimiters come from each ISA, the text is read in chunks.

The ISA is fixed width (106 characters): the element separator is its 4th character, the
repetition separator ISA11 (5010), the component separator ISA16 and the segment terminator
the character after ISA16. Line breaks and indentation around segments are ignored, a UTF-8
byte-order mark is skipped, and each interchange may use its own delimiters.

The hot path splits all the text read (a chunk, up to the IEA) on the terminator, then each
range of `WINDOW` segments on the element separator with `str.split` in one comprehension
(a segment that repeats one before it in the range is a copy of that one's list), then
checks the ids of the range's distinct segments at once; only a range with an envelope
segment or an id never seen before is checked in a loop (a new id against a pattern), which
notes where the envelope segments are, so the reader takes a transaction's segments as one
slice.
"""

from __future__ import annotations

import bisect
import codecs
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO

from medoffice.x12.errors import X12Error

CHUNK_SIZE = 1 << 20
ISA_LENGTH = 106
# (element, width) of ISA01..ISA16, fixed by the standard.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_WHITESPACE = " \t\r\n\f\v"
MARKED_IDS = frozenset({"IEA", "GS", "GE", "ST", "SE", "TA1"})  # the envelope but the ISA
WINDOW = 1000  # segments split and checked at a time (see `_pieces`)
_first = itemgetter(0)


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def all(self) -> tuple[str, ...]:
        return (self.element, self.repetition, self.component, self.segment)


def _bad_delimiter(char: str) -> bool:
    return char.isalnum() or char == " " or char == ""


def parse_isa(text: str, number: int) -> tuple[list[str], Delimiters]:
    """The ISA segment's elements and the delimiters it declares (text: the 106 characters)."""
    element = text[3]
    if _bad_delimiter(element):
        raise X12Error(
            f"the element separator (4th character) is {element!r}; it must be a punctuation "
            "character",
            segment_number=number,
            segment_id="ISA",
        )
    pieces = text[:200].split(element)
    position = 3
    for index, width in enumerate(ISA_WIDTHS, start=1):
        value = pieces[index] if index < len(pieces) else ""
        if index == 16:
            value = value[:1]
        if len(value) != width or text[position] != element:
            raise X12Error(
                f"ISA{index:02d} is {len(value)} characters where the standard fixes "
                f"{width}: the ISA must be exactly {ISA_LENGTH} characters (pad with spaces)",
                segment_number=number,
                segment_id="ISA",
            )
        position += width + 1
    component, terminator = text[104], text[105]
    elements = text[:105].split(element)
    if _bad_delimiter(component) or component == element:
        raise X12Error(
            f"the component separator ISA16 {component!r} cannot be a delimiter",
            segment_number=number,
            segment_id="ISA",
        )
    if terminator in (element, component) or (terminator.isalnum() or terminator == " "):
        raise X12Error(
            f"the segment terminator (the character after ISA16) is {terminator!r}; it must "
            "be a punctuation or control character different from the separators",
            segment_number=number,
            segment_id="ISA",
        )
    repetition = elements[11]
    if (
        elements[12] >= "00501"
        and (_bad_delimiter(repetition) or repetition in (element, terminator))
        and repetition != "U"
    ):
        raise X12Error(
            f"the repetition separator ISA11 {repetition!r} cannot be a delimiter",
            segment_number=number,
            segment_id="ISA",
        )
    if _bad_delimiter(repetition) or repetition in (element, terminator):
        repetition = ""  # 4010: ISA11 is a standards id ("U"), there is no repetition separator
    elif repetition == component and elements[12] < "00501":
        repetition = ""
    # A 5010 ISA11 equal to ISA16 is read (the envelope warns): the character separates the
    # repeats of a repeating element (EB03, EQ01) and the components of a composite; no
    # element the builders read is both.
    return elements, Delimiters(element, repetition, component, terminator)


class Tokenizer:
    """Iterate `batches()` (lists of segments) or `segments()`: each segment is its list of
    elements (id first).

    `count` is the number of the segment last produced (1-based in the file) and
    `delimiters` those of the current interchange.
    """

    def __init__(self, stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._offset = 0
        self._first = True
        self.eof = False
        self.count = 0
        self.delimiters = Delimiters()
        self.last_id = ""
        self.marks: list[int] = []

    def _read(self) -> str:
        if self.eof:
            return ""
        try:
            chunk = self._stream.read(self._chunk_size)
        except OSError as exc:
            raise X12Error(f"the file could not be read: {exc}") from exc
        if not isinstance(chunk, bytes | bytearray):
            raise X12Error("the reader needs a binary file (bytes)")
        if self._first:
            self._first = False
            head = bytes(chunk[:400])
            if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
                raise X12Error(
                    "the file is UTF-16 or binary, not X12 text (X12 files are ASCII or UTF-8)",
                    segment_number=1,
                )
        if not chunk:
            self.eof = True
        try:
            text = self._decoder.decode(bytes(chunk), final=self.eof)
        except UnicodeDecodeError as exc:
            raise X12Error(
                f"bytes that are not UTF-8 text near byte {self._offset + exc.start}",
                segment_number=self.count + 1,
            ) from exc
        self._offset += len(chunk)
        return text

    def _fail(self, message: str, segment_id: str = "") -> X12Error:
        return X12Error(message, segment_number=self.count + 1, segment_id=segment_id)

    def segments(self) -> Iterator[list[str]]:
        """Segment by segment (`batches` is the fast way): `count` is the segment's number."""
        for batch in self.batches():
            last = self.count
            first = last - len(batch) + 1
            for offset, fields in enumerate(batch):
                self.count = first + offset
                self.last_id = fields[0]
                yield fields
            self.count = last

    def batches(self) -> Iterator[list[list[str]]]:
        """The segments in lists: each ISA alone, then those of each chunk read, the last of an
        interchange ending with its IEA.

        After each list, `count` is the number of its last segment and `marks` the positions
        in it of the envelope segments (IEA, GS, GE, ST, SE, TA1). A segment that is not
        valid ends the list before it; the error is raised when the next list is asked for,
        so everything before it is read first, as segment by segment.
        """
        buffer = ""
        ordinary: set[str] = set()  # ids already checked, other than the envelope's
        envelope = MARKED_IDS
        skip = _WHITESPACE  # between interchanges: line breaks and stray terminators
        while True:
            # --- at the start of an interchange: find and read the ISA ---
            buffer = buffer.lstrip(skip)
            while len(buffer) < ISA_LENGTH and not self.eof:
                buffer = (buffer + self._read()).lstrip(skip)
            if not buffer:
                if self.count == 0:
                    raise self._fail("the file is empty: there is no ISA segment")
                return
            if not buffer.startswith("ISA"):
                found = re.match(r"([A-Z][A-Z0-9]{1,2})[^A-Za-z0-9 ]", buffer)
                raise self._fail(
                    "expected an ISA segment (interchange header) here; found "
                    + (
                        f"a {found.group(1)} segment"
                        if found
                        else f"text that is not X12 ({buffer[:20]!r})"
                    ),
                    found.group(1) if found else "",
                )
            if len(buffer) < ISA_LENGTH:
                raise self._fail(
                    f"the ISA segment is cut short ({len(buffer)} of {ISA_LENGTH} characters)",
                    "ISA",
                )
            elements, delimiters = parse_isa(buffer[:ISA_LENGTH], self.count + 1)
            self.delimiters = delimiters
            element, terminator = delimiters.element, delimiters.segment
            skip = _WHITESPACE + terminator
            self.count += 1
            self.last_id = "ISA"
            self.marks = []
            yield [elements]
            buffer = buffer[ISA_LENGTH:]
            # --- inside the interchange: split the text read on the terminator at once ---
            while True:
                if not self.eof:
                    buffer += self._read()
                # a line break after every terminator goes with it: the segments need no strip
                separator = terminator
                for breaking in ("\n", "\r\n"):
                    if buffer.count(terminator + breaking) == buffer.count(terminator):
                        separator = terminator + breaking
                        break
                parts = buffer.split(separator)
                tail = "" if self.eof else parts.pop()
                segments: list[list[str]] = []
                marks: list[int] = []
                empty: list[int] = []
                stop = len(parts)
                ended = False
                error: X12Error | None = None
                shared = True  # see `_split`: again at each chunk
                for start, end in _pieces(buffer, separator, stop):
                    window, distinct, shared = _split(parts[start:end], element, shared)
                    if ordinary.issuperset(map(_first, distinct)):
                        segments += window  # no envelope segment, no id not seen before
                        continue
                    for index, fields in enumerate(window, start):
                        sid = fields[0]
                        if sid in ordinary:
                            continue
                        if sid in envelope:
                            marks.append(index)
                            if sid == "IEA":
                                stop = index + 1
                                ended = True
                                break
                        elif not sid and len(fields) == 1:
                            empty.append(index)  # nothing between two terminators
                        elif sid == "ISA" or not _ID.fullmatch(sid):
                            stop = index
                            error = self._bad_id(sid, self.count + 1 + index - len(empty))
                            break
                        else:
                            ordinary.add(sid)
                    if ended or error is not None:
                        segments += window[: stop - start]
                        break
                    segments += window
                batch = segments
                if empty:
                    batch = [fields for fields in batch if fields != [""]]
                    marks = [mark - bisect.bisect_left(empty, mark) for mark in marks]
                self.count += len(batch)
                self.marks = marks
                if batch:
                    self.last_id = batch[-1][0]
                if ended:
                    rest = parts[stop:]
                    if not self.eof:
                        rest.append(tail)
                        buffer = separator.join(rest)
                    else:  # the text was read to its end: the last piece had its terminator
                        buffer = separator.join(rest) + terminator if rest else ""
                    yield batch
                    break
                if batch:
                    yield batch
                if error is not None:
                    raise error
                buffer = tail
                if self.eof:
                    return

    @staticmethod
    def _bad_id(sid: str, number: int) -> X12Error:
        if sid == "ISA":
            return X12Error(
                "an ISA before the IEA that ends the interchange before it",
                segment_number=number,
                segment_id=sid,
            )
        return X12Error(
            f"{sid!r} is not a segment id (2-3 capital letters or digits, starting with a letter)"
            if sid
            else "the segment has no id (it starts with a separator)",
            segment_number=number,
            segment_id=sid[:3] if sid.isprintable() else "",
        )


def _split(
    parts: list[str], element: str, shared: bool
) -> tuple[list[list[str]], Collection[list[str]], bool]:
    """The segments (texts) `parts` split into their elements, the distinct ones among them
    (whose ids are all there is to check), and whether to share next time.

    Most segments of a file repeat one another (dates, adjustments, amounts, addresses): with
    `shared`, a repeat is a copy of the list split the first time, so its element texts are
    made and checked only once (and freed once). Each segment still gets its own list. When
    most of the segments are new the sharing costs more than it saves: the next ranges are
    split plainly.
    """
    if not shared:
        window = [part.strip(_WHITESPACE).split(element) for part in parts]
        return window, window, False
    seen: dict[str, list[str]] = {}
    get = seen.get

    def first(part: str) -> list[str]:
        fields = seen[part] = part.strip(_WHITESPACE).split(element)
        return fields[:]

    window = [known[:] if (known := get(part)) is not None else first(part) for part in parts]
    return window, seen.values(), len(seen) * 2 <= len(parts)


def _pieces(text: str, terminator: str, count: int) -> Iterator[tuple[int, int]]:
    """Ranges of the `count` segments of `text`, each ending where "IEA" appears, so that an
    interchange's segments are split up to its IEA and no further (the next interchange may
    use other delimiters, and a file of many small interchanges is not split over and over).

    No range is longer than `WINDOW` segments: the ids of a range are checked right after it
    is split, while its lists are still in the processor's cache (a second walk over a whole
    chunk's lists is several times slower).
    """
    start = 0
    terminators = 0
    searched = 0
    at = text.find("IEA")
    while at >= 0 and start < count:
        terminators += text.count(terminator, searched, at)
        searched = at
        end = min(terminators + 1, count)
        while end - start > WINDOW:
            yield start, start + WINDOW
            start += WINDOW
        if end > start:
            yield start, end
            start = end
        at = text.find("IEA", at + 3)
    while start < count:
        yield start, min(start + WINDOW, count)
        start += WINDOW
