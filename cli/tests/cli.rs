//! End-to-end tests of the `distillate` binary on models and data the tests make.

use std::path::Path;
use std::process::{Command, Output};

use distillate_engine::idx;
use distillate_engine::onnx_build::{OnnxBuilder, RandomCnn};

fn distillate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distillate")).args(args).output().expect("runs the binary")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A clean refusal: non-zero exit, one `distillate:` line naming `needle`, no panic.
fn assert_refused(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(err.starts_with("distillate: ") && err.trim_end().lines().count() == 1, "one line: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
}

fn write_model(dir: &Path, name: &str, spec: RandomCnn) -> String {
    let path = dir.join(name);
    std::fs::write(&path, spec.build()).expect("writes model");
    path.to_string_lossy().into_owned()
}

/// 40 gray 28×28 images with labels 0–9, as an IDX pair.
fn write_idx_set(dir: &Path) {
    let mut rng = distillate_engine::onnx_build::SplitMix64(3);
    let pixels: Vec<u8> = (0..40 * 784).map(|_| rng.next_u64() as u8).collect();
    let labels: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
    std::fs::write(dir.join("images.idx"), idx::write(&[40, 28, 28], &pixels).expect("idx")).expect("writes");
    std::fs::write(dir.join("labels.idx"), idx::write(&[40], &labels).expect("idx")).expect("writes");
}

#[test]
fn inspect_prints_the_card_for_every_input_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (c, s) in [(1, 28), (3, 32), (3, 64), (3, 224)] {
        let path = write_model(
            dir.path(),
            &format!("m{c}x{s}.onnx"),
            RandomCnn { channels: c, height: s, width: s, ..Default::default() },
        );
        let out = distillate(&["inspect", &path]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(&format!("{c}×{s}×{s}")), "{text}");
        assert!(text.contains("classes     10"), "{text}");
    }
    let path = write_model(dir.path(), "j.onnx", RandomCnn::default());
    let json: serde_json::Value =
        serde_json::from_slice(&distillate(&["inspect", "--json", &path]).stdout).expect("json");
    assert_eq!(json["params"], 80 + 1168 + 170);
}

#[test]
fn inspect_refuses_broken_files_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").expect("writes");
    assert_refused(&distillate(&["inspect", &empty.to_string_lossy()]), "empty");

    let truncated = dir.path().join("truncated.onnx");
    let bytes = RandomCnn::default().build();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("writes");
    assert_refused(&distillate(&["inspect", &truncated.to_string_lossy()]), "truncated.onnx");

    let unsupported = dir.path().join("op.onnx");
    let mut b = OnnxBuilder::image_classifier(1, 8, 8);
    b.node("MysteryOp", &[], &[]).flatten();
    std::fs::write(&unsupported, b.build()).expect("writes");
    assert_refused(
        &distillate(&["inspect", &unsupported.to_string_lossy()]),
        "unsupported ONNX operator(s): MysteryOp",
    );

    assert_refused(&distillate(&["inspect", "/definitely/not/here.onnx"]), "cannot read");
    assert_refused(&distillate(&["inspect", &dir.path().to_string_lossy()]), "is a directory");
}

/// A random teacher and student, 40 IDX images and `demo.json` naming them, in `dir`.
fn write_demo(dir: &Path) -> String {
    write_model(dir, "teacher.onnx", RandomCnn { filters: 16, seed: 1, ..Default::default() });
    write_model(dir, "student.onnx", RandomCnn { filters: 4, seed: 2, ..Default::default() });
    write_idx_set(dir);
    let labels: Vec<String> = (0..10).map(|i| format!("\"item {i}\"")).collect();
    let manifest = format!(
        r#"{{"title": "CLI test", "labels": [{}],
            "models": [{{"id": "t", "name": "Teacher", "file": "teacher.onnx"}},
                       {{"id": "s", "name": "Student", "file": "student.onnx"}}],
            "teacher": "t", "student": "s",
            "samples": {{"images": "images.idx", "labels": "labels.idx"}}}}"#,
        labels.join(",")
    );
    let path = dir.join("demo.json");
    std::fs::write(&path, manifest).expect("writes");
    path.to_string_lossy().into_owned()
}

