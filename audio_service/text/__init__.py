"""Text processing: pure str -> str functions; nothing here knows about audio."""
