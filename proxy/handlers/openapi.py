"""GET /calproxy/v1/openapi.json: the operations calproxy answers itself, as one OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.jsonwire import CONTENT_TYPE
from proxy.openapi import document_bytes


async def document(request: web.Request) -> web.Response:
    """The shipped document, unchanged (no credential needed: it describes only public behaviour)."""
    return web.Response(body=document_bytes(), headers={"Content-Type": CONTENT_TYPE})
