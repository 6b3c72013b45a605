"""Layer's REST APIs: :class:`LayerClient` (``_client.py``; the Platform API's messages,
announcements and conversations in ``_platform.py``) over one transport.

The pure half, values in and values out: ``_urls.py`` (Layer ids to URL path segments),
``_retry.py`` (which failures are retried, after how long, ``Retry-After``), ``_answers.py``
(Layer's JSON and error bodies, token redaction), ``_bodies.py`` (the Platform API's request
bodies, checked: Layer's 2 KB part limit). The I/O half: ``_transport.py``, the one
module that imports :mod:`requests`, on first use.
"""
