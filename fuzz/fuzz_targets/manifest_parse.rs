//! Any bytes offered as a manifest, a labels file or an IDX sample pair.
#![no_main]

use distillate_engine::idx::{self, LabelledImages};
use distillate_engine::manifest::{Manifest, parse_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        // A parsed manifest is checked: both roles resolve to entries.
        let _ = (m.teacher_entry(), m.student_entry());
    }
    let _ = parse_labels(data);
    let _ = idx::parse(data);
    // Split the input into an images file and a labels file.
    let cut = data.first().map(|b| *b as usize % (data.len().max(1))).unwrap_or(0);
    let (images, labels) = data.split_at(cut.min(data.len()));
    if let Ok(set) = LabelledImages::from_idx(images, labels) {
        for i in 0..set.len().min(4) {
            assert_eq!(set.image(i).len(), (set.width * set.height) as usize);
        }
    }
});
