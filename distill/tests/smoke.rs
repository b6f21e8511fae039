//! The pipeline's smoke run passes through every stage on real Fashion-MNIST files and
//! leaves a site-ready output: ONNX models tract loads, model cards, ladder, samples, manifest.

use distillate_distill::config::PipelineConfig;
use distillate_distill::export::PARITY_TOLERANCE;
use distillate_distill::pipeline::{Options, run};
use distillate_distill::stage::Rebuild;
use distillate_engine::manifest::Manifest;
use distillate_engine::training::{Role, TrainingCard};
use distillate_engine::{Model, Report};

#[test]
fn smoke_pipeline_writes_everything_the_site_needs() {
    let out = tempfile::tempdir().expect("tempdir");
    let options = Options { cache_dir: out.path().join("cache"), ..Options::default() };
    let summary = run(&PipelineConfig::smoke(), out.path(), &options).expect("smoke pipeline runs");

    // Teacher (the ensemble of its two members), two distilled students, the chosen one
    // quantized to int8, its two cross-entropy baselines (early stopped, and every epoch with
    // the last weights).
    let roles: Vec<Role> = summary.cards.iter().map(|c| c.role).collect();
    use Role::*;
    assert_eq!(roles, [Teacher, Student, Student, Quantized, Baseline, Baseline]);
    let int8 = &summary.cards[3];
    let q = int8.quantization.as_ref().expect("the int8 card says how it was made");
    let float = summary.cards.iter().find(|c| c.id == q.from).expect("its float model");
    assert_eq!(
        (q.from.as_str(), int8.id.as_str()),
        (summary.chosen.as_str(), format!("{}-int8", summary.chosen).as_str())
    );
    // (Smaller only for real sizes: these students have a few hundred weights, less than
    // the names of their scales; engine/src/quantize.rs tests the size.)
    assert!((q.bytes_ratio - int8.bytes as f64 / float.bytes as f64).abs() < 1e-9);
    assert!((0.0..=1.0).contains(&q.float_agreement) && q.native_latency_ratio > 0.0 && !q.use_as.is_empty());
    assert_eq!(summary.verdicts.len(), 2);
    let teacher = &summary.cards[0];
    assert_eq!(teacher.members, ["teacher-1", "teacher-2"], "the smoke teacher is an ensemble of two");
    for id in &teacher.members {
        let member: TrainingCard = serde_json::from_slice(
            &std::fs::read(out.path().join(format!("models/{id}.card.json"))).expect("member card"),
        )
        .expect("member card parses");
        assert_eq!((member.role, member.params * 2), (Role::Teacher, teacher.params), "{id}");
        assert!(!member.training.epochs.is_empty());
    }
    assert!(teacher.training.epochs.is_empty(), "the ensemble trains nothing itself; its members' epochs are theirs");
    assert!(summary.cards.iter().all(|c| c.stage.as_ref().is_some_and(|s| s.seconds > 0.0)));
    let full = summary.full_length_baseline.as_deref().expect("a full-length baseline");
    let full = summary.cards.iter().find(|c| c.id == full).expect("its card");
    assert!(!full.config.restore_best && full.training.best_epoch == full.training.epochs.len());
    assert!(summary.speedup > 0.0);
    assert!(summary.ladder.contains(&summary.chosen));
    assert!(!summary.reason.is_empty());

    let manifest = Manifest::parse(&std::fs::read(out.path().join("demo.json")).expect("manifest")).expect("valid");
    assert_eq!(manifest.teacher, "teacher");
    assert_eq!(manifest.student, summary.chosen);
    assert!(manifest.ladder.contains(&int8.id), "the int8 rung is on the page's ladder");
    for entry in &manifest.models {
        let bytes = std::fs::read(out.path().join(&entry.file)).expect("model file");
        let model = Model::load(&bytes).expect("tract loads the export");
        let card: TrainingCard = serde_json::from_slice(
            &std::fs::read(out.path().join(entry.card.as_ref().expect("card"))).expect("card file"),
        )
        .expect("card parses");
        assert_eq!(card.params, model.card().params);
        assert!(card.export_max_abs_diff <= PARITY_TOLERANCE);
        assert!((0.0..=1.0).contains(&card.test_accuracy));
        assert_eq!(card.test_images, 200);
        assert!(card.training.epochs.len() <= 2 && card.training.epochs.is_empty() != card.members.is_empty());
        assert!(card.native_latency_ms > 0.0);
    }
    let samples = manifest.samples.as_ref().expect("samples");
    assert!(out.path().join(&samples.images).exists() && out.path().join(&samples.labels).exists());
    assert!(out.path().join("models/ladder.json").exists());
    // Reports and cards are different types; make sure nobody confuses them.
    assert!(Report::from_json(&std::fs::read(out.path().join("models/ladder.json")).expect("ladder")).is_err());

    // A second run reuses every stage (nothing is trained again: the cards keep the
    // records of the stages that made them), and --rebuild trains the named one anew.
    let again = run(&PipelineConfig::smoke(), out.path(), &options).expect("second run");
    for (a, b) in summary.cards.iter().zip(&again.cards) {
        assert_eq!((a.stage.as_ref(), &a.training), (b.stage.as_ref(), &b.training), "{} was trained again", a.id);
    }
    let rebuild = Options { rebuild: Rebuild::parse("student-w2"), ..options };
    let third = run(&PipelineConfig::smoke(), out.path(), &rebuild).expect("third run");
    let started = |s: &distillate_distill::pipeline::LadderSummary, id: &str| {
        s.cards.iter().find(|c| c.id == id).and_then(|c| c.stage.clone()).expect("stage record")
    };
    assert_eq!(started(&third, "teacher"), started(&summary, "teacher"));
    assert_ne!(started(&third, "student-w2"), started(&summary, "student-w2"));
}
