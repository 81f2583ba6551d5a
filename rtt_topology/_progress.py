"""Report progress of long work to a callback, or to a rich progress bar on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ProgressCallback", "ProgressOption", "progress_reporter"]

#: Called with ``(done, total, label)``; units are the caller's (bytes for loads).
ProgressCallback = Callable[[int, int, str], None]
#: What public functions accept: ``False`` (quiet), ``True`` (a bar) or a callback.
ProgressOption = bool | ProgressCallback


@contextmanager
def progress_reporter(
    progress: ProgressOption, total: int, description: str, *, unit: str = "bytes"
) -> Iterator[Callable[[int, str], None]]:
    """Yield ``advance(amount, label)`` that feeds the chosen progress display.

    With ``progress=True`` a rich bar is drawn on stderr when it is a terminal
    (or a notebook) and nothing is printed otherwise; the bar disappears when
    the work ends.

    Parameters
    ----------
    progress
        ``False``, ``True`` or a callback ``(done, total, label)``.
    total
        The amount of work, in the callback's units.
    description
        What is being done, shown before the bar.
    unit
        ``"bytes"`` (the bar shows sizes) or ``"steps"`` (it shows ``done/total``).

    Examples
    --------
    >>> seen = []
    >>> with progress_reporter(lambda d, t, label: seen.append((d, t)), 10, "read") as advance:
    ...     advance(4, "a.jsonl")
    ...     advance(6, "b.jsonl")
    >>> seen
    [(4, 10), (10, 10)]
    """
    if progress is False:
        yield lambda amount, label: None
        return
    if progress is True:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn() if unit == "bytes" else MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not (console.is_terminal or console.is_jupyter),
        )
        with bar:
            task = bar.add_task(description, total=total)

            def advance_bar(amount: int, label: str) -> None:
                bar.update(task, advance=amount, description=f"{description} {label}")

            yield advance_bar
        return
    callback = progress
    done = 0

    def advance(amount: int, label: str) -> None:
        nonlocal done
        done += amount
        callback(done, total, label)

    yield advance
