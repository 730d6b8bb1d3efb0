import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.index import BM25Index, CharNgrams, LexicalConfig, LexicalIndex, Tokenizer

DOCS = [
    "porcelain floor tile 12 in. x 24 in.",
    "aluminum angle bracket",
    "composite deckover coating 1 gal.",
    "vinyl fence post cap",
    "海尔洗碗机 HWY14-186BKU1 家用全自动",
    "专业护膝运动男膝盖女士跑步装备",
    "改装轮毂15寸16寸爆龟适用于GK5",
]


def test_chinese_runs_become_character_unigrams_and_bigrams() -> None:
    assert Tokenizer()("黑色裤") == ["黑", "色", "裤", "黑色", "色裤"]
    # a digit/Latin run never swallows the Chinese after it
    toks = Tokenizer()("15寸16寸")
    assert "寸" in toks and "15" in toks and "16" in toks
    assert Tokenizer(chinese="bigram")("黑色裤") == ["黑色", "色裤"]
    with pytest.raises(ValueError):
        Tokenizer(chinese="words")


def test_traditional_chinese_is_folded_to_simplified_on_both_sides() -> None:
    assert Tokenizer()("鍵盤滑鼠") == Tokenizer()("键盘滑鼠")
    assert Tokenizer(fold_traditional=False)("鍵盤") == ["鍵", "盤", "鍵盤"]
    docs = ["电竞键盘 机械 青轴", "无线鼠标 静音", "键盘膜"]
    assert LexicalIndex().fit(docs).retrieve("電競鍵盤", 3).ids[0] == 0  # a Traditional query
    assert LexicalIndex().fit(["電競鍵盤 機械", "滑鼠墊"]).retrieve("电竞键盘", 2).ids[0] == 0  # a Traditional title


def test_index_saved_before_folding_does_not_fold_its_queries(tmp_path: Path) -> None:
    assert Tokenizer.from_saved({"stem": True, "stopwords": True, "chinese": "ngram"}).fold_traditional is False
    idx = LexicalIndex().fit(["鍵盤 機械", "键盘 机械"])
    idx.save(tmp_path / "lex")
    assert LexicalIndex.load(tmp_path / "lex").config.tokenizer.fold_traditional is True
    meta_path = tmp_path / "lex" / "lexical.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["tokenizer"]["fold_traditional"]  # as written before folding existed
    meta_path.write_text(json.dumps(meta))
    assert LexicalIndex.load(tmp_path / "lex").config.tokenizer.fold_traditional is False


