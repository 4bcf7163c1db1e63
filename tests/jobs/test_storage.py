"""DatabaseStorage: files as chunked rows of the shared database, through Django's storage API."""

import io

import pytest
from django.core.files.base import ContentFile, File
from django.db import transaction

from jobs.models import StoredFile, StoredFileChunk
from jobs.storage import DatabaseStorage, survey_files

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

CONTENT = bytes(range(256)) * 41  # 10,496 bytes: not a multiple of any chunk size used here


class _Dribble(io.RawIOBase):
    """A source whose reads return fewer bytes than asked (a socket, a pipe)."""

    def __init__(self, data: bytes):
        self._data, self._position = data, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        piece = self._data[self._position:self._position + min(len(buffer), 7)]
        buffer[:len(piece)] = piece
        self._position += len(piece)
        return len(piece)


def test_the_survey_files_storage_is_the_database_by_default():
    assert isinstance(survey_files(), DatabaseStorage)


def test_a_file_round_trips_in_chunks_of_exactly_the_chunk_size():
    storage = DatabaseStorage(chunk_size=1000)
    name = storage.save("jobs/abc/file.csv", File(_Dribble(CONTENT)))
    assert name == "jobs/abc/file.csv"
    sizes = list(StoredFileChunk.objects.filter(file__name=name).order_by("index").values_list("data", flat=True))
    assert [len(bytes(chunk)) for chunk in sizes] == [1000] * 10 + [496]
    assert storage.size(name) == len(CONTENT) and storage.exists(name)
    with storage.open(name) as handle:
        assert handle.size == len(CONTENT)
        assert handle.read() == CONTENT


def test_reads_seek_across_chunk_boundaries():
    storage = DatabaseStorage(chunk_size=1000)
    name = storage.save("jobs/abc/file.bin", ContentFile(CONTENT))
    handle = storage.open(name)
    handle.seek(995)
    assert handle.read(10) == CONTENT[995:1005]
    handle.seek(-4, io.SEEK_END)
    assert handle.read() == CONTENT[-4:]
    handle.seek(0)
    assert b"".join(handle.chunks(333)) == CONTENT


def test_reading_a_file_costs_one_query_per_chunk(django_assert_num_queries):
    storage = DatabaseStorage(chunk_size=4096)
    name = storage.save("jobs/abc/big.bin", ContentFile(CONTENT))
    with django_assert_num_queries(1 + 3):  # the file's row, then its three chunks
        handle = storage.open(name)
        while handle.read(100):
            pass


def test_a_name_in_use_gets_another_name_and_both_files_stay():
    storage = survey_files()
    first = storage.save("jobs/abc/file.csv", ContentFile(b"one"))
    second = storage.save("jobs/abc/file.csv", ContentFile(b"two"))
    assert first != second
    assert storage.open(first).read() == b"one" and storage.open(second).read() == b"two"


def test_a_file_saved_in_a_transaction_that_rolls_back_is_not_there():
    storage = survey_files()
    with pytest.raises(RuntimeError), transaction.atomic():
        storage.save("jobs/abc/gone.csv", ContentFile(CONTENT))
        raise RuntimeError
    assert not storage.exists("jobs/abc/gone.csv")
    assert not StoredFileChunk.objects.exists()


def test_delete_listdir_and_missing_files():
    storage = survey_files()
    storage.save("jobs/a1/file.csv", ContentFile(b"x"))
    storage.save("jobs/b2/file.xlsx", ContentFile(b"y"))
    storage.save("jobs/top.txt", ContentFile(b"z"))
    assert storage.listdir("jobs") == (["a1", "b2"], ["top.txt"])
    assert storage.listdir("jobs/a1/") == ([], ["file.csv"])
    assert storage.get_created_time("jobs/a1/file.csv") is not None
    storage.delete("jobs/a1/file.csv")
    assert not StoredFile.objects.filter(name="jobs/a1/file.csv").exists()
    assert StoredFileChunk.objects.count() == 2
    with pytest.raises(FileNotFoundError):
        storage.open("jobs/a1/file.csv")
    with pytest.raises(FileNotFoundError):
        storage.size("jobs/a1/file.csv")
    storage.delete("jobs/a1/file.csv")  # deleting what is gone is not an error


def test_stored_files_are_read_only():
    storage = survey_files()
    name = storage.save("jobs/abc/file.csv", ContentFile(b"x"))
    with pytest.raises(ValueError):
        storage.open(name, "wb")


def test_chunks_are_compressed_with_lz4_where_postgresql_has_it():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's column compression")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        expected = "lz4" if cursor.fetchone()[0] else "pglz"
    text = b"".join(b"%d,%d,yes,\xe5\xa4\x87\xe6\xb3\xa8\r\n" % (n, n * 7) for n in range(20000))  # compressible CSV
    storage = DatabaseStorage(chunk_size=64 * 1024)
    name = storage.save("jobs/abc/big.csv", ContentFile(text))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT pg_column_compression(data) FROM {StoredFileChunk._meta.db_table}")
        assert [row[0] for row in cursor.fetchall()] == [expected]
    with storage.open(name) as handle:
        assert handle.read() == text
