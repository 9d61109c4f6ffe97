"""A middleware that reads the request body before Headroom does, as logging or signing middleware do."""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest


class ReadsBody:
    """Reads ``request.body`` (so Django caches it) and passes the request on."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        assert request.body
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        assert request.body
        return await self.get_response(request)


class SyncOnly:
    """A middleware that cannot run async: under ASGI, Django runs the middleware above it in sync mode."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)
