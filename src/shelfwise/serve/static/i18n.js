// Shelfwise storefront: the page's own wording in English and Simplified Chinese (one table), and which
// of the two a shopper sees: the choice saved in Settings, else Chinese for a Chinese catalog (GET /health's
// `language`) or a Chinese browser (navigator.language zh*), else English. Texts the server writes
// (notices, reasons, errors) are shown as the server sends them. Loaded before store.js.
// The table between the markers is plain JSON (tests/serve/test_storefront_i18n.py reads it):
// {name} in a text is filled in by t(key, {name: value}).
"use strict";

const STRINGS = /* strings:begin */ {
  "en": {
    "title": "Shelfwise store",
    "logoStore": " store",
    "searchProducts": "Search products",
    "search": "Search",
    "shoppingAs": "Shopping as",
    "shopper": "Shopper",
    "shopperIdPrompt": "type a shopper id",
    "shopperId": "Shopper id",
    "cart": "Cart",
    "settings": "Settings",
    "forYou": "For you",
    "heroTitle": "Find something you like",
    "heroSub": "Search the catalog; every click and add-to-cart teaches the “for you” rail what you like.",
    "filters": "Filters",
    "showMore": "Show more",
    "back": "← Back to results",
    "related": "Related",
    "relatedSub": "bought together, similar taste, similar text",
    "goesWellWith": "Goes well with",
    "goesWellWithSub": "from other categories",
    "apiKeyLabel": "API key (needed to record clicks when the server is not on this machine)",
    "apiKeyNone": "none",
    "searchMode": "Search mode",
    "modeHybrid": "hybrid (default)",
    "modeBm25": "bm25 (words)",
    "modeDense": "dense (meaning)",
    "language": "Language",
    "languageAuto": "Automatic (store and browser)",
    "close": "Close",
    "save": "Save",
    "footerNote": "Clicks and add-to-cart are sent to <code>POST /events</code>; the “for you” rail, related items and personalised search update from them within a second. Prices, where shown, are the catalog's own <code>price</code> field as given (no currency is assumed). Products without an <code>image</code> show a placeholder.",
    "evaluationReport": "Evaluation report",
    "apiDocs": "API docs",
    "healthLink": "health",
    "healthLine": "{items} products · encoder {encoder} · {events} behaviour events ({live} live)",
    "hintMany": "Search products: {list}",
    "hintOne": "Search: {q}",
    "product": "product",
    "outOfStock": "out of stock",
    "addToCart": "Add to cart",
    "variantsOf": "Variants of {title}",
    "moreVariants": "Show {n} more variants",
    "variantsNotSent": "and {n} more",
    "notInFilters": "not in your filters",
    "sortBy": "Sort by",
    "sortRelevance": "Most relevant",
    "sortPriceAsc": "Price: low to high",
    "sortPriceDesc": "Price: high to low",
    "noMatch": "No products match “{q}”.",
    "noMatchFilters": "No products match “{q}” with these filters: remove one.",
    "nearestByMeaning": "No product has the words “{q}”: these are the nearest by meaning.",
    "nearestByMeaningSpelling": "No product has the words “{q}”: these are the nearest by meaning and spelling.",
    "headResults": "{n} results for “{q}” · {ms} ms",
    "headTopResults": "Top {n} results for “{q}” · {ms} ms",
    "headNearest": "{n} nearest products to “{q}” · {ms} ms",
    "understood": "Understood: {bits}",
    "understoodPriceFrom": "price from {v}",
    "understoodPriceUpTo": "price up to {v}",
    "understoodSearchingFor": "searching for {q}",
    "fieldBrand": "brand",
    "fieldCategory": "category",
    "notPersonalisedYet": "Not personalised yet: click or add products to the cart and results follow your taste.",
    "chipInStock": "in stock",
    "priceUpTo": "up to {v}",
    "priceAndAbove": "{v} and above",
    "showFewer": "Show fewer",
    "showAll": "Show all {n}",
    "facetAll": "All",
    "facetCategory": "Category",
    "facetPrice": "Price",
    "facetBrand": "Brand",
    "inStockOnly": "In stock only",
    "facetNote": "Counts over {depth} matching products.",
    "facetNotePriced": "Counts over {depth} matching products; {priced} with a price.",
    "nothingBeyond": "Nothing beyond the items above.",
    "nothingYet": "Nothing to show yet.",
    "noRecsYet": "Recommendations appear here once the store has shopping history.",
    "forYouPopular": "Popular right now: click or add products to personalise this row",
    "forYouAfterClick": "Updated from your click on {title}",
    "forYouAfterCart": "Updated from your add to cart: {title}",
    "forYouPicked": "Picked for shopper {id} from their history",
    "productId": "Product id",
    "needApiKey": "Recording clicks needs an API key on this server: add it in Settings",
    "noEventLog": "Clicks and add-to-cart are not recorded on this server (it was started without an event log)",
    "notRecorded": "Not recorded: {error}",
    "cartEmpty": "Empty",
    "cartTotal": "Total {v}",
    "addedToCart": "Added {title} to the cart",
    "shopperYou": "You ({id})",
    "shopperItems": "{id} · {n} items",
    "shopperOther": "Other…",
    "settingsSaved": "Settings saved"
  },
  "zh-CN": {
    "title": "Shelfwise 商店",
    "logoStore": " 商店",
    "searchProducts": "搜索商品",
    "search": "搜索",
    "shoppingAs": "当前购物者",
    "shopper": "购物者",
    "shopperIdPrompt": "输入购物者编号",
    "shopperId": "购物者编号",
    "cart": "购物车",
    "settings": "设置",
    "forYou": "为你推荐",
    "heroTitle": "找到你喜欢的商品",
    "heroSub": "搜索商品目录；你的每次点击和加购都会让“为你推荐”更懂你的喜好。",
    "filters": "筛选",
    "showMore": "显示更多",
    "back": "← 返回结果",
    "related": "相关商品",
    "relatedSub": "常一起购买、喜好相近、描述相似",
    "goesWellWith": "搭配推荐",
    "goesWellWithSub": "来自其他品类",
    "apiKeyLabel": "API 密钥（服务器不在本机时，记录点击需要它）",
    "apiKeyNone": "无",
    "searchMode": "搜索模式",
    "modeHybrid": "混合（默认）",
    "modeBm25": "bm25（按字词）",
    "modeDense": "dense（按语义）",
    "language": "语言",
    "languageAuto": "自动（按商店和浏览器）",
    "close": "关闭",
    "save": "保存",
    "footerNote": "点击和加购会发送到 <code>POST /events</code>；“为你推荐”、相关商品和个性化搜索会在一秒内随之更新。显示的价格即商品目录自带的 <code>price</code> 字段（不假定币种）。没有 <code>image</code> 的商品显示占位图。",
    "evaluationReport": "评估报告",
    "apiDocs": "API 文档",
    "healthLink": "运行状态",
    "healthLine": "{items} 件商品 · 编码器 {encoder} · {events} 条行为事件（实时 {live} 条）",
    "hintMany": "搜索商品：{list}",
    "hintOne": "搜索：{q}",
    "product": "商品",
    "outOfStock": "缺货",
    "addToCart": "加入购物车",
    "variantsOf": "{title} 的其他款式",
    "moreVariants": "再显示 {n} 个款式",
    "variantsNotSent": "另有 {n} 个款式",
    "notInFilters": "不符合当前筛选条件",
    "sortBy": "排序方式",
    "sortRelevance": "综合排序",
    "sortPriceAsc": "价格从低到高",
    "sortPriceDesc": "价格从高到低",
    "noMatch": "没有与“{q}”匹配的商品。",
    "noMatchFilters": "在当前筛选条件下没有与“{q}”匹配的商品：请去掉一个筛选条件。",
    "nearestByMeaning": "没有商品包含“{q}”中的词：以下是语义最接近的商品。",
    "nearestByMeaningSpelling": "没有商品包含“{q}”中的词：以下是语义和拼写最接近的商品。",
    "headResults": "“{q}”的 {n} 个结果 · {ms} 毫秒",
    "headTopResults": "“{q}”的前 {n} 个结果 · {ms} 毫秒",
    "headNearest": "与“{q}”最接近的 {n} 件商品 · {ms} 毫秒",
    "understood": "理解为：{bits}",
    "understoodPriceFrom": "价格不低于 {v}",
    "understoodPriceUpTo": "价格不高于 {v}",
    "understoodSearchingFor": "搜索 {q}",
    "fieldBrand": "品牌",
    "fieldCategory": "品类",
    "notPersonalisedYet": "尚未个性化：点击商品或加入购物车后，结果会跟随你的喜好。",
    "chipInStock": "有货",
    "priceUpTo": "{v} 以下",
    "priceAndAbove": "{v} 及以上",
    "showFewer": "收起",
    "showAll": "显示全部 {n} 项",
    "facetAll": "全部",
    "facetCategory": "品类",
    "facetPrice": "价格",
    "facetBrand": "品牌",
    "inStockOnly": "仅看有货",
    "facetNote": "数量按 {depth} 件匹配商品统计。",
    "facetNotePriced": "数量按 {depth} 件匹配商品统计；其中 {priced} 件有价格。",
    "nothingBeyond": "除上面的商品外，暂无更多。",
    "nothingYet": "暂无可显示的商品。",
    "noRecsYet": "商店有了购物记录后，这里会显示推荐。",
    "forYouPopular": "当前热门：点击商品或加入购物车，这一栏就会按你的喜好推荐",
    "forYouAfterClick": "已根据你点击的“{title}”更新",
    "forYouAfterCart": "已根据你加购的“{title}”更新",
    "forYouPicked": "根据购物者 {id} 的历史记录挑选",
    "productId": "商品编号",
    "needApiKey": "在此服务器上记录点击需要 API 密钥：请在设置中填写",
    "noEventLog": "此服务器不记录点击和加购（启动时没有配置事件日志）",
    "notRecorded": "未记录：{error}",
    "cartEmpty": "购物车是空的",
    "cartTotal": "合计 {v}",
    "addedToCart": "已将“{title}”加入购物车",
    "shopperYou": "你（{id}）",
    "shopperItems": "{id} · {n} 件商品",
    "shopperOther": "其他…",
    "settingsSaved": "设置已保存"
  }
} /* strings:end */;
const LANGUAGES = Object.keys(STRINGS); // en, zh-CN
const LANG_KEY = "shelfwise.lang"; // the shopper's choice in Settings ("" or absent: automatic)
let LANG = "en";

