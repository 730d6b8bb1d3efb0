// Shelfwise storefront: search with facets, product pages, "for you" / related / "goes well with"
// (other categories) rails with reasons (in-stock products only; search shows the rest with a badge), a
// shopper switcher, and clicks / add-to-cart sent to POST /events.
// Plain JavaScript, no external assets. Every server text goes through esc() before it is shown; the page's
// own wording goes through t() (i18n.js: English and Simplified Chinese).
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const store = window.localStorage;
const SESSION = sessionStorage.getItem("shelfwise.session") || `s-${Math.random().toString(36).slice(2, 10)}`;
sessionStorage.setItem("shelfwise.session", SESSION);
const GUEST = store.getItem("shelfwise.guest") || `guest-${Math.random().toString(36).slice(2, 8)}`;
store.setItem("shelfwise.guest", GUEST);
const FACET_SHOWN = 8;

const state = { q: "", category: [], brands: [], priceMin: null, priceMax: null, attrs: {}, inStock: false, sort: "relevance", expanded: new Set() };
const PAGE = 24;
const SORTS = [["relevance", "sortRelevance"], ["price_asc", "sortPriceAsc"], ["price_desc", "sortPriceDesc"]]; // value, text key
let nextOffset = null; // the next page of the results shown (GET /search's next_offset)
let searchSeq = 0; // the search last asked for: an earlier one's late answer (a page too) is dropped
const items = new Map(); // id -> item, for every card shown
const bases = new Map(); // id -> the item a card was drawn for, with its swatches (``variants``)
let shopperId = store.getItem("shelfwise.shopper") || GUEST;
let lastForYou = [];
let lastFacets = null;
let lastHead = null; // the results line's parts (rewritten as "Show more" adds cards)

