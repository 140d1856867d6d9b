"""Vietnamese formats for Django's ``|date``, the admin and forms, matching
``loyalty.formatting`` (Babel) on the member's pages: ``03/12/2026``, ``14:30 03/12/2026``,
``1.250.000``. Django's own Vietnamese module writes ``03-12-2026`` and "Ngày 03 tháng 12
năm 2026"; a chain's receipts, app and staff write the day with slashes."""

DATE_FORMAT = "d/m/Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "H:i d/m/Y"
YEAR_MONTH_FORMAT = r"\t\há\n\g n/Y"
MONTH_DAY_FORMAT = "d/m"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "H:i d/m/Y"
FIRST_DAY_OF_WEEK = 1  # Monday
# ISO first: a <input type="date"> needs it as its value; a typed 03/12/2026 is read too.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%H:%M %d/%m/%Y",
]
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
# Django's Vietnamese formats set the separators but no grouping, so 16000000 would show
# ungrouped; group by thousands (16.000.000).
NUMBER_GROUPING = 3
