"""The test client's login() under django-axes (see surveysite/settings/test.py)."""

from axes.backends import AxesStandaloneBackend


class AxesBackendForTests(AxesStandaloneBackend):
    """django-axes' backend, except that a login without a request is passed on to the next
    backend instead of refused: the test client's login(username=..., password=...) passes
    none. Every login that has a request (the login pages, the browser tests) is throttled
    exactly as in production."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
