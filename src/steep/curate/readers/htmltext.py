"""HTML: the main text of a page, with the standard library's `html.parser` (no lxml, no model).

What is kept, as Markdown-ish text: headings (`# ...`, `## ...`), paragraphs, list items (`- ...`), table rows
(`cell | cell`), preformatted blocks as written; `<title>` -> meta.title, `<html lang>` -> meta.lang, and a
publication date (`article:published_time`, `date`, `dc.date` meta tags) -> meta.date, so the time gate can use it.

What is removed, cheapest signal first (counted in the reader's counters):
- elements that are never content: script, style, noscript, template, svg, iframe, form, button, dialog;
- page chrome: nav, aside, and header/footer *outside* `<article>`/`<main>` (inside them a header holds the
  article's own title and byline); elements whose role is navigation/banner/contentinfo/complementary/search,
  or whose class/id names chrome (cookie, consent, nav, menu, sidebar, breadcrumb, share, social, ad, promo,
  newsletter, related, comments, popup, modal); `hidden` / `aria-hidden="true"` elements;
- link lists: a block whose characters are >= `read.html_max_link_density` link text (jusText's signal;
  headings are exempt because a linked headline is still the headline);
- cookie banners that escaped the class names: a short block (< 80 words) that talks about accepting cookies;
- when the page marks its content with `<main>` or `<article>`, everything outside them.

    text, meta, removed = extract_main_text("<html>...</html>", max_link_density=0.5)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from steep.curate.document import Document
from steep.curate.readers.base import EMPTY, BadInput, FileContext, declared_html_charset, decode_text
from steep.curate.readers.text import read_file_bytes

_NEVER_CONTENT = {
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "form",
    "button",
    "dialog",
    "select",
    "object",
    "canvas",
    "nav",
    "aside",
}
_CHROME_OUTSIDE_ARTICLE = {"header", "footer"}
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog", "menu"}
_CHROME_NAME = re.compile(
    r"(?:^|[-_])(cookies?|consent|gdpr|nav|navbar|navigation|menu|sidebar|breadcrumbs?|share|sharing|social|ads?|"
    r"advert|advertisement|promo|newsletter|subscribe|related|comments?|popup|modal|banner|skip-link)(?:$|[-_])",
    re.IGNORECASE,
)
_CHROME_NAME_OUTSIDE_ARTICLE = re.compile(r"(?:^|[-_])(header|footer|masthead)(?:$|[-_])", re.IGNORECASE)
_COOKIE_TEXT = re.compile(
    r"\b(we use cookies|this (web)?site uses cookies|accept (all )?cookies|cookie (policy|settings|preferences)|"
    r"manage (your )?cookies)\b",
    re.IGNORECASE,
)
_COOKIE_BLOCK_MAX_WORDS = 80  # a cookie sentence inside a long paragraph is content (an article about cookies)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p",
    "li",
    "tr",
    "pre",
    "blockquote",
    "dt",
    "dd",
    "figcaption",
    "caption",
    "div",
    "section",
    "article",
    "main",
    "ul",
    "ol",
    "table",
    "body",
    "address",
    "details",
    "summary",
}
_SELF_CLOSING_SIBLINGS = {
    "p": {"p"},
    "li": {"li"},
    "tr": {"tr"},
    "td": {"td", "th"},
    "th": {"td", "th"},
    "dt": {"dt", "dd"},
    "dd": {"dt", "dd"},
}
_DATE_META = {
    "article:published_time",
    "date",
    "dc.date",
    "dcterms.date",
    "dc.date.issued",
    "publication_date",
    "datepublished",
    "og:published_time",
}


@dataclass
class _Open:
    tag: str
    skip: bool
    in_main: bool


@dataclass
class _Block:
    kind: str
    in_main: bool
    parts: list[str] = field(default_factory=list)
    link_chars: int = 0


class _MainTextParser(HTMLParser):
    def __init__(self, max_link_density: float) -> None:
        super().__init__(convert_charrefs=True)
        self.max_link_density = max_link_density
        self.stack: list[_Open] = []
        self.blocks: list[tuple[str, str, bool]] = []  # (kind, text, inside main/article)
        self.current = _Block("p", False)
        self.removed: Counter[str] = Counter()
        self.meta: dict[str, str] = {}
        self.title: list[str] = []
        self.in_title = False
        self.has_main = False

    # -- the element stack (HTML in the wild leaves tags open; we close what a browser would close)

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1].skip

    @property
    def in_main(self) -> bool:
        return bool(self.stack) and self.stack[-1].in_main

    def _is_chrome(self, tag: str, attrs: dict[str, str], in_main: bool) -> str | None:
        if tag in _NEVER_CONTENT:
            return f"<{tag}>"
        if tag in _CHROME_OUTSIDE_ARTICLE and not in_main:
            return f"<{tag}>"
        if "hidden" in attrs or attrs.get("aria-hidden", "").lower() == "true":
            return "hidden"
        if attrs.get("role", "").lower() in _CHROME_ROLES:
            return f"role={attrs['role'].lower()}"
        names = f"{attrs.get('class', '')} {attrs.get('id', '')}".split()
        for name in names:
            if _CHROME_NAME.search(name) or (not in_main and _CHROME_NAME_OUTSIDE_ARTICLE.search(name)):
                return "class/id"
        return None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k.lower(): (v or "") for k, v in attrs_list}
        if tag == "meta":
            self._meta_tag(attrs)
            return
        if tag == "html" and attrs.get("lang"):
            self.meta["lang"] = attrs["lang"]
        if tag == "title":
            self.in_title = True
        if tag in _SELF_CLOSING_SIBLINGS and self.stack and self.stack[-1].tag in _SELF_CLOSING_SIBLINGS[tag]:
            self.handle_endtag(self.stack[-1].tag)
        if tag in _VOID:
            if tag == "br" and not self.skipping:
                self.current.parts.append("\n")
            return
        skip, in_main = self.skipping, self.in_main
        if not skip:
            why = self._is_chrome(tag, attrs, in_main)
            if why:
                skip = True
                self.removed[f"html_removed:{why}"] += 1
        if tag in ("main", "article") or attrs.get("role", "").lower() == "main":
            in_main = True
            self.has_main = self.has_main or not skip
        if tag in _BLOCKS:
            self._flush()
            kind = tag if tag in _HEADINGS | {"li", "tr", "pre"} else self._enclosing_item()
            self.current = _Block(kind, in_main)
        self.stack.append(_Open(tag, skip, in_main))
        if tag in ("td", "th") and not skip and self.current.kind == "tr" and "".join(self.current.parts).strip():
            self.current.parts.append(" | ")

    def _enclosing_item(self) -> str:
        """`<li><p>text</p></li>` is still a list item."""
        return next((o.tag for o in reversed(self.stack) if o.tag in ("li", "tr")), "p")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break
        else:
            return  # a stray end tag: browsers ignore it, so do we
        if tag in _BLOCKS:
            self._flush()
            self.current = _Block(self._enclosing_item(), self.in_main)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
            return
        if self.skipping:
            return
        if not any(o.tag == "pre" for o in self.stack):
            data = re.sub(r"\s+", " ", data)
        self.current.parts.append(data)
        if any(o.tag == "a" for o in self.stack):
            self.current.link_chars += len(data.strip())

    def _meta_tag(self, attrs: dict[str, str]) -> None:
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        if key in _DATE_META and attrs.get("content") and "date" not in self.meta:
            self.meta["date"] = attrs["content"].strip()

    def _flush(self) -> None:
        block, self.current = self.current, _Block(self._enclosing_item(), self.in_main)
        raw = "".join(block.parts)
        if block.kind == "pre":
            text = raw.strip("\n")
        else:
            text = "\n".join(" ".join(line.split()) for line in raw.split("\n")).strip()
            text = re.sub(r"\n{2,}", "\n", text)
            text = re.sub(r"^\|\s*|\s*\|$", "", text) if block.kind == "tr" else text
        if not text.strip():
            return
        if block.kind not in _HEADINGS and block.link_chars / len(text) >= self.max_link_density:
            self.removed["html_removed:link_density"] += 1
            return
        if _COOKIE_TEXT.search(text) and len(text.split()) < _COOKIE_BLOCK_MAX_WORDS:
            self.removed["html_removed:cookie_text"] += 1
            return
        self.blocks.append((block.kind, text, block.in_main))

    def close(self) -> None:
        super().close()
        self._flush()


def extract_main_text(html: str, max_link_density: float = 0.5) -> tuple[str, dict[str, str], Counter[str]]:
    """(main text, meta {title, lang, date} as found, counts of what was removed and why)."""
    parser = _MainTextParser(max_link_density)
    parser.feed(html)
    parser.close()
    blocks = parser.blocks
    if parser.has_main:
        outside = sum(1 for _, _, in_main in blocks if not in_main)
        if outside:
            parser.removed["html_removed:outside_main"] += outside
        blocks = [b for b in blocks if b[2]]
    out: list[str] = []
    previous = ""
    for kind, text, _ in blocks:
        if kind in _HEADINGS:
            text = "#" * int(kind[1]) + " " + text
        elif kind == "li":
            text = "- " + text
        # Consecutive list items and table rows stay together; everything else is its own paragraph.
        glue = "\n" if kind == previous and kind in ("li", "tr") else "\n\n"
        out.append((glue if out else "") + text)
        previous = kind
    meta = dict(parser.meta)
    title = " ".join("".join(parser.title).split())
    if title:
        meta["title"] = title
    return "".join(out), meta, parser.removed


def read_html(path: Path, ctx: FileContext) -> Iterator[Document | BadInput]:
    raw = read_file_bytes(path, ctx)
    if isinstance(raw, BadInput):
        yield raw
        return
    html = decode_text(raw, str(path), ctx, encoding=declared_html_charset(raw) or "utf-8")
    if isinstance(html, BadInput):
        yield html
        return
    text, meta, removed = extract_main_text(html, ctx.cfg.html_max_link_density)
    ctx.counters.update(removed)
    if not text.strip():
        yield BadInput(
            str(path),
            f"no main text in the page ({sum(removed.values())} boilerplate block(s) removed)",
            reason=EMPTY,
            snippet=html[:2000],
        )
        return
    yield Document(id=ctx.file_id(path), text=text, meta={"source": str(path), "format": "html", **meta})
