"""The small set of exceptions scenerender raises.

Each subclasses a built-in so that code catching ``ValueError`` or
``RuntimeError`` keeps working. A user error carries the scene location it is
about, so the command line can print ``file:line:col: path: message``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scene, located in its source file.

    Attributes
    ----------
    file : str
        The scene file (``<string>`` or ``<dict>`` for in-memory scenes).
    line, col : int or None
        1-based position of the offending key or value, when known.
    path : str
        Where in the scene, e.g. ``actors[2].alpha``; empty for the document.
    message : str
        What is wrong and, where possible, how to fix it.
    """

    file: str
    line: int | None
    col: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class Problems(list):
    """What :func:`scenerender.validate_scene` returns: a list of the
    :class:`Problem` s found (empty when the scene is valid), plus
    ``notes``, a list of :class:`Problem` s that are not errors: one per
    public data source not fetched yet, checked only up to its query (the
    lines ``scenerender validate`` prints as ``note: ...``). Compares equal
    to the plain list of problems, so ``validate_scene(...) == []`` still
    means valid."""

    def __init__(self, problems=(), notes=()):
        super().__init__(problems)
        self.notes: list[Problem] = list(notes)


class SceneError(ValueError):
    """A scene cannot be used as written; carries one or more problems.

    The command line prints one line per problem and exits with status 2.
    """

    exit_status = 2

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SceneValidationError(SceneError):
    """The scene does not conform to the scene schema."""


class UnknownRegionError(SceneError):
    """A region acronym or id is not in the scene's atlas."""


class AtlasNotFoundError(SceneError):
    """The atlas is neither local nor downloadable."""


class LimitError(SceneError):
    """A scene asks for more than a configured limit allows (:mod:`scenerender.limits`)."""


class AtlasUnavailable(LookupError):
    """The atlas could not be opened; the message says where we looked and how to get it."""


class RenderError(RuntimeError):
    """Rendering or writing an output failed; exit status 1."""

    exit_status = 1


class DataNotFetched(RenderError):
    """Public data a source fetches by name is not in the cache while validating.

    Validation never uses the network (:func:`scenerender.fetch.client.cache_only`):
    it checks the source's query and notes that the data are fetched at render
    time, instead of failing. Raised only inside that mode.
    """
