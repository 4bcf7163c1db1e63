"""Browser uploads between the preview and the confirmation, and their progress.

An upload is kept as a small job folder (the file and a JSON state) under
``SPREADSHEET_UPLOAD_DIR`` (default: the system temp folder), so a Celery worker on the same
host can read it and the browser can poll its progress. The database is not touched until
the person confirms, and then in one transaction.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
# Abandoned uploads are removed after a day.
JOB_MAX_AGE_SECONDS = 24 * 3600


class JobState:
    CHECKING = "checking"
    PREVIEWED = "previewed"
    REJECTED = "rejected"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"
    RUNNING = (CHECKING, IMPORTING)


@dataclass
class ImportJob:
    id: str
    owner_id: int
    edition_id: int
    institution_id: int | None  # a reporter's upload: only this institution's row
    approve: bool
    filename: str
    language: str
    state: str = JobState.CHECKING
    phase: str = ""
    done: int = 0
    total: int = 0
    created: float = field(default_factory=time.time)
    plan: dict | None = None
    problems: list[dict] = field(default_factory=list)
    result: dict | None = None
    return_id: int | None = None  # where to send a reporter afterwards

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def upload_dir() -> Path:
    path = Path(getattr(settings, "SPREADSHEET_UPLOAD_DIR", Path(tempfile.gettempdir()) / "surveysite-uploads"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _folder(job_id: str) -> Path:
    return upload_dir() / job_id


def job_create(*, owner, edition, institution, approve: bool, filename: str, content: bytes,
               language: str, return_id: int | None = None) -> ImportJob:
    job_list_clean()
    job = ImportJob(
        id=uuid.uuid4().hex, owner_id=owner.pk, edition_id=edition.pk,
        institution_id=institution.pk if institution else None, approve=approve,
        filename=Path(filename).name[:200], language=language, return_id=return_id,
    )
    folder = _folder(job.id)
    folder.mkdir(mode=0o700)
    (folder / "upload").write_bytes(content)
    job_save(job)
    return job


def job_save(job: ImportJob) -> None:
    folder = _folder(job.id)
    temporary = folder / "state.json.tmp"
    temporary.write_text(json.dumps(asdict(job)), encoding="utf-8")
    os.replace(temporary, folder / "state.json")  # readers never see a half-written state


def job_load(job_id: str) -> ImportJob | None:
    if not JOB_ID.match(job_id or ""):
        return None
    try:
        data = json.loads((_folder(job_id) / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ImportJob(**data)


def job_content(job: ImportJob) -> bytes:
    return (_folder(job.id) / "upload").read_bytes()


def job_list_clean() -> None:
    cutoff = time.time() - JOB_MAX_AGE_SECONDS
    for folder in upload_dir().iterdir():
        try:
            if folder.is_dir() and JOB_ID.match(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
