"""{{ claim|status_words }}: a claim's status as the worklist shows it. A claim the scrubber
holds for warnings only is "Warnings to review", not "Scrubber errors" (it has none)."""

from __future__ import annotations

from django import template

from medoffice.claims.models import Claim, ClaimStatus

register = template.Library()


@register.filter
def status_words(claim: Claim) -> str:
    if claim.status != ClaimStatus.SCRUB_ERRORS:
        return str(claim.get_status_display())
    findings = list(claim.findings.all())  # prefetched on the worklist
    errors = sum(1 for f in findings if f.severity == "error")
    if errors:
        return f"Scrubber errors ({errors})"
    return f"Warnings to review ({len(findings)})" if findings else "Scrubber errors"
