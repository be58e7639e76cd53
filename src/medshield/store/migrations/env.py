"""Alembic environment of the MedShield store.

``Database.migrate`` builds the Alembic configuration in code and hands over an open
connection in ``config.attributes["connection"]``; no ``alembic.ini`` is needed at run time.
Offline mode (``--sql``) renders SQL for the URL in ``sqlalchemy.url``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from medshield.store.models import Base
from medshield.store.types import UtcDateTime


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write UtcDateTime as plain ``sa.DateTime(timezone=True)``: revisions import no app code."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_online(connection: Connection) -> None:
    """Run the migrations on an open connection."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_item=render_item,
        # SQLite alters a table by copying it; batch mode does that for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Render the migrations as SQL for ``sqlalchemy.url``."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the MedShield migrations run through Database.migrate()")
    run_online(connection)
