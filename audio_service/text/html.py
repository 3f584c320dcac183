"""HTML article extraction: paragraphs, headline, byline and date from markup, as clean text.

Pure text, like the rest of ``audio_service.text``: selectolax (lexbor) parses the markup, page
furniture is dropped by element, and every string comes back through ``clean_text``.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from audio_service.text.byline import byline_name
from audio_service.text.clean import clean_text, has_speakable

# Page furniture by element: never story text, whatever it says.
_SKIP = frozenset(
    (
        *("figure", "figcaption", "script", "style", "aside", "nav", "footer", "iframe"),
        *("noscript", "form", "button", "template", "svg", "canvas", "video", "audio"),
        *("picture", "object", "embed", "select", "textarea", "input", "label", "dialog", "head"),
    )
)
# Elements that end a paragraph; text between them is one paragraph, inline tags are not.
_BLOCKS = frozenset(
    (
        *("p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("blockquote", "li", "ul", "ol", "dl", "dt", "dd", "pre", "table", "thead", "tbody"),
        *("tfoot", "tr", "td", "th", "caption", "hr", "address", "details", "summary"),
        *("center", "body", "html"),
    )
)


def _header_blocks(header: LexborNode) -> list[tuple[str, str]]:
    """A page header is furniture, except the headline, byline and date it usually holds."""
    found: list[tuple[str, str]] = []
    heading = header.css_first("h1")
    if heading is not None:
        found.append(("h1", clean_text(heading.text(separator=" "), unescape=False)))
    for node in header.css("p, span, div, address"):
        name = byline_name(clean_text(node.text(separator=" "), unescape=False))
        if name:
            found.append(("byline", name))
            break
    when = header.css_first("time[datetime]")
    if when is not None:
        found.append(("time", clean_text(when.attributes.get("datetime") or "", unescape=False)))
    return found


def _html_blocks(markup: str) -> list[tuple[str, str]]:
    """(tag, cleaned text) of each paragraph-like block, in document order."""
    tree = LexborHTMLParser(markup)
    root = tree.body or tree.root
    if root is None:
        return []
    blocks: list[tuple[str, str]] = []
    pending: list[str] = []
    open_blocks: list[str] = ["p"]

    def flush() -> None:
        text = clean_text("".join(pending), unescape=False)
        pending.clear()
        if has_speakable(text):
            blocks.append((open_blocks[-1], text))

    # An explicit stack, not recursion: hostile markup can nest thousands of levels deep.
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag or ""
        if leaving:
            flush()
            open_blocks.pop()
        elif tag == "-text":
            pending.append(node.text_content or "")
        elif tag == "br":
            pending.append(" ")
        elif tag == "header":
            flush()
            blocks.extend(_header_blocks(node))
        elif tag in _SKIP or tag.startswith("-"):
            continue
        elif tag in _BLOCKS:
            flush()
            open_blocks.append(tag)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
        else:
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    flush()
    return blocks


def html_article(markup: str, title: str) -> tuple[str, list[str], dict[str, str]]:
    """The title (the given one, else the first h1), paragraphs and header fields of HTML."""
    paragraphs: list[str] = []
    fields = {"byline": "", "published": ""}
    for tag, text in _html_blocks(markup):
        if tag == "h1" and not title:
            title = text
        elif tag == "h1" and text.casefold() == title.casefold() and not paragraphs:
            continue  # the headline repeated at the top of the body
        elif tag == "byline":
            fields["byline"] = fields["byline"] or text
        elif tag == "time":
            fields["published"] = fields["published"] or text
        else:
            paragraphs.append(text)
    return title, paragraphs, fields
