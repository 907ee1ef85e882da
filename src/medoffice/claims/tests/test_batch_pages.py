"""The batches page: "Build and send" queues a job that builds the 837P file and sends it to a
folder clearinghouse while the page polls its progress; failures are shown in words; the
file's download is on the audit trail; only claims.submit holders get in."""

from __future__ import annotations

import re
import shutil

import pytest
from django.urls import reverse
from django.utils.html import escape

from medoffice.claims.models import (
    BatchJob,
    Claim,
    ClaimBatch,
    ClaimStatus,
    JobState,
    MailboxSubmission,
    SubmissionStatus,
)
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.core.models import AuditAction, AuditEvent, Practice
from medoffice.testing.claim_builders import make_claim
from medoffice.testing.forms import form_token

pytestmark = pytest.mark.django_db

BATCHES = reverse("claims:batches")
START = reverse("claims:batch_start")
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run as they are enqueued (the page enqueues when its transaction commits)."""
    settings.TASKS = IMMEDIATE
    return settings


@pytest.fixture
def portal(practice, users, tmp_path):
    Practice.objects.update(phone="+12175550100")
    return folder_clearinghouse(tmp_path / "portal", users["manager"])


def _start(client, captured, *, action="send", clearinghouse=None, token=None):
    token = token or form_token(client, BATCHES)
    data = {"form_token": token, "action": action}
    if clearinghouse is not None:
        data["clearinghouse"] = str(clearinghouse.pk)
    with captured(execute=True):
        return client.post(START, data)


def _progress(client, job) -> str:
    response = client.get(reverse("claims:batch_job_progress", args=[job.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_build_and_send_runs_the_job_and_the_page_shows_it_done(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks, tmp_path
):
    claims = [make_claim(status=ClaimStatus.READY) for _ in range(3)]
    make_claim(status=ClaimStatus.DRAFT)
    biller = client_for("biller")
    page = biller.get(BATCHES).content.decode()
    assert "3 claims ready, $600.03 in charges" in page  # 3 claims of $100.00 + $100.01
    assert 'aria-label="Build a batch"' in page and 'for="clearinghouse"' in page

    response = _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal)

    job = BatchJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("claims:batch_job", args=[job.pk])
    assert job.state == JobState.DONE and job.error == ""
    batch = ClaimBatch.objects.get()
    assert job.batch == batch and job.claim_count == 3
    sent = tmp_path / "portal" / "out" / batch.file_name
    assert sent.read_bytes() == bytes(batch.content)
    assert job.submission.status == SubmissionStatus.SENT
    assert set(Claim.objects.filter(pk__in=[c.pk for c in claims]).values_list("status", flat=True)) == {ClaimStatus.SUBMITTED}  # fmt: skip

    fragment = _progress(biller, job)
    assert "hx-trigger" not in fragment  # finished: the polling stops
    assert (
        "Done: " in fragment
        and batch.file_name in fragment
        and "sent to Portal uploads" in fragment
    )
    assert re.search(
        r'<progress[^>]*aria-labelledby="batch-progress-label batch-stage"[^>]*max="4" value="4"',
        fragment,
    )
    page = biller.get(reverse("claims:batch_job", args=[job.pk])).content.decode()
    assert re.search(r'role="status" aria-live="polite"[^>]*><section id="batch-progress"', page)

    listing = biller.get(BATCHES).content.decode()
    assert (
        batch.file_name in listing and "<td>Sent</td>" in listing and "No claim is ready" in listing
    )
    detail = biller.get(reverse("claims:batch", args=[batch.pk])).content.decode()
    for claim in claims:
        assert claim.control_number in detail
    assert detail.count("<td>Submitted</td>") == 3


def test_a_queued_job_polls_every_second_until_it_is_done(
    client_for, portal, users, django_capture_on_commit_callbacks
):
    """With the real (database) backend the job waits for a worker: the fragment keeps polling."""
    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    response = _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal)
    job = BatchJob.objects.get()
    assert response.status_code == 302 and job.state == JobState.QUEUED
    fragment = _progress(biller, job)
    assert 'hx-trigger="every 1s"' in fragment
    assert reverse("claims:batch_job_progress", args=[job.pk]) in fragment
    assert 'value="0"' in fragment and "Waiting for a worker" in fragment

    from medoffice.claims.batch_tasks import build_and_send

    build_and_send.call(job_id=job.pk)  # what the worker runs
    fragment = _progress(biller, job)
    assert "hx-trigger" not in fragment and "Done: " in fragment


def test_a_double_submit_makes_one_job(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks
):
    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    token = form_token(biller, BATCHES)
    first = _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal, token=token)
    second = _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal, token=token)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert BatchJob.objects.count() == 1
    assert ClaimBatch.objects.count() == 1 and MailboxSubmission.objects.count() == 1


def test_no_claim_ready_fails_in_words(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks
):
    biller = client_for("biller")
    _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal)
    job = BatchJob.objects.get()
    assert job.state == JobState.FAILED
    fragment = _progress(biller, job)
    assert "Failed while taking the ready claims:" in fragment
    assert "No claim is ready to batch" in fragment and "hx-trigger" not in fragment
    assert ClaimBatch.objects.count() == 0


def test_a_missing_outbound_folder_fails_in_words_and_the_claims_stay_batched(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks, tmp_path
):
    claim = make_claim(status=ClaimStatus.READY)
    shutil.rmtree(tmp_path / "portal" / "out")
    biller = client_for("biller")
    _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal)
    job = BatchJob.objects.get()
    batch = ClaimBatch.objects.get()
    assert job.state == JobState.FAILED and job.batch == batch
    fragment = _progress(biller, job)
    assert f"{batch.file_name} was written but not sent to Portal uploads" in fragment
    assert "does not exist" in job.submission.error and escape(job.submission.error) in fragment
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.BATCHED and claim.batch == batch
    listing = biller.get(BATCHES).content.decode()
    assert "<td>Failed</td>" in listing and escape(job.submission.error) in listing

    # Once the folder is there again the batch's page sends it.
    (tmp_path / "portal" / "out").mkdir()
    sent = biller.post(
        reverse("claims:batch_resend", args=[batch.pk]), {"clearinghouse": portal.pk}
    )
    assert sent.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    assert (tmp_path / "portal" / "out" / batch.file_name).read_bytes() == bytes(batch.content)


def test_a_job_run_again_after_a_crash_writes_one_file_and_sends_it_once(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks, tmp_path
):
    from medoffice.claims.batch_tasks import build_and_send

    make_claim(status=ClaimStatus.READY)
    _start(client_for("biller"), django_capture_on_commit_callbacks, clearinghouse=portal)
    job = BatchJob.objects.get()
    BatchJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, stage="sending")
    build_and_send.call(job_id=job.pk)  # the worker died before it marked the job done
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert ClaimBatch.objects.count() == 1 and MailboxSubmission.objects.count() == 1
    assert len(list((tmp_path / "portal" / "out").iterdir())) == 1


def test_build_only_writes_the_file_and_sends_nothing(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks, tmp_path
):
    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    _start(biller, django_capture_on_commit_callbacks, action="build", clearinghouse=portal)
    job = BatchJob.objects.get()
    assert job.state == JobState.DONE and not job.send and job.submission is None
    assert MailboxSubmission.objects.count() == 0
    assert list((tmp_path / "portal" / "out").iterdir()) == []
    assert "built (not sent)" in _progress(biller, job)


def test_the_file_download_is_on_the_audit_trail(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks, users
):
    claim = make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    _start(biller, django_capture_on_commit_callbacks, action="build", clearinghouse=portal)
    batch = ClaimBatch.objects.get()
    response = biller.get(reverse("claims:batch_download", args=[batch.pk]))
    assert response.status_code == 200
    assert response.content == bytes(batch.content) and response.content.startswith(b"ISA")
    assert f'attachment; filename="{batch.file_name}"' == response["Content-Disposition"]
    event = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).latest("id")
    assert event.object_type == "claims.claimbatch" and event.object_id == str(batch.pk)
    assert event.actor_id == users["biller"].pk
    assert event.patient_id == str(claim.encounter.patient_id)


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_submitters_get_in(client_for, portal, role):
    make_claim(status=ClaimStatus.READY)
    client = client_for(role)
    assert client.get(BATCHES).status_code == 403
    assert client.post(START, {"action": "send", "clearinghouse": portal.pk}).status_code == 403
    assert BatchJob.objects.count() == 0


def test_a_forged_token_or_a_switched_off_clearinghouse_is_refused_in_words(
    client_for, portal, users, django_capture_on_commit_callbacks
):
    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    forged = biller.post(START, {"form_token": "x", "action": "send", "clearinghouse": portal.pk})
    assert forged.status_code == 400 and "This form has expired" in forged.content.decode()
    portal.is_active = False
    portal.save()
    token = form_token(biller, BATCHES)
    off = _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal, token=token)
    assert off.status_code == 400 and "That clearinghouse is not active" in off.content.decode()
    none = _start(biller, django_capture_on_commit_callbacks, token=token)
    assert none.status_code == 400
    assert "Choose the clearinghouse to send the batch to." in none.content.decode()
    assert BatchJob.objects.count() == 0


# The worker closes connections between jobs as a real one must: this test commits.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_runs_the_queued_job_as_the_biller(client_for, portal, users, tmp_path):
    from medoffice.core.jobs import WorkerOptions, run_worker

    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    token = form_token(biller, BATCHES)
    biller.post(START, {"form_token": token, "action": "send", "clearinghouse": portal.pk})
    job = BatchJob.objects.get()
    assert job.state == JobState.QUEUED  # enqueued when the request committed, not yet run

    run_worker(WorkerOptions(batch=True, schedule=False, handle_signals=False))

    job.refresh_from_db()
    assert job.state == JobState.DONE and job.submission.status == SubmissionStatus.SENT
    assert (tmp_path / "portal" / "out" / job.batch.file_name).is_file()
    made = AuditEvent.objects.filter(object_type="claims.claimbatch", action=AuditAction.CREATE)
    assert {e.actor_name for e in made} == {
        f"{users['biller'].username} via job claims.batch_tasks.build_and_send"
    }


def test_without_an_active_clearinghouse_the_page_offers_build_only(
    client_for, practice, immediate_tasks, django_capture_on_commit_callbacks
):
    Practice.objects.update(phone="+12175550100")
    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    page = biller.get(BATCHES).content.decode()
    assert "No clearinghouse is active" in page and "Build and send" not in page
    _start(biller, django_capture_on_commit_callbacks, action="build")
    job = BatchJob.objects.get()
    assert job.state == JobState.DONE and job.clearinghouse is None
    assert job.batch.file_name.startswith("837P-")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_clicks_at_once_make_one_job(users, portal):
    """The same form sent by ten connections at the same moment: one job, one place to go."""
    import threading

    from django.db import connection, connections
    from django.test import Client

    if connection.vendor != "postgresql":
        pytest.skip("ten writers at once: PostgreSQL only")
    make_claim(status=ClaimStatus.READY)
    first = Client()
    first.force_login(users["biller"])
    token = form_token(first, BATCHES)
    clients = []
    for _ in range(10):
        client = Client()
        client.force_login(users["biller"])
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    places: list[str] = []
    lock = threading.Lock()

    def click(client):
        try:
            barrier.wait(timeout=60)
            response = client.post(
                START, {"form_token": token, "action": "send", "clearinghouse": portal.pk}
            )
            place = response.get("Location", f"status {response.status_code}")
        finally:
            connections.close_all()
        with lock:
            places.append(place)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    job = BatchJob.objects.get()
    assert places == [reverse("claims:batch_job", args=[job.pk])] * len(clients)
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path__endswith="build_and_send").count() == 1


def test_the_claims_home_links_the_batches_for_submitters_only(client_for):
    link = f'href="{BATCHES}"'
    assert link in client_for("biller").get(reverse("claims:home")).content.decode()
    assert link not in client_for("clinician").get(reverse("claims:home")).content.decode()


def test_the_progress_and_its_heading_count_steps_and_the_claims_are_counted_apart(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks
):
    for _ in range(5):
        make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    _start(biller, django_capture_on_commit_callbacks, clearinghouse=portal)
    job = BatchJob.objects.get()
    assert job.state == JobState.DONE and job.claim_count == 5
    fragment = _progress(biller, job)
    assert '<h2 id="batch-progress-label">Progress: step 4 of 4</h2>' in fragment
    assert re.search(
        r'<progress[^>]*max="4" value="4" aria-valuetext="step 4 of 4">step 4 of 4<', fragment
    )
    # Every "N of M" on the fragment is a count of steps; the claims say "claims".
    assert {unit for unit, _, _ in re.findall(r"(\w+) (\d+) of (\d+)", fragment)} == {"step"}
    assert "5 claims in the batch" in fragment


def test_a_build_only_job_is_done_at_its_last_step(
    client_for, portal, immediate_tasks, django_capture_on_commit_callbacks
):
    make_claim(status=ClaimStatus.READY)
    biller = client_for("biller")
    _start(biller, django_capture_on_commit_callbacks, action="build", clearinghouse=portal)
    fragment = _progress(biller, BatchJob.objects.get())
    assert "Progress: step 3 of 3" in fragment and 'max="3" value="3"' in fragment
    assert "1 claim in the batch" in fragment


def test_the_claims_of_a_batch_never_sent_are_taken_out_for_the_next(users, client_for, tmp_path):
    """A batch built for a receiver no clearinghouse has cannot be sent: its claims are taken
    out (ready again, their history says so) and the next batch takes them; the emptied batch
    cannot be sent, and a sent one is never emptied."""
    from medoffice.claims import batch_jobs, batches

    Practice.objects.update(phone="+12175550100")
    claims = [make_claim(lines=1, status=ClaimStatus.READY) for _ in range(2)]
    stuck = batches.batch_build(actor=users["biller"],
                                exchange=batches.practice_exchange(receiver_id="NOBODY"))  # fmt: skip
    page = reverse("claims:batch", args=[stuck.pk])
    biller = client_for("biller")
    assert 'id="release-form"' in biller.get(page).content.decode()
    assert client_for("front_desk").post(reverse("claims:batch_release", args=[stuck.pk])
                                         ).status_code == 403  # fmt: skip
    answer = biller.post(reverse("claims:batch_release", args=[stuck.pk]), follow=True)
    assert "2 claim(s) taken out of" in answer.content.decode()
    for claim in claims:
        claim.refresh_from_db()
        assert (claim.status, claim.batch_id) == (ClaimStatus.READY, None)
        assert "which was never sent" in claim.events.order_by("-id").first().note
    house = folder_clearinghouse(tmp_path / "mb", users["manager"])
    with pytest.raises(Exception, match="holds no claim waiting to go"):
        batch_jobs.resend_batch(actor=users["biller"], batch_id=stuck.pk, clearinghouse=house)
    again = batches.batch_build(
        actor=users["biller"], exchange=batches.clearinghouse_exchange(house)
    )
    assert sorted(again.claims.values_list("pk", flat=True)) == sorted(c.pk for c in claims)
    batches.batch_submit(actor=users["biller"], batch=again, clearinghouse=house)
    with pytest.raises(Exception, match="was sent"):
        batch_jobs.release_batch(actor=users["biller"], batch_id=again.pk)
    assert set(again.claims.values_list("status", flat=True)) == {"submitted"}