def _without(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make ``import module`` fail, as on an install without the ``search`` extra."""
    import builtins

    real_import = builtins.__import__

    def blocked(name: str, *args: object, **kwargs: object) -> object:
        if name == module:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", blocked)


def test_folding_without_opencc_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.errors import MissingExtraError
    from shelfwise.index import text

    text._opencc.cache_clear()
    text.to_simplified.cache_clear()
    _without(monkeypatch, "opencc_purepy")
    try:
        with pytest.raises(MissingExtraError, match=r"shelfwise\[search\]"):
            Tokenizer()("鍵盤")
        assert Tokenizer()("porcelain tile") == ["porcelain", "tile"]  # Latin text never needs it
    finally:
        text._opencc.cache_clear()


def test_char_ngrams_span_word_boundaries_and_skip_cjk() -> None:
    grams = CharNgrams(3)("Deck over")
    assert grams == ["#de", "dec", "eck", "ck#", "k#o", "#ov", "ove", "ver", "er#"]
    assert CharNgrams(3, pinyin=False)("黑色裤") == []
    assert CharNgrams(3, pinyin=False)("黑色 jl32") == ["#jl", "jl3", "l32", "32#"]
    # CJK characters become their toneless syllables (Traditional folded first), after the Latin grams
    assert CharNgrams(3)("黑色 jl32") == ["#jl", "jl3", "l32", "32#", "~hei", "~se"]
    assert CharNgrams(3)("鍵盤") == CharNgrams(3)("键盘") == ["~jian", "~pan"]
    assert CharNgrams(3).joined("Deck over") == "#deck#over#" and CharNgrams(3).joined("黑色") == ""
    assert all(g in CharNgrams(4).joined("Deck over") for g in CharNgrams(4)("Deck over"))
    with pytest.raises(ValueError):
        CharNgrams(1)


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("porcelin tile", 0),  # misspelled, as shoppers type it
        ("aluminun bracket", 1),
        ("deck over", 2),  # split compound
        ("海尔洗碗机hwy14-186bku1", 4),  # Chinese + model number, no spaces
        ("hwy14 186bku", 4),  # partial model number
        ("护漆", 5),  # misspelt 护膝: one shared character still finds it
        ("jl、gk5一m 轮毂", 6),  # mixed scripts and punctuation
    ],
)
def test_lexical_index_finds_misspelled_split_and_mixed_queries(query: str, want: int) -> None:
    idx = LexicalIndex().fit(DOCS)
    assert idx.retrieve(query, 3).ids[0] == want


def test_a_homophone_typo_finds_its_product_through_the_syllables() -> None:
    # 交链 typed for 铰链 (hinge): both read "jiao lian"; without syllables the title that shares the
    # mistyped character 交 ranks first
    docs = ["不锈钢橱柜门铰链 合页", "交通 柜门 装饰条", "玻璃杯 水杯"]
    assert LexicalIndex().fit(docs).retrieve("柜门交链", 3).ids[0] == 0
    cfg = LexicalConfig()
    plain = LexicalIndex(cfg, chars=BM25Index(cfg.bm25, CharNgrams(3, pinyin=False))).fit(docs)
    assert plain.retrieve("柜门交链", 3).ids[0] == 1


def test_an_index_saved_before_syllables_does_not_cut_its_queries_into_them(tmp_path: Path) -> None:
    assert CharNgrams.from_saved({"n": 3}) == CharNgrams(3, pinyin=False)
    idx = LexicalIndex().fit(["不锈钢橱柜门铰链", "交通 柜门"])
    idx.save(tmp_path / "lex")
    chars_meta = tmp_path / "lex" / "chars" / "shelfwise_bm25.json"
    meta = json.loads(chars_meta.read_text())
    assert meta["analyser"] == {"kind": "chars", "n": 3, "pinyin": True}
    del meta["analyser"]["pinyin"]  # as written before syllables existed
    chars_meta.write_text(json.dumps(meta))
    again = LexicalIndex.load(tmp_path / "lex")
    assert again.chars is not None and again.chars.tokenizer == CharNgrams(3, pinyin=False)


def test_a_catalog_without_chinese_text_gets_no_syllables_nor_pypinyin(monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.index import text

    en = ["white porcelain tile", "deck over paint"]
    idx = LexicalIndex().fit(en)
    assert idx.chars is not None and idx.chars.tokenizer == CharNgrams(3, pinyin=False)
    zh = LexicalIndex().fit([*en, "铰链"])
    assert zh.chars is not None and zh.chars.tokenizer == CharNgrams(3)
    text._lazy_pinyin.cache_clear()
    text.syllable.cache_clear()
    _without(monkeypatch, "pypinyin")  # the English index's Chinese query never needs it
    try:
        assert idx.scores("热身").tolist() == [0.0, 0.0]
        assert idx.retrieve("热身 tile", 1).ids.tolist() == [0]
    finally:
        text._lazy_pinyin.cache_clear()
        text.syllable.cache_clear()


def test_syllables_without_pypinyin_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.errors import MissingExtraError
    from shelfwise.index import text

    text._lazy_pinyin.cache_clear()
    text.syllable.cache_clear()
    _without(monkeypatch, "pypinyin")
    try:
        with pytest.raises(MissingExtraError, match=r"shelfwise\[search\]"):
            CharNgrams(3)("铰链")
        assert CharNgrams(3)("porcelain") == CharNgrams(3, pinyin=False)("porcelain")  # Latin never needs it
    finally:
        text._lazy_pinyin.cache_clear()
        text.syllable.cache_clear()


def test_word_only_index_misses_a_typo_the_char_part_catches() -> None:
    words_only = LexicalIndex(LexicalConfig(char_ngram=0)).fit(DOCS)
    assert words_only.scores("porcelin")[0] == 0
    assert LexicalIndex().fit(DOCS).scores("porcelin")[0] > 0


def test_scores_are_max_scaled_mix_and_memoised() -> None:
    idx = LexicalIndex().fit(DOCS)
    s = idx.scores("aluminum bracket")
    assert s.max() == pytest.approx(1.0) and s.min() >= 0 and not s.flags.writeable
    assert idx.scores("aluminum bracket") is s
    w = idx.words.scores("aluminum bracket")
    c = idx.chars.scores("aluminum bracket") if idx.chars else w
    assert np.allclose(s, 0.5 * w / w.max() + 0.5 * c / c.max())


def test_save_load_roundtrip_and_version_check(tmp_path: Path) -> None:
    idx = LexicalIndex().fit(DOCS)
    idx.save(tmp_path / "lex")
    again = LexicalIndex.load(tmp_path / "lex")
    assert isinstance(again.chars, BM25Index) and isinstance(again.chars.tokenizer, CharNgrams)
    assert np.allclose(again.scores("porcelin tile"), idx.scores("porcelin tile"))
    meta = json.loads((tmp_path / "lex" / "lexical.json").read_text())
    meta["version"] = 99
    (tmp_path / "lex" / "lexical.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"lexical\.json.*version 99"):
        LexicalIndex.load(tmp_path / "lex")


def test_config_validation() -> None:
    for bad in ({"char_ngram": 1}, {"char_weight": 1.0}, {"char_weight": -0.1}):
        with pytest.raises(ValueError):
            LexicalConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("w", [0.5, 0.3, 0.0001])
def test_mix_is_bit_identical_to_the_six_pass_formula(w: float) -> None:
    from shelfwise.index.lexical import _max_scaled, _mix

    rng = np.random.default_rng(int(w * 1e4))
    for hit_words, hit_chars in ((0.01, 0.6), (0.0, 0.6), (0.01, 0.0), (0.0, 0.0), (1.0, 1.0)):
        words = np.where(rng.random(5000) < hit_words, rng.random(5000) * 9, 0).astype(np.float32)
        chars = np.where(rng.random(5000) < hit_chars, rng.random(5000) * 30, 0).astype(np.float32)
        old = np.asarray((1.0 - w) * _max_scaled(words) + w * _max_scaled(chars), dtype=np.float32)
        new = _mix(words, chars, w)
        assert new.dtype == np.float32
        np.testing.assert_array_equal(new.view(np.int32), old.view(np.int32))


def test_retrieve_returns_matches_best_first_under_a_mask() -> None:
    idx = LexicalIndex().fit(DOCS)
    s = idx.scores("porcelain tile")
    r = idx.retrieve("porcelain tile", k=3)
    assert r.ids[0] == 0 and np.all(np.diff(r.scores) <= 0) and np.all(s[r.ids] == r.scores)
    mask = np.ones(len(DOCS), dtype=bool)
    mask[0] = False
    assert 0 not in idx.retrieve("porcelain tile", k=3, mask=mask).ids.tolist()


def test_describe_names_the_chinese_parts_only_for_a_catalog_with_chinese_text() -> None:
    en = LexicalConfig().describe(chinese=False)
    assert en == "lexical: BM25 k1 0.9 b 0.4 over words (stemmed); typo part (0.5): character 3-grams"
    zh = LexicalConfig().describe(chinese=True)
    assert "character unigrams + bigrams (Traditional folded)" in zh and "pinyin syllables" in zh
    off = LexicalConfig(char_ngram=0, tokenizer=Tokenizer(chinese="jieba")).describe(chinese=True)
    assert "jieba words" in off and "typo part" not in off


def test_title_weight_is_validated_saved_and_defaults_to_one_field() -> None:
    for bad in (0, 6, 1.5):
        with pytest.raises(ValueError, match="title_weight"):
            LexicalConfig(title_weight=bad)  # type: ignore[arg-type]
    cfg = LexicalConfig(title_weight=3)
    assert LexicalConfig.from_json(cfg.to_json()).title_weight == 3
    old = cfg.to_json()
    del old["title_weight"]  # an index saved before the setting: one field
    assert LexicalConfig.from_json(old).title_weight == 1
    assert "titles count 3x" in cfg.describe(chinese=False) and "titles" not in LexicalConfig().describe(chinese=False)


def test_a_weighted_title_outranks_a_description_that_repeats_the_word() -> None:
    from shelfwise.catalog import Catalog, Product
    from shelfwise.encode import HashingEncoder
    from shelfwise.index.lexical import lexical_texts
    from shelfwise.retrieve import HybridSearcher

    catalog = Catalog(
        [
            Product(id="drill", title="Cordless drill", description="18V battery tool with case"),
            Product(id="bits", title="Bit set", description="drill bits for a wood drill"),
            Product(id="saw", title="Circular saw", description="corded, 1400 W"),
        ]
    )
    assert lexical_texts(catalog, LexicalConfig()) == catalog.texts()  # the default reads what it always read
    assert lexical_texts(catalog, LexicalConfig(title_weight=3))[0].count("Cordless drill") == 3

    def first(weight: int) -> str:
        s = HybridSearcher.build(catalog, HashingEncoder(dim=32), lexical=LexicalConfig(title_weight=weight))
        return catalog.products[int(s.search("drill", 1, mode="bm25").ids[0])].id

    assert first(1) == "bits"  # one field: two mentions in a description beat the title's one
    assert first(3) == "drill"  # (at 2 they tie: BM25 saturates and the repeated title lengthens the text)
