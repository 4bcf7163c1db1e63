"""Errors the API answers with: ``{"detail": message, "code": machine-readable code, ...}``."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than 2xx: the status, a stable code for programs, a message for people."""

    def __init__(self, status: int, code: str, detail: str, **extra):
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra
        super().__init__(detail)

    def body(self) -> dict:
        return {"detail": str(self.detail), "code": self.code, **self.extra}


class RateLimited(ApiError):
    def __init__(self, retry_after: int, detail: str):
        self.retry_after = retry_after
        super().__init__(429, "rate_limited", detail, retry_after=retry_after)
