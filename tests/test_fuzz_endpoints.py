"""Hostile input never gives a 500, and a refused request changes nothing.

Every URL of the URLconf (Django's own admin aside) is driven, as a reporter, a provincial
liaison and a society admin, with hostile query strings (GET) and hostile form fields (POST):
huge and negative numbers, full-width and other non-ASCII digits, right-to-left marks,
control characters and NUL, very long strings, formulas, fields missing, repeated or of the
wrong type (a file where text is expected, text where a file is), mixed with plausible
values so requests also get past the first check. The endpoints are enumerated from the
URLconf: a new one fails `test_every_endpoint_is_fuzzed` until it is described in ENDPOINTS.

A response may be anything but a 5xx. A GET never changes the data; a POST that is refused
(anything but a redirect: the views redirect after a change) leaves the answers, the returns'
statuses and versions, the audit trail, comments, confirmations, the edition's dates and
extensions, publications and figures exactly as they were. Each example runs in a savepoint
rolled back afterwards, so examples do not see each other's changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count, Max
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.models import BackgroundJob, JobState
from reporting.models import (
    Answer,
    AuditEvent,
    Edition,
    EntryExtension,
    FigureValue,
    Publication,
    ReturnStatus,
    ReviewComment,
    SurveyReturn,
    WarningConfirmation,
)
from reporting.spreadsheets.jobs import job_create
from tests import factories
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values

pytestmark = pytest.mark.django_db

open_edition = entry_support.open_edition

# Django's admin has its own tests; the project's admin code is covered by the admin tests.
# The web API (namespace "api") answers 401 to a session; it is driven with tokens, from its
# own schema, by tests/api/test_schema.py (schemathesis).
EXCLUDED_NAMESPACES = {"admin", "api"}

HOSTILE = [
    "99999999999999999999999", str(2**63), str(2**63 - 1), str(2**31), "-1", "-99999999999999999999",
    "0", "-0", "1.5", "1e309", "NaN", "inf", "0x10", " 7 ",
    "１２３", "²", "٣", "߁", "\u202e12", "\u200f", "\u2066x\u2069", "\ufeff1",
    "\x00", "1\x00", "\x01\x02\x1f\x7f", "\t=1+1", " =1+1", "@SUM(A1)", "-1+1", "\r\n",
    "", " ", "9" * 5000, "x" * 100_000, "国" * 3000,
    "[]", "{}", "null", "true", "None", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd",
    "2024-02-30", "99999-01-01", "0000-00-00", "//evil.example/", "javascript:alert(1)",
]
HOSTILE_KEYS = ["\x00", "x" * 1000, "国", "version[]", "institution", "a\u202eb", "csrfmiddlewaretoken"]
VALUE = st.one_of(
    st.sampled_from(HOSTILE), st.text(max_size=40), st.integers().map(str), st.floats().map(str),
    st.sampled_from(HOSTILE).flatmap(lambda value: st.text(max_size=5).map(lambda text: text + value)),
)


def _garbage_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("upload.csv", b"institution_code,eq_pet_ct\nX,=1+1\n\x00\xff", "text/csv")


@dataclass(frozen=True)
class Endpoint:
    """What to send: plausible values of each field (hostile ones are mixed in)."""

    post: dict[str, list] = field(default_factory=dict)
    get: dict[str, list] = field(default_factory=dict)
    examples: int = 3


NEXT = ["/", "//evil.example/", "http://evil.example/"]
RETURN_FIELDS = {
    "version": ["1", "2"], "action": ["save", "submit"], "eq_pet_ct": ["3"], "svc_pet": ["yes", "no"],
    "ownership": ["public", "公立"], "op_suggestions": ["更多培训"], "explain__W_PET_NO_UNIT": ["ok"],
}
REVIEW_FIELDS = {
    "action": ["review", "approve", "send_back", "reopen"], "version": ["1"], "comment": ["ok"],
    "send_back-comment": ["请核对"], "reopen-comment": ["更正"], "item_comment__eq_pet_ct": ["?"],
}
EDITION_FIELDS = {
    "action": ["open", "close", "extend"], "dates-opens_on": ["2030-01-01"], "dates-closes_on": ["2030-02-01"],
    "ext-institution_code": ["FZ1"], "ext-until": ["2030-03-01"], "ext-reason": ["late"],
}
REPORT_GET = {"revision": ["1"], "live": ["1"], "chart": ["dept_total"], "codes": ["1"]}
UPLOAD_FIELDS = {"file": ["FILE"], "approve": ["on"]}

ENDPOINTS = {
    "login": Endpoint(post={"username": ["reporter-fz"], "password": [factories.PASSWORD], "next": NEXT},
                      get={"next": NEXT}),
    "logout": Endpoint(post={"next": NEXT}),
    "set_language": Endpoint(post={"language": ["en", "zh-hans"], "next": NEXT}),
    "session_keepalive": Endpoint(),
    "home": Endpoint(),
    "entry:returns": Endpoint(get={"status": list(ReturnStatus.values), "page": ["2"], "q": ["FZ", "医院"],
                                   "province": ["11"], "hospital_level": ["tertiary_a"], "ownership": ["public"]}),
    "entry:return_start": Endpoint(),
    "entry:return": Endpoint(post=RETURN_FIELDS),
    "entry:review": Endpoint(post=REVIEW_FIELDS, get={"codes": ["1"]}),
    "entry:history": Endpoint(get={"page": ["2"], "codes": ["1"]}),
    "entry:completeness": Endpoint(get={"province": ["11", "31"], "status": ["not_submitted", "draft"], "page": ["2"]}),
    "entry:reminders": Endpoint(post={"institution": ["INSTITUTION"], "province": ["11"], "next": NEXT}),
    "entry:edition": Endpoint(post=EDITION_FIELDS),
    "entry:audit": Endpoint(),
    "entry:audit_export": Endpoint(get={"edition": ["2024", "2019"]}),
    "entry:audit_export_job": Endpoint(post={"edition": ["2024", "2019", ""]}),
    "entry:audit_export_job_detail": Endpoint(),
    "report:index": Endpoint(),
    "report:page": Endpoint(get=REPORT_GET, post={"note": ["x"]}),
    # WeasyPrint takes seconds a PDF: one example per role.
    "report:pdf": Endpoint(get=REPORT_GET, examples=1),
    "report:download": Endpoint(get={"by": ["national", "province"], "revision": ["1"]}),
    "report:publish": Endpoint(post={"note": ["第一版"]}),
    "report:province": Endpoint(get={"revision": ["1"], "live": ["1"]}),
    "analysis:outliers_index": Endpoint(),
    "analysis:outliers": Endpoint(get={"key": ["tx_per_bed", "staff_total"], "level": ["secondary"],
                                       "province": ["11", "31"]}),
    "analysis:mark": Endpoint(post={"key": ["tx_per_bed"], "status": ["follow_up", "explained"],
                                    "note": ["请核实"], "next": NEXT}),
    "spreadsheets:return_template": Endpoint(get={"blank": ["1"], "layout": ["wide", "long"]}),
    "spreadsheets:return_upload": Endpoint(post=UPLOAD_FIELDS),
    "spreadsheets:index": Endpoint(),
    "spreadsheets:edition_template": Endpoint(get={"prefill": ["1"]}),
    "spreadsheets:edition_import": Endpoint(post=UPLOAD_FIELDS),
    "spreadsheets:edition_export": Endpoint(get={"status": list(ReturnStatus.values)}),
    "spreadsheets:job": Endpoint(),
    "spreadsheets:job_status": Endpoint(),
    "spreadsheets:job_confirm": Endpoint(),
    "spreadsheets:edition_export_job": Endpoint(post={"fmt": ["csv", "xlsx"], "approved_only": ["1", "on"]}),
    "spreadsheets:export_job": Endpoint(),
    "jobs:status": Endpoint(),
    "jobs:file": Endpoint(),
    "api_tokens:list": Endpoint(post={"name": ["HIS"], "scope": ["read", "write"], "expires_in_days": ["30", "365"]}),
    "api_tokens:revoke": Endpoint(),
}
# Values of the URL's own parameters; the returns are drawn from the fixture's.
PATH_VALUES = {"year": [2024], "file_type": ["csv", "json", "xlsx"], "fmt": ["csv", "xlsx"], "code": ["11", "99"]}
ROLES = ["reporter", "liaison", "admin"]


def _urlconf_endpoints(patterns=None, prefix="", namespace=""):
    """(name, route, parameter names) of every URL pattern, outside EXCLUDED_NAMESPACES."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if pattern.namespace in EXCLUDED_NAMESPACES:
                continue
            yield from _urlconf_endpoints(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"URL {route} has no name: name it so the fuzz test can list it"
            yield namespace + pattern.name, route, list(pattern.pattern.converters)


URLCONF = sorted(_urlconf_endpoints())


def test_every_endpoint_is_fuzzed():
    names = {name for name, _route, _params in URLCONF}
    assert names - set(ENDPOINTS) == set(), "new endpoints: describe them in ENDPOINTS"
    assert set(ENDPOINTS) - names == set(), "ENDPOINTS lists URLs the URLconf no longer has"


@pytest.fixture
def fuzz_world(open_edition):
    """Returns in every state in Beijing (11), one in Shanghai (31), a person per role and an
    upload waiting for confirmation."""
    edition = open_edition
    values = clean_values(edition)
    institutions = {code: factories.InstitutionFactory(code=code, province_id=province)
                    for code, province in (("FZ1", "11"), ("FZ2", "11"), ("FZ3", "11"), ("FZ4", "11"), ("FZ5", "31"))}
    returns = {
        "draft": factories.survey_return(edition=edition, institution=institutions["FZ1"], values=values),
        "submitted": factories.survey_return(edition=edition, institution=institutions["FZ2"],
                                             status=ReturnStatus.SUBMITTED, values=values),
        "reviewed": factories.survey_return(edition=edition, institution=institutions["FZ3"],
                                            status=ReturnStatus.REVIEWED, values=values),
        "approved": factories.survey_return(edition=edition, institution=institutions["FZ4"],
                                            status=ReturnStatus.APPROVED, values=values),
        "shanghai": factories.survey_return(edition=edition, institution=institutions["FZ5"],
                                            status=ReturnStatus.SUBMITTED, values=values),
    }
    users = {
        "reporter": factories.reporter(institutions["FZ1"], username="reporter-fz"),
        "liaison": factories.liaison("11"),
        "admin": factories.society_admin(),
    }
    job = job_create(owner=users["admin"], edition=edition, institution=None, approve=False,
                     filename="all.csv", content=b"institution_code,eq_pet_ct\nFZ1,3\n", language="en")
    BackgroundJob.objects.filter(pk=job.job.pk).update(state=JobState.WAITING)
    return {"edition": edition, "returns": returns, "users": users, "job": job,
            "institution": institutions["FZ2"]}


def _data_snapshot():
    """What a refused request must leave as it was."""
    return (
        list(Answer.objects.order_by("id").values_list("id", "survey_return_id", "item_id", "int_value",
                                                       "bool_value", "text_value")),
        list(SurveyReturn.objects.order_by("id").values_list("id", "status", "version", "institution_id")),
        AuditEvent.objects.aggregate(count=Count("id"), last=Max("id")),
        ReviewComment.objects.aggregate(count=Count("id"), last=Max("id")),
        list(WarningConfirmation.objects.order_by("id").values_list("id", "rule_code", "explanation")),
        list(Edition.objects.order_by("id").values_list("id", "status", "opens_on", "closes_on")),
        EntryExtension.objects.aggregate(count=Count("id"), last=Max("id")),
        Publication.objects.count(),
        FigureValue.objects.aggregate(count=Count("id"), last=Max("id")),
        list(BackgroundJob.objects.order_by("pk").values_list("pk", "state", "step", "file_name")),
    )


@st.composite
def _fields(draw, spec: dict, resolve, *, files: bool) -> dict:
    """Query or form fields: one hostile value for this example, put in most of the fields
    (so a field that lets it through is found in a few examples), the others plausible,
    missing, repeated, or (in a form) a file where text is expected; and maybe fields the
    view does not expect."""
    hostile = draw(VALUE)
    ways = ["hostile", "hostile", "plausible", "missing", "repeated"] + (["file"] if files else [])
    data = {}
    for name, plausible in spec.items():
        way = draw(st.sampled_from(ways))
        if way == "hostile":
            data[name] = hostile
        elif way == "plausible":
            data[name] = resolve(draw(st.sampled_from(plausible)))
        elif way == "repeated":
            data[name] = [resolve(draw(st.sampled_from(plausible))), hostile]
        elif way == "file":
            data[name] = _garbage_file()
    for name in draw(st.lists(st.sampled_from(HOSTILE_KEYS), max_size=2, unique=True)):
        data.setdefault(name, hostile)
    return data


def _consume(response) -> None:
    """Streamed downloads run their queries while they are read: read them (the test client
    closes the response at the end; closing it here would close the database connection)."""
    if response.streaming:
        b"".join(response.streaming_content)


def _spec(name: str, route: str) -> Endpoint:
    spec = ENDPOINTS.get(name)
    if spec is None:
        pytest.fail(f"{name} ({route}) is not described in ENDPOINTS")
    return spec


def _resolver(world):
    def resolve(value):
        if value == "FILE":
            return _garbage_file()
        if value == "INSTITUTION":
            return str(world["institution"].pk)
        return value

    return resolve


def _probe(user, url: str, query: dict | None, form: dict | None) -> None:
    """GET with `query`, then POST `form` (each unless None), as `user`: no 5xx, and nothing
    changed unless the POST was accepted (a redirect). In a savepoint, rolled back."""
    with transaction.atomic():
        client = Client()
        client.force_login(user)
        before = _data_snapshot()
        if query is not None:
            response = client.get(url, query)
            _consume(response)
            assert response.status_code < 500, (url, query)
            assert _data_snapshot() == before, f"GET {url} {query!r} changed the data"
        if form is not None:
            response = client.post(url, form)
            _consume(response)
            assert response.status_code < 500, (url, form)
            if not 300 <= response.status_code < 400:
                assert _data_snapshot() == before, f"refused POST {url} ({response.status_code}) changed the data"
        transaction.set_rollback(True)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, route, params", URLCONF, ids=[name for name, _r, _p in URLCONF])
def test_hostile_input_is_refused_without_a_500_or_a_change(fuzz_world, role, name, route, params):
    spec = _spec(name, route)
    world = fuzz_world
    user = world["users"][role]
    resolve = _resolver(world)
    path_values = {
        "pk": [r.pk for r in world["returns"].values()],
        "return_id": [r.pk for r in world["returns"].values()],
        "job_id": [world["job"].job.pk],
        **PATH_VALUES,
    }
    path_kwargs = st.fixed_dictionaries({param: st.sampled_from(path_values[param]) for param in params})

    @settings(max_examples=spec.examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(kwargs=path_kwargs, query=_fields(spec.get, resolve, files=False),
           form=_fields(spec.post, resolve, files=True))
    def check(kwargs, query, form):
        _probe(user, reverse(name, kwargs=kwargs), query, form)

    check()


# One value of each kind, sent to every endpoint in every field it reads (as an admin, who
# gets furthest); the choosing fields ("action") take their plausible values in turn, so each
# action's own fields are reached. Where a method reads no field, two kinds are enough.
EVERY_KIND = ["\x00", "99999999999999999999999", "-1", "１２", "²", "\u202e1", "x" * 100_000, "\t=1+1", "[]"]


def _every_field(fields: dict, value: str, turn: int, resolve) -> dict | None:
    if not fields and turn >= 2:
        return None
    data = {"unexpected": value}
    for name, plausible in fields.items():
        data[name] = resolve(plausible[turn % len(plausible)]) if name == "action" else value
    return data


@pytest.mark.parametrize("name, route, params", URLCONF, ids=[name for name, _r, _p in URLCONF])
def test_each_kind_of_hostile_value_in_every_field(fuzz_world, name, route, params):
    spec = _spec(name, route)
    world = fuzz_world
    resolve = _resolver(world)
    kwargs = {"pk": world["returns"]["submitted"].pk, "return_id": world["returns"]["submitted"].pk,
              "job_id": world["job"].job.pk, "year": 2024, "file_type": "csv", "fmt": "csv", "code": "11"}
    url = reverse(name, kwargs={param: kwargs[param] for param in params})
    admin = world["users"]["admin"]
    for turn, value in enumerate(EVERY_KIND):
        _probe(admin, url, _every_field(spec.get, value, turn, resolve), _every_field(spec.post, value, turn, resolve))
    # And everything hostile, the choosing fields too.
    if spec.post:
        _probe(admin, url, None, dict.fromkeys(spec.post, EVERY_KIND[1]))


HOSTILE_SEGMENTS = ["99999999999999999999999", "9223372036854775808", "0", "-1", "１", "²", "%00", "%E2%80%AE1",
                    "abc", "2024.0", "x" * 300]
FORMAT_SEGMENTS = ["zzz", "csv.exe", "CSV", "pdf"]


@pytest.mark.parametrize("name, route, params", [e for e in URLCONF if e[2]], ids=[e[0] for e in URLCONF if e[2]])
def test_hostile_url_parameters_are_404(fuzz_world, name, route, params):
    """Each parameter of the URL replaced by a value naming nothing: 404, whatever the method."""
    world = fuzz_world
    valid = {"pk": world["returns"]["draft"].pk, "return_id": world["returns"]["draft"].pk,
             "job_id": world["job"].job.pk, "year": 2024, "file_type": "csv", "fmt": "csv", "code": "11"}
    client = Client()
    client.force_login(world["users"]["admin"])
    # A POST-only view answers 405 to a GET before it looks anything up.
    not_allowed = {method for method in ("get", "post")
                   if getattr(client, method)("/" + _route_fill(route, valid)).status_code == 405}
    assert len(not_allowed) < 2
    for param in params:
        for segment in HOSTILE_SEGMENTS + (FORMAT_SEGMENTS if param in ("file_type", "fmt") else []):
            url = "/" + _route_fill(route, {**valid, param: segment})
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                _consume(response)
                expected = {404, 405} if method in not_allowed else {404}
                assert response.status_code in expected, (method, url, response.status_code)


def _route_fill(route: str, values: dict) -> str:
    """The route ("returns/<id:pk>/") with each parameter replaced by its value's text."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), route)