// the page's language: the shopper's choice, else Chinese for a Chinese catalog or browser, else English
function pickLanguage(catalog) {
  const chosen = localStorage.getItem(LANG_KEY);
  if (chosen && LANGUAGES.includes(chosen)) return chosen;
  if (catalog === "zh") return "zh-CN";
  return /^zh\b/i.test(navigator.language || "") ? "zh-CN" : "en";
}
// t("showAll", {n: 12}): the text in the page's language ({name} filled in; values are not escaped here)
function t(key, values = {}) {
  const text = STRINGS[LANG][key] ?? STRINGS.en[key];
  if (text === undefined) throw new Error(`no storefront text ${key}`);
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
}
// the page's written-in texts: data-i18n (text), data-i18n-html (our own markup: <code>),
// data-i18n-attr="placeholder:key aria-label:key"
function setLanguage(lang) {
  LANG = LANGUAGES.includes(lang) ? lang : "en";
  document.documentElement.lang = LANG;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-html]")) el.innerHTML = t(el.dataset.i18nHtml);
  for (const el of document.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(/\s+/)) {
      const i = pair.lastIndexOf(":");
      el.setAttribute(pair.slice(0, i), t(pair.slice(i + 1)));
    }
  }
}
setLanguage(pickLanguage(null)); // the saved choice or the browser's now; GET /health's catalog language follows
