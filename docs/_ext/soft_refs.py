"""
Sphinx extension: how names in docstrings link, under a strict (``-n``) build.

Three rules, nothing else is relaxed:

1. **Public aliases.** A reference to ``geo_renewal.<module>.<name>`` (or ``<module>.<name>``)
   where ``<name>`` is public (in ``geo_renewal.__all__``) links to ``geo_renewal.<name>``,
   where the API reference documents it. Docstrings may name the owning module, as the
   library's own error messages do, and the link survives a name moving between modules.
2. **Single backticks are soft.** The default role of docstrings (numpydoc's convention:
   ```parcels``` is a parameter, ```geo_renewal.crs.area``` an object) is ``soft``: a link
   where the name is documented, plain code text otherwise (parameter names, private
   helpers, module attributes). Explicit roles (``:func:``, ``:class:``, numpydoc's See
   Also, MyST ``{ref}`` and ``{py:func}``) stay strict: an unresolved one fails the build.
3. **Bare class names in signatures** (``Plan`` in a type hint) link to the one documented
   object of that name, if there is exactly one.

It also repairs the signatures of dataclasses with ``default_factory`` fields (see
`dataclass_signature`).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

SOFT = "geo_renewal_soft"


def soft_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: dict[str, Any] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """Make a ``py:obj`` reference that falls back to code text when it does not resolve."""
    env = inliner.document.settings.env
    role = env.get_domain("py").role("obj")
    result, messages = role("py:obj", rawtext, text, lineno, inliner, options or {}, content or [])
    for node in result:
        if isinstance(node, addnodes.pending_xref):
            node[SOFT] = True
    return result, messages


def _public_alias(target: str) -> str | None:
    import geo_renewal

    if "." not in target:
        return None
    short = target.rsplit(".", 1)[1]
    alias = f"geo_renewal.{short}"
    if short in geo_renewal.__all__ and target != alias:
        return alias
    return None


def _unique_suffix(env: BuildEnvironment, target: str) -> str | None:
    """Return the one documented object whose name ends with ``.target``, if there is one."""
    if "." in target:
        return None
    objects = env.get_domain("py").objects  # type: ignore[attr-defined]
    matches = [name for name in objects if name.endswith("." + target)]
    return matches[0] if len(matches) == 1 else None


def resolve(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    """Resolve a missing reference through a public alias, or soften it."""
    if node.get("refdomain") == "py":
        target = node["reftarget"]
        alias = _public_alias(target) or _unique_suffix(env, target)
        if alias is not None:
            found = env.get_domain("py").resolve_any_xref(
                env, node["refdoc"], app.builder, alias, node, contnode
            )
            if found:
                return found[0][1]
    if node.get(SOFT):
        return contnode
    return None


def dataclass_signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None] | None:
    """
    Show a dataclass field's ``default_factory`` as ``...`` in the class signature.

    autodoc writes such defaults as ``<factory>``, which is not Python, so Sphinx falls back
    to splitting the signature at every comma and ``dict[str, Any]`` becomes two broken
    types (a warning under ``-n``).
    """
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``soft`` role and the resolver."""
    app.add_role("soft", soft_role)
    app.connect("missing-reference", resolve)
    app.connect("autodoc-process-signature", dataclass_signature)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
