"""The shared job queue (Huey), the ledger of render jobs and batches, locks, webhooks."""
