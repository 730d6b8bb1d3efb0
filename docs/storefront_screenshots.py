"""Take the storefront screenshots in docs/ from a running server (headless system Chromium).

    bash scripts/demo.sh --no-serve    # writes runs/demo (the shelf, with its recommender, and the report)
    shelfwise serve --shelf runs/demo/index --events-db /tmp/shots.sqlite --report runs/demo/report.html
    python docs/storefront_screenshots.py --url http://127.0.0.1:8000

(a fresh ``--events-db``: the shots post a click, and earlier clicks would change the rails).

Needs ``pip install playwright`` and Chromium from the OS (``apt-get install chromium``); no browser
download. Writes docs/storefront-search.png and docs/storefront-rails.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import quote

DOCS = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--query", default="summer dress under 0.03")
    ap.add_argument("--facet", default="Ladieswear", help="category value clicked in the search shot")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        page.goto(args.url + "/")
        page.wait_for_selector("#shopper option:nth-child(2)", state="attached")
        shopper = page.eval_on_selector("#shopper", "s => s.options[1].value")  # the first known shopper
        page.select_option("#shopper", shopper)
        page.wait_for_function("document.getElementById('foryou-sub').textContent.startsWith('Picked for')")
        page.goto(f"{args.url}/?q={quote(args.query)}")
        page.wait_for_selector("#results .card")
        facet = page.locator(f'#facets .facet-value[data-group=category][data-value="{args.facet}"]')
        if facet.count():
            facet.click()
            page.wait_for_selector("#toolbar .chip")
        page.wait_for_timeout(500)
        page.screenshot(path=str(args.out / "storefront-search.png"))
        page.locator("#results .card").nth(1).click()  # a click event: the rails learn from it
        page.wait_for_selector("#related-items .card .reason")
        page.wait_for_function("document.getElementById('foryou-sub').textContent.startsWith('Updated')")
        page.wait_for_selector("#cross-items > *")
        page.wait_for_timeout(800)
        page.screenshot(path=str(args.out / "storefront-rails.png"), full_page=True)
        browser.close()
    print(f"wrote {args.out / 'storefront-search.png'} and {args.out / 'storefront-rails.png'}")


if __name__ == "__main__":
    main()
