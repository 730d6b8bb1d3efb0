"""Which script a catalog is written in, so a shelf picks its encoder and analyser by itself.

A Chinese catalog must never get an English-only encoder silently: ``shelfwise index`` looks at
the product texts, picks the multilingual encoder for Chinese or mixed catalogs and an English one
otherwise, records the choice in the saved index and prints it; ``--encoder`` overrides.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shelfwise.index.text import CJK_RANGES, normalise

_CJK_CHAR = re.compile(rf"[{CJK_RANGES}]")
_LETTER = re.compile(r"[^\W\d_]")

LANGUAGES = ("en", "zh", "mixed")


@dataclass(frozen=True)
class LanguageProfile:
    """``language``: ``zh`` when at least ``ZH_SHARE`` of the letters are CJK characters, ``mixed``
    when at least ``MIXED_SHARE`` are (or a quarter of the products hold some), else ``en``
    (any Latin-script catalog: the English analyser and encoder are the defaults for it)."""

    language: str
    cjk_share: float  # CJK characters / all letters, over the sample
    products_with_cjk: float  # share of sampled products with at least one CJK character
    sampled: int

    ZH_SHARE = 0.5
    MIXED_SHARE = 0.05

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")

    @property
    def needs_multilingual(self) -> bool:
        return self.language != "en"

    def describe(self) -> str:
        names = {"en": "Latin-script (English)", "zh": "Chinese", "mixed": "mixed Chinese and Latin-script"}
        return (
            f"{names[self.language]} catalog: {self.cjk_share:.0%} of letters are CJK, "
            f"{self.products_with_cjk:.0%} of {self.sampled} sampled products contain some"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "language": self.language,
            "cjk_share": round(self.cjk_share, 4),
            "products_with_cjk": round(self.products_with_cjk, 4),
            "sampled": self.sampled,
        }


def detect_language(texts: Sequence[str], *, sample: int = 2000, seed: int = 0) -> LanguageProfile:
    """Profile up to ``sample`` texts (a fixed-seed sample, so the choice is reproducible)."""
    idx = list(range(len(texts)))
    if len(idx) > sample:
        idx = random.Random(seed).sample(idx, sample)
    cjk = letters = with_cjk = 0
    for i in idx:
        t = normalise(texts[i])
        n_cjk = len(_CJK_CHAR.findall(t))
        cjk += n_cjk
        letters += len(_LETTER.findall(t))  # CJK characters are letters too
        with_cjk += n_cjk > 0
    share = cjk / letters if letters else 0.0
    holders = with_cjk / len(idx) if idx else 0.0
    if share >= LanguageProfile.ZH_SHARE:
        lang = "zh"
    elif share >= LanguageProfile.MIXED_SHARE or holders >= 0.25:
        lang = "mixed"
    else:
        lang = "en"
    return LanguageProfile(lang, share, holders, len(idx))


# Encoder specs (see shelfwise.encode.registry) chosen for a detected language. English-only
# models are never picked for a catalog with Chinese text; asking for one anyway gets a warning.
# multilingual-e5-small (int8 ONNX) is the default for English catalogs too: on real Home Depot
# queries its hybrid beats MiniLM's (NDCG@10 0.609 vs 0.602 on dev_1k, 0.410 vs 0.403 on the full set;
# bench/results/search_real.json), and one multilingual model lets Chinese shoppers search an
# English catalog with no second index.
MULTILINGUAL_ENCODER = "e5-onnx"
ENGLISH_ENCODER = MULTILINGUAL_ENCODER
ENGLISH_ONLY_ENCODERS = frozenset({"minilm", "minilm-int8", "minilm-onnx", "minilm-onnx-q8", "static-minilm"})


@dataclass(frozen=True)
class EncoderChoice:
    spec: str
    reason: str
    warning: str | None = None


def choose_encoder(profile: LanguageProfile, requested: str | None = None) -> EncoderChoice:
    """The encoder spec for a catalog: ``requested`` unless it is ``None``/``"auto"``."""
    if requested and requested != "auto":
        warning = None
        if profile.needs_multilingual and requested in ENGLISH_ONLY_ENCODERS:
            warning = (
                f"encoder {requested!r} is English-only but this is a {profile.describe()}; "
                f"Chinese queries will match poorly (use --encoder {MULTILINGUAL_ENCODER} or auto)"
            )
        return EncoderChoice(requested, "set explicitly", warning)
    spec = MULTILINGUAL_ENCODER if profile.needs_multilingual else ENGLISH_ENCODER
    return EncoderChoice(spec, f"auto: {profile.describe()}")
