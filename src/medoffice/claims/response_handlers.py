"""The mailbox's new 999, 277CA, 271 and 277 files applied as they are filed.

Registered from ClaimsConfig.ready(). A handler runs inside a savepoint of the filing (see
mailbox_services); a file that cannot be applied leaves its error, in words, on the receipt.
The person who collected was checked by the collection, so the services run as the system.
"""

from __future__ import annotations

from collections.abc import Callable

from medoffice.claims import acknowledgements, claim_status, eligibility, mailbox_services
from medoffice.claims.acknowledgements import ApplyResult
from medoffice.claims.models import MailboxReceipt


def _handler(apply: Callable[..., ApplyResult]) -> Callable[[MailboxReceipt, bytes], None]:
    def handle(receipt: MailboxReceipt, content: bytes) -> None:
        apply(content, actor=None, file_name=receipt.name)

    handle.__qualname__ = f"apply {apply.__name__.removeprefix('apply_')}"
    return handle


HANDLERS = {
    "999": _handler(acknowledgements.apply_999),
    "277CA": _handler(acknowledgements.apply_277ca),
    "271": _handler(eligibility.apply_271),
    "277": _handler(claim_status.apply_277),
}


def register() -> None:
    for kind, handler in HANDLERS.items():
        mailbox_services.on_receipt(kind, handler)
