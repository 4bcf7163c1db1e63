"""Sessions for shared hospital computers: a working day at most, and logged out when left idle.

SessionTimeoutMiddleware keeps two times in the session of a logged-in user: when the session
was first seen logged in, and the last request. A request after SESSION_IDLE_TIMEOUT without
one, or SESSION_COOKIE_AGE after the login, is served logged out, with a message on the login
page it leads to. A page being filled in makes no request while the person types, so
static/js/session-keepalive.js calls session_keepalive now and then while they do.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

STARTED = "session_started"
LAST_SEEN = "session_last_seen"
# The last request is written to the session at most this often: the idle timeout does not
# need finer than a minute, and most requests then write nothing.
LAST_SEEN_RESOLUTION = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            self._expire_or_touch(request)
        response = self.get_response(request)
        # A login in this request: start its clocks in the session write the login makes
        # anyway, rather than with a write of its own on the next request.
        if STARTED not in request.session and request.session.get(SESSION_KEY) and request.user.is_authenticated:
            request.session[STARTED] = request.session[LAST_SEEN] = int(time.time())
        return response

    @staticmethod
    def _expire_or_touch(request) -> None:
        now = int(time.time())
        session = request.session
        started = session.get(STARTED)
        last_seen = session.get(LAST_SEEN)
        if started is None or last_seen is None:
            session[STARTED] = session.get(STARTED, now)
            session[LAST_SEEN] = now
            return
        if now - last_seen > settings.SESSION_IDLE_TIMEOUT:
            logout(request)
            minutes = settings.SESSION_IDLE_TIMEOUT // 60
            messages.info(request, _(
                "You were logged out after %(minutes)s minutes without activity. Please log in again."
            ) % {"minutes": minutes})
        elif now - started > settings.SESSION_COOKIE_AGE:
            logout(request)
            messages.info(request, _("Your session has ended after a working day. Please log in again."))
        elif now - last_seen >= LAST_SEEN_RESOLUTION:
            session[LAST_SEEN] = now


@never_cache
@require_GET
def session_keepalive(request):
    """Nothing to return: the request itself tells SessionTimeoutMiddleware the person is there."""
    return HttpResponse(status=204)
