"""Background jobs and the files they keep, in the database every host shares.

A job (an upload waiting for its preview and confirmation, an export being written) is a
row: who started it, what it is doing, how far it got, what it found and the name of its
file in the ``survey_files`` storage (``jobs/storage.py``; by default the bytes are in
PostgreSQL too). So any app host can show its progress and any worker can run it: nothing
is kept on the disk of the host that received the request.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting for confirmation")
    DONE = "done", _("Done")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


# A worker picks these up; the others wait for a person or are over.
ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
FINAL_STATES = (JobState.DONE, JobState.REJECTED, JobState.FAILED)


class BackgroundJob(models.Model):
    # Random, so a job's address cannot be guessed; access is still checked against its owner.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=40)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="background_jobs",
        verbose_name=_("owner"),
    )
    state = models.CharField(_("state"), max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    # The stage of a job with several (an upload: "check", then "import" once confirmed).
    step = models.CharField(_("step"), max_length=40, blank=True)
    # Progress of the running step: what it is doing, and done out of total units.
    phase = models.CharField(max_length=40, blank=True)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    parameters = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True)
    result = models.JSONField(null=True, blank=True)
    language = models.CharField(max_length=10, blank=True)
    # The job's file in the survey_files storage (an upload, or the export it wrote).
    file_name = models.CharField(max_length=255, blank=True)
    file_label = models.CharField(_("file"), max_length=200, blank=True)  # what the person calls it
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    # Runs started: a worker killed in the middle leaves the job running; the next run counts.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="job_owner_recent"),
            models.Index(fields=["expires_at"], name="job_expiry"),
        ]

    def __str__(self):
        return f"{self.kind} {self.id} ({self.state})"

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.done / self.total)) if self.total else 0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()


class StoredFile(models.Model):
    """A file of jobs.storage.DatabaseStorage: its name and size; the bytes are in chunks."""

    name = models.CharField(max_length=255, unique=True)
    size = models.PositiveBigIntegerField(default=0)
    chunk_size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("stored file")
        verbose_name_plural = _("stored files")

    def __str__(self):
        return self.name


class StoredFileChunk(models.Model):
    """Up to chunk_size bytes of a stored file (bytea on PostgreSQL, a BLOB on SQLite).

    Chunks keep memory bounded: a file is written and read one chunk at a time.
    """

    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "index"], name="stored_file_chunk_unique")]
