"""The limits and switches that govern one upload request."""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadLimits:
    """Per-request limits; ``None`` means unlimited."""

    max_request_size: int | None = 4 * GIB
    max_file_size: int | None = 4 * GIB
    max_files: int = 100
    max_fields: int = 100
    max_field_size: int = 64 * KIB
    max_part_header_size: int = 8 * KIB
    allowed_extensions: frozenset[str] | None = None
    allowed_content_types: frozenset[str] | None = None
    idle_timeout: float | None = 30.0

    def largest_envelope(self, boundary_length: int) -> int:
        """The most bytes a body within these limits can hold besides file content.

        Every part costs a delimiter line and a header block; plain fields add their values;
        the preamble, padding and epilogue share one header-sized allowance. A body's
        length less this is the least file content it can carry.
        """
        delimiter_line = len("\r\n--") + boundary_length + len("\r\n")
        per_part = delimiter_line + self.max_part_header_size + len("\r\n\r\n")
        parts = self.max_files + self.max_fields
        return (
            parts * per_part
            + self.max_fields * self.max_field_size
            + delimiter_line
            + self.max_part_header_size
        )

    def extension_allowed(self, filename: str) -> bool:
        """Whether ``filename``'s extension is accepted (case-insensitive, without the dot)."""
        if self.allowed_extensions is None:
            return True
        _, dot, extension = filename.rpartition(".")
        return bool(dot) and extension.lower() in self.allowed_extensions

    def content_type_allowed(self, content_type: str) -> bool:
        """Whether a part's declared media type (parameters ignored) is accepted."""
        if self.allowed_content_types is None:
            return True
        media_type = content_type.partition(";")[0].strip().lower()
        return media_type in self.allowed_content_types
