//! What the site reads besides the ONNX files: the labelled sample set and the demo
//! manifest that names every model, its card and the chosen pair.

use std::path::Path;

use anyhow::Context;
use distillate_engine::manifest::{Manifest, ModelEntry, SampleSet};
use distillate_engine::training::{Role, TrainingCard};

use crate::config::PipelineConfig;
use crate::data::CLASS_NAMES;
use crate::export::preprocess_spec;

/// Ships the test set as the site's labelled samples: the IDX files as Zalando publish them.
pub fn write_samples(config: &PipelineConfig, out: &Path) -> anyhow::Result<()> {
    let dir = out.join("data");
    std::fs::create_dir_all(&dir)?;
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        let from = Path::new(&config.data_dir).join(name);
        std::fs::copy(&from, dir.join(name)).with_context(|| format!("cannot copy {}", from.display()))?;
    }
    Ok(())
}

pub fn manifest(cards: &[TrainingCard], chosen: &str, reason: &str) -> Manifest {
    let models = cards
        .iter()
        .map(|c| ModelEntry {
            id: c.id.clone(),
            name: c.name.clone(),
            file: format!("models/{}.onnx", c.id),
            preprocess: preprocess_spec(),
            card: Some(format!("models/{}.card.json", c.id)),
        })
        .collect();
    Manifest {
        title: "Fashion-MNIST: a distilled CNN for warehouse item recognition".into(),
        description: "Zalando's Fashion-MNIST product images (the item types a fulfilment centre picks and packs); \
                      a CNN teacher and students distilled from it, trained on CPU by distill/."
            .into(),
        labels: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        models,
        teacher: "teacher".into(),
        student: chosen.into(),
        ladder: cards
            .iter()
            .filter(|c| matches!(c.role, Role::Student | Role::Quantized))
            .map(|c| c.id.clone())
            .collect(),
        choice: Some(reason.to_string()),
        samples: Some(SampleSet {
            images: "data/t10k-images-idx3-ubyte.gz".into(),
            labels: "data/t10k-labels-idx1-ubyte.gz".into(),
        }),
        gallery: vec![],
        cost: Default::default(),
        thresholds: Default::default(),
    }
}