#[test]
fn bench_with_a_manifest_writes_json_and_markdown_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_demo(dir.path());
    let out_dir = dir.path().join("out");
    let out = distillate(&["bench", "--manifest", &manifest, "--quick", "--out", &out_dir.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("## Readiness"));
    let report =
        distillate_engine::Report::from_json(&std::fs::read(out_dir.join("report.json")).expect("json written"))
            .expect("parses");
    let eval = report.evaluation.as_ref().expect("evaluation");
    assert_eq!(eval.images, 40);
    assert!((0.0..=1.0).contains(&eval.teacher_accuracy));
    let latency = report.latency.as_ref().expect("latency");
    assert!(latency.teacher.median > 0.0 && latency.student.median > 0.0);
    assert!(report.cost.is_some() && report.verdict.is_some());
    assert_eq!(report.teacher.name, "Teacher");
    assert!(std::fs::read_to_string(out_dir.join("report.md")).expect("md written").contains("| Teacher |"));
    assert!(std::fs::read_to_string(out_dir.join("scorecard.svg")).expect("svg written").contains("</svg>"));
}

#[test]
fn bench_reports_energy_where_a_counter_is_readable_and_says_so_where_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_demo(dir.path());
    let powercap = dir.path().join("powercap");
    let run = |name: &str| {
        let out_dir = dir.path().join(name);
        let out = distillate(&[
            "bench",
            "--manifest",
            &manifest,
            "--quick",
            "--limit",
            "5",
            "--powercap",
            &powercap.to_string_lossy(),
            "--out",
            &out_dir.to_string_lossy(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let json = std::fs::read(out_dir.join("report.json")).expect("json written");
        (distillate_engine::Report::from_json(&json).expect("parses"), stderr(&out))
    };
    let (report, log) = run("none");
    assert!(report.energy.is_none() && log.contains("energy: not measured on this device"), "{log}");
    assert!(report.to_markdown().contains("Energy: not measured on this device"));
    // A package counter (this one never moves: 0 J above idle, but read and reported).
    let zone = powercap.join("intel-rapl:0");
    std::fs::create_dir_all(&zone).expect("mkdir");
    std::fs::write(zone.join("name"), "package-0\n").expect("write");
    std::fs::write(zone.join("energy_uj"), "12345\n").expect("write");
    let (report, _) = run("counted");
    let energy = report.energy.as_ref().expect("measured");
    assert_eq!((energy.source.as_str(), energy.teacher_j, energy.student_j), ("intel-rapl:0 (package-0)", 0.0, 0.0));
    assert_eq!(report.cost.as_ref().and_then(|c| c.student.energy_j_per_inference), Some(0.0));
}

#[test]
fn bench_with_files_accepts_different_input_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let teacher = write_model(dir.path(), "t.onnx", RandomCnn { filters: 8, ..Default::default() });
    let student = write_model(
        dir.path(),
        "s.onnx",
        RandomCnn { channels: 3, height: 32, width: 32, filters: 4, ..Default::default() },
    );
    let images = dir.path().join("imgs");
    std::fs::create_dir(&images).expect("mkdir");
    let mut csv = String::from("file,label\n");
    for i in 0..6u8 {
        let img = image::RgbImage::from_pixel(40 + u32::from(i), 30, image::Rgb([i * 40, 100, 200]));
        img.save(images.join(format!("{i}.png"))).expect("saves png");
        csv.push_str(&format!("{i}.png,{}\n", i % 10));
    }
    std::fs::write(dir.path().join("labels.csv"), csv).expect("writes");
    let out = distillate(&[
        "bench",
        "--teacher",
        &teacher,
        "--student",
        &student,
        "--images",
        &images.to_string_lossy(),
        "--labels",
        &dir.path().join("labels.csv").to_string_lossy(),
        "--quick",
        "--out",
        &dir.path().join("out").to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("3×32×32"));
}

#[test]
fn bench_refuses_mismatched_classes_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let teacher = write_model(dir.path(), "t.onnx", RandomCnn::default());
    let student = write_model(dir.path(), "s.onnx", RandomCnn { classes: 7, ..Default::default() });
    write_idx_set(dir.path());
    let (images, labels) = (dir.path().join("images.idx"), dir.path().join("labels.idx"));
    let out = distillate(&[
        "bench",
        "--teacher",
        &teacher,
        "--student",
        &student,
        "--images",
        &images.to_string_lossy(),
        "--labels",
        &labels.to_string_lossy(),
        "--quick",
    ]);
    assert_refused(&out, "the teacher has 10 classes and the student 7");

    std::fs::write(
        dir.path().join("demo.json"),
        r#"{"title": "x", "labels": ["a", "b"], "models": [{"id": "t", "name": "T", "file": "gone.onnx"},
           {"id": "s", "name": "S", "file": "s.onnx"}], "teacher": "t", "student": "s",
           "samples": {"images": "images.idx", "labels": "labels.idx"}}"#,
    )
    .expect("writes");
    let out = distillate(&["bench", "--manifest", &dir.path().join("demo.json").to_string_lossy(), "--quick"]);
    assert_refused(&out, "gone.onnx");

    std::fs::write(dir.path().join("bad.json"), "{ not json").expect("writes");
    assert_refused(
        &distillate(&["bench", "--manifest", &dir.path().join("bad.json").to_string_lossy()]),
        "invalid manifest",
    );
    assert_refused(
        &distillate(&[
            "bench",
            "--teacher",
            &teacher,
            "--student",
            &student,
            "--images",
            &images.to_string_lossy(),
            "--labels",
            &labels.to_string_lossy(),
            "--limit",
            "0",
        ]),
        "--limit",
    );
}

