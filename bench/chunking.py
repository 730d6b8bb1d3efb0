"""Passage-level dense evidence for product titles (issue 14): cut each title into pieces, embed
each piece, score a product by its best piece (MaxP: Dai & Callan, 2019, "Deeper Text
Understanding for IR with Contextual Neural Language Modeling").

Chunking rules (language-agnostic, in the encoder's own subword tokens, not tuned per store):
* ``window``: sliding windows of ``width`` tokens with stride ``width // 2``; a title of at most
  ``width`` tokens is one piece (the title itself);
* ``segment``: the title split at whitespace/punctuation runs, adjacent segments greedily merged
  while the piece stays within ``width`` tokens; a segment longer than ``width`` is cut into windows
  as above. For Chinese titles (no separators) this is the window rule.

A piece is cut from the title by the tokenizer's character offsets, so its text is a substring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
_SEP = re.compile(r"[\s,;:|/()\[\]{}【】（），。；：、！？!?·\-]+")


@dataclass(frozen=True)
class ChunkConfig:
    """``width``: piece length in subword tokens; ``rule``: "window" or "segment"."""

    width: int = 8
    rule: str = "window"

    def __post_init__(self) -> None:
        if self.width < 2:
            raise ValueError("width must be >= 2")
        if self.rule not in ("window", "segment"):
            raise ValueError("rule must be 'window' or 'segment'")


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _units(text: str, enc: Any) -> list[tuple[int, int, int]]:
    """Word-aligned units ``(first char, end char, tokens)``: a new unit starts at a token that opens
    a word (SentencePiece's "▁"), touches a CJK character, or follows a gap in the text; so a window
    never ends inside a Latin word."""
    units: list[list[int]] = []
    prev_end = -1
    for tok, (a, b) in zip(enc.tokens, enc.offsets, strict=True):
        if b <= a:
            continue
        cjk = bool(_CJK.match(text[a])) or (prev_end > 0 and bool(_CJK.match(text[prev_end - 1])))
        if not units or tok.startswith("\u2581") or cjk or a > prev_end:
            units.append([a, b, 1])
        else:
            units[-1][1] = b
            units[-1][2] += 1
        prev_end = b
    return [(u[0], u[1], u[2]) for u in units]


def _windows(text: str, enc: Any, width: int) -> list[str]:
    """Sliding windows of whole units, at most ``width`` tokens (a longer unit alone), stride about
    ``width // 2`` tokens; the title itself when it has at most ``width`` tokens."""
    units = _units(text, enc)
    if not units:
        return []
    pos = np.cumsum([0] + [u[2] for u in units])  # token index where each unit starts
    if pos[-1] <= width:
        return [text[units[0][0] : units[-1][1]].strip()]
    out: list[str] = []
    s = 0
    while True:
        e = s + 1
        while e < len(units) and pos[e + 1] - pos[s] <= width:
            e += 1
        out.append(text[units[s][0] : units[e - 1][1]].strip())
        if e >= len(units):
            return out
        nxt = int(np.searchsorted(pos, pos[s] + max(1, width // 2)))
        s = min(max(s + 1, nxt), len(units) - 1)


def chunk_title(tok: Any, text: str, cfg: ChunkConfig) -> list[str]:
    """The pieces of one title (at least one: the title itself when it is short or empty)."""
    if cfg.rule == "window":
        enc = tok.encode(text, add_special_tokens=False)
        out = _windows(text, enc, cfg.width)
    else:
        out = []
        cur: list[str] = []
        cur_len = 0
        for seg in (s for s in _SEP.split(text) if s.strip()):
            enc = tok.encode(seg, add_special_tokens=False)
            n = len(enc.ids)
            if n > cfg.width:  # too long alone: flush, then its own windows
                if cur:
                    out.append(" ".join(cur))
                cur, cur_len = [], 0
                out.extend(_windows(seg, enc, cfg.width))
            elif cur_len + n <= cfg.width:
                cur.append(seg)
                cur_len += n
            else:
                out.append(" ".join(cur))
                cur, cur_len = [seg], n
        if cur:
            out.append(" ".join(cur))
    pieces = list(dict.fromkeys(p for p in out if p))
    return pieces or [text]


@dataclass
class ChunkIndex:
    """Piece vectors of every title, rows grouped by title: title ``i`` owns rows
    ``starts[i]:starts[i + 1]``."""

    vectors: F32
    starts: npt.NDArray[np.int64]
    n_pieces: int

    @classmethod
    def build(cls, encoder: Any, tok: Any, texts: Sequence[str], cfg: ChunkConfig) -> ChunkIndex:
        pieces = [chunk_title(tok, t, cfg) for t in texts]
        flat = [p for ps in pieces for p in ps]
        starts = np.cumsum([0] + [len(ps) for ps in pieces[:-1]]).astype(np.int64)
        vecs = np.asarray(encoder.encode(flat, batch_size=64, progress=True), np.float32)
        return cls(vecs, starts, len(flat))

    def max_cos(self, q: F32) -> F32:
        """Each title's best piece cosine."""
        return np.maximum.reduceat(self.vectors @ q, self.starts).astype(np.float32)
