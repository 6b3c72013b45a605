"""Adapters that put the core on the wire: ``wsgi`` (werkzeug), ``asgi`` (starlette), ``huey``.

Each lives behind its extra (``pip install 'layer-webhooks[wsgi]'`` ...) and is imported by name,
never from here, so that installing one does not require the others.
"""
