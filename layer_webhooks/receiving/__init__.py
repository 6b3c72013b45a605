"""Receiving: the neutral request and response, signatures, events, and the receiver."""
