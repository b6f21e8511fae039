//! Command-line arguments, and their check into a [`BenchPlan`] that cannot be half-valid.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};
use distillate_engine::load::{Arrival, LoadConfig};

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
    /// Throughput and latency of one model under load from several threads, closed and open loop.
    Load(LoadArgs),
    /// One Markdown table across devices from several `bench` reports of one pair.
    Compare(CompareArgs),
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
    /// Where the energy counters are (Linux powercap); without a readable one the report
    /// says energy was not measured.
    #[arg(long, default_value = "/sys/class/powercap")]
    pub powercap: PathBuf,
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
    pub powercap: PathBuf,
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
        Ok(BenchPlan { source, limit: self.limit, quick: self.quick, out: self.out, powercap: self.powercap })
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// report.json files written by `distillate bench` (on each device).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// A demo manifest: the models, and the image every request classifies (its first).
    #[arg(long)]
    pub manifest: PathBuf,
    /// The model under load.
    #[arg(long, value_enum, default_value = "student")]
    pub model: Which,
    /// Worker threads, each with its own copy of the model; a list such as 1,2
    /// (default: 1 up to the cores).
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,
    /// Offered loads for open-loop runs, requests per second, a list such as 1000,4000.
    /// A closed-loop run (as fast as it goes) comes first at every worker count.
    #[arg(long, value_delimiter = ',')]
    pub rate: Vec<f64>,
    /// Measured time of each run: 30s, 500ms, 2m.
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Warm-up before each run's measured time.
    #[arg(long, default_value = "1s")]
    pub warmup: String,
    /// Drop a request that cannot start this long after its scheduled time.
    #[arg(long, default_value = "100ms")]
    pub deadline: String,
    /// Count a request as late when it completes later than this after its scheduled time.
    #[arg(long, default_value = "2ms")]
    pub slo: String,
    /// Directory for load.json, load.md and load.svg.
    #[arg(long, default_value = "distillate-load")]
    pub out: PathBuf,
}

/// Which model of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    Teacher,
    Student,
}

/// A checked `load` invocation.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub source: Source,
    pub model: Which,
    pub workers: Vec<usize>,
    pub rates: Vec<f64>,
    /// Warm-up, duration, deadline and SLO shared by every run.
    pub timing: LoadConfig,
    pub out: PathBuf,
}

impl LoadArgs {
    /// Turns raw arguments into a plan, or says what is wrong.
    pub fn check(self) -> anyhow::Result<LoadPlan> {
        let time = |flag: &str, text: &str| parse_duration_ms(text).map_err(|e| anyhow::anyhow!("--{flag}: {e}"));
        let timing = LoadConfig {
            workers: 1,
            arrival: Arrival::Closed,
            warmup_ms: time("warmup", &self.warmup)?,
            duration_ms: time("duration", &self.duration)?,
            deadline_ms: time("deadline", &self.deadline)?,
            slo_ms: time("slo", &self.slo)?,
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = if self.workers.is_empty() { (1..=cores).collect() } else { self.workers };
        for &w in &workers {
            LoadConfig { workers: w, ..timing.clone() }.check().map_err(|e| anyhow::anyhow!("--workers: {e}"))?;
        }
        for &r in &self.rate {
            LoadConfig { arrival: Arrival::Open { rate_per_s: r }, ..timing.clone() }
                .check()
                .map_err(|e| anyhow::anyhow!("--rate: {e}"))?;
        }
        timing.check()?;
        Ok(LoadPlan {
            source: Source::Manifest(self.manifest),
            model: self.model,
            workers,
            rates: self.rate,
            timing,
            out: self.out,
        })
    }
}

/// `30s`, `250ms`, `2m` or a bare number of seconds, in milliseconds.
pub fn parse_duration_ms(text: &str) -> anyhow::Result<f64> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60e3)
    } else {
        (t, 1e3)
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v * scale <= 3_600_000.0 => Ok(v * scale),
        _ => bail!("'{text}' is not a duration from 0 to 1 h, such as 30s, 250ms or 2m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_units_and_nonsense_is_refused() {
        assert_eq!(parse_duration_ms("30s").unwrap(), 30_000.0);
        assert_eq!(parse_duration_ms("250ms").unwrap(), 250.0);
        assert_eq!(parse_duration_ms("2m").unwrap(), 120_000.0);
        assert_eq!(parse_duration_ms("1.5").unwrap(), 1_500.0);
        for bad in ["", "s", "-1s", "fast", "NaNs", "2h", "100m"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
