"""The one error the library raises, and the warnings it records instead of raising."""

from __future__ import annotations

from dataclasses import dataclass


class X12Error(Exception):
    """Malformed X12: names the segment (1-based in the file), its id and what is wrong.

    `segment_number` is 0 when the problem is before any segment (an empty file, a file that
    is not text). Every failure of the reader and the writer is this type; nothing else
    escapes.
    """

    def __init__(self, message: str, *, segment_number: int = 0, segment_id: str = "") -> None:
        self.message = message
        self.segment_number = segment_number
        self.segment_id = segment_id
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.segment_number and self.segment_id:
            return f"segment {self.segment_number} ({self.segment_id}): {self.message}"
        if self.segment_number:
            return f"segment {self.segment_number}: {self.message}"
        return self.message


@dataclass(frozen=True)
class X12Warning:
    """A problem the reader tolerated (e.g. a trailer count a sender got wrong)."""

    segment_number: int
    segment_id: str
    message: str

    def __str__(self) -> str:
        return f"segment {self.segment_number} ({self.segment_id}): {self.message}"


class BadValue(Exception):
    """Raised by the value parsers and builders; the caller adds the segment and re-raises."""
