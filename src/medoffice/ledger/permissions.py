"""The books' permissions (registered with core from LedgerConfig.ready())."""

from __future__ import annotations

from enum import StrEnum


class LedgerPerm(StrEnum):
    VIEW_BOOKS = "ledger.view"  # reports, journal, trial balance
    POST_MANUAL_ENTRIES = "ledger.post_manual"  # the accountant's adjustments
    REVERSE_ENTRIES = "ledger.reverse_entry"  # reverse a posted manual entry
    CLOSE_PERIODS = "ledger.close_period"
    REOPEN_PERIODS = "ledger.reopen_period"  # the owner's alone
    MANAGE_ACCOUNTS = "ledger.manage_accounts"  # edit the chart of accounts
    CLOSE_DRAWER = "ledger.close_drawer"  # count the drawer, make the deposit
