"""Alembic environment and versions for the storage schema (see ``router.migrate``)."""
