"""Writes to the institution registry, to people's roles and to their accounts.

Every write records its changes in the audit trail (``reporting.models.AuditEvent``): who,
when, old -> new per field, and where it came from (the admin, an import, a command).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import tablib
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from institutions.models import Institution, Membership, Province, Role
from institutions.resources import InstitutionResource, cell_text
from institutions.selectors import user_is_society_admin
from reporting.models import AuditEvent, AuditSource
from reporting.services.audit import audit_change_events, audit_field_state, audit_subject

PROVINCES_CSV = Path(__file__).resolve().parent / "data" / "provinces.csv"
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000


@transaction.atomic
def province_list_load() -> int:
    """Make sure the 31 provincial divisions exist (the migration does this on a new database)."""
    count = 0
    with PROVINCES_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Province.objects.update_or_create(
                code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"]}
            )
            count += 1
    return count


# --- the registry -----------------------------------------------------------------------------

# Every field of an institution that a person can change, in the order the trail lists them.
INSTITUTION_AUDITED_FIELDS = [
    "code", "name", "name_en", "province", "city", "ownership", "hospital_level", "contact_email",
    "active", "is_synthetic",
]


class RegistryChangeRefused(PermissionDenied):
    pass


def _require_society_admin(actor) -> None:
    """People change the registry and roles as society admins; commands and the system act
    without a user (actor None)."""
    if actor is not None and not user_is_society_admin(actor):
        raise RegistryChangeRefused("Only a society admin can change the registry or people's roles.")


def _institution_events(institution: Institution, old: dict, *, actor, source: str, comment: str = "") -> list[AuditEvent]:
    return audit_change_events(
        kind=AuditEvent.Kind.INSTITUTION, subject=institution, institution=institution,
        old=old, new=audit_field_state(institution, INSTITUTION_AUDITED_FIELDS),
        actor=actor, source=source, comment=comment,
    )


@transaction.atomic
def institution_create(*, institution: Institution, actor, source: str = AuditSource.ADMIN, comment: str = "") -> Institution:
    """Save a new institution (built by a form), every field recorded as set."""
    _require_society_admin(actor)
    institution.full_clean()
    institution.save()
    AuditEvent.objects.bulk_create(_institution_events(institution, {}, actor=actor, source=source, comment=comment))
    return institution


@transaction.atomic
def institution_update(
    *, institution: Institution, changes: dict, actor, source: str = AuditSource.ADMIN, comment: str = ""
) -> Institution:
    """Change the fields named in `changes` (others keep their stored value); old -> new recorded."""
    _require_society_admin(actor)
    unknown = set(changes) - set(INSTITUTION_AUDITED_FIELDS)
    if unknown:
        raise ValueError(f"not an institution field: {', '.join(sorted(unknown))}")
    # The stored row, not the caller's copy: an admin form has already changed its instance.
    current = Institution.objects.select_for_update().get(pk=institution.pk)
    old = audit_field_state(current, INSTITUTION_AUDITED_FIELDS)
    for name, value in changes.items():
        setattr(current, name, value)
    current.full_clean()
    events = _institution_events(current, old, actor=actor, source=source, comment=comment)
    if events:
        current.save(update_fields=[*{event.item_code for event in events}, "updated_at"])
        AuditEvent.objects.bulk_create(events)
    return current


@dataclass(frozen=True)
class ImportProblem:
    row: int | None  # spreadsheet numbering: the header is row 1
    column: str | None
    message: str

    def __str__(self):
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return (", ".join(parts) + ": " if parts else "") + self.message


class InstitutionImportInvalid(Exception):
    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class InstitutionImportResult:
    created: int
    updated: int
    unchanged: int


def institution_dataset_read(*, content: bytes, filename: str) -> tablib.Dataset:
    """A CSV (UTF-8 with or without BOM, or GB18030 as Excel on Chinese Windows saves it) or XLSX file."""
    if len(content) > MAX_IMPORT_BYTES:
        raise InstitutionImportInvalid([ImportProblem(None, None, f"the file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB")])
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            dataset = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        elif name.endswith(".csv"):
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = content.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise InstitutionImportInvalid([ImportProblem(None, None, "the CSV file is neither UTF-8 nor GB18030 text")])
            dataset = tablib.Dataset().load(text, format="csv")
        else:
            raise InstitutionImportInvalid([ImportProblem(None, None, "expected a .csv or .xlsx file")])
    except InstitutionImportInvalid:
        raise
    except Exception as exc:  # a broken file of any kind is the user's problem to fix, not a crash
        raise InstitutionImportInvalid([ImportProblem(None, None, f"the file could not be read as {name.rsplit('.', 1)[-1].upper()}: {exc}")]) from exc
    dataset.headers = [str(h or "").strip().lower() for h in (dataset.headers or [])]
    if dataset.height > MAX_IMPORT_ROWS:
        raise InstitutionImportInvalid([ImportProblem(None, None, f"the file has {dataset.height} rows; at most {MAX_IMPORT_ROWS} are accepted")])
    return dataset


def _dataset_without_blank_rows(dataset: tablib.Dataset) -> tuple[tablib.Dataset, list[int]]:
    """Drop empty rows; return the kept rows' spreadsheet row numbers."""
    kept = tablib.Dataset(headers=dataset.headers)
    numbers = []
    for index, row in enumerate(dataset, start=2):
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        kept.append(row)
        numbers.append(index)
    return kept, numbers


