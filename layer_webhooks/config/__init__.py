"""Configuration: hooks, receipts settings and durations, in Python or the Node module's form."""
