"""HTTP request/response models (pydantic). Only transport concerns live here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shelfwise.serve import examples as ex
from shelfwise.serve.examples import exemplified


class VariantOut(BaseModel):
    """One of a listed product's colour / size variants: what a swatch shows."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.VARIANT))

    id: str = Field(description="the variant's item id (GET /items/{id}: the whole product)")
    label: str = Field(
        description="what tells it apart from the product's other variants: its values of the one or two "
        "attributes that differ among them, colour first, then size (e.g. 'Dark Grey · Solid'); its id when no "
        "attribute does"
    )
    price: float | None = Field(None, description="its price; null when it has none")
    in_stock: bool = Field(True, description="false: out of stock")
    image: str | None = Field(None, description="its picture, when it has one")
    matches: bool = Field(
        True,
        description="it passes the request's filters (/search: category, brand, price, attributes, in_stock and a "
        "price the query names; /recommend/*: the same filters): false ones are listed still (the product comes "
        "in them) for a client to grey out, or to drop for a strict view",
    )


class ProductOut(BaseModel):
    """One product as the catalog has it (GET /items/{id}: looked up, not ranked)."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.PRODUCT))

    id: str = Field(description="the catalog's item id")
    title: str = Field(description="product title")
    category: list[str] = Field(default_factory=list, description="category path, top level first")
    brand: str = Field("", description="brand; empty when the catalog has none")
    price: float | None = Field(None, description="price in the catalog's units; null when it has none")
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute key -> value (colour, size ...)")
    image: str | None = Field(None, description="picture URL (http(s):// or /path) when the catalog has one")
    in_stock: bool = Field(True, description="false: out of stock")
    description: str = Field("", description="product description")
    variants: list[VariantOut] | None = Field(
        None,
        description="with variants=true: the other products named as this one (its colour / size variants, which "
        "a list of one item per title leaves out: /recommend/* by default, /search?distinct=true), none a "
        "merchandising rule hides for the query, each with its label and whether it passes the request's filters "
        "(`matches`): those that do first, each group in catalog order, at most variants_max of them (default 50; "
        "`variants_total` says how many there are); [] when it has none: a client shows them as swatches (each one "
        "at GET /items/{id})",
    )
    variant_label: str | None = Field(
        None,
        description="with variants=true, when it has variants: what tells this item apart from them, as their "
        "`label` (its own swatch, the one selected)",
    )
    variants_total: int | None = Field(
        None,
        description="with variants=true: how many variants it has (not counting itself), more than `variants` "
        "lists when variants_max cut them",
    )


class ItemOut(ProductOut):
    """A ranked product: its score and the reason it is there."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.ITEM))

    score: float = Field(
        description="ranking score, higher first: comparable within one answer only (a reranker's may be negative; "
        "a price sort keeps each hit's relevance score)"
    )
    reason: str = Field(
        "", description="why it is here, in words (/search: with explain=true; /recommend/*: always), in lang"
    )
    features: dict[str, float] | None = Field(
        None,
        description="/search?explain=true: the hit's first-stage signals: bm25 (word BM25, 0 = no query word in "
        "its text), lexical (words + character n-grams, 0-1), cosine (query-product similarity of the language model)",
    )
    explored: bool = Field(
        False,
        description="/recommend/user: the item fills an exploration slot (a bandit gives new and long-tail items "
        "exposure to learn whether shoppers like them), not a slot the model ranked; its reason says so too. Its "
        "score is its own (the model's fused score, 0 when no component has evidence for it), so it is usually "
        "lower than the scores of the items after it: the list's order, not the scores, places explored items",
    )
    highlight: dict[str, str] | None = Field(
        None,
        description='/search?highlight=true: "title": the title HTML-escaped, the words that matched the query '
        '(its words, their stems, near spellings, Chinese character pairs) in <em>...</em>; "description" (when '
        "it holds a match): its 20-word stretch holding the most, marked the same, with … where cut",
    )


class FieldMatchOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.FIELD_MATCH))

    field: str = Field(description="brand, category or attribute:<key>")
    value: str = Field(description="the catalog value the query named (boosted where products hold it)")
    phrase: str = Field(description="the query's words that named it")


class UnderstoodOut(BaseModel):
    """What query understanding read from the query (price filter, boosted catalog words)."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.UNDERSTOOD))

    text: str = Field(description="the query retrieval saw (price phrases removed)")
    price_min: float | None = Field(None, description="lowest price the query names (a filter); null: none")
    price_max: float | None = Field(None, description="highest price the query names (a filter); null: none")
    matches: list[FieldMatchOut] = Field(
        default_factory=list, description="catalog values (brand, category, attributes) the query's words name"
    )


class FacetValueOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.FACET_VALUE))

    value: str = Field(description="the facet value (a category at the next level, a brand, an attribute value)")
    count: int = Field(description="counted products that have it and pass the other groups' selections")
    selected: bool = Field(False, description="the request filters by it")


class PriceRangeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.PRICE_RANGE))

    min: float | None = Field(None, description="inclusive lower bound (price_min); null = open")
    max: float | None = Field(None, description="inclusive upper bound (price_max); null = open")
    count: int = Field(description="counted products in the range that pass the other groups' selections")
    selected: bool = Field(False, description="the request's price_min / price_max are this range")


class FacetsOut(BaseModel):
    """Counts over ``depth`` products: those holding every word of the query (``matched``) and its
    top ``facet_depth`` results; each group counted over the products that pass the other groups'
    selections (picking a value gives that many of the counted products)."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.FACETS))

    depth: int = Field(description="products counted: every one holding all the query's words, and the top facet_depth")
    category_path: list[str] = Field(default_factory=list, description="selected path; `category` is its next level")
    category: list[FacetValueOut] = Field(
        default_factory=list, description="the categories one level below category_path, most products first"
    )
    brand: list[FacetValueOut] = Field(default_factory=list, description="brands, most products first")
    price: list[PriceRangeOut] = Field(default_factory=list, description="price ranges, cheapest first")
    priced: int = Field(0, description="counted products that have a price")
    matched: int = Field(0, description="of the counted products, those holding every word of the query")
    attributes: dict[str, list[FacetValueOut]] = Field(
        default_factory=dict, description="attribute key -> its values (facet_attr's keys, or a few with few values)"
    )


class SearchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.SEARCH))

    query: str = Field(description="the query as received")
    request_id: str = Field(
        description="this answer's id (32 hex digits, new per request, each page its own): send it as request_id "
        "with the query event of this search and with the events of a click, cart or purchase on its hits "
        "(POST /events), as Algolia's queryID, for exact attribution in the search analytics"
    )
    mode: str = Field(description="the mode asked for: hybrid, bm25 or dense (words_only: what actually ranked)")
    took_ms: float = Field(description="server time for the search (and facets), in milliseconds")
    items: list[ItemOut] = Field(description="this page's hits, best first")
    total: int = Field(
        0,
        description="products that hold every word of the query (its price phrase out) and pass the filters "
        "(the price it names too), less those the store's rules hide: Algolia's nbHits, every word required, always "
        "given (facets.matched counts the same words under the in-stock filter and the query's price only). A query "
        "the search also reads in the catalog's language (read-as: Chinese on an English catalog, Taiwan words, "
        "toneless pinyin) counts the products holding every word of that reading too; a word the store's synonyms "
        "expand counts as held where a product holds it or what a synonym puts in its place (tv with 'tv, "
        "television': a product saying television); a query of no word (a price alone) matches "
        "every product the filters allow. The hits may reach past it: meaning and spelling find products without "
        "every word, so total may be smaller than the hits shown, even 0 (notice no-word-match when no product "
        "holds any word). Variants are counted one by one, and with distinct=true the titles (variants named "
        "alike once, as the page shows them; Algolia's nbHits with distinct)",
    )
    understood: UnderstoodOut | None = Field(
        None, description="what query understanding read: a price phrase (a filter), catalog words it boosts"
    )
    notices: list[str] = Field(
        default_factory=list, description="what the shopper should know of how the query was read and answered"
    )
    notice_codes: list[str] = Field(
        default_factory=list,
        description="one per notice, in order: what it says, for programs (the text changes with wording and "
        "lang): synonyms, read-as, not-personalised (how the query was read), price-unusable, price-unmatched, "
        "unmatched-filter, sort-window, no-word-match (no product holds a word of the query: the hits are the "
        "nearest by spelling and meaning), sold-out-matches (every product holding all the query's words is "
        "sold out: they are listed, or hidden by in_stock=true) (what limited the answer), other",
    )
    setup_notices: list[str] = Field(
        default_factory=list,
        description="what the store's operator could change for the query to be served better (a missing extra, "
        "an English-only model, personalisation off); not meant for shoppers",
    )
    facets: FacetsOut | None = Field(None, description="with facets=true")
    words_only: bool = Field(
        False,
        description="the query encoder did not run for the ranking: mode=bm25, or the lexical shortcut (every top "
        "title holds every word of a 2+ word query: SearchConfig.lexical_shortcut); a shopper's taste and "
        "understood values may still have moved hits",
    )
    reranked_by: str | None = Field(
        None,
        description="the reranker that set the order of the head (ltr, cross); null: the first stage's order "
        "(an opt-in SearchConfig.type_boost may still lift products of the query's type after it). "
        "explain=true's features and reasons are the first stage's signals, which the reranker weighs",
    )
    offset: int = Field(0, description="hits skipped before this page")
    sort: str = Field("relevance", description="the order: relevance, price_asc or price_desc")
    rules_applied: list[str] = Field(
        default_factory=list, description="ids of the store's merchandising rules (pins, hides) this query triggered"
    )
    next_offset: int | None = Field(
        None, description="offset of the next page; null when this is the last page the ranking (or the sort) holds"
    )


class SuggestionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.SUGGESTION))

    text: str = Field(description="the completed query")
    source: str = Field(
        description="queries: typed by shoppers (count: times); catalog: a catalog phrase (count: products)"
    )
    count: int = Field(description="times typed (queries) or products holding it (catalog)")


class SuggestResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.SUGGEST))

    query: str = Field(description="what was typed, as received")
    suggestions: list[SuggestionOut] = Field(description="shoppers' queries first, then catalog phrases")


class ExamplesResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.EXAMPLES))

    examples: list[str] = Field(
        description="searches typical of this store (shoppers' queries typed most, then product types; "
        "the last with a price cap when products have prices), in the catalog's words"
    )


class HealthResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.HEALTH))

    status: str = Field(description="ok")
    products: int = Field(description="products in the served catalog")
    items: int = Field(
        description="deprecated: products, under its old name (in /search and /recommend/* `items` is the list "
        "of hits); kept for existing clients",
        deprecated=True,
    )
    encoder: str = Field(description="the query encoder (name:weights digest:role)")
    events: int = Field(description="history loaded at start + events logged live since")
    events_history: int = Field(
        0, description="behaviour history loaded at start: the events file, or the saved recommender's interactions"
    )
    events_live: int = Field(0, description="events in the durable live log (POST /events)")
    events_applied: int = Field(
        0, description="last log sequence number the live consumer applied (/events/stats: applied_seq)"
    )
    consumer_lag: int = Field(0, description="logged events the live consumer has not applied yet")
    consumer_running: bool = Field(False, description="the live consumer is running (false: no event log)")
    worker: int = Field(0, description="process id of the serving process that answered (serve --workers N)")
    shelf_id: str = Field(
        "",
        description="the served shelf's manifest digest (SHA-256 of its shelf.json, 16 hex digits): which save "
        "this process serves; empty when the shelf was not loaded from a saved folder",
    )
    language: str = Field(
        "en",
        description="the catalog's language, detected from its product texts: en, zh or mixed "
        "(the storefront speaks Chinese for zh, or to a browser set to Chinese)",
    )
