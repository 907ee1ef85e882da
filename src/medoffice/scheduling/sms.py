"""Text messages through a pluggable backend, chosen like Django's mail backends.

`MEDOFFICE_SMS_BACKEND` is the dotted path of a backend class; empty means text messages
are switched off (reminders then go by email only). Shipped backends:

- `ConsoleSmsBackend` writes each message to the log (development);
- `FileSmsBackend` appends each message as one JSON line to `MEDOFFICE_SMS_FILE_PATH` (tests);
- `WebhookSmsBackend` POSTs each message as JSON to `MEDOFFICE_SMS_WEBHOOK_URL`, for an
  SMS gateway (or a small relay in front of one) that accepts
  `{"to": "+1...", "body": "...", "from": "..."}` and answers 2xx, optionally with
  `{"id": "..."}`. `MEDOFFICE_SMS_WEBHOOK_TOKEN`, when set, is sent as a bearer token.

A backend's `send` returns the gateway's message id (or "") and raises `SmsError` when the
message was not accepted, so the caller can record the failure and retry later.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The message was not accepted; the text says why (kept on the reminder)."""


def _setting(name: str, default: Any = None) -> Any:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return value


class BaseSmsBackend(ABC):
    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def send(self, *, to: str, body: str) -> str:
        """Hand one message to the gateway; return its message id."""


class ConsoleSmsBackend(BaseSmsBackend):
    """Write messages to the log instead of sending them (development only)."""

    def send(self, *, to: str, body: str) -> str:
        message_id = uuid.uuid4().hex
        logger.warning("SMS %s to %s: %s", message_id, to, body)
        return message_id


class FileSmsBackend(BaseSmsBackend):
    """Append each message as one JSON line to a file (tests, or an outbox another tool reads)."""

    def __init__(self, *, path: str | os.PathLike | None = None, **options: Any) -> None:
        super().__init__(**options)
        configured = path or _setting("MEDOFFICE_SMS_FILE_PATH")
        if not configured:
            configured = Path(settings.DATA_DIR) / "sms-outbox.jsonl"
        self.path = Path(configured)

    def send(self, *, to: str, body: str) -> str:
        message_id = uuid.uuid4().hex
        line = json.dumps(
            {"id": message_id, "to": to, "body": body, "at": timezone.now().isoformat()}
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")
        return message_id

    def messages(self) -> list[dict]:
        """Every message written so far (for tests and the outbox reader)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as outbox:
            return [json.loads(line) for line in outbox if line.strip()]


class WebhookSmsBackend(BaseSmsBackend):
    """POST each message as JSON to a gateway URL; any 2xx answer means accepted."""

    def __init__(
        self,
        *,
        url: str | None = None,
        token: str | None = None,
        sender: str | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.url = url or _setting("MEDOFFICE_SMS_WEBHOOK_URL", "")
        self.token = token if token is not None else _setting("MEDOFFICE_SMS_WEBHOOK_TOKEN", "")
        self.sender = sender if sender is not None else _setting("MEDOFFICE_SMS_FROM", "")
        self.timeout = float(timeout or _setting("MEDOFFICE_SMS_WEBHOOK_TIMEOUT", 10))
        scheme = urllib.parse.urlsplit(self.url).scheme
        if scheme not in ("http", "https"):
            raise SmsError("MEDOFFICE_SMS_WEBHOOK_URL must be an http:// or https:// URL.")

    def send(self, *, to: str, body: str) -> str:
        payload = {"to": to, "body": body}
        if self.sender:
            payload["from"] = self.sender
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(65536)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise SmsError(f"SMS gateway answered HTTP {exc.code}: {detail}"[:500]) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsError(f"SMS gateway not reachable: {reason}"[:500]) from exc
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError:
            answer = {}
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""


def sms_backend_path() -> str:
    return _setting("MEDOFFICE_SMS_BACKEND", "") or ""


def sms_enabled() -> bool:
    return bool(sms_backend_path())


def get_sms_backend(path: str | None = None, **options: Any) -> BaseSmsBackend | None:
    """The configured backend, or None when text messages are switched off."""
    path = path or sms_backend_path()
    if not path:
        return None
    return import_string(path)(**options)
