"""English formats for Django's ``|date``, the admin and forms, matching
``loyalty.formatting`` (Babel, en_GB) on the member's pages: ``3 Dec 2026``, ``3 Dec 2026,
14:30``, ``1,250,000``. The members are in Vietnam, so the day comes first (never 12/03/2026,
which a Vietnamese reader takes for the 12th of March) and the clock has 24 hours."""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
# ISO first: a <input type="date"> needs it as its value; a typed 03/12/2026 is the 3rd of
# December, as in Vietnamese (no month-first US forms).
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d %b %Y", "%d %B %Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
# Group by thousands in English too (16,000,000), as Vietnamese does.
NUMBER_GROUPING = 3
