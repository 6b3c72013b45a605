"""The Layer emulator: Layer's hosted service over real HTTP, for tests (needs werkzeug)."""
