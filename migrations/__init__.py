"""Alembic migrations: the only way goalnudge's schema changes."""
