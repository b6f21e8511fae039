//! Pipeline stages and their cache: a model whose card records the same inputs as this
//! run's is reused instead of trained again, so a long teacher stage is paid once and the
//! students' stages can be rerun on their own (`distill --rebuild student-h18`).

use std::path::Path;

pub use distillate_engine::training::StageRecord;
use distillate_engine::training::TrainingCard;

/// Which cached stages to ignore.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Rebuild {
    /// Reuse every stage whose inputs are unchanged.
    #[default]
    Nothing,
    /// Rebuild these stages (model ids: `teacher`, `teacher-1`, `student-h18`, `baseline-h18`, …).
    These(Vec<String>),
    /// Rebuild everything.
    All,
}

impl Rebuild {
    /// From `--rebuild`: `all`, or model ids separated by commas.
    pub fn parse(text: &str) -> Rebuild {
        match text.trim() {
            "" => Rebuild::Nothing,
            "all" => Rebuild::All,
            list => Rebuild::These(list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()),
        }
    }

    fn wants(&self, id: &str) -> bool {
        match self {
            Rebuild::Nothing => false,
            Rebuild::All => true,
            Rebuild::These(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// The card of model `id` under `out/models/` if it can stand for this run's stage: not
/// asked to be rebuilt, recorded with the same `key`, and its ONNX file present at the
/// recorded size. Says on stderr why a cached model is not reused.
pub fn cached(out: &Path, id: &str, key: &serde_json::Value, rebuild: &Rebuild) -> Option<TrainingCard> {
    if rebuild.wants(id) {
        return None;
    }
    let text = std::fs::read_to_string(out.join(format!("models/{id}.card.json"))).ok()?;
    let card: TrainingCard = match serde_json::from_str(&text) {
        Ok(card) => card,
        Err(e) => {
            eprintln!("{id}: the cached card does not parse ({e}); training again");
            return None;
        }
    };
    match &card.stage {
        Some(stage) if &stage.key == key => {}
        _ => {
            eprintln!("{id}: the cached model was made from other inputs; training again");
            return None;
        }
    }
    let onnx = std::fs::metadata(out.join(format!("models/{id}.onnx"))).ok()?;
    (onnx.len() == card.bytes).then_some(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuild_lists_parse() {
        assert_eq!(Rebuild::parse("all"), Rebuild::All);
        assert_eq!(Rebuild::parse(""), Rebuild::Nothing);
        let r = Rebuild::parse("teacher, student-d7");
        assert!(r.wants("teacher") && r.wants("student-d7") && !r.wants("baseline-d7"));
    }
}
