"""The Node module's example server, ported: one module per scenario, ``server.py`` to run them.

Each module has the scenario's ``HOOK`` and a ``setup(services)`` that registers its job
handler; the bots answer through ``services.client`` (Layer's Platform API), "from a name",
so that listen's bot guard keeps their own messages out of the queue. See docs/node-examples.md.
"""
