"""The `audio-service` command, one module per family of subcommands."""
