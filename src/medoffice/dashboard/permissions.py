"""The dashboard's permissions (registered with core from DashboardConfig.ready())."""

from __future__ import annotations

from enum import StrEnum


class DashboardPerm(StrEnum):
    VIEW_DASHBOARD = "dashboard.view"
