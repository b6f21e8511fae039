//! `distillate bench`: evaluate both models on labelled images, time them interleaved,
//! price the difference, judge the student, and write the report.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use distillate_engine::bench::{AbBenchmark, BenchConfig, InstantClock};
use distillate_engine::cost::CostInputs;
use distillate_engine::manifest::Manifest;
use distillate_engine::metrics::Evaluation;
use distillate_engine::report::{Environment, LatencyReport, ModelReport};
use distillate_engine::runner::check_pair;
use distillate_engine::scorecard::scorecard_svg;
use distillate_engine::verdict::Thresholds;
use distillate_engine::{Model, PreprocessSpec, Report, Runner};

use crate::args::{BenchPlan, Source};
use crate::data::{self, Images, read};

/// One side of the comparison, as configured.
struct Side {
    name: String,
    path: PathBuf,
    preprocess: PreprocessSpec,
}

/// Everything a run needs, from a manifest or from flags.
struct Setup {
    title: String,
    teacher: Side,
    student: Side,
    images: Images,
    class_names: Option<Vec<String>>,
    cost: CostInputs,
    thresholds: Thresholds,
}

pub fn run(plan: &BenchPlan) -> anyhow::Result<()> {
    let mut setup = setup(&plan.source)?;
    if let Some(n) = plan.limit {
        setup.images.truncate(n);
    }
    let load = |side: &Side, role: &str| -> anyhow::Result<Runner> {
        let model =
            Model::load(&read(&side.path)?).with_context(|| format!("cannot load {role} {}", side.path.display()))?;
        Runner::new(&model, &side.preprocess).with_context(|| format!("cannot prepare {role} {}", side.path.display()))
    };
    let mut teacher = load(&setup.teacher, "teacher")?;
    let mut student = load(&setup.student, "student")?;
    let classes = teacher.card().classes;
    let class_names = setup.class_names.clone().unwrap_or_else(|| (0..classes).map(|i| format!("class {i}")).collect());
    check_pair(teacher.card(), student.card(), class_names.len())?;

    let evaluation = evaluate(&mut teacher, &mut student, &setup.images, classes)?;

    eprintln!("benchmarking latency (interleaved, {})…", if plan.quick { "quick" } else { "3 s" });
    let config = if plan.quick { BenchConfig::quick() } else { BenchConfig::default() };
    let clock = InstantClock::default();
    // The models still hold the last evaluated image: time inference alone.
    let samples = AbBenchmark::new(config)?
        .run(&clock, &mut || teacher.run_current().map(|_| ()), &mut || student.run_current().map(|_| ()))?;

    let mut report = Report::new(
        &setup.title,
        &now_rfc3339(),
        environment(),
        ModelReport { name: setup.teacher.name.clone(), card: teacher.card().clone() },
        ModelReport { name: setup.student.name.clone(), card: student.card().clone() },
        class_names,
    );
    report.latency = Some(LatencyReport::from_samples(&samples)?);
    report.evaluation = Some(evaluation);
    report.derive(&setup.cost, &setup.thresholds)?;

    let markdown = report.to_markdown();
    println!("{markdown}");
    std::fs::create_dir_all(&plan.out).with_context(|| format!("cannot create {}", plan.out.display()))?;
    let json_path = plan.out.join("report.json");
    let md_path = plan.out.join("report.md");
    std::fs::write(&json_path, report.to_json()).with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&md_path, markdown).with_context(|| format!("cannot write {}", md_path.display()))?;
    // The report has latency and evaluation here, so the scorecard always renders.
    let svg_path = plan.out.join("scorecard.svg");
    std::fs::write(&svg_path, scorecard_svg(&report)?)
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    eprintln!("wrote {}, {} and {}", json_path.display(), md_path.display(), svg_path.display());
    Ok(())
}

fn evaluate(
    teacher: &mut Runner,
    student: &mut Runner,
    images: &Images,
    classes: usize,
) -> anyhow::Result<distillate_engine::metrics::EvalSummary> {
    let n = images.len();
    let mut eval = Evaluation::new(classes);
    let step = (n / 10).max(1);
    for i in 0..n {
        let (t, s) = match images {
            Images::Idx(set) => {
                let pixels = set.image(i);
                let t = teacher.classify_luma8(set.width, set.height, pixels)?.to_vec();
                let s = student.classify_luma8(set.width, set.height, pixels)?.to_vec();
                (t, s)
            }
            Images::Files(files) => {
                let path = &files[i].0;
                let bytes = read(path)?;
                let ctx = || format!("image {}", path.display());
                let t = teacher.classify_bytes(&bytes).with_context(ctx)?.to_vec();
                let s = student.classify_bytes(&bytes).with_context(ctx)?.to_vec();
                (t, s)
            }
        };
        eval.add(&t, &s, images.label(i)).with_context(|| format!("image {i}"))?;
        if (i + 1) % step == 0 || i + 1 == n {
            eprint!("\revaluating {}/{n}", i + 1);
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!();
    Ok(eval.summary()?)
}

fn setup(source: &Source) -> anyhow::Result<Setup> {
    match source {
        Source::Manifest(path) => {
            let manifest = Manifest::parse(&read(path)?).with_context(|| format!("cannot use {}", path.display()))?;
            let base = path.parent().unwrap_or(Path::new("."));
            let side = |id: &str| {
                let entry = manifest.model(id).expect("checked by Manifest::parse");
                Side { name: entry.name.clone(), path: base.join(&entry.file), preprocess: entry.preprocess.clone() }
            };
            let images = match (&manifest.samples, manifest.gallery.is_empty()) {
                (Some(s), _) => data::idx_pair(&base.join(&s.images), &base.join(&s.labels))?,
                (None, false) => {
                    Images::Files(manifest.gallery.iter().map(|g| (base.join(&g.file), g.label)).collect())
                }
                (None, true) => bail!("{} has neither samples nor gallery images to evaluate on", path.display()),
            };
            Ok(Setup {
                title: manifest.title.clone(),
                teacher: side(&manifest.teacher),
                student: side(&manifest.student),
                images,
                class_names: Some(manifest.labels.clone()),
                cost: manifest.cost.clone(),
                thresholds: manifest.thresholds.clone(),
            })
        }
        Source::Files { teacher, student, images, labels, class_names, preprocess } => {
            let names = class_names.as_deref().map(data::class_names).transpose()?;
            let set = if images.is_dir() {
                data::image_dir(images, labels, names.as_deref().unwrap_or(&[]))?
            } else {
                data::idx_pair(images, labels)?
            };
            let side = |p: &PathBuf| Side {
                name: p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
                path: p.clone(),
                preprocess: preprocess.clone(),
            };
            Ok(Setup {
                title: format!("{} vs {}", teacher.display(), student.display()),
                teacher: side(teacher),
                student: side(student),
                images: set,
                class_names: names,
                cost: CostInputs::default(),
                thresholds: Thresholds::default(),
            })
        }
    }
}

fn environment() -> Environment {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    Environment {
        target: format!("{}-{} (native)", std::env::consts::ARCH, std::env::consts::OS),
        host: cpu,
        cores: std::thread::available_parallelism().ok().map(|n| n.get()),
        engine_build: format!("distillate-engine {} (tract-onnx 0.23, single thread)", env!("CARGO_PKG_VERSION")),
        timer_resolution_ms: 1e-6,
    }
}

/// UTC now as RFC 3339, from the system clock (civil-from-days, H. Hinnant's algorithm).
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}
