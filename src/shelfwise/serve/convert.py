"""Turn stage results into response models."""

from __future__ import annotations

from collections.abc import Sequence

from shelfwise.catalog.schema import Catalog
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.retrieve.understand import FieldMatch, QueryIntent, QueryUnderstanding
from shelfwise.serve.schemas import ItemOut, ProductOut


def product_out(catalog: Catalog, row: int) -> ProductOut:
    """Catalog row ``row`` as the API shows a product."""
    p = catalog.products[row]
    return ProductOut(
        id=p.id,
        title=p.title,
        category=list(p.category),
        brand=p.brand,
        price=p.price,
        attributes=p.attributes,
        image=p.image or None,
        in_stock=p.in_stock,
        description=p.description,
    )


def items_out(catalog: Catalog, results: Results, reasons: Sequence[str] | None = None) -> list[ItemOut]:
    """Ranked results as the API shows them: each product with its score, reason and signals."""
    out: list[ItemOut] = []
    for j, (row, score) in enumerate(zip(results.ids.tolist(), results.scores.tolist(), strict=True)):
        out.append(
            ItemOut(
                **product_out(catalog, row).model_dump(),
                score=round(float(score), 6),
                reason=reasons[j] if reasons is not None else "",
                features={k: round(float(v[j]), 6) for k, v in results.features.items()} or None,
            )
        )
    return out


def search_reasons(
    results: Results,
    matches: Sequence[FieldMatch] = (),
    understanding: QueryUnderstanding | None = None,
    *,
    mean_cosine: float | None = None,
) -> list[str]:
    """Why each search hit is there, in words, from its match features (``search(..., match_features=True)``)
    and the query-understanding matches it satisfies: "has the query's words; meaning 0.86 (catalog
    average 0.78); colour group Black, as asked". ``understanding``: the one that found ``matches`` (it
    tells which products carry each value, as the boost reads them); needed only when ``matches`` is
    not empty. ``mean_cosine``: the query's average cosine over the catalog
    (:meth:`~shelfwise.retrieve.dense.DenseRetriever.mean_cosine`), shown beside each hit's."""
    bm25, lexical, cosine = (results.features.get(k) for k in ("bm25", "lexical", "cosine"))
    if matches and understanding is None:
        raise ValueError("search_reasons: matches need the understanding that found them")
    has = [(m, understanding.field_mask(m)[results.ids]) for m in matches] if understanding is not None else []
    out = []
    for j in range(len(results.ids)):
        bits = []
        if bm25 is not None and lexical is not None:
            if bm25[j] > 0:
                bits.append("has the query's words")
            elif lexical[j] > 0:
                bits.append(f"partly spelled like the query (character match {float(lexical[j]):.2f})")
            else:
                bits.append("no query word in its text")
        if cosine is not None:
            avg = f" (catalog average {mean_cosine:.2f})" if mean_cosine is not None else ""
            bits.append(f"meaning {float(cosine[j]):.2f}{avg}")
        asked = [f"{_field_name(m.field)} {m.value}" for m, hit in has if hit[j]]
        if asked:
            bits.append(", ".join(dict.fromkeys(asked)) + ", as asked")
        out.append("; ".join(bits))
    return out


def hit_reasons(searcher: HybridSearcher, query: str, results: Results, intent: QueryIntent | None) -> list[str]:
    """:func:`search_reasons` for ``searcher``'s hits of ``query`` (``intent``: what it understood of
    the query), with the query's catalog-average cosine: what /search?explain=true and
    ``shelfwise search --explain`` say."""
    understanding = searcher.understanding if intent else None
    text = intent.text if intent else query  # what was embedded (price phrase out, added words in)
    avg = searcher.dense_for(text).mean_cosine(text)
    return search_reasons(results, intent.matches if intent else (), understanding, mean_cosine=avg)


def _field_name(field: str) -> str:
    return field.removeprefix("attribute:").removesuffix("_name").replace("_", " ")
