"""Podcasts: feed definitions, episodes from cached story audio, chapters, schedule, RSS."""
