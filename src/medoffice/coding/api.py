"""Coding's JSON API: the routers /api/coding/... is made of."""

from medoffice.coding.api_fees import router as fees_router

routers = [("coding", fees_router)]