#[test]
fn synth_writes_a_model_inspect_accepts_and_refuses_bad_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("synth.onnx");
    let out = distillate(&["synth", "--shape", "3x64x64", "--classes", "5", "--out", &path.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&distillate(&["inspect", &path.to_string_lossy()]));
    assert!(text.contains("3×64×64") && text.contains("classes     5"), "{text}");
    assert_refused(&distillate(&["synth", "--shape", "5x8", "--out", &path.to_string_lossy()]), "--shape");
    assert_refused(
        &distillate(&["synth", "--shape", "4x8x8", "--out", &path.to_string_lossy()]),
        "channels must be 1 or 3",
    );
}

#[test]
fn load_runs_closed_and_open_loop_per_worker_count_and_writes_its_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_demo(dir.path());
    let out_dir = dir.path().join("load");
    let out = distillate(&[
        "load",
        "--manifest",
        &manifest,
        "--workers",
        "1,2",
        "--rate",
        "200",
        "--duration",
        "300ms",
        "--warmup",
        "50ms",
        "--out",
        &out_dir.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = distillate_engine::load_report::LoadReport::parse(
        &std::fs::read(out_dir.join("load.json")).expect("json written"),
    )
    .expect("parses");
    assert_eq!(report.model.name, "Student");
    let shape: Vec<(usize, bool)> = report
        .runs
        .iter()
        .map(|r| (r.config.workers, r.config.arrival == distillate_engine::load::Arrival::Closed))
        .collect();
    assert_eq!(shape, [(1, true), (1, false), (2, true), (2, false)]);
    for run in &report.runs {
        assert!(run.completed > 0 && run.achieved_per_s > 0.0, "{run:?}");
    }
    // An open loop at 200/s for 300 ms schedules 60 requests: each completed or dropped.
    assert_eq!(report.runs[1].completed + report.runs[1].dropped, 60);
    assert!(std::fs::read_to_string(out_dir.join("load.md")).expect("md").contains("| 2 | open | 200 |"));
    assert!(std::fs::read_to_string(out_dir.join("load.svg")).expect("svg").ends_with("</svg>"));
}

#[test]
fn load_refuses_impossible_plans_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_demo(dir.path());
    assert_refused(&distillate(&["load", "--manifest", &manifest, "--workers", "0"]), "--workers");
    assert_refused(&distillate(&["load", "--manifest", &manifest, "--rate=-5"]), "--rate");
    assert_refused(&distillate(&["load", "--manifest", &manifest, "--duration", "soon"]), "--duration");
    let missing = dir.path().join("nope.json");
    assert_refused(&distillate(&["load", "--manifest", &missing.to_string_lossy()]), "nope.json");
}

#[test]
fn compare_tables_reports_of_one_pair_and_refuses_another_pair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_demo(dir.path());
    let mut reports = Vec::new();
    for device in ["laptop", "pi"] {
        let out_dir = dir.path().join(device);
        let out = distillate(&["bench", "--manifest", &manifest, "--quick", "--out", &out_dir.to_string_lossy()]);
        assert!(out.status.success(), "{}", stderr(&out));
        reports.push(out_dir.join("report.json").to_string_lossy().into_owned());
    }
    let out = distillate(&["compare", &reports[0], &reports[1]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(table.lines().filter(|l| l.contains("report.json |")).count(), 2, "{table}");
    assert!(table.contains("SIMD "), "the device line names the kernels' SIMD: {table}");

    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&reports[1]).expect("reads")).expect("json");
    // A retrained student: same shapes and counts, another file.
    other["student"]["card"]["sha256"] = serde_json::json!("0".repeat(64));
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).expect("writes");
    assert_refused(&distillate(&["compare", &reports[0], &other_path.to_string_lossy()]), "another pair");
    assert_refused(&distillate(&["compare", &reports[0], &manifest]), "cannot use");
}
