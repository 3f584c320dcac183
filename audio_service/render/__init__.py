"""The one orchestrator: a Script (made once per render) into MP3 bytes and timings."""
