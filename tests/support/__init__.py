"""The tests' support package: payloads, servers, a fake clock, the emulator fixture."""
