"""The database layer: row-level security, its functions, their grants and triggers, stated once.

The `.sql` files here are its single source, read by a reviewer as SQL. `manage.py
makesqlmigration` writes a migration with literal SQL from the difference between them and the
migrated state; a test holds a migrated database's catalog equal to them. The app role's
table grants are create_db_roles' (divisions/dbroles.py).
"""
