"""The CPT and HCPCS Level II modifiers medoffice ships (data only; short descriptions).

`ncci_bypass` marks the NCCI-associated modifiers: the ones that may break a
procedure-to-procedure pair whose modifier indicator is 1 (anatomic modifiers, the global
surgery modifiers, 59 and its X{EPSU} subsets, 91). `pricing` marks those that change what is
paid (a professional or technical component, a reduced or multiple procedure, an assistant).
"""

from __future__ import annotations

from typing import NamedTuple


class BuiltInModifier(NamedTuple):
    code: str
    description: str
    pricing: bool = False
    ncci_bypass: bool = False


MODIFIERS: tuple[BuiltInModifier, ...] = (
    BuiltInModifier("22", "Increased procedural services", pricing=True),
    BuiltInModifier("23", "Unusual anesthesia"),
    BuiltInModifier("24", "Unrelated E/M service by the same physician during a postoperative period", ncci_bypass=True),
    BuiltInModifier("25", "Significant, separately identifiable E/M service on the same day as a procedure", ncci_bypass=True),
    BuiltInModifier("26", "Professional component", pricing=True),
    BuiltInModifier("27", "Multiple outpatient hospital E/M encounters on the same date", ncci_bypass=True),
    BuiltInModifier("32", "Mandated services"),
    BuiltInModifier("33", "Preventive services"),
    BuiltInModifier("47", "Anesthesia by surgeon"),
    BuiltInModifier("50", "Bilateral procedure", pricing=True),
    BuiltInModifier("51", "Multiple procedures", pricing=True),
    BuiltInModifier("52", "Reduced services", pricing=True),
    BuiltInModifier("53", "Discontinued procedure", pricing=True),
    BuiltInModifier("54", "Surgical care only", pricing=True),
    BuiltInModifier("55", "Postoperative management only", pricing=True),
    BuiltInModifier("56", "Preoperative management only", pricing=True),
    BuiltInModifier("57", "Decision for surgery", ncci_bypass=True),
    BuiltInModifier("58", "Staged or related procedure by the same physician during the postoperative period", ncci_bypass=True),
    BuiltInModifier("59", "Distinct procedural service", ncci_bypass=True),
    BuiltInModifier("62", "Two surgeons", pricing=True),
    BuiltInModifier("63", "Procedure performed on infants less than 4 kg"),
    BuiltInModifier("66", "Surgical team", pricing=True),
    BuiltInModifier("76", "Repeat procedure by the same physician"),
    BuiltInModifier("77", "Repeat procedure by another physician"),
    BuiltInModifier("78", "Unplanned return to the operating room for a related procedure during the postoperative period", pricing=True, ncci_bypass=True),
    BuiltInModifier("79", "Unrelated procedure by the same physician during the postoperative period", ncci_bypass=True),
    BuiltInModifier("80", "Assistant surgeon", pricing=True),
    BuiltInModifier("81", "Minimum assistant surgeon", pricing=True),
    BuiltInModifier("82", "Assistant surgeon (when a qualified resident surgeon is not available)", pricing=True),
    BuiltInModifier("90", "Reference (outside) laboratory"),
    BuiltInModifier("91", "Repeat clinical diagnostic laboratory test", ncci_bypass=True),
    BuiltInModifier("92", "Alternative laboratory platform testing"),
    BuiltInModifier("93", "Synchronous telemedicine service by telephone or other real-time audio-only system"),
    BuiltInModifier("95", "Synchronous telemedicine service by real-time interactive audio and video"),
    BuiltInModifier("96", "Habilitative services"),
    BuiltInModifier("97", "Rehabilitative services"),
    BuiltInModifier("99", "Multiple modifiers"),
    BuiltInModifier("AI", "Principal physician of record"),
    BuiltInModifier("AS", "Physician assistant, nurse practitioner or clinical nurse specialist assisting at surgery", pricing=True),
    BuiltInModifier("CR", "Catastrophe or disaster related"),
    BuiltInModifier("CS", "Cost-sharing waived (specified services)"),
    BuiltInModifier("E1", "Upper left, eyelid", ncci_bypass=True),
    BuiltInModifier("E2", "Lower left, eyelid", ncci_bypass=True),
    BuiltInModifier("E3", "Upper right, eyelid", ncci_bypass=True),
    BuiltInModifier("E4", "Lower right, eyelid", ncci_bypass=True),
    BuiltInModifier("FA", "Left hand, thumb", ncci_bypass=True),
    BuiltInModifier("F1", "Left hand, second digit", ncci_bypass=True),
    BuiltInModifier("F2", "Left hand, third digit", ncci_bypass=True),
    BuiltInModifier("F3", "Left hand, fourth digit", ncci_bypass=True),
    BuiltInModifier("F4", "Left hand, fifth digit", ncci_bypass=True),
    BuiltInModifier("F5", "Right hand, thumb", ncci_bypass=True),
    BuiltInModifier("F6", "Right hand, second digit", ncci_bypass=True),
    BuiltInModifier("F7", "Right hand, third digit", ncci_bypass=True),
    BuiltInModifier("F8", "Right hand, fourth digit", ncci_bypass=True),
    BuiltInModifier("F9", "Right hand, fifth digit", ncci_bypass=True),
    BuiltInModifier("GA", "Waiver of liability statement (ABN) issued as required by payer policy"),
    BuiltInModifier("GC", "Service performed in part by a resident under the direction of a teaching physician"),
    BuiltInModifier("GP", "Services delivered under an outpatient physical therapy plan of care"),
    BuiltInModifier("GQ", "Via asynchronous telecommunications system"),
    BuiltInModifier("GT", "Via interactive audio and video telecommunication systems"),
    BuiltInModifier("GX", "Notice of liability issued, voluntary under payer policy"),
    BuiltInModifier("GY", "Item or service statutorily excluded or not a benefit"),
    BuiltInModifier("GZ", "Item or service expected to be denied as not reasonable and necessary"),
    BuiltInModifier("KX", "Requirements specified in the medical policy have been met"),
    BuiltInModifier("LC", "Left circumflex coronary artery", ncci_bypass=True),
    BuiltInModifier("LD", "Left anterior descending coronary artery", ncci_bypass=True),
    BuiltInModifier("LM", "Left main coronary artery", ncci_bypass=True),
    BuiltInModifier("LT", "Left side", ncci_bypass=True),
    BuiltInModifier("QW", "CLIA waived test"),
    BuiltInModifier("RC", "Right coronary artery", ncci_bypass=True),
    BuiltInModifier("RI", "Ramus intermedius coronary artery", ncci_bypass=True),
    BuiltInModifier("RT", "Right side", ncci_bypass=True),
    BuiltInModifier("TA", "Left foot, great toe", ncci_bypass=True),
    BuiltInModifier("T1", "Left foot, second digit", ncci_bypass=True),
    BuiltInModifier("T2", "Left foot, third digit", ncci_bypass=True),
    BuiltInModifier("T3", "Left foot, fourth digit", ncci_bypass=True),
    BuiltInModifier("T4", "Left foot, fifth digit", ncci_bypass=True),
    BuiltInModifier("T5", "Right foot, great toe", ncci_bypass=True),
    BuiltInModifier("T6", "Right foot, second digit", ncci_bypass=True),
    BuiltInModifier("T7", "Right foot, third digit", ncci_bypass=True),
    BuiltInModifier("T8", "Right foot, fourth digit", ncci_bypass=True),
    BuiltInModifier("T9", "Right foot, fifth digit", ncci_bypass=True),
    BuiltInModifier("TC", "Technical component", pricing=True),
    BuiltInModifier("XE", "Separate encounter", ncci_bypass=True),
    BuiltInModifier("XP", "Separate practitioner", ncci_bypass=True),
    BuiltInModifier("XS", "Separate structure or organ", ncci_bypass=True),
    BuiltInModifier("XU", "Unusual non-overlapping service", ncci_bypass=True),
)  # fmt: skip
