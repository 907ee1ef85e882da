"""From a coded visit to a claim the clearinghouse accepts, through the pages: a coder codes the
visit by searching as they type (the scrubber flags a line pointing at a diagnosis taken off;
the coder fixes it) and finalizes it; the scrubber, run from the claim page, names a problem in words there
and in the worklist (the patient's address is missing); the front desk completes the
registration and the claim scrubs clean; the biller builds and sends it to a folder
clearinghouse on the batch page, watching the progress reach done; a 999 accepting the batch,
written with the x12 library and applied on the upload page, marks the batch and the claim
accepted, with "999 accepted" in the claim's history.

Every step is a person's clicks and typing on the pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from medoffice.claims import claims_services
from medoffice.claims import encounters as encounter_services
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import Claim, ClaimBatch, ClaimStatus, Encounter, EncounterStatus
from medoffice.claims.selectors import practice_today
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.coding.selectors import icd10_search
from medoffice.core.models import Practice
from medoffice.testing import factories, patients_factories
from medoffice.testing.coding_tables import make_code_tables
from medoffice.x12.writer import Group, Interchange, Segment, TransactionSet, write

MISSING_ADDRESS = "The patient's address, city, state, ZIP code are missing"


def _visit(opened_by) -> Encounter:
    """A completed visit yesterday (Jane Doe with Dr Able, insured by Acme Health), its
    encounter opened and not yet coded."""
    make_code_tables()
    icd10_search("E11.9")  # the server's ICD-10-CM index, loaded once
    main = factories.location(name="Main St")
    doctor = factories.provider(first_name="Ann", last_name="Able", locations=[main])
    patient = patients_factories.patient(  # registered without an address
        first_name="Jane", last_name="Doe", date_of_birth=date(1980, 1, 2)
    )
    patients_factories.coverage(
        patient=patient, payer=patients_factories.payer(name="Acme Health"),
        member_id="XYZ123456",
    )  # fmt: skip
    return encounter_services.encounter_create(
        actor=opened_by, patient=patient, location=main, rendering_provider=doctor,
        date_of_service=practice_today() - timedelta(days=1),
    )  # fmt: skip


def _search_and_pick(page, field: str, typed: str, code: str, options: str) -> None:
    """Type into a code field as a person does; the suggestion arrives; take it. (The test
    server shares this process's ICD-10-CM index, loaded before the page opens: a busy
    machine's first load is not what the page is tested on.)"""
    box = page.get_by_label(field, exact=True)
    box.click()
    box.press_sequentially(typed, delay=30)
    expect(page.locator(f"#{options} option[value='{code}']")).to_be_attached(timeout=15_000)
    box.fill(code)


def _group_control_number(content: bytes) -> str:
    """GS06 of an X12 file (the element separator is ISA's fourth character, the segment
    terminator the character after ISA16)."""
    text = content.decode("ascii")
    element, terminator = text[3], text[105]
    for segment in text.split(terminator):
        fields = segment.strip().split(element)
        if fields[0] == "GS":
            return fields[6]
    raise AssertionError("the batch file has no GS segment")


def _accepting_999(batch: ClaimBatch, clearinghouse_id: str) -> bytes:
    """The clearinghouse's 999 accepting the batch's one transaction set (ST02 0001)."""
    group = _group_control_number(bytes(batch.content))
    body: list[Segment] = [
        ("AK1", "HC", group, "005010X222A1"),
        ("AK2", "837", "0001", "005010X222A1"),
        ("IK5", "A"),
        ("AK9", "A", "1", "1", "1"),
    ]
    return write(
        [
            Interchange(
                sender_id=clearinghouse_id, receiver_id=batch.submitter_id,
                control_number=batch.interchange_control_number, created=timezone.localtime(),
                groups=[Group("FA", clearinghouse_id, batch.submitter_id, int(group),
                              "005010X231A1", [TransactionSet("999", 1, "005010X231A1", body)])],
            )
        ]
    )  # fmt: skip


def test_a_visit_coded_scrubbed_fixed_batched_and_accepted(browser_page, browser_login, tmp_path):
    factories.practice()
    Practice.objects.update(phone="+12175550100")
    # The biller role holds claims.code: the coder is a biller who codes.
    factories.user("front_desk", username="desk")
    factories.user("biller", username="coder", first_name="Cora", last_name="Coder")
    biller = factories.user("biller", username="biller", first_name="Bill", last_name="Payne")
    encounter = _visit(biller)
    # The manager set up the practice's clearinghouse: a portal taking uploads from a folder.
    clearinghouse = folder_clearinghouse(
        tmp_path / "portal", factories.user("manager"), submitter_id="RIVERSIDE01",
        receiver_id="PORTAL01",
    )  # fmt: skip
    page = browser_page

    # The coder opens the visit from the list of encounters to code.
    browser_login(page, "coder", factories.DEFAULT_PASSWORD)
    page.goto("/claims/")
    page.get_by_role("link", name="Encounters to code").click()
    row = page.get_by_role("row").filter(has_text="Jane Doe")
    expect(row).to_contain_text("Draft")
    row.get_by_role("link").click()
    expect(
        page.get_by_role("heading", name=re.compile(rf"Encounter {encounter.pk}"))
    ).to_be_visible()
    expect(page.locator("#visit")).to_contain_text("Acme Health (member XYZ123456")

    # Two diagnoses and a service line, each found by searching, the line pointing at both.
    _search_and_pick(page, "Diagnosis 1", "E11.9", "E11.9", "dx-options")
    _search_and_pick(page, "Diagnosis 2", "essential hyp", "I10", "dx-options")
    _search_and_pick(page, "Line 1 code", "9921", "99213", "proc-options")
    page.get_by_label("Line 1 diagnosis pointer 1").select_option("1")
    page.get_by_label("Line 1 diagnosis pointer 2").select_option("2")
    # Diagnosis 2 taken off again while line 1 points at it: the scrubber's pointer rule,
    # run as the coder saves, flags the pointer error in words and nothing is saved.
    page.get_by_label("Diagnosis 2", exact=True).fill("")
    page.get_by_role("button", name="Save codes").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Line 1: diagnosis pointer 2 is out of range")
    expect(alert).to_contain_text("(scrubber: pointer_out_of_range)")
    expect(page.get_by_label("Line 1 diagnosis pointer 2")).to_have_value("2")  # kept as typed
    _search_and_pick(page, "Diagnosis 2", "essential hyp", "I10", "dx-options")
    page.get_by_role("button", name="Save and mark coded").click()
    expect(page.get_by_text("Marked coded.")).to_be_visible()
    expect(page.locator("#total-charge")).to_have_text("$125.00")
    page.get_by_role("button", name="Finalize and post the charges").click()
    expect(page.get_by_text("Finalized: the charges are posted.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Ready"))).to_be_visible()

    # The coder builds the claim from the finalized visit; the scrubber checks it at once and
    # names what is wrong in words: the patient was registered without an address.
    page.get_by_role("button", name=re.compile("Build the claim to")).click()
    claim = Claim.objects.get(encounter=encounter)
    expect(
        page.get_by_text(f"Claim {claim.control_number} built: 1 error(s), 0 warning(s).")
    ).to_be_visible()
    expect(page.locator("#claim-lines")).to_contain_text("1, 2")
    finding = page.locator("#findings tbody tr").filter(has_text="patient_data_missing")
    expect(finding).to_contain_text("Error")
    expect(finding).to_contain_text(MISSING_ADDRESS)
    page.goto("/claims/worklist/")
    worklist_row = page.locator(f"#claim-{claim.pk}")
    expect(worklist_row).to_contain_text("Scrubber errors")
    expect(worklist_row.locator(".findings")).to_contain_text(MISSING_ADDRESS)

    # The front desk completes the registration; the claim then scrubs clean and is ready.
    page.context.clear_cookies()
    browser_login(page, "desk", factories.DEFAULT_PASSWORD)
    page.goto(f"/patients/{encounter.patient_id}/edit/")
    for field, value in [("address_line1", "12 Elm St"), ("city", "Springfield"),
                         ("state", "IL"), ("zip_code", "62704")]:  # fmt: skip
        page.locator(f"#id_{field}").fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("12 Elm St")).to_be_visible()
    page.context.clear_cookies()
    browser_login(page, "coder", factories.DEFAULT_PASSWORD)
    page.goto(f"/claims/claim/{claim.pk}/")
    page.get_by_role("button", name="Scrub").click()
    expect(page.get_by_text(f"Claim {claim.control_number} scrubbed clean: ready.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Ready"))).to_be_visible()
    expect(page.locator("#no-findings")).to_be_visible()
    assert Encounter.objects.get(pk=encounter.pk).status == EncounterStatus.READY

    # The biller takes over.
    page.context.clear_cookies()
    browser_login(page, "biller", factories.DEFAULT_PASSWORD)
    # The batch page: the ready claim, built and sent to the portal, the progress shown as it
    # goes (the job is queued; a worker runs it; the bar polls until it is done).
    page.goto("/claims/")
    page.get_by_role("link", name="Batches").click()
    ready = page.locator("#ready")
    expect(ready).to_contain_text("1 claim ready, $125.00 in charges")
    expect(ready).to_contain_text("Acme Health")
    choice = page.get_by_label("Clearinghouse to send to")
    expect(choice.locator("option:checked")).to_contain_text("Portal uploads")
    choice.select_option(str(clearinghouse.pk))
    page.get_by_role("button", name="Build and send").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Batch job \d+$"))).to_be_visible()
    progress = page.locator("#batch-progress")
    expect(progress).to_have_attribute("data-state", "queued")
    call_command("db_worker", batch=True, no_startup_delay=True)  # the worker's turn
    batch = ClaimBatch.objects.get()
    expect(progress).to_have_attribute("data-state", "done")
    expect(progress).to_contain_text(
        f"Done: {batch.file_name}, 1 claim in the batch, sent to Portal uploads."
    )
    expect(page.locator("#batch-progress-label")).to_have_text("Progress: step 4 of 4")
    bar = page.locator("#batch-progress-bar")
    expect(bar).to_have_attribute("value", bar.get_attribute("max") or "")
    sent = list((tmp_path / "portal" / "out").iterdir())
    assert [f.name for f in sent] == [batch.file_name]
    assert sent[0].read_bytes() == bytes(batch.content)
    page.goto(f"/claims/claim/{claim.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Submitted"))).to_be_visible()
    expect(page.locator("#history")).to_contain_text(f"sent to Portal uploads as {batch.file_name}")

    # The clearinghouse's 999 accepting the batch, applied on the upload page.
    answer = tmp_path / "accepted.999"
    answer.write_bytes(_accepting_999(batch, "PORTAL01"))
    page.goto("/claims/responses/apply/")
    page.get_by_label(re.compile("^999 implementation acknowledgment")).check()
    page.get_by_label("File").set_input_files(str(answer))
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="999 applied")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("not matched (accepted.999)")
    matched = page.get_by_role("table").first
    expect(matched.get_by_role("row").filter(has_text=batch.file_name)).to_contain_text("accepted")
    expect(matched.get_by_role("row").filter(has_text=claim.control_number)).to_contain_text(
        "Accepted"
    )
    expect(page.get_by_text("Everything in the file matched.")).to_be_visible()

    # The claim shows the 999's acceptance.
    page.goto(f"/claims/claim/{claim.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Accepted"))).to_be_visible()
    expect(page.locator("#history")).to_contain_text("999 accepted: Accepted")
    page.goto("/claims/worklist/")
    expect(page.locator(f"#claim-{claim.pk}")).to_contain_text("Accepted")
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.ACCEPTED


