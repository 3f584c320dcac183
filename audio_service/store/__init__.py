"""Where audio is kept: the storage protocol, the local folder store, the index, eviction."""
