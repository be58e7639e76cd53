"""Errors MedShield raises on purpose; anything else reaching a front end is a bug."""

from __future__ import annotations


class MedShieldError(Exception):
    """Base of every error MedShield raises deliberately."""


class BadInputError(MedShieldError):
    """An input (capture, advisory, credential file …) cannot be used.

    The message names the input so that a front end can print it as one line.
    """

    def __init__(self, source: str, reason: str, offset: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{source}{where}: {reason}")


class CaptureError(BadInputError):
    """A capture file is unreadable, of an unknown format, or corrupt."""


class DissectorError(MedShieldError):
    """A dissector met bytes that do not follow its protocol.

    Dissectors raise only this (or return nothing); the pipeline counts and skips it.
    """


class RegistryError(MedShieldError):
    """A registry was asked to hold two entries under one name, or a missing one."""


class StoreError(MedShieldError):
    """The database cannot be opened, migrated or written."""
