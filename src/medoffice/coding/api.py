"""JSON API of the code sets: /api/coding/... (the code search page's permissions)."""

from datetime import date

from ninja import Field, Query, Router, Schema

from medoffice.coding import selectors
from medoffice.coding.api_fees import router as fees_router
from medoffice.coding.permissions import CodingPerm
from medoffice.core.api_auth import requires

router = Router(tags=["coding"])
CODE_OWN = "claims.code_own"  # a clinician coding their own visits (claims' permission)


class Icd10Out(Schema):
    code: str = Field(description="with the dot, e.g. E11.9")
    description: str
    billable: bool = Field(description="a leaf code: only these go on a claim")


class ProcedureOut(Schema):
    code: str
    system: str = Field(description="CPT or HCPCS")
    short_description: str
    long_description: str
    effective_date: date | None
    termination_date: date | None


class SearchQuery(Schema):
    q: str = Field(..., min_length=1, max_length=100, description="a code or its start, or words")
    limit: int = Field(20, ge=1, le=100)


@router.get(
    "/icd10", response=list[Icd10Out], summary="Search ICD-10-CM by code or words (billable first)"
)
@requires(CodingPerm.VIEW, CODE_OWN)
def icd10(request, query: Query[SearchQuery]):
    return selectors.icd10_search(query.q, query.limit)


@router.get("/procedures", response=list[ProcedureOut], summary="Search CPT and HCPCS codes")
@requires(CodingPerm.VIEW, CODE_OWN)
def procedures(request, query: Query[SearchQuery]):
    return selectors.procedure_search(query.q, query.limit)


# Code search and the fees share /api/coding/.
routers = [("coding", router), ("coding", fees_router)]
