"""Layer's error bodies, ``{code, id, message, url, data?}`` (layer-protocol.md §4).

Ids, codes and statuses follow Layer's published error tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import LayerAPIError

DOCS_URL = "https://developer.layer.com/docs/platform#errors"

#: ``id: (code, status)``.
ERRORS: Mapping[str, tuple[int, int]] = {
    "service_unavailable": (1, 503),
    "invalid_app_id": (2, 404),
    "authentication_required": (4, 401),
    "rate_limit_exceeded": (7, 429),
    "request_timeout": (8, 408),
    "invalid_request": (10, 400),
    "internal_server_error": (100, 500),
    "access_denied": (101, 403),
    "not_found": (102, 404),
    "missing_property": (104, 422),
    "invalid_property": (105, 422),
    "invalid_endpoint": (106, 404),
    "invalid_header": (107, 406),
    "conflict": (108, 409),
}
_BY_STATUS = {
    400: "invalid_request",
    401: "authentication_required",
    403: "access_denied",
    404: "not_found",
    406: "invalid_header",
    408: "request_timeout",
    409: "conflict",
    422: "invalid_property",
    429: "rate_limit_exceeded",
    503: "service_unavailable",
}


def layer_error(
    error_id: str, message: str, *, status: int | None = None, data: Mapping[str, Any] | None = None
) -> LayerAPIError:
    """The error Layer answered as ``error_id`` (its own status unless ``status`` is given)."""
    code, default = ERRORS[error_id]
    return LayerAPIError(status or default, code=code, id=error_id, message=message, data=data)


def error_for_status(status: int) -> LayerAPIError:
    """The error Layer answered with ``status`` (for injected faults)."""
    error_id = _BY_STATUS.get(status, "internal_server_error" if status >= 500 else "invalid_request")
    return layer_error(error_id, f"Injected fault: the service answered {status}.", status=status)


def error_body(error: LayerAPIError) -> dict[str, Any]:
    """The JSON body of ``error``."""
    body: dict[str, Any] = {"code": error.code, "id": error.id, "message": error.message, "url": DOCS_URL}
    if error.data:
        body["data"] = dict(error.data)
    return body
