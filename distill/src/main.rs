//! `distill`: reproduce the bundled models. `cargo run --release -p distillate-distill`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use distillate_distill::config::PipelineConfig;
use distillate_distill::pipeline::Options;
use distillate_distill::stage::Rebuild;

/// Train the teacher, distil the student ladder, export ONNX, write model cards.
#[derive(Debug, Parser)]
#[command(name = "distill", version, about)]
struct Args {
    /// Output directory (the site's static/ by default).
    #[arg(long, default_value = "static")]
    out: PathBuf,
    /// JSON file overriding fields of the default configuration.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A minute-long run through every stage on a few hundred images (what CI runs).
    #[arg(long)]
    smoke: bool,
    /// Print the configuration that would run, as JSON, and exit.
    #[arg(long)]
    print_config: bool,
    /// Train these stages again even if their cached models match: `all`, or model ids
    /// separated by commas (`teacher`, `teacher-2`, `student-h18`, `baseline-h18`, …).
    #[arg(long, default_value = "")]
    rebuild: String,
    /// Where the teacher's soft targets are cached between runs.
    #[arg(long, default_value = "target/distill-cache")]
    cache_dir: PathBuf,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("distill: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = match (&args.config, args.smoke) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str::<PipelineConfig>(&text)
                .with_context(|| format!("invalid config {}", path.display()))?
        }
        (None, true) => PipelineConfig::smoke(),
        (None, false) => PipelineConfig::default(),
    };
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    let options = Options { rebuild: Rebuild::parse(&args.rebuild), cache_dir: args.cache_dir, ..Options::default() };
    let summary = distillate_distill::pipeline::run(&config, &args.out, &options)?;
    println!("chosen student: {} — {}", summary.chosen, summary.reason);
    println!(
        "distillation gain over the cross-entropy baseline: {:+.2} points accuracy, {:+.2} points agreement",
        summary.distillation_gain_points, summary.agreement_gain_points
    );
    for card in &summary.cards {
        let epochs = match card.members.len() {
            0 => format!("{} epochs", card.training.epochs.len()),
            n => format!("{n} members"),
        };
        println!(
            "{:<16} {:>8} params {:>11} MACs  test {:.2} %  native {:.3} ms  {epochs} ({:?})  {:.0} s",
            card.id,
            card.params,
            card.macs,
            card.test_accuracy * 100.0,
            card.native_latency_ms,
            card.training.stop_reason,
            card.training.wall_seconds
        );
    }
    println!("pipeline: {:.1} min", summary.pipeline_seconds / 60.0);
    for (stage, secs) in &summary.time_by_stage {
        println!("  {stage:<32} {secs:>7.1} s");
    }
    Ok(())
}
