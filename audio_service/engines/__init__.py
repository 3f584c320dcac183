"""Speech engines: the Engine protocol, the registry, eSpeak NG, Piper, the worker pool."""
