"""The claims app's JSON API routers (mounted by medoffice/api.py)."""

from __future__ import annotations

from medoffice.claims.api_claims import router as claims_router

routers = [("claims", claims_router)]
