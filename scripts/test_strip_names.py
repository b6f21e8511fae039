"""Tests for strip_names.py (run by scripts/test: python3 -m unittest discover -s scripts)."""
import os
import tempfile
import unittest

from strip_names import WASM_HEADER, check, main, sri, strip_sections


def custom(name: str, payload: bytes) -> bytes:
    body = bytes([len(name)]) + name.encode() + payload
    return bytes([0, len(body)]) + body


# A type section with one `() -> ()` function type: a section that must survive untouched.
TYPE_SECTION = bytes([1, 4, 1, 0x60, 0, 0])


class StripSections(unittest.TestCase):
    def test_drops_name_and_producers_and_keeps_everything_else_in_order(self):
        wasm = (
            WASM_HEADER
            + custom("producers", b"\x00")
            + TYPE_SECTION
            + custom("name", b"\x01\x02\x03")
            + custom("target_features", b"\x01+\x07simd128")
        )
        stripped, removed = strip_sections(wasm)
        self.assertEqual(removed, ["producers", "name"])
        self.assertEqual(stripped, WASM_HEADER + TYPE_SECTION + custom("target_features", b"\x01+\x07simd128"))

    def test_a_module_without_those_sections_is_unchanged(self):
        wasm = WASM_HEADER + TYPE_SECTION
        self.assertEqual(strip_sections(wasm), (wasm, []))

    def test_rejects_what_is_not_a_wasm_module(self):
        with self.assertRaisesRegex(ValueError, "not a wasm module"):
            strip_sections(b"<html>")

    def test_rejects_a_section_longer_than_the_module(self):
        with self.assertRaisesRegex(ValueError, "past the end"):
            strip_sections(WASM_HEADER + bytes([1, 40, 1]))


class Build(unittest.TestCase):
    """main() on a Trunk-like dist/, then check() on the result."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.wasm = WASM_HEADER + TYPE_SECTION + custom("name", b"\x01\x02")
        self.write("app-1_bg.wasm", self.wasm)
        self.write("app-1.js", b"export default 1;")
        self.index = self.write(
            "index.html",
            (
                f'<link rel="modulepreload" href="/sub/app-1.js" integrity="{sri(b"export default 1;")}">'
                f'<link rel="preload" href="/sub/app-1_bg.wasm" crossorigin="anonymous" '
                f'integrity="{sri(self.wasm)}" as="fetch">'
            ).encode(),
        )

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.dir.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_strips_the_wasm_and_repins_its_hash(self):
        self.assertEqual(len(check(self.index)), 1)  # the name section is still there
        self.assertEqual(main(self.index), 0)
        self.assertEqual(check(self.index), [])
        with open(os.path.join(self.dir.name, "app-1_bg.wasm"), "rb") as f:
            self.assertEqual(f.read(), WASM_HEADER + TYPE_SECTION)

    def test_check_reports_a_stale_hash(self):
        main(self.index)
        self.write("app-1.js", b"export default 2;")
        self.assertEqual(len(check(self.index)), 1)
        self.assertIn("stale", check(self.index)[0])

    def test_refuses_a_module_that_does_not_match_its_pinned_hash(self):
        self.write("app-1_bg.wasm", self.wasm + b"\x00\x01\x00")
        self.assertEqual(main(self.index), 1)


if __name__ == "__main__":
    unittest.main()
