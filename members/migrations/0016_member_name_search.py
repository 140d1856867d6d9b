"""Member search by name without accents (``members.search``), on PostgreSQL.

- the ``unaccent`` and ``pg_trgm`` extensions (both trusted: the database's owner may
  create them);
- ``members_name_key(text)``: the name as search compares it, lower case, accents and
  đ/Đ removed, a space at each end (`` nguyen van a ``). ``unaccent()`` is only STABLE
  (its dictionary could change), so it cannot index; this wrapper is declared IMMUTABLE
  and names the dictionary with its schema, which is what makes that promise hold. It is
  plpgsql, not SQL: a SQL function that cannot be inlined costs half as much again per call;
- a trigram GIN index on ``members_name_key(full_name)``, built CONCURRENTLY so a live
  members table is not locked while it builds (hence a non-atomic migration).

SQLite has none of these: ``members.search`` registers Python twins of the functions on
each connection instead. Nothing here is in Django's model state, so makemigrations never
sees it.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION members_name_key(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
    RETURN ' ' || lower({unaccent}.unaccent('{unaccent}.unaccent'::regdictionary,
        translate(name, 'đĐ-.,''\u2019_/()', 'dD         '))) || ' ';
END
$fn$
"""

INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS member_name_key_trgm ON members_member "
    "USING gin (members_name_key(full_name) {trgm}.gin_trgm_ops)"
)


def _schema(cursor, extension: str) -> str:
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = %s",
        [extension],
    )
    return cursor.fetchone()[0]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        unaccent, trgm = _schema(cursor, "unaccent"), _schema(cursor, "pg_trgm")
        cursor.execute(FUNCTION.format(unaccent=unaccent))
        cursor.execute(INDEX.format(trgm=trgm))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS member_name_key_trgm")
        cursor.execute("DROP FUNCTION IF EXISTS members_name_key(text)")
        # The extensions stay: other objects may use them.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("members", "0015_consent_source_app")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
