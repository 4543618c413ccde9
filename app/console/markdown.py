"""Runbooks written in Markdown, rendered safe for the incident page.

A runbook's text comes from the rules file (people with ``config`` write it),
but the page it lands on is where responders click at 3 a.m., so it is
rendered as if it were hostile: markdown-it-py (the Executable Books port of
markdown-it, CommonMark-compliant, maintained, pure Python, with no C
extension to build) with

* raw HTML off: ``<script>`` or ``<img onerror=...>`` in the text is shown as
  text, escaped, never passed through;
* links only to ``http``, ``https`` and ``mailto`` (markdown-it already refuses
  ``javascript:``, ``vbscript:``, ``file:`` and ``data:``; this narrows it to
  what a runbook needs), each opened without a referrer or an opener;
* images off (the page's Content-Security-Policy would block other origins'
  images anyway; an image is shown as its alt text).

The result is wrapped in ``Markup`` only here, once it is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

_SCHEMES = ("http://", "https://", "mailto:")


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SCHEMES)


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _parser()


def render_markdown(text: str | None) -> Markup:
    """``text`` as safe HTML (empty for none)."""
    if not text:
        return Markup("")
    html: Any = _MD.render(text)
    return Markup(str(html))
