//! `distillate`: measure a teacher and its distilled student on the machine it runs on —
//! the exact target device — with the same engine the web page uses.

mod args;
mod bench;
mod data;
mod device;
mod energy;
mod inspect;
mod load;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the whole cause chain: "cannot load teacher.onnx: not an ONNX model: ...".
            eprintln!("distillate: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Inspect(a) => inspect::run(&a),
        args::Command::Bench(a) => bench::run(&a.check()?),
        args::Command::Load(a) => load::run(&a.check()?),
        args::Command::Compare(a) => {
            let mut reports = Vec::new();
            for path in &a.reports {
                let report = distillate_engine::Report::from_json(&data::read(path)?)
                    .with_context(|| format!("cannot use {}", path.display()))?;
                reports.push((path.display().to_string(), report));
            }
            println!("{}", distillate_engine::compare::compare_markdown(&reports)?);
            Ok(())
        }
        args::Command::Synth(a) => {
            let bytes = a.check()?.build();
            std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
            eprintln!("wrote {} ({} bytes)", a.out.display(), bytes.len());
            Ok(())
        }
    }
}
