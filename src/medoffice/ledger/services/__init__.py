"""Writing to the books, by concern: posting (`posting`), periods and the year-end close
(`periods`), the accountant's manual entries (`manual`) and their reversal (`reversals`), the chart of accounts
(`accounts`). Everything callers use is re-exported here: `from medoffice.ledger.services
import post, Line, Posting`."""

from medoffice.ledger.models import to_dollars
from medoffice.ledger.services.accounts import (
    account_create,
    account_deactivate,
    account_reactivate,
    account_update,
    balance_cents,
)
from medoffice.ledger.services.manual import (
    MANUAL_SOURCE,
    ManualLine,
    check_lines,
    manual_entry_submit,
    on_decided,
    patient_account_ids,
)
from medoffice.ledger.services.periods import (
    RETAINED_EARNINGS,
    YEAR_END_SOURCE,
    books_start,
    check_closable_month,
    check_closable_year,
    close_period,
    close_year,
    entry_date_range,
    open_month_before,
    parse_month,
    period_for,
    reopen_period,
)
from medoffice.ledger.services.posting import (
    MAX_LINES,
    Line,
    Posting,
    account_by_key,
    account_for,
    closed_period_for,
    closed_words,
    ensure_chart,
    latest_posting_day,
    money_text,
    post,
    post_many,
    reverse,
    to_cents,
)
from medoffice.ledger.services.reversals import OWNING_ACTION, entry_reverse, owning_action

__all__ = [
    "MANUAL_SOURCE", "MAX_LINES", "OWNING_ACTION", "RETAINED_EARNINGS", "YEAR_END_SOURCE", "Line", "ManualLine",
    "Posting", "account_by_key", "account_create", "account_deactivate", "account_for", "account_reactivate",
    "account_update", "balance_cents", "books_start", "check_closable_month", "check_closable_year", "check_lines", "close_period", "close_year", "closed_period_for", "closed_words", "ensure_chart",
    "entry_date_range", "entry_reverse", "latest_posting_day", "manual_entry_submit", "money_text", "on_decided", "open_month_before", "owning_action", "parse_month", "patient_account_ids", "period_for",
    "post", "post_many", "reopen_period", "reverse", "to_cents", "to_dollars",
]  # fmt: skip
