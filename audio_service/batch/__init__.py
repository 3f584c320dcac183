"""Batch pre-rendering: sources of many articles (folders, JSON Lines, feeds) and batch runs."""
