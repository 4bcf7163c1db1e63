"""Settings for several hosts: a shared cache, database sessions, the kept files' storage."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRINT = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "cache": settings.CACHES["default"], "sessions": settings.SESSION_ENGINE, "axes": settings.AXES_HANDLER,
    "files": settings.STORAGES["survey_files"], "upload_temp": settings.FILE_UPLOAD_TEMP_DIR,
    "media": str(settings.MEDIA_ROOT),
    "transport": getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None),
    "beat": sorted(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()),
}))
"""


def _settings(module="surveysite.settings.production", **env):
    environment = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SURVEY_FILES_", "CELERY_")) and k != "REDIS_URL"
    }
    environment.update(
        DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="survey.example.org",
        DATABASE_URL="postgres://survey@db.internal:5432/survey", DJANGO_SETTINGS_MODULE=module, **env,
    )
    result = subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=60)
    return result


def _ok(**env):
    result = _settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults_keep_everything_in_the_database():
    values = _ok()
    assert values["cache"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert values["sessions"] == "django.contrib.sessions.backends.db"
    assert values["axes"] == "axes.handlers.database.AxesDatabaseHandler"
    assert values["files"] == {"BACKEND": "jobs.storage.DatabaseStorage"}
    assert values["transport"]["visibility_timeout"] == 3600
    assert values["beat"] == ["jobs.sweep"]


@pytest.mark.parametrize("variable", ["REDIS_URL", "DJANGO_CACHE_URL"])
def test_a_named_redis_is_the_cache(variable):
    values = _ok(**{variable: "redis://cache.internal:6379/2"})
    assert values["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cache"]["LOCATION"] == "redis://cache.internal:6379/2"
    # Sessions read from Redis, written through to the database (still shared by every host).
    assert values["sessions"] == "django.contrib.sessions.backends.cached_db"


def test_files_in_an_s3_compatible_store():
    values = _ok(SURVEY_FILES_BACKEND="s3", SURVEY_FILES_S3_BUCKET="survey-files",
                 SURVEY_FILES_S3_ENDPOINT_URL="https://minio.internal:9000")
    assert values["files"]["BACKEND"] == "storages.backends.s3.S3Storage"
    options = values["files"]["OPTIONS"]
    assert options["bucket_name"] == "survey-files" and options["endpoint_url"] == "https://minio.internal:9000"
    assert options["default_acl"] == "private" and options["file_overwrite"] is False


def test_an_unknown_files_backend_is_refused():
    result = _settings(SURVEY_FILES_BACKEND="nfs")
    assert result.returncode != 0
    assert "SURVEY_FILES_BACKEND is 'nfs'; use 'database' or 's3'" in result.stderr


def test_each_host_names_its_own_folders_and_the_broker_timeout():
    values = _ok(DJANGO_FILE_UPLOAD_TEMP_DIR="/srv/host1/tmp", DJANGO_MEDIA_ROOT="/srv/host1/media",
                 CELERY_VISIBILITY_TIMEOUT="7200")
    assert values["upload_temp"] == "/srv/host1/tmp" and values["media"] == "/srv/host1/media"
    assert values["transport"]["visibility_timeout"] == 7200


@pytest.mark.django_db
def test_the_database_cache_table_is_there():
    from django.core.cache import cache

    cache.set("hosts-test", {"shared": True}, 30)
    assert cache.get("hosts-test") == {"shared": True}


def _visibility_warnings(settings, broker: str, seconds: int | None = None) -> list[str]:
    from django.core.checks import run_checks

    settings.CELERY_BROKER_URL = broker
    if seconds is not None:
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                                    "visibility_timeout": seconds}
    return sorted(message.id for message in run_checks(include_deployment_checks=True, tags=["compatibility"])
                  if message.id.startswith("surveysite."))


def test_the_visibility_timeout_outlasts_the_longest_task_and_not_the_stalled_job_sweep(settings):
    """Redis hands an unacknowledged job to another worker after the timeout, whether its
    worker died or still runs it: `check --deploy` warns when it is too short or too long."""
    redis = "redis://broker.internal:6379/0"
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.BACKGROUND_TASK_LONGEST.total_seconds() < timeout < settings.BACKGROUND_JOB_STALLED_AFTER.total_seconds()
    assert _visibility_warnings(settings, redis) == []
    assert _visibility_warnings(settings, redis, 600) == ["surveysite.W001"]  # a long upload runs twice
    assert _visibility_warnings(settings, redis, 4 * 3600) == ["surveysite.W002"]  # the sweep fails it first
    assert _visibility_warnings(settings, "amqp://guest@rabbit.internal//", 600) == []  # RabbitMQ: no timeout
