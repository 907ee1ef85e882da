"""A refused page is logged as one line, not a traceback."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.log import log_response

from medoffice.core.log_filters import ClientErrorsOnOneLine


def _formatted(status: int, exc: BaseException) -> str:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("django.request")
    handler = Keep()
    handler.addFilter(ClientErrorsOnOneLine())
    logger.addHandler(handler)
    try:
        from django.http import HttpResponse

        request = HttpRequest()
        request.path = "/patients/7/"
        try:
            raise exc
        except type(exc) as caught:
            log_response(
                "Refused: %s", request.path, response=HttpResponse(status=status),
                request=request, exception=caught,
            )  # fmt: skip
    finally:
        logger.removeHandler(handler)
    assert len(records) == 1
    return logging.Formatter().format(records[0])


def test_a_403_is_one_line():
    text = _formatted(403, PermissionDenied("no"))
    assert text == "Refused: /patients/7/"


def test_a_500_keeps_its_traceback():
    text = _formatted(500, RuntimeError("boom"))
    assert "Traceback" in text and "RuntimeError: boom" in text
