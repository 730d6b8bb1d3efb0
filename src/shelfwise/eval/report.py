"""A self-contained HTML evaluation report: tables, notes and embedded PNG plots."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.errors import MissingExtraError

CSS = (
    "body{font-family:system-ui,sans-serif;max-width:980px;margin:2rem auto;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:.5rem 0}"
    ".note{color:#555;font-size:.9rem}"
)


@dataclass
class Section:
    title: str
    header: Sequence[str] = ()
    rows: Sequence[Sequence[object]] = ()
    notes: Sequence[str] = ()
    images: Sequence[Path] = field(default_factory=list)


def fmt_cell(v: object) -> str:
    """Floats to 5 significant digits (values span 1e-5 .. 1e4 across reports), the rest escaped."""
    if isinstance(v, float | np.floating):
        return f"{float(v):.5g}"
    return html.escape(str(v))


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{fmt_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# fonts holding Chinese (and Japanese / Korean) characters, tried in this order where installed
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display), or an error naming the extra. Labels fall
    back to an installed CJK font (:data:`CJK_FONTS`) for characters the default font lacks: a
    Chinese store's categories and brands drew as empty boxes, with a warning for each character."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingExtraError("matplotlib", "report") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    if list(matplotlib.rcParams["font.family"]) == ["sans-serif"]:  # the default, not a caller's choice
        installed = {f.name for f in font_manager.fontManager.ttflist}
        fallback = [name for name in CJK_FONTS if name in installed]
        first = next((f for f in matplotlib.rcParams["font.sans-serif"] if f in installed), None)
        if fallback and first is not None:  # a list of families falls back glyph by glyph; a generic name does not
            matplotlib.rcParams["font.family"] = [first, *fallback]
    return plt


def render_html(title: str, sections: Sequence[Section]) -> str:
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.rows:
            parts.append(html_table(s.header, s.rows))
        parts += [f"<p class='note'>{html.escape(n)}</p>" for n in s.notes]
        parts += [figure_html(img) for img in s.images]
    return "\n".join(parts) + "\n"


def figure_html(img: str | Path) -> str:
    """A PNG inlined as a data URI with its file name as caption: the page reads the same wherever
    it is served from (``serve --report`` serves the HTML file alone)."""
    name = html.escape(Path(img).name)
    data = base64.b64encode(Path(img).read_bytes()).decode()
    img_tag = f"<img alt='{name}' src='data:image/png;base64,{data}'>"
    return f"<figure>{img_tag}<figcaption class='note'>{name}</figcaption></figure>"


def bar_chart(path: str | Path, title: str, groups: Sequence[str], series: Mapping[str, Sequence[float]]) -> Path:
    """Grouped bars: one group per metric, one bar per series (system). Writes a PNG."""
    plt = pyplot()
    fig = bar_figure(title, groups, series)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def bar_figure(title: str, groups: Sequence[str], series: Mapping[str, Sequence[float]]) -> Any:
    """The figure of :func:`bar_chart`; its legend sits right of the plot, so no bar hides behind it
    (inside, at the lower right, it covered the MRR bars, which are often near 1)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 3.6))
    width = 0.8 / max(len(series), 1)
    for i, (name, vals) in enumerate(series.items()):
        xs = [g + i * width for g in range(len(groups))]
        ax.bar(xs, list(vals), width, label=name)
    ax.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], list(groups))
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
