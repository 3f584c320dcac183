"""audio-service: turns news articles into cached, seekable MP3 speech."""

__version__ = "0.1.0"
