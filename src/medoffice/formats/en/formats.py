"""Django's own date and time formats for medoffice's pages: MM/DD/YYYY and 12-hour times.

A date or time a template prints without a filter follows these; the named filters in
medoffice.core.formats follow the same rules.
"""

DATE_FORMAT = "m/d/Y"
SHORT_DATE_FORMAT = "m/d/Y"
TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "m/d/Y g:i A"
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
MONTH_DAY_FORMAT = "m/d"
YEAR_MONTH_FORMAT = "m/Y"
DATE_INPUT_FORMATS = ["%m/%d/%Y", "%Y-%m-%d"]
