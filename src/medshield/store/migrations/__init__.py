"""Alembic migrations of the MedShield store (run by ``Database.migrate``)."""