// ---------- helpers ----------
// searches and recommendations come with their reasons and notices in the page's language
function localised(path) {
  if (LANG === "en" || !/^\/(search|recommend\/)/.test(path)) return path;
  return path + (path.includes("?") ? "&" : "?") + "lang=zh";
}
async function api(path, opts = {}) {
  const r = await fetch(localised(path), opts);
  let body = null;
  try { body = await r.json(); } catch { body = null; }
  if (!r.ok) {
    const d = body && body.detail;
    const msg = typeof d === "string" ? d : d && d.message ? d.message : `${r.status} ${r.statusText}`;
    // a part the server was started without (no recommender, no event log) is named in a header:
    // acted on here without reading ``detail``, which is the operator's instruction
    const err = new Error(msg); err.status = r.status; err.code = r.headers.get("X-Shelfwise-Error") || ""; throw err;
  }
  return body;
}
function toast(msg, error = false) {
  const t = $("toast");
  t.textContent = msg; t.className = error ? "toast error" : "toast"; t.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.hidden = true; }, error ? 6000 : 2600);
}
function fmtPrice(v) {
  if (v === null || v === undefined) return "";
  if (v >= 100 || Number.isInteger(v)) return String(Math.round(v)); // "up to 30", not "up to 30.00"
  if (v >= 1) return v.toFixed(2);
  return Number(v.toPrecision(3)).toString();
}
function prettyKey(k) {
  const s = k.replace(/_name$/, "").replace(/_/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
const safeImage = (u) => typeof u === "string" && (/^https?:\/\//i.test(u) || (u.startsWith("/") && !u.startsWith("//")));

// placeholder tint from a colour word in the product's attributes (or a hash of its category)
const COLOURS = [["light pink", "#f6d5dc"], ["dark blue", "#26345a"], ["light blue", "#c9dcf0"], ["dark green", "#2f4b36"],
  ["light beige", "#efe6d6"], ["dark red", "#6d1f25"], ["dark grey", "#55585d"], ["light grey", "#dcdcdc"], ["off white", "#f4f1ea"],
  ["black", "#2b2b2d"], ["white", "#f5f5f3"], ["grey", "#a9abaf"], ["gray", "#a9abaf"], ["blue", "#5b7fb8"], ["navy", "#26345a"],
  ["red", "#c0413b"], ["pink", "#eaa2b6"], ["beige", "#dccfb6"], ["green", "#6f9a6b"], ["khaki", "#a59c74"], ["yellow", "#ecd26a"],
  ["orange", "#e69a55"], ["brown", "#7a5740"], ["purple", "#8d6fae"], ["lilac", "#c4b1da"], ["turquoise", "#57b8b0"],
  ["gold", "#c9a94f"], ["silver", "#c6c8cc"], ["mole", "#8c8073"], ["greenish", "#90a77e"], ["bronze", "#9c7a4a"]];
function tint(it) {
  const text = Object.values(it.attributes || {}).join(" ").toLowerCase() + " " + it.title.toLowerCase();
  for (const [word, hex] of COLOURS) if (new RegExp(`\\b${word}\\b`).test(text)) return hex;
  let h = 0; for (const c of (it.category || []).join("/")) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 35% 86%)`;
}
function isDark(hex) {
  if (!hex.startsWith("#")) return false;
  const n = parseInt(hex.slice(1), 16);
  return ((n >> 16) * 299 + ((n >> 8) & 255) * 587 + (n & 255) * 114) / 1000 < 120;
}
function picture(it) {
  if (safeImage(it.image)) return `<img src="${esc(it.image)}" alt="${esc(it.title)}" loading="lazy">`;
  const bg = tint(it);
  const kind = (it.category || []).slice(-1)[0] || t("product");
  return `<div class="ph${isDark(bg) ? " dark" : ""}" style="background:${esc(bg)}"><span class="icon"></span><span class="kind">${esc(kind)}</span></div>`;
}
// the server's highlighted text (escaped, matches in <em>); anything else in it: not shown as HTML
function marked(html) {
  return html && !/</.test(html.replace(/<\/?em>/g, "")) ? html : null;
}
function titleHtml(it) {
  return marked(it.highlight && it.highlight.title) || esc(it.title);
}
function snippetHtml(it) {
  const s = marked(it.highlight && it.highlight.description);
  return s ? `<div class="snippet">${s}</div>` : "";
}
// ``rid``: the request_id of the /search or /recommend answer that listed it, sent with the card's events
// (POST /events request_id: the click, cart or view is credited to that very list or search)
function card(it, withReason = false, rid = "") {
  items.set(it.id, it);
  if (it.variants && it.variants.length) bases.set(it.id, it);
  const cat = (it.category || []).slice(-2).join(" › ");
  const from = rid ? ` data-rid="${esc(rid)}"` : "";
  return `<article class="card" data-id="${esc(it.id)}" data-base="${esc(it.id)}"${from} tabindex="0" aria-label="${esc(it.title)}">
    <div class="pic">${picture(it)}${oosBadge(it)}</div>
    <button class="addcart" type="button" data-cart="${esc(it.id)}">${esc(t("addToCart"))}</button>
    <div class="body"><div class="title">${titleHtml(it)}</div><div class="cat">${esc(cat)}</div>${snippetHtml(it)}
    ${swatchRow(it)}${withReason && it.reason ? `<div class="reason">${esc(it.reason)}</div>` : ""}
    <div class="price">${esc(fmtPrice(it.price))}</div></div></article>`;
}
const oosBadge = (it) => (it.in_stock === false ? `<span class="oos">${esc(t("outOfStock"))}</span>` : "");

// ---------- swatches ----------
// a product's colour / size variants (the server's `variants`, asked with variants=true): the card's own first,
// selected; a colour is a dot, a short label (a size) its text, a longer one (a pattern) a hatched dot, each
// named in full for screen readers and on hover, the selected one's name under them. A variant the request's
// filters exclude (matches: false) is drawn small, a sold-out one struck through: both still shown and
// clickable (the product comes in them). Clicking one in a card shows that variant there (title, price,
// picture, id: opening or adding the card then takes it) and posts a "view" of it; on a product page it
// opens that variant's page.
const SWATCHES_SHOWN = 4;
const baseOf = new Map(); // a variant's id -> the item whose swatches hold it (for the product page's)
function colourOf(label) {
  const first = String(label).split(" · ")[0].toLowerCase();
  for (const [word, hex] of COLOURS) if (new RegExp(`\\b${word}\\b`).test(first)) return hex;
  return null;
}
function swatchButton(v, selected, folded) {
  const hex = colourOf(v.label);
  const kind = hex ? "dot" : v.label.length <= 5 ? "text" : "dot pattern";
  const notes = [v.in_stock === false ? t("outOfStock") : "", v.matches === false ? t("notInFilters") : ""].filter(Boolean);
  const name = [v.label, ...notes].join(", ");
  const cls = `swatch ${kind}${v.matches === false ? " off" : ""}${v.in_stock === false ? " sold" : ""}`;
  const face = kind === "text" ? esc(v.label) : `<span class="chip-colour"${hex ? ` style="background:${esc(hex)}"` : ""}></span>`;
  return `<button type="button" class="${cls}" data-swatch="${esc(v.id)}" aria-pressed="${selected}" aria-label="${esc(name)}" title="${esc(name)}"${folded ? " hidden" : ""}>${face}</button>`;
}
// ``base``: an item with its variants; ``selected``: the id shown (the base's own by default)
function swatchRow(base, selected = base.id, shown = SWATCHES_SHOWN) {
  if (!base.variants || !base.variants.length) return "";
  // those the filters admit first (in catalog order), so a folded row shows them rather than the ones greyed
  const rest = [...base.variants.filter((v) => v.matches !== false), ...base.variants.filter((v) => v.matches === false)];
  const all = [{ id: base.id, label: base.variant_label || base.id, in_stock: base.in_stock, matches: true }, ...rest];
  for (const v of base.variants) if (!baseOf.has(v.id)) baseOf.set(v.id, base.id);
  const buttons = all.map((v, i) => swatchButton(v, v.id === selected, i >= shown && v.id !== selected)).join("");
  const folded = all.filter((v, i) => i >= shown && v.id !== selected).length;
  const more = folded > 0 ? `<button type="button" class="swatch more-swatches" data-more-swatches aria-label="${esc(t("moreVariants", { n: folded }))}">+${folded}</button>` : "";
  // the server sends at most variants_max (50) of them; variants_total says how many there are
  const unsent = (base.variants_total || 0) - base.variants.length;
  const rest2 = unsent > 0 ? ` <span class="swatch-unsent">${esc(t("variantsNotSent", { n: unsent }))}</span>` : "";
  const name = (all.find((v) => v.id === selected) || all[0]).label;
  return `<div class="swatches" role="group" aria-label="${esc(t("variantsOf", { title: base.title }))}">${buttons}${more}</div>
    <div class="swatch-name">${esc(name)}${rest2}</div>`;
}
// show variant ``id`` in the card: at once from the swatch (price, stock, label), then the whole product
// (GET /items/{id}: its title and attributes, kept for opening and adding to the cart)
async function pickSwatch(cardEl, id) {
  const base = bases.get(cardEl.dataset.base);
  if (!base || cardEl.dataset.id === id) return;
  const v = id === base.id ? null : (base.variants || []).find((x) => x.id === id);
  if (id !== base.id && !v) return;
  for (const b of cardEl.querySelectorAll("[data-swatch]")) b.setAttribute("aria-pressed", String(b.dataset.swatch === id));
  cardEl.querySelector(".swatch-name").textContent = v ? v.label : base.variant_label || base.id;
  let it = v ? items.get(id) : base;
  const draft = !it;
  if (draft) it = { ...base, id, price: v.price, in_stock: v.in_stock, image: v.image, attributes: { colour: v.label }, highlight: null, variants: null, partial: true };
  showInCard(cardEl, it, base);
  const query = cardEl.closest("#results") ? state.q : "";
  if (draft) {
    try {
      const full = await api(`/items/${encodeURIComponent(id)}`);
      items.set(id, full);
      if (cardEl.dataset.id === id) showInCard(cardEl, full, base);
      it = full;
    } catch { items.set(id, it); } // the swatch's own fields stand in; opening the card fetches it again
  }
  sendEvent("view", it, query, false, cardEl.dataset.rid);
}
function showInCard(cardEl, it, base) {
  cardEl.dataset.id = it.id;
  cardEl.setAttribute("aria-label", it.title);
  cardEl.querySelector(".pic").innerHTML = picture(it) + oosBadge(it);
  cardEl.querySelector(".addcart").dataset.cart = it.id;
  cardEl.querySelector(".title").innerHTML = it.id === base.id || it.title === base.title ? titleHtml(base) : esc(it.title);
  cardEl.querySelector(".price").textContent = fmtPrice(it.price);
}

// ---------- URL state ----------
function toParams() {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  if (state.category.length) p.set("category", state.category.join(" > "));
  for (const b of state.brands) p.append("brand", b);
  if (state.priceMin !== null) p.set("price_min", state.priceMin);
  if (state.priceMax !== null) p.set("price_max", state.priceMax);
  for (const [k, v] of Object.entries(state.attrs)) p.append("attr", `${k}:${v}`);
  if (state.inStock) p.set("in_stock", "true");
  if (state.sort !== "relevance") p.set("sort", state.sort);
  return p;
}
function fromParams(p) {
  state.q = p.get("q") || "";
  state.category = (p.get("category") || "").split(">").map((s) => s.trim()).filter(Boolean);
  state.brands = p.getAll("brand");
  state.priceMin = p.get("price_min") !== null ? Number(p.get("price_min")) : null;
  state.priceMax = p.get("price_max") !== null ? Number(p.get("price_max")) : null;
  state.attrs = {};
  for (const a of p.getAll("attr")) { const i = a.indexOf(":"); if (i > 0) state.attrs[a.slice(0, i)] = a.slice(i + 1); }
  state.inStock = p.get("in_stock") === "true";
  state.sort = SORTS.some(([v]) => v === p.get("sort")) ? p.get("sort") : "relevance";
}

// ---------- search ----------
function searchParams(offset) {
  const p = toParams();
  // explain: each hit's match signals (whether character n-grams matched: "nearest by meaning and spelling")
  p.set("k", String(PAGE)); p.set("explain", "true"); p.set("mode", store.getItem("shelfwise.mode") || "hybrid");
  p.set("user", shopperId);
  p.set("distinct", "true"); // a product's colour / size variants named alike show once
  p.set("highlight", "true"); // the title words the query matched, in <em>
  p.set("variants", "true"); // each hit's other colours / sizes, for its swatches
  if (offset) p.set("offset", String(offset)); else p.set("facets", "true");
  return p;
}
// ``record``: post the search event (a query typed), with this answer's request_id once it arrives
async function runSearch(push = true, record = false) {
  if (!state.q) return;
  $("q").value = state.q;
  if (push) history.pushState(null, "", "?" + toParams());
  showView("search");
  const seq = ++searchSeq;
  nextOffset = null; $("more-results").hidden = true; // no "Show more" of the previous results meanwhile
  try {
    const r = await api("/search?" + searchParams(0));
    if (record) sendQuery(r.query, r.request_id);
    if (seq === searchSeq) renderResults(r);
  } catch (err) {
    if (record) sendQuery(state.q); // the shopper searched all the same
    if (seq !== searchSeq) return;
    $("results-layout").hidden = false;
    $("results").innerHTML = `<p class="empty">${esc(err.message)}</p>`;
  }
}
function renderResults(r) {
  $("hero").hidden = true;
  $("results-layout").hidden = false;
  $("results").innerHTML = r.items.length ? r.items.map((it) => card(it, false, r.request_id)).join("")
    : `<p class="empty">${esc(t(activeChips().length ? "noMatchFilters" : "noMatch", { q: r.query }))}</p>`;
  $("understood").innerHTML = understoodLine(r.understood, r.query);
  const codes = r.notice_codes || [];
  // the server says when no product the filters allow holds a query word; the page words it in its own language
  const nearest = r.items.length > 0 && codes.includes("no-word-match");
  const notes = (r.notices || []).map((n, i) => [n, codes[i]]).filter(([, c]) => c !== "no-word-match")
    .map(([n, c]) => noticeHtml(n, c));
  const spelt = r.items.some((it) => it.features && it.features.lexical > 0); // character n-grams matched some
  if (nearest) notes.unshift(`<div class="notice">${esc(t(spelt ? "nearestByMeaningSpelling" : "nearestByMeaning", { q: r.query }))}</div>`);
  $("notices").innerHTML = notes.join("");
  const chips = activeChips().map(([label, key]) => `<button class="chip" type="button" data-remove="${esc(key)}">${esc(label)}</button>`).join("");
  lastHead = { nearest, q: r.query, ms: Math.round(r.took_ms) };
  const sort = `<select class="sort" id="sort" aria-label="${esc(t("sortBy"))}">${SORTS.map(([v, key]) => `<option value="${v}"${v === state.sort ? " selected" : ""}>${esc(t(key))}</option>`).join("")}</select>`;
  $("toolbar").innerHTML = `<span>${esc(headLine(r.items.length, r))}</span>${chips}${sort}`;
  renderFacets(r.facets);
  showMore(r);
}
// "12 results for “dress” · 9 ms" ("Top 24 results" while there are more pages)
function headLine(n, r) {
  const more = r.next_offset !== null && r.next_offset !== undefined;
  return t(lastHead.nearest ? "headNearest" : more ? "headTopResults" : "headResults", { n, q: lastHead.q, ms: lastHead.ms });
}
// "Show more": the next page of the same ranking (a price sort reads its sorted list page by page)
function showMore(r) {
  nextOffset = r.next_offset ?? null;
  $("more-results").hidden = nextOffset === null || r.items.length === 0;
}
$("more-results").addEventListener("click", async () => {
  if (nextOffset === null) return;
  $("more-results").disabled = true;
  const seq = searchSeq;
  try {
    const r = await api("/search?" + searchParams(nextOffset));
    if (seq !== searchSeq) return; // another search was asked for meanwhile: not its next page
    $("results").insertAdjacentHTML("beforeend", r.items.map((it) => card(it, false, r.request_id)).join(""));
    const shown = $("results").querySelectorAll(".card").length;
    const head = $("toolbar").querySelector("span");
    if (head && lastHead) head.textContent = headLine(shown, r);
    showMore(r);
  } catch (err) { toast(err.message, true); }
  finally { $("more-results").disabled = false; }
});
$("toolbar").addEventListener("change", (e) => {
  if (e.target.id !== "sort") return;
  state.sort = e.target.value;
  runSearch();
});
// "Understood": one entry per query phrase, its values once each with the fields they were found in
// ("black" → Black (colour group, perceived colour master)), not one line per field
function understoodLine(u, query) {
  if (!u) return "";
  const bits = [];
  if (u.price_min !== null && u.price_min !== undefined) bits.push(t("understoodPriceFrom", { v: `<b>${esc(fmtPrice(u.price_min))}</b>` }));
  if (u.price_max !== null && u.price_max !== undefined) bits.push(t("understoodPriceUpTo", { v: `<b>${esc(fmtPrice(u.price_max))}</b>` }));
  const phrases = new Map(); // phrase -> value -> fields
  for (const m of u.matches || []) {
    const values = phrases.get(m.phrase) || new Map();
    const fields = values.get(m.value) || [];
    const own = { brand: "fieldBrand", category: "fieldCategory" }[m.field]; // attribute names are the catalog's
    const field = own ? t(own) : prettyKey(m.field.replace(/^attribute:/, "")).toLowerCase();
    if (!fields.includes(field)) fields.push(field);
    values.set(m.value, fields); phrases.set(m.phrase, values);
  }
  for (const [phrase, values] of [...phrases].slice(0, 4)) {
    const vals = [...values].map(([v, fields]) => `<b>${esc(v)}</b> (${esc(fields.join(", "))})`).join(", ");
    bits.push(`“${esc(phrase)}” → ${vals}`);
  }
  if (!bits.length) return "";
  if (u.text && u.text !== query) bits.push(t("understoodSearchingFor", { q: `<b>${esc(u.text)}</b>` }));
  return t("understood", { bits: bits.join(" · ") });
}
// why results are not personalised is information, not a warning about the query; a shopper with no
// history yet (every new visitor) is told what to do, without their internal id
// the server keeps advice for the store's operator in setup_notices: only what shoppers should know is shown
// by the notice's code (GET /search's notice_codes), never by its text, which changes with the language:
// how the query was read is information; what limited the answer is a warning
const INFO_NOTICES = new Set(["synonyms", "read-as", "not-personalised"]);
function noticeHtml(n, code) {
  if (code === "not-personalised") return `<div class="notice info">${esc(t("notPersonalisedYet"))}</div>`;
  return `<div class="notice${INFO_NOTICES.has(code) ? " info" : ""}">${esc(n)}</div>`;
}
function activeChips() {
  const out = [];
  if (state.category.length) out.push([state.category.join(" › "), "category"]);
  for (const b of state.brands) out.push([b, `brand:${b}`]);
  if (state.priceMin !== null || state.priceMax !== null) out.push([priceLabel(state.priceMin, state.priceMax), "price"]);
  for (const [k, v] of Object.entries(state.attrs)) out.push([`${prettyKey(k)}: ${v}`, `attr:${k}`]);
  if (state.inStock) out.push([t("chipInStock"), "in_stock"]);
  return out;
}
function priceLabel(lo, hi) {
  if (lo === null) return t("priceUpTo", { v: fmtPrice(hi) });
  if (hi === null) return t("priceAndAbove", { v: fmtPrice(lo) });
  return `${fmtPrice(lo)} – ${fmtPrice(hi)}`;
}
function facetList(group, values, extra = (v) => "") {
  const open = state.expanded.has(group);
  const shown = open ? values : values.slice(0, FACET_SHOWN);
  const rows = shown.map((v) => `<button type="button" class="facet-value${v.selected ? " selected" : ""}" data-group="${esc(group)}" data-value="${esc(v.value)}" ${extra(v)}>
      <span>${group === "brand" ? '<span class="box"></span>' : ""}${esc(v.value)}</span><span class="count">${v.count}</span></button>`).join("");
  const more = values.length > FACET_SHOWN ? `<button class="more" type="button" data-more="${esc(group)}">${esc(open ? t("showFewer") : t("showAll", { n: values.length }))}</button>` : "";
  return rows + more;
}
const PLACEHOLDERS = new Set(["undefined", "unknown", "n/a", "na", "none", "null", "-", "未知"]);
function renderFacets(f) {
  lastFacets = f;
  if (!f) { $("facets").innerHTML = ""; return; }
  const parts = [];
  const crumbs = [`<button type="button" data-depth="0">${esc(t("facetAll"))}</button>`].concat(
    f.category_path.map((c, i) => `<button type="button" data-depth="${i + 1}">${esc(c)}</button>`)).join(" › ");
  if (f.category.length || f.category_path.length) {
    parts.push(`<div class="facet" data-facet="category"><h3>${esc(t("facetCategory"))}</h3><div class="crumbs">${crumbs}</div>${facetList("category", f.category)}</div>`);
  }
  if (f.price.length) {
    const rows = f.price.map((p) => `<button type="button" class="facet-value${p.selected ? " selected" : ""}" data-group="price" data-min="${p.min ?? ""}" data-max="${p.max ?? ""}">
      <span>${esc(priceLabel(p.min, p.max))}</span><span class="count">${p.count}</span></button>`).join("");
    parts.push(`<div class="facet" data-facet="price"><h3>${esc(t("facetPrice"))}</h3>${rows}</div>`);
  }
  if (f.brand.length) parts.push(`<div class="facet" data-facet="brand"><h3>${esc(t("facetBrand"))}</h3>${facetList("brand", f.brand)}</div>`);
  for (const [key, all] of Object.entries(f.attributes || {})) {
    // a placeholder value (H&M's "undefined" / "Unknown" colours) is no choice a shopper makes, unless selected
    const values = all.filter((v) => v.selected || !PLACEHOLDERS.has(String(v.value).trim().toLowerCase()));
    if (values.length) parts.push(`<div class="facet" data-facet="attr:${esc(key)}"><h3>${esc(prettyKey(key))}</h3>${facetList(`attr:${key}`, values)}</div>`);
  }
  parts.push(`<div class="facet"><label class="toggle"><input type="checkbox" id="in-stock" ${state.inStock ? "checked" : ""}> ${esc(t("inStockOnly"))}</label>
    <div class="facet-note">${esc(t(f.price.length ? "facetNotePriced" : "facetNote", { depth: f.depth, priced: f.priced }))}</div></div>`);
  $("facets").innerHTML = parts.join("");
}
$("facets").addEventListener("click", (e) => {
  const more = e.target.closest("[data-more]");
  if (more) { const g = more.dataset.more; if (state.expanded.has(g)) state.expanded.delete(g); else state.expanded.add(g);
    renderFacets(lastFacets); return; }
  const crumb = e.target.closest("[data-depth]");
  if (crumb) { state.category = state.category.slice(0, Number(crumb.dataset.depth)); runSearch(); return; }
  const b = e.target.closest(".facet-value");
  if (!b) return;
  const g = b.dataset.group, v = b.dataset.value;
  if (g === "category") state.category = [...state.category, v];
  else if (g === "brand") state.brands = state.brands.includes(v) ? state.brands.filter((x) => x !== v) : [...state.brands, v];
  else if (g === "price") {
    const lo = b.dataset.min === "" ? null : Number(b.dataset.min), hi = b.dataset.max === "" ? null : Number(b.dataset.max);
    const same = lo === state.priceMin && hi === state.priceMax;
    state.priceMin = same ? null : lo; state.priceMax = same ? null : hi;
  } else if (g.startsWith("attr:")) {
    const k = g.slice(5);
    if (state.attrs[k] === v) delete state.attrs[k]; else state.attrs[k] = v;
  }
  runSearch();
});
$("facets-toggle").addEventListener("click", () => {
  const open = $("facets").classList.toggle("open");
  $("facets-toggle").setAttribute("aria-expanded", String(open));
});
$("facets").addEventListener("change", (e) => { if (e.target.id === "in-stock") { state.inStock = e.target.checked; runSearch(); } });
$("toolbar").addEventListener("click", (e) => {
  const c = e.target.closest("[data-remove]"); if (!c) return;
  const key = c.dataset.remove;
  if (key === "category") state.category = [];
  else if (key === "price") { state.priceMin = null; state.priceMax = null; }
  else if (key === "in_stock") state.inStock = false;
  else if (key.startsWith("brand:")) state.brands = state.brands.filter((b) => b !== key.slice(6));
  else if (key.startsWith("attr:")) delete state.attrs[key.slice(5)];
  runSearch();
});
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = $("q").value.trim(); if (!q) return;
  Object.assign(state, { q, category: [], brands: [], priceMin: null, priceMax: null, attrs: {}, inStock: false, sort: "relevance" });
  runSearch(true, true); // one search event per query typed (not per facet click or sort)
});
// type-ahead: GET /suggest while typing (shoppers' queries, then catalog phrases); picking one searches it
let suggestTimer = null;
let suggested = [];
$("q").addEventListener("input", (e) => {
  const typed = $("q").value;
  if (suggested.includes(typed) && e.inputType !== "insertText" && e.inputType !== "deleteContentBackward") {
    $("search-form").requestSubmit(); // a suggestion was picked from the list
    return;
  }
  clearTimeout(suggestTimer);
  if (!typed.trim()) { $("suggest-list").innerHTML = ""; suggested = []; return; }
  suggestTimer = setTimeout(async () => {
    try {
      const r = await api("/suggest?" + new URLSearchParams({ q: typed, k: "8" }));
      if ($("q").value !== typed) return; // typed on meanwhile
      suggested = r.suggestions.map((s) => s.text);
      $("suggest-list").innerHTML = suggested.map((t) => `<option value="${esc(t)}"></option>`).join("");
    } catch { /* suggestions are a convenience: typing goes on without them */ }
  }, 120);
});

// ---------- rails ----------
// ``request``: a URL or a request already started; ``keep`` drops items (e.g. ones another rail shows)
async function rail(request, target, sub, keep = () => true, max = Infinity) {
  const box = $(target);
  try {
    const r = await (typeof request === "string" ? api(request) : request);
    const shown = r.items.filter(keep).slice(0, max);
    box.classList.toggle("note", !shown.length);
    box.innerHTML = shown.length ? shown.map((it) => card(it, true, r.request_id)).join("")
      : `<p class="sub">${esc(t(r.items.length ? "nothingBeyond" : "nothingYet"))}</p>`;
    return { ...r, items: shown };
  } catch (err) {
    box.classList.add("note");
    // no recommender yet: a shopper reads a plain line; the server's instruction for the store's
    // operator stays on hover (title) and in the API response
    const plain = err.code === "no-recommender";
    box.innerHTML = plain ? `<p class="sub" title="${esc(err.message)}">${esc(t("noRecsYet"))}</p>` : `<p class="sub">${esc(err.message)}</p>`;
    if (sub) $(sub).textContent = "";
    return null;
  }
}
async function refreshForYou(because) {
  const r = await rail(`/recommend/user/${encodeURIComponent(shopperId)}?k=12&in_stock=true&variants=true`, "foryou-items", "foryou-sub");
  if (!r) return;
  const ids = r.items.map((it) => it.id);
  if (because) {
    for (const el of $("foryou-items").querySelectorAll(".card")) if (!lastForYou.includes(el.dataset.id)) el.classList.add("fresh");
  }
  lastForYou = ids;
  $("foryou-sub").textContent = r.notice ? t("forYouPopular")
    : because ? because : t("forYouPicked", { id: shortId(shopperId) });
}
const shortId = (id) => (id.length > 12 ? id.slice(0, 8) + "…" : id);

// ---------- product page ----------
// ``record``: post a click event (not when the page is only written again in another language); ``query``,
// ``rid``: the search / list it was opened from (its request_id), sent with the click and the page's add to cart
let opened = { id: "", query: "", rid: "" };
async function openProduct(id, push = true, query = "", record = true, rid = "") {
  let it = items.get(id);
  // opened from a link (or a swatch no card holds): the product with its own swatches (variants=true)
  const ask = `/items/${encodeURIComponent(id)}${baseFor(id) ? "" : "?variants=true"}`;
  if (!it || it.partial) { try { it = await api(ask); } catch (err) { toast(err.message, true); return; } }
  if (it.variants && it.variants.length && !baseFor(id)) bases.set(it.id, it);
  items.set(id, it);
  if (push) history.pushState(null, "", `?p=${encodeURIComponent(id)}`);
  showView("product");
  const attrs = Object.entries(it.attributes || {}).map(([k, v]) => `<dt>${esc(prettyKey(k))}</dt><dd>${esc(v)}</dd>`).join("");
  $("product").innerHTML = `<div class="pic">${picture(it)}</div><div>
    <div class="cat">${esc((it.category || []).join(" › "))}</div><h1>${esc(it.title)}</h1>
    ${it.brand ? `<div class="sub">${esc(it.brand)}</div>` : ""}<div class="price">${esc(fmtPrice(it.price))}</div>
    ${pageSwatches(it.id)}<button class="primary" type="button" data-cart="${esc(it.id)}">${esc(t("addToCart"))}</button>
    <p class="desc">${esc(it.description || "")}</p><dl>${attrs}<dt>${esc(t("productId"))}</dt><dd>${esc(it.id)}</dd></dl></div>`;
  window.scrollTo({ top: 0 });
  // "Goes well with" leaves out what "Related" already shows (the two lists often share basket partners)
  const crossReq = api(`/recommend/cross/${encodeURIComponent(id)}?k=20&in_stock=true&variants=true`);
  crossReq.catch(() => {}); // handled by rail() below
  // "Related" shows other products: the product's own colours named alike are its swatches, not related items
  const own = it.title.trim().toLowerCase();
  const other = (x) => x.title.trim().toLowerCase() !== own;
  rail(`/recommend/item/${encodeURIComponent(id)}?k=11&in_stock=true&variants=true`, "related-items", null, other, 10).then((related) => {
    const seen = new Set(related ? related.items.map((x) => x.id) : []);
    rail(crossReq, "cross-items", null, (x) => !seen.has(x.id), 10);
  });
  opened = { id, query, rid };
  if (record) sendEvent("click", it, query, true, rid);
}
// the product page's swatches: those of the card it was opened from (every variant shown, none folded)
const baseFor = (id) => bases.get(id) || bases.get(baseOf.get(id));
function pageSwatches(id) {
  const base = baseFor(id);
  return base ? `<div class="page-swatches">${swatchRow(base, id, Infinity)}</div>` : "";
}
function showView(name) {
  // product page and search results first, the "for you" rail after them; on the home page it leads
  document.querySelector("main").classList.toggle("rail-last", name === "product" || (name === "search" && !!state.q));
  $("search-view").hidden = name !== "search";
  $("product-view").hidden = name !== "product";
}
$("back").addEventListener("click", () => history.back());

// ---------- events, cart ----------
let ingestOff = false; // the server has no event log (503): clicks are not posted again after the first try
function eventHeaders() {
  const headers = { "content-type": "application/json" };
  const key = store.getItem("shelfwise.apikey");
  if (key) headers["X-API-Key"] = key;
  return headers;
}
// a search is an event too (type "query"): the store's search analytics (`shelfwise report`) and
// type-ahead learn from it; failures stay silent (a click's failure is reported, once)
function sendQuery(q, rid = "") {
  if (ingestOff) return;
  const event = { user_id: shopperId, type: "query", query: q, session_id: SESSION };
  if (rid) event.request_id = rid; // the search's own id: the clicks on its hits carry it too
  const body = JSON.stringify(event);
  api("/events", { method: "POST", headers: eventHeaders(), body }).catch((err) => {
    if (err.code === "no-event-log") ingestOff = true; // a read-only server
  });
}
// ``refresh``: the "for you" rail follows the event (not for a swatch's view: the card picked stays as it is)
async function sendEvent(type, it, query = "", refresh = true, rid = "") {
  if (ingestOff) return;
  const headers = eventHeaders();
  const event = { user_id: shopperId, type, item_id: it.id, session_id: SESSION };
  if (query) event.query = query; // engagement with that search's results
  if (rid) event.request_id = rid; // made from that very list / search (exact attribution)
  const body = JSON.stringify(event);
  try {
    await api("/events?wait_ms=1500", { method: "POST", headers, body });
    loadHealth();
    if (refresh) refreshForYou(t(type === "cart" ? "forYouAfterCart" : "forYouAfterClick", { title: it.title }));
  } catch (err) {
    if (err.status === 401 || err.status === 403) { toast(t("needApiKey"), true); $("settings-panel").hidden = false; }
    else if (err.code === "no-event-log") {
      ingestOff = true; // a read-only server: say it once, not as an error on every product view
      toast(t("noEventLog"));
    } else toast(t("notRecorded", { error: err.message }), true);
  }
}
function cart() { try { return JSON.parse(store.getItem("shelfwise.cart") || "[]"); } catch { return []; } }
function renderCart() {
  const c = cart();
  $("cart-count").textContent = c.length;
  $("cart-list").innerHTML = c.map((it) => `<li><span>${esc(it.title)}</span><span>${esc(fmtPrice(it.price))}</span></li>`).join("") || `<li>${esc(t("cartEmpty"))}</li>`;
  const total = c.reduce((s, it) => s + (it.price || 0), 0);
  $("cart-total").textContent = c.length ? t("cartTotal", { v: fmtPrice(total) }) : "";
}
function addToCart(id, query = "", rid = "") {
  const it = items.get(id); if (!it) return;
  store.setItem("shelfwise.cart", JSON.stringify([...cart(), { id: it.id, title: it.title, price: it.price }]));
  renderCart(); toast(t("addedToCart", { title: it.title }));
  sendEvent("cart", it, query, true, rid);
}
// a card's "add to cart": its list's query and request_id; the product page's: those it was opened from
function cartFrom(add) {
  const c = add.closest(".card");
  if (c) addToCart(add.dataset.cart, add.closest("#results") ? state.q : "", c.dataset.rid || "");
  else if (opened.id === add.dataset.cart) addToCart(add.dataset.cart, opened.query, opened.rid);
  else addToCart(add.dataset.cart);
}
document.addEventListener("click", (e) => {
  const sw = e.target.closest("[data-swatch]");
  if (sw && sw.closest(".card")) { e.stopPropagation(); pickSwatch(sw.closest(".card"), sw.dataset.swatch); return; }
  if (sw) { if (sw.getAttribute("aria-pressed") !== "true") openProduct(sw.dataset.swatch); return; } // the product page
  const fold = e.target.closest("[data-more-swatches]");
  if (fold) {
    e.stopPropagation();
    for (const b of fold.parentElement.querySelectorAll("[data-swatch][hidden]")) b.hidden = false;
    fold.remove();
    return;
  }
  const add = e.target.closest("[data-cart]");
  if (add) { e.stopPropagation(); cartFrom(add); return; }
  const c = e.target.closest(".card");
  // a click on a search hit carries its query; on any card, the request_id of the list that showed it
  if (c) openProduct(c.dataset.id, true, c.closest("#results") ? state.q : "", true, c.dataset.rid || "");
});
document.addEventListener("keydown", (e) => {
  const c = e.key === "Enter" && e.target.classList && e.target.classList.contains("card") ? e.target : null;
  if (c) openProduct(c.dataset.id, true, c.closest("#results") ? state.q : "", true, c.dataset.rid || ""); // as a mouse click
});
$("cart-btn").addEventListener("click", () => { $("cart-panel").hidden = !$("cart-panel").hidden; $("settings-panel").hidden = true; });

// ---------- shopper switcher, settings ----------
async function loadShoppers() {
  let known = [];
  try { known = (await api("/shoppers?k=6")).shoppers; } catch { known = []; }
  const opts = [[GUEST, t("shopperYou", { id: GUEST })], ...known.map((s) => [s.id, t("shopperItems", { id: shortId(s.id), n: s.items })])];
  if (!opts.some(([id]) => id === shopperId)) opts.push([shopperId, shortId(shopperId)]);
  $("shopper").innerHTML = opts.map(([id, label]) => `<option value="${esc(id)}">${esc(label)}</option>`).join("") + `<option value="__other">${esc(t("shopperOther"))}</option>`;
  $("shopper").value = shopperId;
}
function setShopper(id) {
  shopperId = id; store.setItem("shelfwise.shopper", id);
  lastForYou = [];
  refreshForYou();
  if (state.q && !$("search-view").hidden) runSearch(false);
}
$("shopper").addEventListener("change", () => {
  const v = $("shopper").value;
  $("shopper-other").hidden = v !== "__other";
  if (v === "__other") { $("shopper-other").focus(); return; }
  setShopper(v);
});
$("shopper-other").addEventListener("change", () => {
  const v = $("shopper-other").value.trim(); if (!v) return;
  $("shopper-other").hidden = true;
  setShopper(v); loadShoppers();
});
$("settings-btn").addEventListener("click", () => {
  $("api-key").value = store.getItem("shelfwise.apikey") || "";
  $("mode").value = store.getItem("shelfwise.mode") || "hybrid";
  $("lang").value = store.getItem(LANG_KEY) || ""; // "": automatic (the store's language, else the browser's)
  $("settings-panel").hidden = !$("settings-panel").hidden; $("cart-panel").hidden = true;
});
$("settings-close").addEventListener("click", () => { $("settings-panel").hidden = true; });
$("settings-panel").addEventListener("submit", (e) => e.preventDefault()); // Enter in a field clicks Save (its submit button)
$("settings-save").addEventListener("click", () => {
  const k = $("api-key").value.trim();
  if (k) store.setItem("shelfwise.apikey", k); else store.removeItem("shelfwise.apikey");
  store.setItem("shelfwise.mode", $("mode").value);
  if ($("lang").value) store.setItem(LANG_KEY, $("lang").value); else store.removeItem(LANG_KEY);
  const relabel = pickLanguage(catalogLanguage) !== LANG;
  if (relabel) setLanguage(pickLanguage(catalogLanguage));
  $("settings-panel").hidden = true; toast(t("settingsSaved"));
  if (relabel) rewrite();
  else if (state.q && !$("search-view").hidden) runSearch(false); // a new search mode applies to the results shown
});
// another language chosen: the texts the page wrote are written again, what is shown stays (no search or
// click event is sent for it)
function rewrite() {
  renderCart(); showHealth(); hint(); loadShoppers(); refreshForYou();
  const p = new URLSearchParams(location.search);
  if (p.get("p")) openProduct(p.get("p"), false, "", false);
  else if (state.q) runSearch(false);
}

// ---------- start ----------
// ``record``: the page's first load opens a linked product as a click; Back / Forward revisit a page
// already counted, so they post no second click
function route(record = false) {
  const p = new URLSearchParams(location.search);
  if (p.get("p")) { openProduct(p.get("p"), false, "", record); return; }
  fromParams(p);
  if (state.q) runSearch(false);
  else { showView("search"); $("hero").hidden = false; $("results-layout").hidden = true; }
}
window.addEventListener("popstate", () => route());
let lastHealth = null;
let catalogLanguage = null; // GET /health's language: en, zh or mixed (the catalog's, detected from its texts)
function showHealth(h = lastHealth) {
  if (!h) return;
  const num = (v) => v.toLocaleString(LANG);
  $("health").textContent = t("healthLine", { items: num(h.products ?? h.items), encoder: h.encoder, events: num(h.events), live: num(h.events_live) });
}
function loadHealth() {
  return api("/health").then((h) => { lastHealth = h; catalogLanguage = h.language ?? null; showHealth(h); }).catch(() => {});
}
// the search box's hint: searches typical of this store, in its own words (GET /suggest/examples); as many
// as fit the box (the last, with a price when the store has prices, kept longest)
let examples = [];
function hint() {
  const n = examples.length;
  if (!n) return; // "Search products" as written in the page
  const box = $("q"), style = getComputedStyle(box);
  // less the padding and a search field's clear button (Chromium keeps room for it: about 1.5em)
  const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 1.5 * parseFloat(style.fontSize);
  const ctx = (hint.canvas ||= document.createElement("canvas")).getContext("2d");
  ctx.font = style.font;
  const tries = [examples, [examples[0], examples[n - 1]], [examples[n - 1]]];
  const sep = examples.every((e) => /[\u3400-\u9fff]/.test(e)) ? "、" : ", "; // a Chinese list: 、
  const fits = tries.map((e) => t("hintMany", { list: [...new Set(e)].join(sep) })).find((s) => ctx.measureText(s).width <= room);
  box.placeholder = fits || t("hintOne", { q: examples[n - 1] });
}
async function start() {
  // the catalog's language before the page writes its texts: a Chinese store opens in Chinese
  await Promise.race([loadHealth(), new Promise((done) => setTimeout(done, 2000))]);
  setLanguage(pickLanguage(catalogLanguage));
  showHealth();
  api("/suggest/examples?k=3").then((r) => { examples = r.examples; hint(); }).catch(() => {});
  new ResizeObserver(hint).observe($("q")); // the box narrows as the shopper menu fills, and on resize
  // link the evaluation report only when the server has one (`serve --report`; else /report is a 404 page)
  fetch("/report", { method: "HEAD" }).then((r) => { $("report-link").hidden = !r.ok; }).catch(() => {});
  renderCart();
  loadShoppers().then(() => refreshForYou());
  route(true);
}
start();
