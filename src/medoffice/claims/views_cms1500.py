"""The paper claim: a CMS-1500 PDF of one claim (a PHI read, written to the audit trail)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from medoffice.claims import cms1500
from medoffice.claims.models import Claim
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core import audit
from medoffice.core.exceptions import NotFound
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import AuditAction
from medoffice.core.views import permission_required


@login_required
@permission_required(ClaimsPerm.VIEW)
def claim_cms1500(request: AuthenticatedHttpRequest, claim_id: int) -> HttpResponse:
    """`?form=1` prints the form's red outline too, for plain paper."""
    claim = Claim.objects.select_related("encounter__patient").filter(pk=claim_id).first()
    if claim is None:
        raise NotFound(f"There is no claim {claim_id}.")
    audit.record(AuditAction.DOWNLOAD, obj=claim.encounter.patient, reason="CMS-1500 claim PDF")
    content = cms1500.render(
        cms1500.form_for_claim(claim), with_form=request.GET.get("form") == "1"
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="cms1500-{claim.control_number}.pdf"'
    return response
