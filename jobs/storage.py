"""The files the app keeps between requests, in storage every host shares.

``survey_files()`` is the storage chosen by ``STORAGES["survey_files"]``: by default
``DatabaseStorage`` below (the bytes in the database the app already has), or any Django
storage backend such as django-storages' S3Storage (README, "Several machines").

DatabaseStorage keeps a file as a ``StoredFile`` row and its bytes in ``StoredFileChunk``
rows of ``chunk_size`` bytes (1 MiB), written and read one chunk at a time, so memory stays
bounded whatever the file's size. A file is written in one transaction: readers see all of
it or nothing.
"""

from __future__ import annotations

import io

from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.db import connections, transaction
from django.utils.deconstruct import deconstructible

from jobs.models import StoredFile, StoredFileChunk

STORAGE_ALIAS = "survey_files"
DEFAULT_CHUNK_SIZE = 1024 * 1024


def survey_files() -> Storage:
    return storages[STORAGE_ALIAS]


def _exact_pieces(content, size: int):
    """The content in pieces of exactly `size` bytes (the last may be shorter): readers find a
    byte's chunk by division, whatever sizes the source's reads return."""
    if hasattr(content, "seek") and getattr(content, "seekable", lambda: True)():
        content.seek(0)
    pending = bytearray()
    while True:
        data = content.read(size)
        if not data:
            break
        if isinstance(data, str):
            data = data.encode("utf-8")
        pending += data
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


class _ChunkReader(io.RawIOBase):
    """Reads a stored file chunk by chunk (one query per chunk), seekable."""

    def __init__(self, stored: StoredFile, using: str):
        super().__init__()
        self._file_id = stored.pk
        self._size = stored.size
        self._chunk_size = stored.chunk_size
        self._using = using
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _chunk(self, index: int) -> bytes:
        if self._cached is None or self._cached[0] != index:
            data = (
                StoredFileChunk.objects.using(self._using)
                .filter(file_id=self._file_id, index=index)
                .values_list("data", flat=True)
                .first()
            )
            if data is None:
                raise OSError(f"stored file {self._file_id} has lost chunk {index}")
            self._cached = (index, bytes(data))
        return self._cached[1]

    def readinto(self, buffer) -> int:
        if self._position >= self._size:
            return 0
        index, offset = divmod(self._position, self._chunk_size)
        piece = self._chunk(index)[offset:offset + len(buffer)]
        buffer[:len(piece)] = piece
        self._position += len(piece)
        return len(piece)


@deconstructible(path="jobs.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    """Files as rows of the app's own database: nothing to set up, shared by every host."""

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE, using: str = "default"):
        self.chunk_size = chunk_size
        self.using = using

    def _stored(self, name: str) -> StoredFile:
        try:
            return StoredFile.objects.using(self.using).get(name=name)
        except StoredFile.DoesNotExist:
            raise FileNotFoundError(name) from None

    def _open(self, name: str, mode: str = "rb") -> File:
        if set(mode) - {"r", "b"}:
            raise ValueError("DatabaseStorage files are read-only once saved; save a new one.")
        stored = self._stored(name)
        reader = io.BufferedReader(_ChunkReader(stored, self.using), buffer_size=stored.chunk_size)
        handle = File(reader, name=name)
        handle.size = stored.size
        handle.mode = "rb"
        return handle

    def _save(self, name: str, content) -> str:
        with transaction.atomic(using=self.using):
            self._fast_compression()
            stored = StoredFile.objects.using(self.using).create(name=name, chunk_size=self.chunk_size)
            size = 0
            for index, piece in enumerate(_exact_pieces(content, self.chunk_size)):
                StoredFileChunk.objects.using(self.using).create(file=stored, index=index, data=piece)
                size += len(piece)
            StoredFile.objects.using(self.using).filter(pk=stored.pk).update(size=size)
        return name

    def _fast_compression(self) -> None:
        """PostgreSQL compresses each chunk it stores; with its default (pglz) that took 100 ms
        a MiB of CSV, a third of an export job. lz4 (if the server has it) takes a tenth of that
        for files a third larger, and reading them back needs nothing. For this transaction only."""
        connection = connections[self.using]
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings"
                " WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
            )

    def delete(self, name: str) -> None:
        StoredFile.objects.using(self.using).filter(name=name).delete()

    def exists(self, name: str) -> bool:
        return StoredFile.objects.using(self.using).filter(name=name).exists()

    def size(self, name: str) -> int:
        return self._stored(name).size

    def listdir(self, path: str):
        prefix = path.rstrip("/") + "/" if path.strip("/") else ""
        directories, files = set(), []
        for name in StoredFile.objects.using(self.using).filter(name__startswith=prefix).values_list(
            "name", flat=True
        ):
            head, slash, _rest = name[len(prefix):].partition("/")
            if slash:
                directories.add(head)
            else:
                files.append(head)
        return sorted(directories), sorted(files)

    def get_created_time(self, name: str):
        return self._stored(name).created_at

    get_modified_time = get_created_time
