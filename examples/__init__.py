"""Runnable examples: Layer's webhooks in Flask, Django, FastAPI, Starlette and a bare WSGI app.

Run each from the checkout root with the command in its docstring; ``services.py`` holds the
Layer part they share. See docs/adapters.md.
"""
