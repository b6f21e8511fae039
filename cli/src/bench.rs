//! `distillate bench`: evaluate both models on labelled images, time them interleaved,
//! price the difference, judge the student, and write the report.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use distillate_engine::bench::{AbBenchmark, BenchConfig, InstantClock};
use distillate_engine::cost::CostInputs;
use distillate_engine::manifest::Manifest;
use distillate_engine::pair::{Image, Source as PairSource};
use distillate_engine::report::{LatencyReport, ModelReport};
use distillate_engine::scorecard::scorecard_svg;
use distillate_engine::verdict::Thresholds;
use distillate_engine::{Pair, PreprocessSpec, Report};

use crate::args::{BenchPlan, Source};
use crate::data::{self, Images, read};

/// One side of the comparison, as configured.
pub(crate) struct Side {
    pub name: String,
    pub path: PathBuf,
    pub preprocess: PreprocessSpec,
}

impl Side {
    fn source<'a>(&'a self, bytes: &'a [u8]) -> PairSource<'a> {
        PairSource { name: &self.name, bytes, preprocess: &self.preprocess }
    }
}

/// Everything a run needs, from a manifest or from flags.
pub(crate) struct Setup {
    title: String,
    pub teacher: Side,
    pub student: Side,
    pub images: Images,
    class_names: Option<Vec<String>>,
    cost: CostInputs,
    thresholds: Thresholds,
}

pub fn run(plan: &BenchPlan) -> anyhow::Result<()> {
    let mut setup = setup(&plan.source)?;
    if let Some(n) = plan.limit {
        setup.images.truncate(n);
    }
    let (teacher_bytes, student_bytes) = (read(&setup.teacher.path)?, read(&setup.student.path)?);
    // Without class names, the teacher's output size says how many classes there are.
    let classes = match &setup.class_names {
        Some(names) => names.len(),
        None => {
            distillate_engine::Model::load(&teacher_bytes)
                .with_context(|| format!("cannot load teacher {}", setup.teacher.path.display()))?
                .card()
                .classes
        }
    };
    let mut pair = Pair::load(setup.teacher.source(&teacher_bytes), setup.student.source(&student_bytes), classes)?;
    let class_names = setup.class_names.clone().unwrap_or_else(|| (0..classes).map(|i| format!("class {i}")).collect());

    let evaluation = evaluate(&mut pair, &setup.images)?;

    eprintln!("benchmarking latency (interleaved, {})…", if plan.quick { "quick" } else { "3 s" });
    let config = if plan.quick { BenchConfig::quick() } else { BenchConfig::default() };
    let clock = InstantClock::default();
    // The models still hold the last evaluated image: time inference alone.
    let (teacher, student) = pair.runners();
    let samples = AbBenchmark::new(config)?
        .run(&clock, &mut || teacher.run_current().map(|_| ()), &mut || student.run_current().map(|_| ()))?;

    let mut report = Report::new(
        &setup.title,
        &distillate_engine::utc::now_rfc3339(),
        crate::device::environment(),
        ModelReport { name: setup.teacher.name.clone(), card: teacher.card().clone() },
        ModelReport { name: setup.student.name.clone(), card: student.card().clone() },
        class_names,
    );
    report.latency = Some(LatencyReport::from_samples(&samples)?);
    report.evaluation = Some(evaluation);
    report.energy = match crate::energy::find(&plan.powercap) {
        Ok(counter) => {
            let seconds = if plan.quick { 0.3 } else { 2.0 };
            eprintln!("measuring energy with {} (idle, then each model alone for {seconds} s)…", counter.name);
            Some(counter.measure(seconds, &mut || Ok(teacher.run_current().map(|_| ())?), &mut || {
                Ok(student.run_current().map(|_| ())?)
            })?)
        }
        Err(why) => {
            eprintln!("energy: not measured on this device — {why}");
            None
        }
    };
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

fn evaluate(pair: &mut Pair, images: &Images) -> anyhow::Result<distillate_engine::metrics::EvalSummary> {
    let n = images.len();
    let mut eval = pair.evaluation();
    let step = (n / 10).max(1);
    for i in 0..n {
        match images {
            Images::Idx(set) => {
                pair.observe(&mut eval, Image::sample(set, i), set.labels[i]).with_context(|| format!("image {i}"))?
            }
            Images::Files(files) => {
                let (path, label) = &files[i];
                let bytes = read(path)?;
                pair.observe(&mut eval, Image::Encoded(&bytes), *label)
                    .with_context(|| format!("image {}", path.display()))?
            }
        }
        if (i + 1) % step == 0 || i + 1 == n {
            eprint!("\revaluating {}/{n}", i + 1);
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!();
    Ok(eval.summary()?)
}

pub(crate) fn setup(source: &Source) -> anyhow::Result<Setup> {
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
