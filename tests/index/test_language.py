import pytest

from shelfwise.index import LanguageProfile, detect_language


def test_english_catalog() -> None:
    p = detect_language(["Porcelain floor tile", "Aluminum angle bracket 2 in."] * 10)
    assert p.language == "en" and p.cjk_share == 0 and not p.needs_multilingual


def test_chinese_catalog_with_model_numbers() -> None:
    p = detect_language(["海尔洗碗机HWY14-186BKU1家用全自动", "专业护膝运动男膝盖女士跑步装备"] * 10)
    assert p.language == "zh" and p.cjk_share > 0.5 and p.needs_multilingual
    assert "Chinese" in p.describe()


def test_mixed_catalog() -> None:
    texts = ["Slim fit jeans dark blue denim"] * 6 + ["黑色休闲裤 男士"] * 4
    p = detect_language(texts)
    assert p.language == "mixed" and 0.05 <= p.cjk_share < 0.5


def test_sampling_is_reproducible_and_bounded() -> None:
    texts = [f"item {i}" for i in range(5000)] + ["中文"] * 10
    a, b = detect_language(texts, sample=500), detect_language(texts, sample=500)
    assert a == b and a.sampled == 500


def test_unknown_language_rejected() -> None:
    with pytest.raises(ValueError):
        LanguageProfile("fr", 0.0, 0.0, 1)


def test_encoder_choice_follows_language_and_warns_on_english_only() -> None:
    from shelfwise.index.language import choose_encoder

    zh = detect_language(["海尔洗碗机家用全自动"] * 3)
    en = detect_language(["Porcelain floor tile"] * 3)
    assert choose_encoder(zh).spec == "e5-onnx" and choose_encoder(zh, "auto").spec == "e5-onnx"
    assert choose_encoder(en).spec == "e5-onnx"  # multilingual by default: Chinese shoppers on English stores
    assert "Chinese" in choose_encoder(zh).reason and "English" in choose_encoder(en).reason
    forced = choose_encoder(zh, "minilm")
    assert forced.spec == "minilm" and forced.warning and "English-only" in forced.warning
    assert choose_encoder(en, "hashing").warning is None


def test_every_cjk_range_counts_as_chinese() -> None:
    """language.py reuses index.text's CJK ranges: extension A and compatibility ideographs count."""
    assert detect_language(["\u3400\u4db5\uf900\ufa2d"] * 10).cjk_share == 1.0
    assert detect_language(["\ua000\ufb00 abc"] * 10).cjk_share == 0.0  # Yi syllables, Latin ligature
