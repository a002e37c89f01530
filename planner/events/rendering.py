"""Meetup descriptions: Markdown rendered to HTML that is safe to show (no script, no js: links)."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre",
                "h2", "h3", "h4", "hr", "del"}


@cache
def _markdown() -> MarkdownIt:
    # "js-default" escapes raw HTML instead of passing it through; nh3 is the second wall.
    return MarkdownIt("js-default").enable("strikethrough")


def render_markdown(source: str) -> Markup:
    html = _markdown().render(source or "")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow ugc")
    return Markup(clean)  # sanitised by nh3 just above
