"""Celery tasks of the survey (autodiscovered as reporting.tasks)."""

from reporting.tasks.aggregation import *  # noqa: F401,F403
from reporting.tasks.audit import *  # noqa: F401,F403
from reporting.tasks.reminders import *  # noqa: F401,F403
from reporting.tasks.spreadsheets import *  # noqa: F401,F403
