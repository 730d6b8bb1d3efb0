"""HTML report, PNG plots (matplotlib, Agg backend) and a JSON summary of a valuation run.

A :class:`ValuationReport` collects the computed :class:`Values` (any grain, any method),
removal curves, noise-detection figures and the what-to-label-next list; ``write(dir)`` saves
every ``Values`` (npz + JSON), ``summary.json`` (what the CLI prints and the HTTP route serves),
``distribution.png``, one ``removal_<name>.png`` per curve and ``report.html``. The summary is the
typed :class:`~shelfwise.valuation.summary.ValuationSummary`; :func:`~shelfwise.valuation.summary.load_valuation`
reads it back.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from shelfwise.eval.report import CSS, figure_html, html_table, pyplot
from shelfwise.valuation.base import Values
from shelfwise.valuation.removal import RemovalCurve
from shelfwise.valuation.suggest import Suggestions
from shelfwise.valuation.summary import SUMMARY_FILE, RemovalCurveOut, ValuationOut, ValuationSummary

__all__ = ["SUMMARY_FILE", "ValuationReport", "plot_distributions", "plot_removal"]


@dataclass
class ValuationReport:
    """Everything one valuation run produced; ``write`` turns it into files."""

    title: str
    values: dict[str, Values] = field(default_factory=dict)  # key: "<what>: <method> by <grain>"
    curves: dict[str, RemovalCurve] = field(default_factory=dict)
    suggestions: Suggestions | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. noise precision, run time
    notes: list[str] = field(default_factory=list)
    top_n: int = 15

    def summary(self) -> ValuationSummary:
        """The digest ``summary.json`` holds: per valuation the most and least valuable players, curves, metrics."""
        vals = {
            key: ValuationOut(
                method=v.method,
                grain=v.grain,
                players=len(v),
                seconds=round(float(v.seconds), 3),
                evaluations=int(v.evaluations),
                converged=bool(v.converged),
                info={str(k): float(x) for k, x in v.info.items()},
                most_valuable=tuple((str(n), float(x), int(s)) for n, x, s in v.table(self.top_n)),
                least_valuable=tuple((str(n), float(x), int(s)) for n, x, s in v.table(self.top_n, lowest_first=True)),
            )
            for key, v in self.values.items()
        }
        curves = {
            key: RemovalCurveOut(
                method=c.method,
                fractions=tuple(c.fractions.tolist()),
                lowest_first=tuple(c.lowest.tolist()),
                highest_first=tuple(c.highest.tolist()),
                random_mean=tuple(c.random_mean.tolist()),
                random_std=tuple(c.random_std.tolist()),
            )
            for key, c in self.curves.items()
        }
        label_next = None
        if self.suggestions is not None:
            label_next = tuple((str(g), float(x), int(n)) for g, x, n in self.suggestions.ranked(self.top_n))
        return ValuationSummary(
            title=self.title,
            values=vals,
            removal_curves=curves,
            metrics={str(k): float(x) for k, x in self.metrics.items()},
            notes=tuple(self.notes),
            label_next=label_next,
        )

    def write(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for key, v in self.values.items():
            v.save(d / "values" / _slug(key))
        (d / SUMMARY_FILE).write_text(json.dumps(self.summary().as_json(), indent=1, ensure_ascii=False))
        images = []
        if self.values:
            images.append(plot_distributions(self.values, d / "distribution.png"))
        for key, c in self.curves.items():
            images.append(plot_removal(c, d / f"removal_{_slug(key)}.png", key))
        path = d / "report.html"
        path.write_text(self._html(images))
        return path

    def _html(self, images: list[Path]) -> str:
        e = html.escape
        parts = [
            f"<!doctype html><meta charset='utf-8'><title>{e(self.title)}</title>",
            f"<style>{CSS}</style>",
            f"<h1>{e(self.title)}</h1>",
        ]
        parts += [f"<p>{e(n)}</p>" for n in self.notes]
        if self.metrics:
            parts.append(
                "<h2>Key figures</h2>" + html_table(("figure", "value"), [(k, v) for k, v in self.metrics.items()])
            )
        parts += [figure_html(i) for i in images]  # inlined: `serve --report DIR` serves report.html alone
        for key, c in self.curves.items():
            rows = [
                (f"{f:.0%}", lo, r, sd, hi)
                for f, lo, r, sd, hi in zip(c.fractions, c.lowest, c.random_mean, c.random_std, c.highest, strict=True)
            ]
            parts.append(f"<h2>Removal: {e(key)}</h2>")
            parts.append(
                html_table(("removed", "lowest first", "random (mean)", "random (std)", "highest first"), rows)
            )
        for key, v in self.values.items():
            parts.append(
                f"<h2>{e(key)}</h2><p>{len(v)} players, {v.evaluations} evaluations, {v.seconds:.2f} s"
                f"{'' if v.converged else ', NOT converged'}</p>"
            )
            parts.append("<h3>Most valuable</h3>" + html_table(("name", "value", "size"), v.table(self.top_n)))
            parts.append(
                "<h3>Least valuable</h3>"
                + html_table(("name", "value", "size"), v.table(self.top_n, lowest_first=True))
            )
        if self.suggestions is not None:
            parts.append("<h2>Label next</h2>")
            parts.append(
                html_table(("group", "expected gain", "unlabelled items"), self.suggestions.ranked(self.top_n))
            )
        return "\n".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "values"


def plot_distributions(values: dict[str, Values], path: Path) -> Path:
    """One histogram per valuation (value per player)."""
    plt = pyplot()
    n = len(values)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (key, v) in zip(axes.ravel(), values.items(), strict=False):
        ax.hist(v.values, bins=min(40, max(5, len(v) // 3)), color="#4472c4")
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_title(key, fontsize=8)
        ax.set_xlabel("value")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_removal(curve: RemovalCurve, path: Path, title: str, ylabel: str = "test metric") -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    x = curve.fractions * 100
    ax.plot(x, curve.lowest, "o-", color="#2a9d3f", label=f"remove lowest {curve.method} first")
    ax.plot(x, curve.random_mean, "s--", color="#666666", label="remove random")
    ax.fill_between(
        x, curve.random_mean - curve.random_std, curve.random_mean + curve.random_std, color="#999", alpha=0.3
    )
    ax.plot(x, curve.highest, "v:", color="#c0392b", label="remove highest first")
    ax.set_xlabel("training data removed (%)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
