"""Draw a report's figure on a fresh matplotlib figure and keep it as a PNG block."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rtt_topology.report.model import FigureBlock

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["figure_block"]


def figure_block(
    draw: Callable[[Axes], Any], title: str, caption: str, size: tuple[float, float]
) -> FigureBlock:
    r"""Draw on a fresh figure (no pyplot state) and keep it as PNG bytes.

    Parameters
    ----------
    draw
        Draws on the figure's one axes.
    title, caption
        The block's title, and its caption (also the image's alt text).
    size
        Width and height in inches.

    Returns
    -------
    FigureBlock
        The figure as a PNG, at 96 dpi.

    Examples
    --------
    >>> block = figure_block(lambda ax: ax.plot([0, 1]), "Line", "A line.", (2, 1))
    >>> block.title, block.png[:4]
    ('Line', b'\x89PNG')
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(fig.add_subplot())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)
    return FigureBlock(title, caption, buffer.getvalue())
