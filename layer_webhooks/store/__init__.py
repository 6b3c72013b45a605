"""The state-store port (de-duplication claims) and its in-memory implementation."""
