"""Read what a plot drew: texts as matplotlib renders them, notes, legends, arrows, tags."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text


def rendered(text: Text) -> tuple[str, bool]:
    """What matplotlib will draw for a text: the string and whether it is mathtext."""
    shown: tuple[str, bool] = text._preprocess_math(text.get_text())
    return shown


def notes(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def legend_labels(ax: Axes) -> list[str]:
    found = ax.get_legend()
    assert found is not None
    return [t.get_text() for t in found.get_texts()]


def arrows(ax: Axes) -> list[FancyArrowPatch]:
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def gids(ax: Axes, prefix: str) -> int:
    return sum(
        1 for a in [*ax.lines, *ax.patches] if a.get_gid() and a.get_gid().startswith(prefix)
    )
