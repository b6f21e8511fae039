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
    /// separated by commas (`teacher`, `student-d7`, `baseline-d7`, …).
    #[arg(long, default_value = "")]
    rebuild: String,
    /// Where the teacher's soft targets are cached between runs.
    #[arg(long, default_value = "target/distill-cache")]
    cache_dir: PathBuf,
}

fn main() -> ExitCode {
    keep_freed_memory();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("distill: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// burn's flex backend allocates and frees buffers of megabytes at every step (im2col,
/// gradients). glibc serves each with `mmap` and returns it with `munmap`, so every step
/// faults in freshly zeroed pages: measured on d7, 80 000 page faults a second and half the
/// CPU time in the kernel. Keeping freed memory in the heap instead makes a d7 epoch 56 s
/// instead of 76–80 s, with bit-identical losses (resident memory stays near 250 MB).
#[cfg(target_env = "gnu")]
fn keep_freed_memory() {
    // SAFETY: mallopt only tunes the allocator; called first thing in main, before any
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 512 << 20);
    }
}

#[cfg(not(target_env = "gnu"))]
fn keep_freed_memory() {}

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
        println!(
            "{:<16} {:>8} params {:>11} MACs  test {:.2} %  native {:.3} ms  {} epochs ({:?})  {:.0} s",
            card.id,
            card.params,
            card.macs,
            card.test_accuracy * 100.0,
            card.native_latency_ms,
            card.training.epochs.len(),
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
