"""Imported once by the render workers' fork server (:mod:`scenerender.workers`):
the heavy modules every worker needs, so each forked worker starts with them."""

from .cache import warm_imports

warm_imports()
