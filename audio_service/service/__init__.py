"""The running service: composition root, the article lifecycle, render queue, job runner."""
