"""Entry point for `python -m audio_service`."""

from audio_service.cli import main

raise SystemExit(main())
