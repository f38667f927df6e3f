"""The build's one read of the calendar, so that a test can set the day a build runs on."""
from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    """The day of the build: a date after it is not taken as an article's date (layout)."""
    return dt.date.today()
