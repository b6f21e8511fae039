//! `distillate load`: one model under load from several threads, closed loop (capacity) and
//! open loop at offered rates (latency with queueing), written as JSON, Markdown and SVG.

use std::time::Instant;

use anyhow::Context;
use distillate_engine::bench::InstantClock;
use distillate_engine::load::{Arrival, LoadConfig, LoadResult, run_threads};
use distillate_engine::load_report::LoadReport;
use distillate_engine::report::ModelReport;
use distillate_engine::runner::Runner;

use crate::args::{LoadPlan, Which};
use crate::bench::setup;
use crate::data::{Images, read};
use crate::device::environment;

pub fn run(plan: &LoadPlan) -> anyhow::Result<()> {
    let setup = setup(&plan.source)?;
    let side = match plan.model {
        Which::Student => &setup.student,
        Which::Teacher => &setup.teacher,
    };
    let bytes = read(&side.path)?;
    // Every request classifies the same image: the first the manifest evaluates on.
    let image: Vec<u8> = match &setup.images {
        Images::Idx(set) if !set.is_empty() => set.image(0).to_vec(),
        Images::Files(files) if !files.is_empty() => read(&files[0].0)?,
        _ => anyhow::bail!("the manifest has no image to send"),
    };
    let (width, height) = match &setup.images {
        Images::Idx(set) => (set.width, set.height),
        Images::Files(_) => (0, 0),
    };
    let build = || -> distillate_engine::Result<Runner> {
        let mut runner = Runner::from_bytes(&bytes, &side.preprocess)?;
        if width > 0 {
            runner.classify_luma8(width, height, &image)?;
        } else {
            runner.classify_bytes(&image)?;
        }
        Ok(runner)
    };
    let card = build().with_context(|| format!("cannot load {}", side.path.display()))?.card().clone();

    let clock = InstantClock::default();
    let mut runs = Vec::new();
    for &workers in &plan.workers {
        let arrivals =
            std::iter::once(Arrival::Closed).chain(plan.rates.iter().map(|&r| Arrival::Open { rate_per_s: r }));
        for arrival in arrivals {
            let config = LoadConfig { workers, arrival, ..plan.timing.clone() };
            let cpu_before = cpu_seconds();
            let wall = Instant::now();
            let logs = run_threads(&clock, &config, |_| {
                let mut runner = build()?;
                Ok(Box::new(move || runner.run_current().map(|_| ())))
            })
            .with_context(|| format!("load test with {workers} workers"))?;
            // Over the whole run, the workers' model loading included (milliseconds of seconds).
            let cpu_percent =
                cpu_before.zip(cpu_seconds()).map(|(a, b)| (b - a) / wall.elapsed().as_secs_f64() * 100.0);
            let result = LoadResult::from_logs(&config, &logs, cpu_percent);
            eprintln!("{}", line(&result));
            runs.push(result);
        }
    }
    let report = LoadReport {
        version: 1,
        created: distillate_engine::utc::now_rfc3339(),
        environment: environment(),
        model: ModelReport { name: side.name.clone(), card },
        runs,
    };
    let markdown = report.to_markdown();
    println!("{markdown}");
    std::fs::create_dir_all(&plan.out).with_context(|| format!("cannot create {}", plan.out.display()))?;
    for (name, text) in [("load.json", report.to_json()), ("load.md", markdown), ("load.svg", report.to_svg())] {
        let path = plan.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("wrote load.json, load.md and load.svg in {}", plan.out.display());
    Ok(())
}

/// One progress line per run.
fn line(r: &LoadResult) -> String {
    let offered = match r.config.arrival {
        Arrival::Closed => "closed loop".to_string(),
        Arrival::Open { rate_per_s } => format!("{rate_per_s:.0}/s offered"),
    };
    let p99 = r.latency_ms.map_or("—".into(), |l| format!("{:.3} ms", l.p99));
    format!(
        "{} worker{}, {offered}: {:.0}/s achieved, p99 {p99}, {} late, {} dropped",
        r.config.workers,
        if r.config.workers == 1 { "" } else { "s" },
        r.achieved_per_s,
        r.late,
        r.dropped
    )
}

/// User + system CPU time of this process, seconds (Linux `/proc`; elsewhere unknown).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name; they
    // count USER_HZ ticks, 100 a second on every Linux architecture.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
