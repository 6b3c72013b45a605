"""Layer's REST APIs: the client and its ``requests`` transport."""
