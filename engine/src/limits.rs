//! Hard limits on user-supplied data, checked before anything large is allocated.

/// Largest ONNX file accepted: 256 MiB. A browser tab holding two models of this size
/// plus tract's optimised copies stays under wasm32's 4 GiB address space.
pub const MAX_MODEL_BYTES: usize = 256 * 1024 * 1024;

/// Largest image accepted, in pixels: 40 megapixels (e.g. 8000 × 5000). Decoding one as
/// RGBA takes 160 MB; anything larger is almost certainly a decompression bomb, not a
/// photo of a warehouse item.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// Largest image file accepted, in bytes: 64 MiB.
pub const MAX_IMAGE_BYTES: usize = 64 * 1024 * 1024;
