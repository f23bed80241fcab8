"""calproxy's own OpenAPI document (`calproxy-openapi.json`, built by scripts/build_openapi.py)."""

from __future__ import annotations

from functools import cache
from importlib import resources

DOCUMENT = "calproxy-openapi.json"


@cache
def document_bytes() -> bytes:
    """The document as shipped in the package, read once per process."""
    return resources.files(__name__).joinpath(DOCUMENT).read_bytes()