def test_a_coder_corrects_a_visit_after_its_claim_is_built(browser_page, browser_login):
    factories.practice()
    coder = factories.user("biller", username="coder")
    encounter = _visit(coder)
    encounter_services.encounter_code(
        actor=coder, encounter_id=encounter.pk, diagnoses=["E11.9", "I10"],
        lines=[LineInput(code="99213", pointers=[1, 2])],
    )  # fmt: skip
    encounter_services.encounter_mark_coded(actor=coder, encounter_id=encounter.pk)
    encounter_services.encounter_finalize(actor=coder, encounter_id=encounter.pk)
    encounter.refresh_from_db()
    claims_services.claim_build(actor=coder, encounter=encounter)
    page = browser_page
    browser_login(page, "coder", factories.DEFAULT_PASSWORD)
    page.goto(f"/claims/encounters/{encounter.pk}/")
    page.get_by_label("Why reopen it (the charges are reversed)").fill("I10 not documented")
    page.get_by_role("button", name="Reopen to correct").click()
    expect(page.get_by_text("Reopened: the charges are reversed")).to_be_visible()
    page.get_by_label("Diagnosis 2", exact=True).fill("")
    page.get_by_label("Line 1 diagnosis pointer 2").select_option("")
    page.get_by_role("button", name="Save codes").click()
    # The unsent claim is dropped at reopening, to be built again from the corrected visit.
    expect(page.get_by_text(re.compile("The codes are saved"))).to_be_visible()
    expect(page.get_by_role("heading", name="Server Error (500)")).to_have_count(0)
    assert not Claim.objects.filter(encounter=encounter).exists()
