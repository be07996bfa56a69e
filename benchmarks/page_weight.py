"""Page weight of a built site: for each page, its HTML and every local file it loads (images, scripts,
style sheets, counted once per page), and the site's total size on disk.

    .venv/bin/python benchmarks/page_weight.py _build/html
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup


def page_weight(site: Path, page: Path) -> dict[str, int]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    files: set[Path] = set()
    for tag, attribute in (("img", "src"), ("script", "src"), ("link", "href")):
        for element in soup.find_all(tag):
            url = element.get(attribute)
            if not url or (tag == "link" and "stylesheet" not in (element.get("rel") or [])):
                continue
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_file() and target.is_relative_to(site):
                files.add(target)
    html = page.stat().st_size
    loaded = sum(f.stat().st_size for f in files)
    return {"html": html, "loaded": loaded, "total": html + loaded}


def main(site: str) -> None:
    root = Path(site).resolve()
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts
                   and p.name not in {"genindex.html", "search.html"} and p.stat().st_size > 200)
    print(f"{'page':40} {'HTML KB':>9} {'+ loaded KB':>12} {'= total KB':>11}")
    for page in pages:
        w = page_weight(root, page)
        print(f"{page.relative_to(root)!s:40} {w['html'] / 1024:9.0f} {w['loaded'] / 1024:12.0f} "
              f"{w['total'] / 1024:11.0f}")
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(f"site total: {total / 1024 ** 2:.1f} MB in {sum(1 for f in root.rglob('*') if f.is_file())} files")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="_build/html", help="the built site (default: _build/html)")
    main(parser.parse_args().site)
