"""
Sphinx extension: a CLI reference rendered from the commands' own ``--help``.

The directive ``click-reference`` takes a click group as ``module:attribute`` and writes one
section per command, in the order ``geo-renewal --help`` lists them, sub-groups included.
Each section holds the command's ``--help`` text exactly as the terminal prints it, so the
reference cannot drift from the code. In a MyST page::

    ```{click-reference} geo_renewal.cli:cli
    :prog: geo-renewal
    ```
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import click
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: Width the help text is wrapped at (the CLI's own ``max_content_width``).
WIDTH = 100


def load_command(spec: str) -> click.Command:
    """Import ``module:attribute`` and return the click command it names."""
    module_name, _, attr = spec.partition(":")
    if not attr:
        msg = f"click-reference expects MODULE:ATTRIBUTE, got {spec!r}"
        raise ValueError(msg)
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        msg = f"{spec} is not a click command but {type(command).__name__}"
        raise TypeError(msg)
    return command


def iter_commands(
    command: click.Command, prog: str, parent: click.Context | None = None
) -> Iterator[tuple[str, click.Context]]:
    """
    Yield ``(full name, context)`` for a command and, depth first, every sub-command.

    The contexts are those click builds when the command runs (with the command's
    ``context_settings``, e.g. ``-h``), so ``command.get_help(ctx)`` is the text ``--help``
    prints in a terminal `WIDTH` columns wide.
    """
    settings = {"terminal_width": WIDTH, "max_content_width": WIDTH, **command.context_settings}
    ctx = command.context_class(command, info_name=prog, parent=parent, **settings)
    yield ctx.command_path, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from iter_commands(sub, name, ctx)


def help_text(ctx: click.Context) -> str:
    """Return what ``<command> --help`` prints for the command of `ctx`."""
    return ctx.command.get_help(ctx).rstrip() + "\n"


class ClickReference(SphinxDirective):
    """Render every command of a click group as a section with its ``--help`` text."""

    required_arguments = 1
    has_content = False
    option_spec = {"prog": directives.unchanged}  # noqa: RUF012

    def run(self) -> list[nodes.Node]:
        """Build the sections, one per command."""
        group = load_command(self.arguments[0])
        prog = self.options.get("prog") or group.name or "cli"
        module = self.arguments[0].partition(":")[0]
        self.env.note_dependency(importlib.import_module(module).__file__ or "")
        sections: list[nodes.Node] = []
        for path, ctx in iter_commands(group, prog):
            sections.append(self._section(path, ctx))
        return sections

    def _section(self, path: str, ctx: click.Context) -> nodes.section:
        slug = "cli-" + nodes.make_id(path.replace(" ", "-"))
        section = nodes.section(ids=[slug], names=[nodes.fully_normalize_name(path)])
        section += nodes.title(text=path)
        short = ctx.command.get_short_help_str(limit=WIDTH)
        if short:
            section += nodes.paragraph(text=short)
        text = help_text(ctx)
        block = nodes.literal_block(text, text, language="text")
        section += block
        self.state.document.note_explicit_target(section)
        std = self.env.domains["std"]
        std.note_hyperlink_target(slug, self.env.docname, slug, path)
        return section


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``click-reference`` directive."""
    app.add_directive("click-reference", ClickReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
