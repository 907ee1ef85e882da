"""Every write of the front desk: check-in, the patient's way through the office, check-out,
forms signed, payments taken and voided, refunds, the drawer's close, the bank deposit and the card processor's settlement.
Each service is one transaction: on any error nothing of it is written.

`from medoffice.reception.services import X` is the way in; the submodules hold one concern each.
"""

from medoffice.reception.services.checkin import (
    ELIGIBILITY_STATUSES,
    CheckInResult,
    EligibilityInput,
    check_in,
)
from medoffice.reception.services.desk import desk_location, lock_drawer, refuse_closed_day
from medoffice.reception.services.drawer import card_settlement_record, deposit_make, drawer_close
from medoffice.reception.services.flow import check_out, flow_advance
from medoffice.reception.services.forms import form_sign, form_type_save
from medoffice.reception.services.payments import payment_entry, payment_record, payment_void
from medoffice.reception.services.refunds import (
    refund_closed_drawer,
    refund_decided,
    refund_pay,
    refund_request,
    refund_withdraw,
)

__all__ = [
    "ELIGIBILITY_STATUSES",
    "CheckInResult",
    "EligibilityInput",
    "card_settlement_record",
    "check_in",
    "check_out",
    "deposit_make",
    "desk_location",
    "drawer_close",
    "flow_advance",
    "form_sign",
    "form_type_save",
    "lock_drawer",
    "payment_entry",
    "payment_record",
    "payment_void",
    "refund_closed_drawer",
    "refund_decided",
    "refund_pay",
    "refund_request",
    "refund_withdraw",
    "refuse_closed_day",
]
