"""The title search index for databases that ran 0005 without pg_trgm (pgserver's embedded
PostgreSQL 16 had none): created now where the extension is available. A no-op where 0005
already made it, and where the server still has no pg_trgm (search then reads every title)."""

from django.db import migrations


def _create_title_trigram_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS item_title_trgm ON handoffs_workitem "
            "USING gin (UPPER(title) gin_trgm_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0017_import_mapping_date_order")]

    operations = [migrations.RunPython(_create_title_trigram_index, migrations.RunPython.noop)]
