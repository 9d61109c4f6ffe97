"""Contract client for Django: the ASGI application from ``get_asgi_application()`` (with
``HeadroomMiddleware`` in ``MIDDLEWARE`` too, as in the example project) in front of a recording view,
driven in-process through ``httpx.ASGITransport``. See tests/contract/interface.py."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test.utils import override_settings
from django.urls import re_path

sys.path.append(str(Path(__file__).resolve().parents[3] / "tests" / "contract"))

from interface import Delivery

from headroom.integrations.django import get_asgi_application
from headroom.proxy.config import ProxyConfig


class Recorder:
    """What the view read: body bytes and lower-cased request headers, one entry per request.

    (A plain class, not a dataclass: the contract suite loads this file without registering it as a module.)
    """

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []

    async def view(self, request: HttpRequest) -> HttpResponse:
        self.received.append((request.body, {k.lower(): v for k, v in request.headers.items()}))
        return HttpResponse(b"recorded", content_type="text/plain")


def _settings(recorder: Recorder, config: ProxyConfig) -> dict[str, Any]:
    urls = types.ModuleType("headroom_django_contract_urls")
    urls.urlpatterns = [re_path(r"^.*$", recorder.view)]  # type: ignore[attr-defined]
    return {
        "ALLOWED_HOSTS": ["*"],
        "ROOT_URLCONF": urls,
        "MIDDLEWARE": ["headroom.integrations.django.middleware.HeadroomMiddleware"],
        "HEADROOM": config,
        # No Django body limit: the engine's own limits alone decide, as in the reference.
        "DATA_UPLOAD_MAX_MEMORY_SIZE": None,
    }


class DjangoContractClient:
    name = "django"
    raw_bytes = True

    def __init__(
        self, overrides: dict[str, Any], recorder: Recorder, portal: anyio.from_thread.BlockingPortal
    ) -> None:
        self.overrides = overrides
        self.recorder = recorder
        self.portal = portal
        with override_settings(**overrides):
            self.app = get_asgi_application()

    def deliver(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> Delivery:
        sent = {"content-type": "application/json", **dict(headers or {})}
        before = len(self.recorder.received)
        # The settings are overridden only while a request runs, so that a session-long client leaves the
        # settings of other tests in the same process alone.
        with override_settings(**self.overrides):
            response = self.portal.call(self._post, path, body, sent)
        if len(self.recorder.received) == before:
            return Delivery(
                body=None, json=None, response_headers=_lower(response.headers), status=response.status_code
            )
        got, seen = self.recorder.received[before]
        return Delivery(
            body=got,
            json=_parse(got),
            headers=seen,
            response_headers=_lower(response.headers),
            status=response.status_code,
        )

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(path, content=body, headers=headers)


def _lower(headers: httpx.Headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@contextmanager
def contract_client(config: ProxyConfig) -> Iterator[DjangoContractClient]:
    if not settings.configured:
        settings.configure(
            SECRET_KEY="headroom-contract",
            INSTALLED_APPS=["headroom.integrations.django"],
            DATABASES={},
            USE_TZ=True,
        )
    recorder = Recorder()
    with anyio.from_thread.start_blocking_portal() as portal:
        yield DjangoContractClient(_settings(recorder, config), recorder, portal)
