"""Errors that name what went wrong where: source, file, row and rule."""

from __future__ import annotations


class PipelineDataError(Exception):
    """Bad input. The message always names source, file, row and rule so a user can find it."""

    def __init__(
        self,
        message: str,
        *,
        source_id: str | None = None,
        file: str | None = None,
        row: str | int | None = None,
        rule: str | None = None,
    ):
        self.source_id = source_id
        self.file = file
        self.row = row
        self.rule = rule
        self.detail = message
        where = ", ".join(
            f"{label}={value}"
            for label, value in (("source", source_id), ("file", file), ("row", row), ("rule", rule))
            if value is not None
        )
        super().__init__(f"[{where}] {message}" if where else message)


class ParseError(PipelineDataError):
    """A raw file does not have the layout its parser expects."""


class ChecksumMismatch(PipelineDataError):
    """A raw file's sha256 differs from the manifest: a new upstream vintage or a corrupt file."""


class UnmappedCountries(PipelineDataError):
    """Entity names/codes that are neither a known country nor a known aggregate."""


class FetchError(PipelineDataError):
    """A download failed (network, HTTP status, size) or no mirror holds the file."""


class CountryMismatch(PipelineDataError):
    """A row's country name and code map to different economies."""
