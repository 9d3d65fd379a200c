"""Scene colours: names, hex strings and 0-255 triples as RGB 0-1.

A leaf of the compile stage, shared by the actors, the panels, the animation
timeline and the background; it imports only :mod:`scenerender.suggest`.
"""

from __future__ import annotations

from .suggest import did_you_mean

RGB = tuple[float, float, float]


def parse_color(value, fail) -> RGB:
    """RGB 0-1 from a colour name, hex string or 0-255 triple.

    ``fail(message)`` returns the exception to raise for an unknown colour.
    """
    import pyvista as pv  # lazy: pyvista is slow to import and validation never needs it

    if isinstance(value, (list, tuple)):
        return tuple(float(c) / 255.0 for c in value)  # type: ignore[return-value]
    try:
        return tuple(float(c) for c in pv.Color(value).float_rgb)  # type: ignore[return-value]
    except ValueError:
        # lazy: start-up time (pyvista/VTK take seconds to import; validation and --help do without them)
        from pyvista.plotting.colors import hex_colors

        names = [name.replace("_", "") for name in hex_colors]
        raise fail(f"unknown colour {value!r}{did_you_mean(value, names)} "
                   "(use a colour name, '#rrggbb' or [r, g, b] 0-255)") from None