@transaction.atomic
def institution_import(
    *, dataset: tablib.Dataset, actor=None, source: str = AuditSource.IMPORT, comment: str = ""
) -> InstitutionImportResult:
    """Create or update institutions by code. Every problem is listed; on any, nothing is written.

    Each created institution and each changed field is an audit event (`comment` says which file).
    """
    _require_society_admin(actor)
    dataset, row_numbers = _dataset_without_blank_rows(dataset)
    problems: list[ImportProblem] = []
    if "code" in (dataset.headers or []):
        seen: dict[str, int] = {}
        for number, row in zip(row_numbers, dataset.dict, strict=True):
            code = str(row.get("code") or "").strip()
            if code.endswith(".0"):
                code = code[:-2]
            if code in seen:
                problems.append(ImportProblem(number, "code", f"duplicate code '{code}' (also on row {seen[code]})"))
            elif code:
                seen[code] = number
    resource = InstitutionResource()
    try:
        result = resource.import_data(dataset, dry_run=True, raise_errors=False, use_transactions=True)
    except ValidationError as exc:
        raise InstitutionImportInvalid([ImportProblem(1, None, message) for message in exc.messages]) from exc
    for error in result.base_errors:
        problems.append(ImportProblem(None, None, str(error.error)))
    for index, errors in result.row_errors():
        for error in errors:
            problems.append(ImportProblem(row_numbers[index - 1], None, str(error.error)))
    for invalid in result.invalid_rows:
        number = row_numbers[invalid.number - 1]
        for column, messages in invalid.field_specific_errors.items():
            for message in messages:
                problems.append(ImportProblem(number, column, str(message)))
        for message in invalid.non_field_specific_errors:
            problems.append(ImportProblem(number, None, str(message)))
    if problems:
        raise InstitutionImportInvalid(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    codes = {cell_text(code) for code in dataset["code"]}
    before = {
        institution.code: audit_field_state(institution, INSTITUTION_AUDITED_FIELDS)
        for institution in Institution.objects.select_for_update().filter(code__in=codes)
    }
    result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    events = []
    for institution in Institution.objects.filter(code__in=codes).order_by("code"):
        events += _institution_events(
            institution, before.get(institution.code, {}), actor=actor, source=source, comment=comment
        )
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    totals = result.totals
    return InstitutionImportResult(
        created=totals.get("new", 0), updated=totals.get("update", 0), unchanged=totals.get("skip", 0)
    )


DEMO_PASSWORD = "survey-demo-2024"


@transaction.atomic
def demo_accounts_create(*, institution=None) -> list[tuple[str, str, str]]:
    """One account per role for trying the app: (username, password, what it can do).

    The reporter belongs to `institution`, by default the first active one (the demo
    dataset's first), the liaison to that institution's province. Running it again resets
    the same accounts.
    """
    User = get_user_model()
    institution = institution or Institution.objects.active().order_by("code").first()
    if institution is None:
        raise ValueError("no institution exists yet: load the demo data or import institutions first")
    accounts = [
        ("reporter", Role.REPORTER, {"institution": institution}, f"reporter of {institution.code} {institution.name}"),
        ("liaison", Role.LIAISON, {"province": institution.province}, f"liaison of province {institution.province}"),
        ("admin", Role.ADMIN, {}, "society admin (national; Django admin too)"),
    ]
    created = []
    for username, role, scope, description in accounts:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.invalid"})
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.set_password(DEMO_PASSWORD)
        user.save()
        membership_set(user=user, role=role, actor=None, source=AuditSource.DEMO,
                       comment="create_demo_accounts", **scope)
        created.append((username, DEMO_PASSWORD, description))
    return created


# --- people's roles --------------------------------------------------------------------------


def _membership_state(membership: Membership | None) -> dict[str, str]:
    if membership is None:
        return {}
    return {
        "role": membership.role,
        "institution": membership.institution.code if membership.institution_id else "",
        "province": membership.province_id or "",
    }


def _membership_events(user, old: dict, new: dict, *, institution, actor, source: str, comment: str) -> list[AuditEvent]:
    return audit_change_events(
        kind=AuditEvent.Kind.MEMBERSHIP, subject=user, label=user.get_username(), institution=institution,
        old=old, new=new, actor=actor, source=source, comment=comment,
    )


@transaction.atomic
def membership_set(
    *, user, role: str, institution: Institution | None = None, province: Province | None = None,
    actor, source: str = AuditSource.ADMIN, comment: str = "",
) -> Membership:
    """Give `user` their role (one per user): a reporter of one institution, a liaison of one
    province, or a society admin. Role, institution and province are recorded old -> new."""
    _require_society_admin(actor)
    membership = Membership.objects.select_for_update(of=("self",)).select_related("institution").filter(user=user).first()
    old = _membership_state(membership)
    old_institution = membership.institution if membership else None
    if membership is None:
        membership = Membership(user=user)
    membership.role, membership.institution, membership.province = role, institution, province
    membership.full_clean()
    new = _membership_state(membership)
    if new != old:
        membership.save()
        AuditEvent.objects.bulk_create(_membership_events(
            user, old, new, institution=institution or old_institution, actor=actor, source=source, comment=comment,
        ))
    return membership


@transaction.atomic
def membership_remove(*, user, actor, source: str = AuditSource.ADMIN, comment: str = "") -> None:
    """Take `user`'s role away (they keep their account but see no survey data)."""
    _require_society_admin(actor)
    membership = Membership.objects.select_for_update(of=("self",)).select_related("institution").filter(user=user).first()
    if membership is None:
        return
    events = _membership_events(
        user, _membership_state(membership), {}, institution=membership.institution,
        actor=actor, source=source, comment=comment,
    )
    membership.delete()
    AuditEvent.objects.bulk_create(events)


# --- accounts ----------------------------------------------------------------------------------

ACCOUNT_AUDITED_FIELDS = ["username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"]
PASSWORD_SET = "set"
PASSWORD_DISABLED = "disabled"


def _require_account_permission(actor, action: str) -> None:
    if actor is not None and not actor.has_perm(f"auth.{action}_user"):
        raise PermissionDenied("Only an administrator of accounts can change accounts.")


def _account_events(user, old: dict, new: dict, *, actor, source: str, comment: str = "") -> list[AuditEvent]:
    return audit_change_events(
        kind=AuditEvent.Kind.ACCOUNT, subject=user, label=user.get_username(),
        old=old, new=new, actor=actor, source=source, comment=comment,
    )


def _password_state(user) -> str:
    return PASSWORD_SET if user.has_usable_password() else PASSWORD_DISABLED


@transaction.atomic
def account_create(*, user, actor, source: str = AuditSource.ADMIN, comment: str = ""):
    """Save a new account built by a form (its password already hashed); the password is
    recorded as set or disabled, never its value."""
    _require_account_permission(actor, "add")
    user.save()
    new = {**audit_field_state(user, ACCOUNT_AUDITED_FIELDS), "password": _password_state(user)}
    AuditEvent.objects.bulk_create(_account_events(user, {}, new, actor=actor, source=source, comment=comment))
    return user


@transaction.atomic
def account_update(*, user, changes: dict, actor, source: str = AuditSource.ADMIN, comment: str = ""):
    """Change the account fields named in `changes`; old -> new recorded."""
    _require_account_permission(actor, "change")
    unknown = set(changes) - set(ACCOUNT_AUDITED_FIELDS)
    if unknown:
        raise ValueError(f"not an account field: {', '.join(sorted(unknown))}")
    current = get_user_model().objects.select_for_update().get(pk=user.pk)
    old = audit_field_state(current, ACCOUNT_AUDITED_FIELDS)
    for name, value in changes.items():
        setattr(current, name, value)
    events = _account_events(current, old, audit_field_state(current, ACCOUNT_AUDITED_FIELDS),
                             actor=actor, source=source, comment=comment)
    if events:
        current.save(update_fields=[event.item_code for event in events])
        AuditEvent.objects.bulk_create(events)
    return current


@transaction.atomic
def account_password_set(*, user, password: str | None, actor, source: str = AuditSource.ADMIN):
    """Set a new password (None disables password login). The trail says that it changed, not to what."""
    _require_account_permission(actor, "change")
    old = _password_state(user)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    new = _password_state(user)
    AuditEvent.objects.create(
        kind=AuditEvent.Kind.ACCOUNT, **audit_subject(user, label=user.get_username()),
        source=source, actor=actor, item_code="password", old_value=old,
        new_value="changed" if new == PASSWORD_SET == old else new,
    )
    return user


@transaction.atomic
def account_delete(*, user, actor, source: str = AuditSource.ADMIN) -> None:
    """Delete an account and its role; the trail keeps its name and what it was."""
    _require_account_permission(actor, "delete")
    membership = Membership.objects.select_related("institution").filter(user=user).first()
    events = []
    if membership is not None:
        events += _membership_events(user, _membership_state(membership), {}, institution=membership.institution,
                                     actor=actor, source=source, comment="")
    events += _account_events(user, audit_field_state(user, ACCOUNT_AUDITED_FIELDS), {}, actor=actor, source=source)
    if actor is not None and actor.pk == user.pk:
        actor = None  # the events outlive the account they were made by
    for event in events:
        event.actor = actor
    user.delete()
    AuditEvent.objects.bulk_create(events)


@transaction.atomic
def account_unlock(*, username: str, actor, source: str = AuditSource.ADMIN) -> int:
    """Lift django-axes' login lock on `username` (surveysite/login_throttle.py): its failed
    logins are forgotten. The trail records how many there were; returns that number."""
    return login_locks_lift(username=username, actor=actor, source=source).failures


@dataclass(frozen=True)
class LocksLifted:
    attempts: int  # django-axes' records removed (what its commands count)
    failures: int  # the failed logins they held, over every account


@transaction.atomic
def login_locks_lift(*, actor, source: str, username: str | None = None, ip_address: str | None = None,
                     comment: str = "") -> LocksLifted:
    """Forget django-axes' failed logins of `username` and/or from `ip_address` (all of them
    when neither is given), lifting the locks they hold.

    Every account that had failures gets an audit event (failed_logins: N -> 0), whoever
    asks: the admin's Unlock action, or a command-line reset (actor None, source system).
    """
    _require_account_permission(actor, "change")
    attempts = AccessAttempt.objects.select_for_update()
    if username is not None:
        attempts = attempts.filter(username=username)
    if ip_address is not None:
        attempts = attempts.filter(ip_address=ip_address)
    failures: dict[str, int] = {}
    rows = list(attempts.values_list("pk", "username", "failures_since_start"))
    for _pk, name, count in rows:
        failures[name or ""] = failures.get(name or "", 0) + count
    AccessAttempt.objects.filter(pk__in=[pk for pk, _name, _count in rows]).delete()
    users = {user.get_username(): user for user in get_user_model().objects.filter(username__in=list(failures))}
    AuditEvent.objects.bulk_create([
        AuditEvent(
            kind=AuditEvent.Kind.ACCOUNT, source=source, actor=actor, comment=comment,
            # A name nobody has (someone guessing) is recorded by its name alone.
            **(audit_subject(users[name], label=name) if name in users else {"subject_label": name[:255]}),
            item_code="failed_logins", old_value=str(count), new_value="0",
        )
        for name, count in sorted(failures.items()) if count
    ])
    return LocksLifted(attempts=len(rows), failures=sum(failures.values()))
