"""The batches page: the claims ready to go, "Build and send" (a background job with a progress
bar the page polls), past batches with their files (a PHI download, audited) and one batch's
claims. Thin: they read the form, call one service or selector, show its words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from medoffice.claims import batch_jobs
from medoffice.claims import batch_selectors as selectors
from medoffice.claims.batch_selectors import dollars
from medoffice.claims.batch_tasks import build_and_send
from medoffice.claims.models import BatchJob, ClaimBatch, Clearinghouse
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core import audit, once
from medoffice.core.exceptions import InvalidInput
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.jobs import enqueue_as
from medoffice.core.models import AuditAction
from medoffice.core.views import permission_required, refusal

PURPOSE = "claims.batch_job"


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _batch(batch_id: int) -> ClaimBatch:
    found = selectors.batch(batch_id)
    if found is None:
        raise Http404("There is no such batch.")
    return found


def _job(job_id: int) -> BatchJob:
    found = selectors.job(job_id)
    if found is None:
        raise Http404("There is no such batch job.")
    return found


def _page(request: AuthenticatedHttpRequest, *, error: str = "", errors=None, status=200):
    sort = request.GET.get("sort", "-created")
    clearinghouses = selectors.active_clearinghouses()
    chosen = _int(request.POST.get("clearinghouse")) if request.method == "POST" else None
    return render(
        request,
        "claims/batches.html",
        {
            "ready": selectors.ready_to_batch(),
            "clearinghouses": clearinghouses,
            "chosen": chosen,
            "batches": [(b, dollars(b.total_charge_cents)) for b in selectors.batch_rows(sort)],
            "jobs": selectors.recent_jobs(),
            "form_token": once.current(request, PURPOSE),
            "error": error,
            "errors": errors or {},
        },
        status=status,
    )


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_GET
def batches(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def batch_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Queue a job: "send" builds and sends, "build" builds only. The form's one-time token
    is the job's key, so the same form sent twice leads to the first job."""
    send = request.POST.get("action", "send") != "build"
    chosen = _int(request.POST.get("clearinghouse"))
    clearinghouse: Clearinghouse | None = None
    if chosen is not None:
        clearinghouse = selectors.active_clearinghouses().filter(pk=chosen).first()

    def write() -> str:
        job, new = batch_jobs.start_batch_job(
            actor=request.user, clearinghouse=clearinghouse, send=send,
            idempotency_key=request.POST.get(once.FIELD, "")[-100:],
        )  # fmt: skip
        if new:
            enqueue_as(build_and_send, actor=request.user, job_id=job.pk)
        return reverse("claims:batch_job", args=[job.pk])

    with refusal() as failed:
        if chosen is not None and clearinghouse is None:
            raise InvalidInput(
                "That clearinghouse is not active: choose another.", field="clearinghouse"
            )
        spent = once.spend(request, PURPOSE, write)
        return redirect(spent.url)
    return _page(request, error=failed.message, errors=failed.errors, status=400)


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_GET
def batch_job(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = _job(job_id)
    return render(request, "claims/batch_job.html", _job_context(job))


def _job_context(job: BatchJob) -> dict[str, object]:
    return {
        "job": job,
        "step": batch_jobs.progress_step(job),
        "steps": batch_jobs.progress_steps(job),
    }


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_GET
def batch_job_progress(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    """The progress fragment htmx polls each second; once the job is finished it carries no
    trigger, so the polling stops."""
    job = _job(job_id)
    return render(request, "claims/batch_job_progress.html", _job_context(job))


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_GET
def batch_detail(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(batch_id)
    claims = list(selectors.batch_claims(batch))
    audit.record_list(
        "claims.claimbatch",
        patient_ids=[claim.encounter.patient_id for claim in claims],
        description=f"claims of batch {batch.file_name}",
    )
    return render(
        request,
        "claims/batch_detail.html",
        {
            "batch": batch,
            "claims": [(c, dollars(c.total_charge_cents)) for c in claims],
            "total": dollars(batch.total_charge_cents),
            "submissions": selectors.batch_submissions(batch),
            "clearinghouses": selectors.active_clearinghouses(),
        },
    )


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_GET
def batch_download(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    """The 837P file as sent: it names patients, so the download is on the audit trail."""
    found = ClaimBatch.objects.filter(pk=batch_id).first()
    if found is None:
        raise Http404("There is no such batch.")
    patients = sorted(selectors.batch_patient_ids(found))
    audit.record(
        AuditAction.DOWNLOAD, obj=found, reason="837P batch file",
        patient_id=patients[0] if len(patients) == 1 else None,
        changes={"patients": patients, "claims": found.claim_count},
    )  # fmt: skip
    response = HttpResponse(bytes(found.content), content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    return response


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def batch_resend(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    """Send a batch whose send failed again (runs in the request: one file, one send)."""
    clearinghouse = (
        selectors.active_clearinghouses()
        .filter(pk=_int(request.POST.get("clearinghouse")) or 0)
        .first()
    )
    with refusal() as failed:
        if clearinghouse is None:
            raise InvalidInput("Choose an active clearinghouse to send it to.")
        messages.success(
            request,
            batch_jobs.resend_batch(
                actor=request.user, batch_id=batch_id, clearinghouse=clearinghouse
            ),
        )
    if failed:
        messages.error(request, failed.message)
    return redirect("claims:batch", batch_id=batch_id)


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def batch_release(request: AuthenticatedHttpRequest, batch_id: int) -> HttpResponse:
    """Take the claims out of a batch never sent, so the next batch takes them."""
    with refusal() as failed:
        messages.success(request, batch_jobs.release_batch(actor=request.user, batch_id=batch_id))
    if failed:
        messages.error(request, failed.message)
    return redirect("claims:batch", batch_id=batch_id)
