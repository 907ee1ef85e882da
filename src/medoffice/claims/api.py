"""Claims' JSON API: each concern's router, mounted under /api/claims/ by medoffice.api."""

from __future__ import annotations

from medoffice.claims.api_claims import router as claims_router
from medoffice.claims.api_eligibility import router as eligibility_router
from medoffice.claims.api_encounters import router as encounters_router

routers = [
    ("claims", encounters_router),
    ("claims", eligibility_router),  # before "/{claim_id}"
    ("claims", claims_router),
]
