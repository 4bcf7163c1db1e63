"""Settings of the surge bench's server and worker: production's, as deployed.

Only static files differ: the bench's reporters request no static file (a browser caches
them), so plain storage spares the bench a collectstatic run.
"""

from surveysite.settings.production import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
