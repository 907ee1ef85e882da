# A claim keeps the diagnoses it billed, as it keeps its lines. Existing claims get their
# encounter's diagnoses as they are now (the only record there is), in one INSERT ... SELECT.

import django.db.models.deletion
from django.db import migrations, models


def copy_from_encounters(apps, schema_editor):
    Claim = apps.get_model("claims", "Claim")
    EncounterDiagnosis = apps.get_model("claims", "EncounterDiagnosis")
    ClaimDiagnosis = apps.get_model("claims", "ClaimDiagnosis")
    q = schema_editor.quote_name

    def column(model, name):
        return q(model._meta.get_field(name).column)

    schema_editor.execute(
        f"INSERT INTO {q(ClaimDiagnosis._meta.db_table)} "
        f"({column(ClaimDiagnosis, 'claim')}, {column(ClaimDiagnosis, 'rank')}, "
        f"{column(ClaimDiagnosis, 'code')}) "
        f"SELECT c.{column(Claim, 'id')}, d.{column(EncounterDiagnosis, 'rank')}, "
        f"d.{column(EncounterDiagnosis, 'code')} "
        f"FROM {q(Claim._meta.db_table)} c JOIN {q(EncounterDiagnosis._meta.db_table)} d "
        f"ON d.{column(EncounterDiagnosis, 'encounter')} = c.{column(Claim, 'encounter')} "
        f"ORDER BY c.{column(Claim, 'id')}, d.{column(EncounterDiagnosis, 'rank')}"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0008_eligibility_requests'),
    ]

    operations = [
        migrations.CreateModel(
            name='ClaimDiagnosis',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rank', models.PositiveSmallIntegerField()),
                ('code', models.CharField(help_text='ICD-10-CM with its dot, e.g. E11.9', max_length=8)),
                ('claim', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='diagnoses', to='claims.claim')),
            ],
            options={
                'ordering': ['rank'],
                'constraints': [models.UniqueConstraint(fields=('claim', 'rank'), name='claim_diagnosis_rank_once'), models.UniqueConstraint(fields=('claim', 'code'), name='claim_diagnosis_code_once'), models.CheckConstraint(condition=models.Q(('rank__gte', 1), ('rank__lte', 12)), name='claim_diagnosis_rank_range')],
            },
        ),
        migrations.RunPython(copy_from_encounters, migrations.RunPython.noop),
    ]
