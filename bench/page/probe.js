// A tiny module whose one function uses f32x4.relaxed_madd: it validates only where the
// host supports relaxed SIMD (the site's worker picks its build with the same probe).
export function relaxedSimdProbe() {
  const v128Zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0, ...v128Zero, ...v128Zero, ...v128Zero, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0,
    10, body.length + 2, 1, body.length, ...body]);
}
