"""A Permissions-Policy header: the shop needs no camera, microphone, location,
payment or USB access from the browser, so every page says so."""

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "accelerometer=(), gyroscope=(), magnetometer=(), interest-cohort=()"
)


class PermissionsPolicyMiddleware:
    """Sets Permissions-Policy on every response that has none (sync and async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):  # noqa: ANN204 - a response or its coroutine
        if self.is_async:
            return self._acall(request)
        return self._set(self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._set(await self.get_response(request))

    @staticmethod
    def _set(response: HttpResponse) -> HttpResponse:
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
