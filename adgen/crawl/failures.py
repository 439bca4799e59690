"""Name why a download failed, in the words of the rejects table."""

from __future__ import annotations

# Reasons that may succeed on a later run (the URL is not remembered as seen).
TRANSIENT = {
    "timeout",
    "connection_error",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_429",
    "http_408",
}

ROBOTS_DISALLOWED = "robots"
OFFSITE = "offsite"
REDIRECT_LOOP = "redirect_loop"
TOO_LARGE = "too_large"


def is_transient(reason: str) -> bool:
    return reason in TRANSIENT or reason.startswith("http_5")


def classify_failure(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) for an exception raised while downloading (Scrapy/Twisted types by name)."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError

    text = str(exc)[:200]
    name = type(exc).__name__
    if isinstance(exc, HttpError) and exc.response is not None:
        return f"http_{exc.response.status}", text
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in text:
            return ROBOTS_DISALLOWED, text
        if "redirect" in text:
            return REDIRECT_LOOP, text
        return OFFSITE if "offsite" in text.lower() else "ignored", text
    if name in {"DownloadCancelledError", "CancelledError"}:
        return TOO_LARGE, text or "download cancelled at the size cap"
    if "Timeout" in name or "timed out" in text.lower():
        return "timeout", text
    return "connection_error", f"{name}: {text}"
