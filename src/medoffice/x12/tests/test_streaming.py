"""The reader streams: a file is read in chunks, one interchange at a time, and what it reads
does not depend on where the chunks end."""

from __future__ import annotations

import io

import pytest

from medoffice.x12 import X12Error, iter_interchanges, read


def _interchange(control: int, claims: int, *, newline: str = "\n") -> str:
    isa = (
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *260101*1200*^*"
        f"00501*{control:09d}*0*P*:~"
    )
    body = [
        "BPR*I*1000*C*ACH*CCP*01*111000025*DA*123456*1234567890**01*111000025*DA*654321*20260105~",
        "TRN*1*12345*1234567890~",
        "N1*PR*PAYER~",
        "N1*PE*PRACTICE*XX*1234567893~",
        "LX*1~",
    ]
    for n in range(claims):
        body += [
            f"CLP*PCN{control}-{n}*1*200.00*160.00*10.00*12*PAYER{n:09d}*11*1~",
            "CAS*PR*1*10.00~",
            f"NM1*QC*1*DOE*JANE****MI*M{n:08d}~",
            "SVC*HC:99213:25*200.00*160.00**1~",
            "DTM*472*20251201~",
            "CAS*CO*45*30.00~",
            "AMT*B6*170.00~",
        ]
    segments = [
        isa,
        f"GS*HP*PAYER*PRACTICE*20260101*1200*{control}*X*005010X221A1~",
        "ST*835*0001~",
        *body,
        f"SE*{len(body) + 2}*0001~",
        f"GE*1*{control}~",
        f"IEA*1*{control:09d}~",
    ]
    return newline.join(segments) + newline


class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_interchanges_are_read_one_at_a_time_in_chunks():
    data = "".join(_interchange(n, 20) for n in range(1, 201)).encode()
    stream = _CountingStream(data)
    interchanges = iter_interchanges(stream, chunk_size=4096)
    first = next(interchanges)
    assert first.control_number == "000000001"
    assert stream.bytes_read <= 3 * 4096 < len(data) // 50
    rest = list(interchanges)
    assert len(rest) == 199 and stream.bytes_read == len(data)
    remittance = rest[-1].groups[0].transactions[0].data
    assert len(remittance.claims) == 20


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 106, 107, 1000, 1 << 20])
@pytest.mark.parametrize("newline", ["", "\n", "\r\n"])
def test_what_is_read_does_not_depend_on_where_the_chunks_end(chunk_size, newline):
    data = (_interchange(1, 3, newline=newline) + _interchange(2, 40, newline=newline)).encode()
    whole = read(data, chunk_size=len(data) + 1)
    assert len(whole.interchanges) == 2 and whole.segment_count == 2 * 11 + 43 * 7
    assert read(data, chunk_size=chunk_size) == whole


@pytest.mark.parametrize("chunk_size", [1, 5, 64, 1 << 20])
def test_an_error_names_the_same_segment_whatever_the_chunks(chunk_size):
    good = _interchange(1, 5)
    bad = good.replace("DTM*472*20251201~", "DTM*472*20251301~", 1)
    with pytest.raises(X12Error) as caught:
        read(bad.encode(), chunk_size=chunk_size)
    # ISA, GS, ST, BPR, TRN, N1, N1, LX, CLP, CAS, NM1, SVC, then the DTM
    assert (caught.value.segment_number, caught.value.segment_id) == (13, "DTM")
    assert "20251301" in caught.value.message
