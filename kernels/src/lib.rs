//! The engine's compute kernels, kept apart from the engine so that the wasm profile can
//! compile them at opt-level 3 while the rest of the engine stays at "s" (Cargo.toml:
//! at "s", the Winograd transforms' arrays of vectors stayed in memory and the path ran at
//! 11–22 GMAC/s; at 3, 18–39, for 43 KB more gzip had the whole engine been raised).
//! No dependencies: the engine's tract op (`distillate_engine::conv`) calls these.
//!
//! - [`simd4`]: four f32 lanes, wasm `v128` or a portable array;
//! - [`conv_kernel`]: direct convolution, stride 1, tiles of output channels × pixels;
//! - [`winograd`]: F(2×2, 3×3) for 3×3 stride-1 convolutions, its products on
//!   [`conv_kernel`]'s micro-kernels.

pub mod conv_kernel;
pub mod simd4;
pub mod winograd;

/// A tiny deterministic generator (SplitMix64), so test models are identical on every target.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    pub fn next_normal(&mut self) -> f32 {
        let u1 = self.next_f32().max(1e-7);
        let u2 = self.next_f32();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }
}
