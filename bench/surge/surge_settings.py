"""Settings of the surge bench's server and worker: production's, as deployed.

Only static files differ: the bench's reporters request no static file (a browser caches
them), so plain storage spares the bench a collectstatic run; and each run has its own queue
and cache keys on the shared Redis, so runs from other checkouts at the same time neither
take its tasks nor see its entries.
"""

import os

from surveysite.settings.production import *  # noqa: F403
from surveysite.settings.production import CACHES

RUN_PREFIX = os.environ.get("BENCH_SURGE_RUN", "surveysite-bench-surge")
CELERY_TASK_DEFAULT_QUEUE = RUN_PREFIX
CACHES["default"]["KEY_PREFIX"] = RUN_PREFIX

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
