//! Command-line arguments, and their check into a [`BenchPlan`] that cannot be half-valid.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};

/// Measure a teacher image classifier and its distilled student on this machine.
#[derive(Debug, Parser)]
#[command(name = "distillate", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a model's card: input, classes, parameters, MACs, size, operators.
    Inspect(InspectArgs),
    /// Accuracy, fidelity, interleaved latency, cost and verdict for a teacher and student.
    Bench(BenchArgs),
    /// Write a small random-weight CNN (for trying the tools on a new input shape, and tests).
    Synth(SynthArgs),
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Input shape C×H×W, e.g. 1x28x28 or 3x224x224.
    #[arg(long, default_value = "1x28x28")]
    pub shape: String,
    /// Number of classes.
    #[arg(long, default_value_t = 10)]
    pub classes: i64,
    /// Filters of the first convolution.
    #[arg(long, default_value_t = 8)]
    pub filters: i64,
    /// Seed of the weights.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Declare a symbolic batch dimension.
    #[arg(long)]
    pub dynamic_batch: bool,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

impl SynthArgs {
    /// The network to write, or what is wrong with the arguments.
    pub fn check(&self) -> anyhow::Result<distillate_engine::onnx_build::RandomCnn> {
        let dims: Vec<i64> = self
            .shape
            .split(['x', '×'])
            .map(|d| d.trim().parse::<i64>())
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow::anyhow!("--shape must look like 3x32x32, got '{}'", self.shape))?;
        let [channels, height, width] = dims[..] else {
            bail!("--shape needs three numbers C×H×W, got '{}'", self.shape);
        };
        if !(channels == 1 || channels == 3) || !(2..=4096).contains(&height) || !(2..=4096).contains(&width) {
            bail!("--shape: channels must be 1 or 3 and sides 2 to 4096, got '{}'", self.shape);
        }
        if !(2..=100_000).contains(&self.classes) || !(1..=1024).contains(&self.filters) {
            bail!("--classes must be 2 to 100000 and --filters 1 to 1024");
        }
        Ok(distillate_engine::onnx_build::RandomCnn {
            channels,
            height,
            width,
            classes: self.classes,
            filters: self.filters,
            seed: self.seed,
            dynamic_batch: self.dynamic_batch,
        })
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// ONNX model file(s).
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A demo manifest (JSON): models, preprocessing, labels, samples, cost, thresholds.
    #[arg(long, conflicts_with_all = ["teacher", "student"])]
    pub manifest: Option<PathBuf>,
    /// Teacher ONNX file (without --manifest).
    #[arg(long, requires_all = ["student", "images", "labels"])]
    pub teacher: Option<PathBuf>,
    /// Student ONNX file (without --manifest).
    #[arg(long, requires = "teacher")]
    pub student: Option<PathBuf>,
    /// Images: a directory of PNG/JPEG files, or an IDX images file (without --manifest).
    #[arg(long, requires = "teacher")]
    pub images: Option<PathBuf>,
    /// Labels: `file,label` lines for a directory, or an IDX labels file for an IDX images file.
    #[arg(long, requires = "teacher")]
    pub labels: Option<PathBuf>,
    /// Class names, one per line or a JSON array (default: class 0 … K−1).
    #[arg(long)]
    pub class_names: Option<PathBuf>,
    /// Preprocessing for both models as JSON, e.g. '{"mean":[0.5],"std":[0.5]}'.
    #[arg(long)]
    pub preprocess: Option<String>,
    /// Evaluate at most this many images.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Short benchmark (0.2 s after a 50 ms warm-up) instead of 3 s.
    #[arg(long)]
    pub quick: bool,
    /// Directory for report.json and report.md.
    #[arg(long, default_value = "distillate-report")]
    pub out: PathBuf,
}

/// Where the models and data come from, checked.
#[derive(Debug, Clone)]
pub enum Source {
    Manifest(PathBuf),
    Files {
        teacher: PathBuf,
        student: PathBuf,
        images: PathBuf,
        labels: PathBuf,
        class_names: Option<PathBuf>,
        preprocess: distillate_engine::PreprocessSpec,
    },
}

/// A checked `bench` invocation.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    pub source: Source,
    pub limit: Option<usize>,
    pub quick: bool,
    pub out: PathBuf,
}

impl BenchArgs {
    /// Turns raw arguments into a plan, or says what is missing.
    pub fn check(self) -> anyhow::Result<BenchPlan> {
        let preprocess = match &self.preprocess {
            Some(json) => {
                serde_json::from_str(json).map_err(|e| anyhow::anyhow!("--preprocess is not a valid spec: {e}"))?
            }
            None => distillate_engine::PreprocessSpec::default(),
        };
        let source = match (self.manifest, self.teacher, self.student, self.images, self.labels) {
            (Some(m), None, None, None, None) => Source::Manifest(m),
            (None, Some(teacher), Some(student), Some(images), Some(labels)) => {
                Source::Files { teacher, student, images, labels, class_names: self.class_names, preprocess }
            }
            _ => bail!("give --manifest FILE, or --teacher, --student, --images and --labels"),
        };
        if self.limit == Some(0) {
            bail!("--limit must be at least 1");
        }
        Ok(BenchPlan { source, limit: self.limit, quick: self.quick, out: self.out })
    }
}
