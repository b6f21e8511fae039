//! Any bytes offered as a model: load and check them, and if they pass, compile the model
//! and run it once on a zero image. Must return an error, never panic.
#![no_main]

use distillate_engine::{Model, PreprocessSpec, Runner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = Model::load(data) else { return };
    let card = model.card();
    // Running is only meaningful (and fast enough) for small inputs; loading is the target.
    if card.channels * card.height * card.width > 64 * 64 * 3 || card.macs > 50_000_000 {
        return;
    }
    if let Ok(mut runner) = Runner::new(&model, &PreprocessSpec::default()) {
        let pixels = vec![0u8; card.height * card.width];
        let _ = runner.classify_luma8(card.width as u32, card.height as u32, &pixels);
    }
});
