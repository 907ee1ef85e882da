"""A 271 built for a test: the payer's answer to one of our 270s (its trace number echoed),
with a plan, copay, deductible and remaining, coinsurance and out-of-pocket and remaining."""

from __future__ import annotations

from typing import Any


def answer_271(coverage: Any, trace: str, *, control: int = 123, active: bool = True) -> bytes:
    patient = coverage.patient
    birth = patient.date_of_birth.strftime("%Y%m%d")
    body = [
        "ST*271*0001*005010X279A1",
        "BHT*0022*11*ANSWER1*20261203*1200",
        "HL*1**20*1",
        f"NM1*PR*2*{coverage.payer.name.upper()}*****PI*{coverage.payer.payer_id}",
        "HL*2*1*21*1",
        "NM1*1P*2*RIVERSIDE FAMILY MEDICINE*****XX*1234567893",
        "HL*3*2*22*0",
        f"TRN*2*{trace}*9877281234",
        f"NM1*IL*1*{patient.last_name.upper()}*{patient.first_name.upper()}****MI*"
        f"{coverage.member_id}",
        f"DMG*D8*{birth}",
        "DTP*346*D8*20260101",
    ]
    if active:
        body += [
            "EB*1*IND*30*PR*SILVER 500 PLAN",
            "EB*B*IND*98*PR**27*35.00*****Y",
            "EB*C*IND*30*PR**23*1500.00*****Y",
            "EB*C*IND*30*PR**29*1234.56*****Y",
            "EB*A*IND*30*PR****0.2****Y",
            "EB*G*IND*30*PR**23*5000.00*****Y",
            "EB*G*IND*30*PR**29*4321.00*****Y",
        ]
    else:
        body += ["EB*6*IND*30"]
    body.append(f"SE*{len(body) + 1}*0001")
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{'PAYER':15}*ZZ*{'RIVERSIDE':15}*261203*1200*^*00501*"
        f"{control:09d}*0*P*:"
    )
    segments = [
        isa,
        f"GS*HB*PAYER*RIVERSIDE*20261203*1200*{control}*X*005010X279A1",
        *body,
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return ("~".join(segments) + "~").encode()
