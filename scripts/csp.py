#!/usr/bin/env python3
"""Adds a Content-Security-Policy <meta> to a Trunk-built index.html.

Trunk starts the app with one inline module script, so the policy allows exactly that
script by its SHA-256 hash (it changes with every build, hence this step after
`trunk build`). Everything else is same-origin: scripts and styles from the site, wasm
compilation ('wasm-unsafe-eval', nothing broader: no eval), the inference worker (a blob:
shim that imports the site's worker.js), images as data:/blob: thumbnails. Fetches go to
the site and to https URLs a visitor types in (?manifest=…); no other request is made.
Style attributes are inline ('unsafe-inline' for styles only): Yew sets them on elements.

usage: scripts/csp.py dist/index.html
"""
import base64
import hashlib
import re
import sys

MARKER = "Content-Security-Policy"


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        html = f.read()
    if MARKER in html:
        print(f"{path}: already has a {MARKER}", file=sys.stderr)
        return 0
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
    if not inline:
        print(f"{path}: no inline script found; is this a Trunk build?", file=sys.stderr)
        return 1
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'" for s in inline
    )
    policy = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'wasm-unsafe-eval' {hashes}",
            "worker-src 'self' blob:",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "connect-src 'self' https:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'none'",
        ]
    )
    meta = f'<meta http-equiv="{MARKER}" content="{policy}" />'
    html, n = re.subn(r"(<meta charset=[^>]*>)", r"\1\n  " + meta.replace("\\", "\\\\"), html, count=1)
    if n != 1:
        print(f"{path}: no <meta charset> to put the policy after", file=sys.stderr)
        return 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(html)
    print(f"{path}: {MARKER} added ({len(inline)} inline script(s) allowed by hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]) if len(sys.argv) == 2 else 2)
