"""The database layer: row-level security, its functions, triggers and grants, stated once.

The `.sql` files here are its single source, read by a reviewer as SQL. `manage.py
makesqlmigration` writes a migration with literal SQL from the difference between them and the
migrated state; a test holds a migrated database's catalog equal to them.
"""
