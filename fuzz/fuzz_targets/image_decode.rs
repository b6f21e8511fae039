//! Any bytes offered as an image (PNG, JPEG or neither): decode and preprocess them for a
//! gray 28×28 model and a colour 32×32 one, as the page and the CLI do.
#![no_main]

use distillate_engine::preprocess::{PreprocessSpec, Preprocessor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (channels, size) in [(1, 28), (3, 32)] {
        let Ok(pre) = Preprocessor::for_shape(&PreprocessSpec::default(), channels, size, size) else { return };
        let mut out = vec![0.0f32; pre.len()];
        if pre.bytes_into(data, &mut out).is_ok() {
            assert!(out.iter().all(|v| v.is_finite()), "preprocessing produced a non-finite value");
        }
    }
});
