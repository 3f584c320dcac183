"""Entry point for `python -m audio_service`."""

from audio_service.cli.main import main

raise SystemExit(main())
