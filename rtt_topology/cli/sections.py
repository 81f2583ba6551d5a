"""A click group whose help lists its commands under titled sections, in the order given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

__all__ = ["SectionedGroup"]

# Click's widest first column in a definition list (HelpFormatter.write_dl).
_COLUMN_MAX = 30


class SectionedGroup(click.Group):
    """A click group whose help lists its commands in titled sections.

    Commands added with :meth:`add_section` (or the ``sections`` argument) are
    listed under their section's heading, sections in the order they were added;
    commands added otherwise follow under "Commands". Each command's own help is
    unchanged.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`click.Group`.
    sections
        ``(title, commands)`` pairs in the order the help shows them; each
        command is added to the group.

    Examples
    --------
    >>> import click
    >>> hello = click.Command("hello", help="Say hello.")
    >>> bye = click.Command("bye", help="Say goodbye.")
    >>> group = SectionedGroup("tool", sections=[("Greet", [hello]), ("Leave", [bye])])
    >>> ctx = click.Context(group, info_name="tool")
    >>> group.list_commands(ctx)
    ['hello', 'bye']
    >>> print(group.get_help(ctx))
    Usage: tool [OPTIONS] COMMAND [ARGS]...
    <BLANKLINE>
    Options:
      --help  Show this message and exit.
    <BLANKLINE>
    Greet:
      hello  Say hello.
    <BLANKLINE>
    Leave:
      bye    Say goodbye.
    """

    def __init__(
        self,
        *args: Any,
        sections: Sequence[tuple[str, Sequence[click.Command]]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sections: list[tuple[str, list[str]]] = []
        for title, commands in sections:
            self.add_section(title, commands)

    def add_section(self, title: str, commands: Sequence[click.Command]) -> None:
        """Add commands to the group, listed in its help under this title."""
        names = []
        for command in commands:
            self.add_command(command)
            # add_command has refused a command without a name.
            assert command.name is not None
            names.append(command.name)
        self.sections.append((title, names))

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List the command names section by section, then the others by name."""
        placed = [name for _, names in self.sections for name in names if name in self.commands]
        return placed + sorted(set(self.commands) - set(placed))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write each section's commands with their short help under the section's title."""
        listed = self.list_commands(ctx)
        placed = {name for _, names in self.sections for name in names}
        groups = []
        for title, names in [*self.sections, ("Commands", [n for n in listed if n not in placed])]:
            rows = []
            for name in names:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command))
            if rows:
                groups.append((title, rows))
        if not groups:
            return
        widest = max(len(name) for _, rows in groups for name, _ in rows)
        # Click's own room for the short help: three times the default spacing.
        limit = formatter.width - 6 - widest
        # One first-column width for every section keeps the help texts aligned.
        column = min(widest, _COLUMN_MAX)
        for title, rows in groups:
            entries = []
            for name, command in rows:
                text = command.get_short_help_str(limit)
                entries.append((name.ljust(column) if text else name, text))
            with formatter.section(title):
                formatter.write_dl(entries)
