"""Encounters, charges, claims and the clearinghouse mailbox's records."""

from __future__ import annotations
