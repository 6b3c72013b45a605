"""Django: a one-file project whose WSGI application lets Layer's webhooks through first.

Run from the checkout root::

    LAYER_WEBHOOK_SECRET=change-me python -m examples.django_app runserver 127.0.0.1:8000 --noreload

In a regular project, wrap the application at the end of ``<project>/wsgi.py``::

    application = WebhookMiddleware(get_wsgi_application(), receiver)

(or ``asgi.py``, with the middleware of :mod:`layer_webhooks.adapters.asgi`). Deliveries are
answered before Django's middleware, so CSRF protection does not get in their way; the
signature is what authenticates them.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-only"),
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
    ROOT_URLCONF=__name__,
    WSGI_APPLICATION=f"{__name__}.application",
)

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after settings)
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from layer_webhooks.adapters.wsgi import WebhookMiddleware  # noqa: E402

from .services import receiver  # noqa: E402


def index(request: HttpRequest) -> HttpResponse:
    text = f"Hello from Django: {request.method} /, {len(request.body)} bytes\n"
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


urlpatterns = [path("", index)]

application = WebhookMiddleware(get_wsgi_application(), receiver)

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
