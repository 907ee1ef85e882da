"""Move authenticators out of django-otp's TOTP table (seed in clear) into core's (encrypted).

The old table exists only on installations that ran django-otp's TOTP plugin. Each row is
copied with the same id, user, settings and counters (so the authenticator app on the phone
keeps working); the seed is encrypted by the field on save; the clear rows are then deleted.
"""

from django.core.management.color import no_style
from django.db import migrations

LEGACY_TABLE = "otp_totp_totpdevice"
COLUMNS = (
    "id", "user_id", "name", "confirmed", "key", "step", "t0", "digits", "tolerance", "drift",
    "last_t", "throttling_failure_timestamp", "throttling_failure_count", "created_at",
    "last_used_at",
)  # fmt: skip


def copy_legacy_devices(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        present = {
            column.name
            for column in connection.introspection.get_table_description(cursor, LEGACY_TABLE)
        }
        columns = [name for name in COLUMNS if name in present]
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(LEGACY_TABLE)}"  # noqa: S608
        )
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    authenticator = apps.get_model("core", "TOTPAuthenticator")
    for row in rows:
        authenticator.objects.create(**row)
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(LEGACY_TABLE)}")  # noqa: S608
        statements = connection.ops.sequence_reset_sql(no_style(), [authenticator])
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0009_keys_totp_authenticator")]

    operations = [migrations.RunPython(copy_legacy_devices, migrations.RunPython.noop)]
