"""Every payment taken before the books existed posts once: Dr the location's cash drawer
(cash, check) or card clearing (card), Cr unapplied patient payments on the patient's account,
dated the payment's day in the practice's time zone.

Written against the historical models with the ledger's own write order (lines first, then
their entry, whose insert the database guard checks), not through the live posting service:
the migration must keep working when the app's code moves on. It is idempotent by source key
(a payment already posted is skipped) and runs on SQLite and PostgreSQL. It records no audit
events: the payments themselves were audited when they were taken.
"""

import zoneinfo

from django.db import migrations
from django.utils import timezone

BATCH = 500
DEFAULT_TIME_ZONE = "America/New_York"


def _ids(connection, count):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) "
                "FROM generate_series(1, %s)",
                [count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ledger_journalentry'), 0),"
            " coalesce((SELECT max(id) FROM ledger_journalentry), 0))"
        )
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + count))


def post_existing_payments(apps, schema_editor):
    Payment = apps.get_model("reception", "Payment")
    Account = apps.get_model("ledger", "Account")
    JournalEntry = apps.get_model("ledger", "JournalEntry")
    JournalLine = apps.get_model("ledger", "JournalLine")
    Location = apps.get_model("core", "Location")
    Practice = apps.get_model("core", "Practice")
    connection = schema_editor.connection

    if not Payment.objects.exists():
        return
    zone = zoneinfo.ZoneInfo(
        Practice.objects.order_by("pk").values_list("time_zone", flat=True).first()
        or DEFAULT_TIME_ZONE
    )
    card = Account.objects.get(key="card_clearing")
    unapplied = Account.objects.get(key="unapplied_patient")
    drawers_parent = Account.objects.get(key="cash_drawer")
    fallback = Location.objects.order_by("pk").first()
    drawers = {}

    def drawer(location):
        if location.pk not in drawers:
            drawers[location.pk], _ = Account.objects.get_or_create(
                key=f"cash_drawer:{location.pk}",
                defaults={
                    "code": f"{drawers_parent.code}-{location.pk:02d}",
                    "name": f"Cash drawer: {location.name}"[:120],
                    "type": drawers_parent.type,
                    "normal_side": drawers_parent.normal_side,
                    "parent": drawers_parent,
                    "location": location,
                    "description": drawers_parent.description,
                },
            )
        return drawers[location.pk]

    posted = set(
        JournalEntry.objects.filter(source_type="reception.payment").values_list(
            "source_id", flat=True
        )
    )
    locations = {location.pk: location for location in Location.objects.all()}
    pending = [
        payment
        for payment in Payment.objects.order_by("pk").iterator(chunk_size=2000)
        if str(payment.pk) not in posted
    ]
    now = timezone.now()
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        ids = _ids(connection, len(chunk))
        entries, lines = [], []
        for entry_id, payment in zip(ids, chunk):
            location = locations.get(payment.location_id)
            if payment.method == "card":
                debit_account = card
            else:
                location = location or fallback
                if location is None:
                    raise RuntimeError(
                        f"Payment {payment.pk} was taken in cash or by check and no location "
                        "exists to hold it; add a location, then migrate again."
                    )
                debit_account = drawer(location)
            cents = int(payment.amount * 100)
            day = payment.received_at.astimezone(zone).date()
            memo = f"Receipt {payment.receipt_number} ({payment.method})"
            lines.append(
                JournalLine(
                    entry_id=entry_id,
                    account=debit_account,
                    date=day,
                    amount_cents=cents,
                    location=location,
                )
            )
            lines.append(
                JournalLine(
                    entry_id=entry_id,
                    account=unapplied,
                    date=day,
                    amount_cents=-cents,
                    location=location,
                    patient_id=payment.patient_id,
                    memo=memo[:120],
                )
            )
            entries.append(
                JournalEntry(
                    id=entry_id,
                    date=day,
                    kind="event",
                    memo=memo[:200],
                    source_type="reception.payment",
                    source_id=str(payment.pk),
                    source_key=f"reception.payment:{payment.pk}",
                    total_cents=cents,
                    location=location,
                    posted_at=now,
                )
            )
        JournalLine.objects.bulk_create(lines)
        JournalEntry.objects.bulk_create(entries)


class Migration(migrations.Migration):
    dependencies = [
        ("reception", "0005_payment_void_drawer_deposit_refund"),
        ("ledger", "0002_guards_chart_and_roles"),
        ("core", "0011_keys_field_key_epoch"),
    ]
    operations = [migrations.RunPython(post_existing_payments, migrations.RunPython.noop)]
