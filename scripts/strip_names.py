#!/usr/bin/env python3
"""Removes the `name` and `producers` custom sections from the page's wasm in a Trunk build
and updates its Subresource Integrity hash in index.html.

The `name` section holds function names for stack traces: a fifth of the page's module.
wasm-bindgen can leave it out (`--remove-name-section`, as scripts/build does for the
worker), but Trunk runs wasm-bindgen for the page without that flag and then pins the
module's sha384 in index.html; so this drops the sections from the finished module and
re-pins it. Nothing else changes: custom sections have no effect on what a module does
(the WebAssembly spec's binary format says engines ignore them). The `target_features`
section stays: it says how the module was compiled.

usage: scripts/strip_names.py dist/index.html
       scripts/strip_names.py --check dist/index.html...   (scripts/test, after a build)

--check changes nothing: it fails unless every integrity hash in each index.html matches
its file and no preloaded wasm has a name section left. Chromium ignores `integrity` on
wasm preloads (`as="fetch"`), so a stale hash would pass the browser tests unnoticed.
"""
import base64
import hashlib
import os
import re
import sys

DROPPED = {"name", "producers"}
WASM_HEADER = b"\0asm\x01\0\0\0"


def read_uleb(data: bytes, i: int) -> tuple[int, int]:
    """LEB128 unsigned integer at `i`: (value, index after it)."""
    value = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated LEB128 integer")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def strip_sections(wasm: bytes) -> tuple[bytes, list[str]]:
    """The module without the custom sections in DROPPED, and the names of those removed."""
    if not wasm.startswith(WASM_HEADER):
        raise ValueError("not a wasm module (version 1)")
    out = bytearray(WASM_HEADER)
    removed = []
    i = len(WASM_HEADER)
    while i < len(wasm):
        start = i
        section_id = wasm[i]
        size, body = read_uleb(wasm, i + 1)
        end = body + size
        if end > len(wasm):
            raise ValueError("section runs past the end of the module")
        if section_id == 0:
            name_len, name_at = read_uleb(wasm, body)
            name = wasm[name_at : name_at + name_len].decode("utf-8", "replace")
            if name in DROPPED:
                removed.append(name)
                i = end
                continue
        out += wasm[start:end]
        i = end
    return bytes(out), removed


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def pinned(index: str) -> tuple[str, list[tuple[str, str]]]:
    """index.html's text and, for each `<link>` with an integrity hash, (file path, hash)."""
    with open(index, encoding="utf-8") as f:
        html = f.read()
    # Trunk writes hrefs below its --public-url; the files sit at the top of dist.
    dist = os.path.dirname(index)
    links = re.findall(r'<link [^>]*href="([^"]+)"[^>]*integrity="(sha384-[^"]+)"', html)
    return html, [(os.path.join(dist, os.path.basename(href)), want) for href, want in links]


def main(index: str) -> int:
    html, links = pinned(index)
    wasm_links = [(path, want) for path, want in links if path.endswith("_bg.wasm")]
    if not wasm_links:
        print(f"{index}: no preloaded wasm with an integrity hash; is this a Trunk build?", file=sys.stderr)
        return 1
    for path, old_sri in wasm_links:
        with open(path, "rb") as f:
            wasm = f.read()
        if sri(wasm) != old_sri:
            print(f"{path}: does not match its integrity hash in {index}", file=sys.stderr)
            return 1
        stripped, removed = strip_sections(wasm)
        if not removed:
            print(f"{path}: no name or producers section (already stripped)")
            continue
        with open(path, "wb") as f:
            f.write(stripped)
        html = html.replace(f'integrity="{old_sri}"', f'integrity="{sri(stripped)}"')
        print(f"{path}: removed {', '.join(removed)}: {len(wasm)} -> {len(stripped)} bytes")
    with open(index, "w", encoding="utf-8") as f:
        f.write(html)
    return 0


def check(index: str) -> list[str]:
    """What is wrong with a finished build: stale integrity hashes, wasm names left in."""
    _, links = pinned(index)
    problems = [] if links else [f"{index}: no integrity hashes; is this a Trunk build?"]
    for path, want in links:
        if not os.path.isfile(path):
            problems.append(f"{index}: links {os.path.basename(path)}, which is not beside it")
            continue
        with open(path, "rb") as f:
            data = f.read()
        if sri(data) != want:
            problems.append(f"{path}: its integrity hash in {index} is stale")
        left = strip_sections(data)[1] if path.endswith(".wasm") else []
        if left:
            problems.append(f"{path}: still has {', '.join(left)}")
    return problems


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--check":
        found = [p for index in sys.argv[2:] for p in check(index)]
        print("\n".join(found) or f"integrity hashes match, no wasm names: {' '.join(sys.argv[2:])}",
              file=sys.stderr if found else sys.stdout)
        sys.exit(1 if found else 0)
    sys.exit(main(sys.argv[1]) if len(sys.argv) == 2 else 2)
