"""999 implementation acknowledgment (005010X231A1; X231 reads alike).

One 999 answers one functional group (AK1: its functional id and control number): per
transaction set of that group (loop 2000, AK2) the segments in error (2100, IK3 with its
CTX context) and their elements in error (2110, IK4), then the set's verdict (IK5); at the
end the group's verdict and counts (AK9). The codes come with their words (`codes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from medoffice.x12 import codes, values
from medoffice.x12.errors import BadValue
from medoffice.x12.transactions.common import Cursor, el, required

_SET_CODES = frozenset(codes.TRANSACTION_SET_ACKNOWLEDGMENTS)
_GROUP_CODES = frozenset(codes.GROUP_ACKNOWLEDGMENTS)


@dataclass(frozen=True, slots=True)
class Context:
    """A CTX segment: the business unit in error (CTX*CLM01:<claim id>) or where it is."""

    name: str  # CTX01-1: "CLM01" for a business unit, "SITUATIONAL TRIGGER", ...
    reference: str  # CTX01-2: e.g. the claim's patient control number
    segment_id: str = ""  # CTX02
    segment_position: int | None = None  # CTX03
    loop: str = ""  # CTX04
    element_position: str = ""  # CTX05, as sent (element:component:repetition)
    element_reference: str = ""  # CTX06, as sent

    @property
    def is_business_unit(self) -> bool:
        return not self.segment_id


@dataclass(frozen=True, slots=True)
class ElementError:
    """IK4: an element in error in the segment of its IK3."""

    position: int  # IK401-1: the element's position in the segment
    component_position: int | None  # IK401-2
    repetition_position: int | None  # IK401-3
    element_reference: str  # IK402: the data element's reference number
    code: str  # IK403
    bad_value: str  # IK404: a copy of the bad element, when sent
    contexts: tuple[Context, ...] = ()

    @property
    def description(self) -> str:
        return codes.describe(codes.ELEMENT_ERRORS, self.code, "element error")


@dataclass(frozen=True, slots=True)
class SegmentError:
    """IK3: a segment in error in the acknowledged transaction set."""

    segment_id: str  # IK301
    position: int  # IK302: counted from ST (ST is 1)
    loop: str  # IK303: the loop id (e.g. 2300), when sent
    code: str  # IK304
    contexts: tuple[Context, ...] = ()
    element_errors: tuple[ElementError, ...] = ()

    @property
    def description(self) -> str:
        return codes.describe(codes.SEGMENT_ERRORS, self.code, "segment error")

    def business_unit(self, name: str = "CLM01") -> str:
        """The reference of a business-unit context (CTX*CLM01:<claim id>), or ""."""
        return next(
            (c.reference for c in self.contexts if c.is_business_unit and c.name == name), ""
        )


@dataclass(frozen=True, slots=True)
class TransactionSetResponse:
    """Loop 2000: the verdict on one transaction set of the acknowledged group."""

    set_id: str  # AK201: e.g. 837
    control_number: str  # AK202: the ST02 of the set acknowledged
    implementation: str  # AK203, when sent
    code: str  # IK501: A, E, M, R, W or X
    error_codes: tuple[str, ...]  # IK502-IK506
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def accepted(self) -> bool:
        """A (accepted) or E (accepted with errors noted)."""
        return self.code in ("A", "E")

    @property
    def description(self) -> str:
        return codes.describe(codes.TRANSACTION_SET_ACKNOWLEDGMENTS, self.code)

    @property
    def error_descriptions(self) -> list[str]:
        return [codes.describe(codes.TRANSACTION_SET_ERRORS, c, "error") for c in self.error_codes]

    @property
    def claim_ids(self) -> list[str]:
        """The claims (CLM01) named in the contexts of the segment errors, in order."""
        found: list[str] = []
        for error in self.segment_errors:
            claim = error.business_unit("CLM01")
            if claim and claim not in found:
                found.append(claim)
        return found


@dataclass(frozen=True, slots=True)
class ImplementationAck:
    functional_id: str  # AK101: the acknowledged group's GS01 (HC for 837)
    group_control_number: str  # AK102: its GS06
    version: str  # AK103: its GS08, when sent
    transaction_sets: tuple[TransactionSetResponse, ...]
    code: str  # AK901: A, E, M, P, R, W or X
    sets_included: int  # AK902
    sets_received: int  # AK903
    sets_accepted: int  # AK904
    error_codes: tuple[str, ...]  # AK905-AK909

    @property
    def accepted(self) -> bool:
        """The whole group accepted (A, or E: accepted with errors noted)."""
        return self.code in ("A", "E")

    @property
    def description(self) -> str:
        return codes.describe(codes.GROUP_ACKNOWLEDGMENTS, self.code)

    @property
    def error_descriptions(self) -> list[str]:
        return [codes.describe(codes.GROUP_ERRORS, c, "error") for c in self.error_codes]

    def response_for(self, control_number: str) -> TransactionSetResponse | None:
        """The verdict on the transaction set whose ST02 was `control_number`."""
        for response in self.transaction_sets:
            if response.control_number == control_number:
                return response
        return None


def _optional_number(text: str, name: str) -> int | None:
    return values.number(text, name) if text else None


def _context(cur: Cursor, fields: list[str]) -> Context:
    unit = cur.composite(required(fields, 1, "context identification"), "CTX01")
    return Context(
        name=unit[0],
        reference=unit[1] if len(unit) > 1 else "",
        segment_id=el(fields, 2),
        segment_position=_optional_number(el(fields, 3), "CTX03 (segment position)"),
        loop=el(fields, 4),
        element_position=el(fields, 5),
        element_reference=el(fields, 6),
    )


def _contexts(cur: Cursor, limit: int, what: str) -> tuple[Context, ...]:
    return tuple(_context(cur, f) for f in cur.repeat("CTX", limit, f"the context (CTX) of {what}"))


def _element_error(cur: Cursor, fields: list[str]) -> ElementError:
    where = cur.composite(required(fields, 1, "position in segment"), "IK401")
    return ElementError(
        position=values.number(where[0], "IK401-1 (element position)"),
        component_position=_optional_number(
            where[1] if len(where) > 1 else "", "IK401-2 (component position)"
        ),
        repetition_position=_optional_number(
            where[2] if len(where) > 2 else "", "IK401-3 (repetition position)"
        ),
        element_reference=el(fields, 2),
        code=required(fields, 3, "implementation data element syntax error code"),
        bad_value=el(fields, 4),
        contexts=_contexts(cur, 10, "the element error (IK4)"),
    )


def _segment_error(cur: Cursor, fields: list[str]) -> SegmentError:
    segment_id = required(fields, 1, "segment id code")
    position = values.number(required(fields, 2, "segment position"), "IK302 (segment position)")
    loop, code = el(fields, 3), el(fields, 4)
    contexts = _contexts(cur, 10, f"the segment error (IK3*{segment_id})")
    elements: list[ElementError] = []
    while cur.at("IK4"):
        if len(elements) == 99:
            raise cur.here(f"loop 2110 (IK4) repeats more than 99 times under IK3*{segment_id}")
        elements.append(_element_error(cur, cur.take()))
    return SegmentError(
        segment_id=segment_id,
        position=position,
        loop=loop,
        code=code,
        contexts=contexts,
        element_errors=tuple(elements),
    )


def _set_response(cur: Cursor) -> TransactionSetResponse:
    ak2 = cur.take()
    set_id = required(ak2, 1, "transaction set identifier code")
    control = required(ak2, 2, "transaction set control number")
    errors: list[SegmentError] = []
    while cur.at("IK3"):
        errors.append(_segment_error(cur, cur.take()))
    ik5 = cur.expect("IK5", f"the verdict (IK5) on transaction set {set_id} {control}")
    code = required(ik5, 1, "transaction set acknowledgment code")
    if code not in _SET_CODES:
        raise BadValue(
            f"IK501 (transaction set acknowledgment code) {code!r} is not one of A, E, M, R, W, X"
        )
    return TransactionSetResponse(
        set_id=set_id,
        control_number=control,
        implementation=el(ak2, 3),
        code=code,
        error_codes=tuple(c for c in ik5[2:7] if c),
        segment_errors=tuple(errors),
    )


def build(cur: Cursor) -> ImplementationAck:
    ak1 = cur.expect("AK1", "the functional group response header (AK1)")
    functional_id = required(ak1, 1, "functional identifier code")
    group_control = required(ak1, 2, "group control number")
    responses: list[TransactionSetResponse] = []
    while cur.at("AK2"):
        responses.append(_set_response(cur))
    ak9 = cur.expect("AK9", "the functional group response trailer (AK9)")
    code = required(ak9, 1, "functional group acknowledge code")
    if code not in _GROUP_CODES:
        raise BadValue(
            f"AK901 (functional group acknowledge code) {code!r} is not one of A, E, M, P, R, W, X"
        )
    counts = [
        values.number(required(ak9, index, name), f"AK9{index:02d} ({name})")
        for index, name in (
            (2, "number of transaction sets included"),
            (3, "number of received transaction sets"),
            (4, "number of accepted transaction sets"),
        )
    ]
    if cur.pos < len(cur.body):
        raise cur.unexpected("a 999 holds AK1, the AK2 loops, then AK9")
    if counts[0] < len(responses):
        cur.warn(f"AK902 says {counts[0]} transaction set(s); the 999 answers {len(responses)}")
    return ImplementationAck(
        functional_id=functional_id,
        group_control_number=group_control,
        version=el(ak1, 3),
        transaction_sets=tuple(responses),
        code=code,
        sets_included=counts[0],
        sets_received=counts[1],
        sets_accepted=counts[2],
        error_codes=tuple(c for c in ak9[5:10] if c),
    )
