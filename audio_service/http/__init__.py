"""The HTTP layer: app factory, one router per resource, file delivery, errors, URLs."""
