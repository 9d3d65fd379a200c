"""What an actor's ``build`` function gets besides its own spec."""

from __future__ import annotations

from dataclasses import dataclass

from ..atlas import RegionNotFound, SceneAtlas
from ..colors import parse_color
from ..document import ScenePath, SceneDocument
from ..errors import SceneError, UnknownRegionError
from ..options import Shading
from ..plan import RGB
from ..sources import SourceContext, load_source, provided_kind
from ..suggest import did_you_mean


#: Cartoon outlines are this many times the silhouette width.
CARTOON_OUTLINE = 1.75


class SourceLoader:
    """Loads each named source once, on first use by an actor."""

    def __init__(self, specs: dict, doc: SceneDocument, atlas: SceneAtlas):
        self.specs, self.doc, self.atlas = specs, doc, atlas
        self._loaded: dict[str, object] = {}

    def get(self, name: str):
        if name not in self._loaded:
            ctx = SourceContext(doc=self.doc, path=("sources", name), atlas=self.atlas)
            self._loaded[name] = load_source(name, self.specs[name], ctx=ctx)
        return self._loaded[name]


@dataclass(frozen=True)
class BuildContext:
    """The atlas, the scene document, its sources and where this actor is."""

    atlas: SceneAtlas
    doc: SceneDocument
    path: ScenePath
    sources: SourceLoader | None = None
    #: Plans of the actors built before this one (all others, for kinds with
    #: ``DESCRIBES_OTHERS = True`` such as colour bars and legends).
    plans: tuple = ()
    actor_specs: tuple = ()

    def plans_of(self, actor_id: str, key_path: ScenePath) -> list:
        """The plans of the actor with ``id: actor_id``, failing with a located message."""
        ids = [a["id"] for a in self.actor_specs if "id" in a]
        if actor_id not in ids:
            known = ", ".join(ids) or "no actor has an id"
            raise self.fail(key_path, f"no actor with id {actor_id!r}{did_you_mean(actor_id, ids)} ({known}); "
                                      "give the actor an 'id' and name it here")
        return [plan for plan in self.plans if plan.group == actor_id]

    def source(self, name: str, kinds: tuple[str, ...], key_path: ScenePath = ("source",)):
        """The loaded data of source ``name``, which must be one of ``kinds``."""
        specs = self.sources.specs if self.sources is not None else {}
        if self.sources is None or name not in specs:
            known = ", ".join(specs) or "none are defined"
            raise self.fail(key_path, f"no source named {name!r}{did_you_mean(name, specs)} (sources: {known}); "
                                      "define it under 'sources:'")
        kind = provided_kind(specs[name]["kind"])
        if kind not in kinds:
            raise self.fail(key_path, f"source {name!r} is a {kind} source; this actor draws "
                                      f"{' or '.join(kinds)} sources")
        return self.sources.get(name)

    def fail(self, key_path: ScenePath, message: str, error: type[SceneError] = SceneError) -> SceneError:
        """A located user error for a key of this actor (raise it)."""
        return error(self.doc.problem(self.path + key_path, message))

    def structure(self, ref: str | int, key_path: ScenePath) -> dict:
        """Look up a region, failing with a located did-you-mean message."""
        try:
            return self.atlas.structure(ref)
        except RegionNotFound as err:
            raise self.fail(key_path, str(err), UnknownRegionError) from None

    def cmap(self, name: str, key_path: ScenePath) -> str:
        """A matplotlib colour map name, checked."""
        # lazy: start-up time (matplotlib is slow to import; validation and --help do without it)
        import matplotlib

        if name not in matplotlib.colormaps:
            raise self.fail(key_path, f"unknown colour map {name!r}{did_you_mean(name, list(matplotlib.colormaps))}")
        return name

    def look(self, spec: dict) -> dict:
        """The surface look keys of an actor (shading, silhouette) as SurfacePlan fields."""
        silhouette = spec.get("silhouette")
        if silhouette is None and spec.get("shading") == Shading.CARTOON:
            silhouette = "black"  # cartoons are outlined
        return {"shading": spec.get("shading") or "",
                "silhouette": None if silhouette is None else self.color(silhouette, ("silhouette",)),
                # a cartoon's outline is its drawing: bolder than a silhouette on a shaded surface
                "silhouette_width": float(spec.get("silhouette_width", 2.0))
                * (CARTOON_OUTLINE if spec.get("shading") == Shading.CARTOON else 1.0)}

    def color(self, value, key_path: ScenePath) -> RGB:
        """A scene colour as RGB 0-1, failing with a located message."""
        return parse_color(value, lambda msg: self.fail(key_path, msg))
