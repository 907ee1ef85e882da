"""The x12 reader: MB/s reading a generated 835 of 10,000 claims into claims, service lines
and adjustments (target: at least 20 MB/s), from bytes in memory and from a file on disk.

The figure moves with the machine, so it is printed beside the floor the target was set
against: plain `str.split` of the same bytes into segments and elements (decode, split on
the terminator, split each segment on the element separator), on the same machine in the
same run. The target was a quarter of that floor where the floor read 70 MB/s (20 MB/s is
0.29 of it); `..._share_of_split` is the reader's speed over the floor's.
Needs no database; `run.py` starts it like the others."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

CLAIMS = 10_000
RUNS = 5


def generate(claims: int = CLAIMS) -> bytes:
    isa = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *260101*1200*^*00501*000000001*0*P*:~"
    out = [isa, "GS*HP*PAYER*PRACTICE*20260101*1200*1*X*005010X221A1~", "ST*835*0001~",
           "BPR*I*1000*C*ACH*CCP*01*111000025*DA*123456*1234567890**01*111000025*DA*654321*20260105~",
           "TRN*1*12345*1234567890~", "DTM*405*20260101~", "N1*PR*PAYER~", "N3*1 MAIN ST~",
           "N4*TOWN*OH*45000~", "PER*BL*EDI*TE*8005551212~", "N1*PE*PRACTICE*XX*1234567893~",
           "LX*1~"]  # fmt: skip
    for n in range(claims):
        lines = 2 + n % 2
        out.append(
            f"CLP*PCN{n:07d}*1*{lines * 100}.00*{lines * 80}.00*{lines * 5}.00*12*PAYER{n:09d}*11*1~"
        )
        out.append(f"CAS*PR*1*{lines * 5}.00~")
        out.append(f"NM1*QC*1*DOE*JANE****MI*M{n:08d}~")
        out.append("DTM*232*20251201~")
        for line in range(lines):
            out.append(f"SVC*HC:9921{line}:25*100.00*80.00**1~")
            out.append("DTM*472*20251201~")
            out.append("CAS*CO*45*15.00~")
            out.append("CAS*PR*1*5.00~")
            out.append("AMT*B6*85.00~")
    count = len(out) - 2 + 1
    out += [f"SE*{count}*0001~", "GE*1*1~", "IEA*1*000000001~"]
    return "\n".join(out).encode()


def _best(source: bytes | Path, data: bytes) -> tuple[float, float]:
    """The shortest of RUNS reads of `source` and of RUNS plain splits of `data`, in seconds,
    taken in turn so that both see the same machine; the last read is checked for every
    claim."""
    from medoffice.x12 import read

    best_read = best_split = float("inf")
    document = None
    for _ in range(RUNS):
        start = time.perf_counter()
        segments = [segment.split("*") for segment in data.decode().split("~\n")]
        best_split = min(best_split, time.perf_counter() - start)
        del segments
        document = None  # one read's result at a time, as an importer holds them
        start = time.perf_counter()
        document = read(source)
        best_read = min(best_read, time.perf_counter() - start)
    assert document is not None
    remittance = next(document.transactions()).data
    claims = remittance.claims  # type: ignore[attr-defined]
    assert len(claims) == CLAIMS and all(c.service_lines and c.adjustments for c in claims)
    return best_read, best_split


def run() -> list[tuple[str, float, str]]:
    data = generate()
    in_memory, floor = _best(data, data)
    with tempfile.TemporaryDirectory(prefix="medoffice-bench-x12-") as folder:
        path = Path(folder) / "era.835"
        path.write_bytes(data)
        from_file, _ = _best(path, data)
    return [
        ("x12_read_835_10k_claims", len(data) / in_memory / 1e6, "MB/s"),
        ("x12_read_835_10k_claims_from_file", len(data) / from_file / 1e6, "MB/s"),
        ("x12_read_835_10k_claims_size", len(data) / 1e6, "MB"),
        ("x12_split_floor_835_10k_claims", len(data) / floor / 1e6, "MB/s"),
        ("x12_read_835_10k_claims_share_of_split", floor / in_memory, "(target >= 0.29)"),
    ]


if __name__ == "__main__":
    for name, value, unit in run():
        print(f"{name}: {value:.6g} {unit}")
