"""Importing the institution registry: good files, bad rows, re-import, CSV encodings, XLSX."""

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from institutions.models import Institution

HEADER = "code,name,province,city,ownership,hospital_level\n"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.sqlite
def test_good_csv_creates_institutions(db, tmp_path, capsys):
    path = write(tmp_path, "good.csv", HEADER + "H001,北京协和医院,11,北京,public,tertiary_a\nH002,新疆某医院,65,乌鲁木齐,nonpublic,secondary\n")
    call_command("import_institutions", str(path))
    assert "2 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    h1 = Institution.objects.get(code="H001")
    assert (h1.name, h1.province_id, h1.ownership, h1.hospital_level) == ("北京协和医院", "11", "public", "tertiary_a")
    assert Institution.objects.get(code="H002").province.name_en == "Xinjiang"


def test_reimport_updates_by_code_and_duplicates_nothing(db, tmp_path, capsys):
    first = write(tmp_path, "a.csv", HEADER + "H001,旧名称,11,北京,public,tertiary_a\nH002,乙医院,31,上海,public,secondary\n")
    call_command("import_institutions", str(first))
    second = write(tmp_path, "b.csv", HEADER + "H001,新名称,11,北京,public,tertiary_other\nH002,乙医院,31,上海,public,secondary\nH003,丙医院,44,广州,public,other\n")
    call_command("import_institutions", str(second))
    assert "1 created, 1 updated, 1 unchanged" in capsys.readouterr().out.splitlines()[-1]
    assert Institution.objects.count() == 3
    h1 = Institution.objects.get(code="H001")
    assert (h1.name, h1.hospital_level) == ("新名称", "tertiary_other")


def test_bad_rows_are_all_listed_and_nothing_is_written(db, tmp_path):
    Institution.objects.create(code="H001", name="原名", province_id="11")
    path = write(
        tmp_path,
        "bad.csv",
        HEADER
        + "H001,改名,11,北京,public,tertiary_a\n"  # valid, but must not be written either
        + "H002,乙医院,99,某地,public,secondary\n"
        + "H003,,31,上海,publik,secondary\n"
        + "H004,丁医院,44,广州,public,tertiary_z\n"
        + "H004,丁医院,44,广州,public,secondary\n",
    )
    with pytest.raises(CommandError) as caught:
        call_command("import_institutions", str(path))
    message = str(caught.value)
    assert "nothing was written" in message
    assert "row 3, column province: unknown province '99'" in message
    assert "row 4, column name: This field cannot be blank." in message
    assert "row 4, column ownership: unknown ownership 'publik'" in message
    assert "row 5, column hospital_level: unknown hospital_level 'tertiary_z'" in message
    assert "row 6, column code: duplicate code 'H004' (also on row 5)" in message
    assert Institution.objects.get(code="H001").name == "原名"
    assert Institution.objects.count() == 1


def test_missing_required_column_is_rejected(db, tmp_path):
    path = write(tmp_path, "cols.csv", "code,name,city\nH1,甲,北京\n")
    with pytest.raises(CommandError, match="missing column\\(s\\): province"):
        call_command("import_institutions", str(path))
    assert not Institution.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030(db, tmp_path, encoding):
    path = write(tmp_path, f"{encoding}.csv", HEADER + "H001,四川大学华西医院,51,成都,公立,三级甲等\n".replace("公立", "public").replace("三级甲等", "tertiary_a"), encoding)
    call_command("import_institutions", str(path))
    assert Institution.objects.get(code="H001").name == "四川大学华西医院"


def test_xlsx_with_numeric_province_codes(db, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "province", "city", "ownership", "hospital_level"])
    sheet.append(["X1", "重庆医院", 50, "重庆", "public", "secondary"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "inst.xlsx"
    path.write_bytes(buffer.getvalue())
    call_command("import_institutions", str(path))
    assert Institution.objects.get(code="X1").province_id == "50"


def test_not_a_spreadsheet_is_a_clear_error(db, tmp_path):
    path = tmp_path / "inst.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(CommandError, match="could not be read as XLSX"):
        call_command("import_institutions", str(path))


def test_admin_import_page_uses_the_same_rules(admin_client, db):
    upload = io.BytesIO((HEADER + "H9,某医院,99,某地,public,secondary\n").encode())
    upload.name = "bad.csv"
    response = admin_client.post(
        "/admin/institutions/institution/import/",
        {"import_file": upload, "format": "0", "resource": "0"},
    )
    assert response.status_code == 200
    assert "unknown province" in response.content.decode()
    assert not Institution.objects.filter(code="H9").exists()
