//! The demo manifest: which models, how to preprocess for each, which labelled images,
//! and the cost and threshold defaults. The bundled demo and a user's own are both just
//! a manifest; file paths in it are relative to the manifest's own location.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::cost::CostInputs;
use crate::error::{Error, Result};
use crate::preprocess::PreprocessSpec;
use crate::verdict::Thresholds;

/// Largest manifest accepted, in bytes (a manifest is a page of JSON, not a data file).
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// One model of the demo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Identifier used by `teacher`, `student` and `ladder`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ONNX file, relative to the manifest.
    pub file: String,
    /// How to turn images into this model's input.
    #[serde(default)]
    pub preprocess: PreprocessSpec,
    /// Optional training model card (JSON), relative to the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
}

/// A labelled evaluation set as an IDX pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSet {
    /// Images IDX `[n, h, w]` (optionally gzip), relative to the manifest.
    pub images: String,
    /// Labels IDX `[n]` (optionally gzip), relative to the manifest.
    pub labels: String,
}

/// One picture in the gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GalleryImage {
    /// PNG or JPEG file, relative to the manifest.
    pub file: String,
    /// Class index into `labels`.
    pub label: usize,
}

/// A demo: models, labels, data and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Title shown on the page and in reports.
    pub title: String,
    /// One or two sentences on what the models do.
    #[serde(default)]
    pub description: String,
    /// Class names, index = class.
    pub labels: Vec<String>,
    /// All models.
    pub models: Vec<ModelEntry>,
    /// Id of the teacher.
    pub teacher: String,
    /// Id of the chosen student.
    pub student: String,
    /// Ids of the compression ladder, smallest first (may include the student).
    #[serde(default)]
    pub ladder: Vec<String>,
    /// Why this student was chosen from the ladder (shown beside the ladder plot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    /// Labelled evaluation set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<SampleSet>,
    /// Individual images to show.
    #[serde(default)]
    pub gallery: Vec<GalleryImage>,
    /// Cost-model defaults.
    #[serde(default)]
    pub cost: CostInputs,
    /// Verdict thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
}

impl Manifest {
    /// Parses and checks manifest JSON.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(Error::invalid(
                "manifest",
                format!("{} bytes; the limit is {MAX_MANIFEST_BYTES}", bytes.len()),
            ));
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| Error::invalid("manifest", e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks references and values that JSON types alone cannot.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid("manifest", m));
        if self.labels.len() < 2 {
            return bad(format!("{} label(s); a classifier needs at least 2", self.labels.len()));
        }
        let mut ids = HashSet::new();
        for m in &self.models {
            if m.id.is_empty() || m.file.trim().is_empty() {
                return bad("every model needs an id and a file".into());
            }
            if !ids.insert(m.id.as_str()) {
                return bad(format!("model id '{}' appears twice", m.id));
            }
        }
        for (role, id) in [("teacher", &self.teacher), ("student", &self.student)] {
            if !ids.contains(id.as_str()) {
                return bad(format!("{role} '{id}' is not among the models"));
            }
        }
        if self.teacher == self.student {
            return bad("teacher and student are the same model".into());
        }
        if let Some(id) = self.ladder.iter().find(|id| !ids.contains(id.as_str())) {
            return bad(format!("ladder model '{id}' is not among the models"));
        }
        if let Some(g) = self.gallery.iter().find(|g| g.label >= self.labels.len()) {
            return bad(format!(
                "gallery image '{}' has label {} but there are {} labels",
                g.file,
                g.label,
                self.labels.len()
            ));
        }
        self.cost.check().map_err(|e| Error::invalid("manifest", format!("cost: {e}")))?;
        self.thresholds.check().map_err(|e| Error::invalid("manifest", format!("thresholds: {e}")))?;
        Ok(())
    }

    /// The entry with `id`.
    pub fn model(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The teacher's entry.
    pub fn teacher_entry(&self) -> &ModelEntry {
        self.model(&self.teacher).expect("checked by Manifest::check")
    }

    /// The student's entry.
    pub fn student_entry(&self) -> &ModelEntry {
        self.model(&self.student).expect("checked by Manifest::check")
    }
}

/// Parses a labels file: JSON array of strings, or one label per line (blank lines skipped).
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<String>> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::invalid("labels file", "not UTF-8 text"))?;
    let labels: Vec<String> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| Error::invalid("labels file", e.to_string()))?
    } else {
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
    };
    if labels.len() < 2 {
        return Err(Error::invalid("labels file", format!("{} label(s); need at least 2", labels.len())));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const GOOD: &str = r#"{
        "title": "t", "labels": ["a", "b"],
        "models": [{"id": "big", "name": "Big", "file": "big.onnx"},
                   {"id": "small", "name": "Small", "file": "small.onnx", "preprocess": {"invert": true}}],
        "teacher": "big", "student": "small",
        "samples": {"images": "i.idx", "labels": "l.idx"},
        "gallery": [{"file": "x.png", "label": 1}]
    }"#;

    #[test]
    fn parses_with_defaults() {
        let m = Manifest::parse(GOOD.as_bytes()).expect("valid");
        assert_eq!(m.student_entry().name, "Small");
        assert!(m.student_entry().preprocess.invert);
        assert_eq!(m.cost, CostInputs::mission());
        assert_eq!(m.thresholds, Thresholds::default());
    }

    #[test]
    fn broken_references_are_named() {
        for (from, to, needle) in [
            (r#""student": "small""#, r#""student": "tiny""#, "student 'tiny'"),
            (r#""student": "small""#, r#""student": "big""#, "same model"),
            (r#""label": 1"#, r#""label": 5"#, "label 5"),
            (r#""id": "small""#, r#""id": "big""#, "twice"),
            (r#""labels": ["a", "b"]"#, r#""labels": ["a"]"#, "at least 2"),
            (
                r#""title": "t""#,
                r#""title": "t", "cost": {"orders_per_day": -5, "items_per_order": 1, "inferences_per_item": 1, "robot_cost_per_hour": 1, "critical_path_share": 1, "compute_cost_per_core_hour": 1, "operating_days_per_year": 1}"#,
                "orders per day",
            ),
        ] {
            let text = GOOD.replace(from, to);
            let err = Manifest::parse(text.as_bytes()).expect_err(needle).to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        for text in ["", "{", "[]", "null", r#"{"title": 5}"#, &GOOD[..GOOD.len() / 2]] {
            assert!(Manifest::parse(text.as_bytes()).is_err(), "{text}");
        }
        assert!(Manifest::parse(GOOD.replace(r#""title""#, r#""titel""#).as_bytes()).is_err());
    }

    #[test]
    fn labels_from_lines_or_json() {
        assert_eq!(parse_labels(b"cat\n\ndog\n").expect("lines"), vec!["cat", "dog"]);
        assert_eq!(parse_labels(br#"["cat","dog"]"#).expect("json"), vec!["cat", "dog"]);
        assert!(parse_labels(b"cat").is_err());
        assert!(parse_labels(&[0xff, 0xfe]).is_err());
    }
}
