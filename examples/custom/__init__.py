"""The core in a custom server: no Werkzeug, no Starlette (docs/custom-adapter.md)."""
