"""A small builder for self-contained HTML reports: sections of text, figures, tables and code.

The page needs no network: its style sheet is inline, its pictures are files in ``img/`` beside
``index.html``, and nothing is loaded from elsewhere. Every file is written atomically, the page
last, so a reader never sees a page whose pictures are missing.

>>> page = Page("Example")
>>> s = page.section("intro", "Introduction", "Some <b>escaped</b> text.")
>>> s.table(["a", "b"], [[1, 2]])
>>> "<table>" in page.html()
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .._files import atomic_write

__all__ = ["Page", "Section"]

_STYLE = """
:root { --ink: #1d2430; --muted: #5b6573; --line: #d8dde5; --accent: #2a6fdb; --paper: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #f4f6f9; }
header { background: #1d2430; color: #fff; padding: 28px 40px; }
header h1 { margin: 0 0 6px; font-size: 28px; }
header p { margin: 0; color: #c9d2de; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 10px 40px; font-size: 14px;
      display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 40px 60px; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 22px 28px;
          margin: 0 0 24px; }
section h2 { margin-top: 0; font-size: 22px; }
section h3 { font-size: 17px; margin: 22px 0 8px; }
p.lead { color: var(--muted); margin-top: -4px; }
figure { margin: 14px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 4px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
.gallery figure { margin: 0; }
.gallery.wide { grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); }
table { border-collapse: collapse; margin: 10px 0 16px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: right; }
th { background: #eef1f6; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f6f8fb; border: 1px solid var(--line); border-radius: 4px; padding: 10px 14px; overflow-x: auto;
      font-size: 13.5px; line-height: 1.45; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
.metric { font-size: 30px; font-weight: 600; color: var(--accent); }
.note { border-left: 4px solid #e0a800; background: #fff8e1; padding: 8px 12px; margin: 12px 0; }
footer { color: var(--muted); font-size: 13px; text-align: center; padding-bottom: 30px; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Section:
    """One ``<section id=...>`` of a :class:`Page`; add content in order with its methods.

    Examples
    --------
    >>> from convscope.report.html import Page
    >>> section = Page("Example").section("intro", "Introduction")
    >>> section.text("Plain text, <escaped>.")
    >>> section.code("F.conv2d(x, w)")
    >>> "&lt;escaped&gt;" in section.html() and "<pre" in section.html()
    True
    """

    page: "Page"
    id: str
    title: str
    parts: list[str] = field(default_factory=list)

    def text(self, text: str, *, cls: str | None = None) -> None:
        """A paragraph of plain text (escaped)."""
        self.parts.append(f"<p{f' class={cls!r}' if cls else ''}>{_e(text)}</p>")

    def markup(self, markup: str) -> None:
        """Trusted HTML written by the report itself (never user text)."""
        self.parts.append(markup)

    def heading(self, text: str) -> None:
        self.parts.append(f"<h3>{_e(text)}</h3>")

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{_e(text)}</p>')

    def code(self, text: str) -> None:
        self.parts.append(f"<pre><code>{_e(text)}</code></pre>")

    def figure(self, picture: Any, name: str, caption: str = "", *, alt: str | None = None,
               width: int | None = None) -> str:
        """Save ``picture`` (a matplotlib Figure or PIL image, or a path already written) as
        ``img/NAME`` and show it; returns the relative path."""
        rel = self.page.add_image(picture, name)
        size = f' style="width:{int(width)}px"' if width else ""
        self.parts.append(f'<figure><img src="{_e(rel)}" alt="{_e(alt or caption or name)}"{size} loading="eager">'
                          + (f"<figcaption>{_e(caption)}</figcaption>" if caption else "") + "</figure>")
        return rel

    def gallery(self, items: Sequence[tuple[Any, str, str]], *, wide: bool = False) -> None:
        """Several ``(picture, name, caption)`` in a responsive grid (``wide``: larger cells)."""
        cells = []
        for picture, name, caption in items:
            rel = self.page.add_image(picture, name)
            cells.append(f'<figure><img src="{_e(rel)}" alt="{_e(caption or name)}" loading="eager">'
                         f"<figcaption>{_e(caption)}</figcaption></figure>")
        self.parts.append(f'<div class="gallery{" wide" if wide else ""}">' + "".join(cells) + "</div>")

    def table(self, header: Sequence[Any], rows: Sequence[Sequence[Any]], *, caption: str | None = None) -> None:
        head = "".join(f"<th>{_e(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
        cap = f"<caption>{_e(caption)}</caption>" if caption else ""
        self.parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def html(self) -> str:
        return (f'<section id="{_e(self.id)}" data-section="{_e(self.id)}"><h2>{_e(self.title)}</h2>'
                + "".join(self.parts) + "</section>")


class Page:
    """A report page: a header, a table of contents, sections; pictures kept until :meth:`write`.

    Examples
    --------
    >>> import tempfile
    >>> from convscope.report.html import Page
    >>> page = Page("Filters", "what a first layer learns")
    >>> section = page.section("edges", "Edges", "Sobel and friends.")
    >>> section.table(["kernel", "sum"], [["sobel_x", 0]])
    >>> page.write(tempfile.mkdtemp()).name
    'index.html'
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title, self.subtitle = title, subtitle
        self.sections: list[Section] = []
        self.images: dict[str, Any] = {}
        self.footer = ""

    def section(self, id: str, title: str, lead: str = "") -> Section:
        if any(s.id == id for s in self.sections):
            raise ValueError(f"Page.section: id expects a new section id, but {id!r} is taken")
        s = Section(self, id, title)
        if lead:
            s.text(lead, cls="lead")
        self.sections.append(s)
        return s

    def add_image(self, picture: Any, name: str) -> str:
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"Page.add_image: name expects a plain file name, but got {name!r}")
        if name in self.images:
            raise ValueError(f"Page.add_image: name expects a new file name, but {name!r} is taken")
        self.images[name] = picture
        return f"img/{name}"

    def html(self) -> str:
        toc = "".join(f'<a href="#{_e(s.id)}">{_e(s.title)}</a>' for s in self.sections)
        body = "".join(s.html() for s in self.sections)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{_e(self.title)}</title><style>{_STYLE}</style></head><body>"
                f"<header><h1>{_e(self.title)}</h1><p>{_e(self.subtitle)}</p></header>"
                f"<nav>{toc}</nav><main>{body}</main><footer>{_e(self.footer)}</footer></body></html>\n")

    def write(self, folder) -> Path:
        """Write ``folder/img/*`` and then ``folder/index.html``; returns the page's path."""
        from ..viz._common import save

        folder = Path(folder)
        (folder / "img").mkdir(parents=True, exist_ok=True)
        for name, picture in self.images.items():
            target = folder / "img" / name
            if isinstance(picture, (str, Path)):
                data = Path(picture).read_bytes()
                atomic_write(target, lambda f, d=data: f.write(d), overwrite=True, fn="Page.write")
            else:
                save(picture, target, "Page.write")
        text = self.html().encode("utf-8")
        return atomic_write(folder / "index.html", lambda f: f.write(text), overwrite=True, fn="Page.write")
