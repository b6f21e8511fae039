//! Energy on this device: a Linux powercap package counter (Intel RAPL, and AMD's, which
//! the kernel exposes under the same name), read around an idle interval and each model's
//! run. The arithmetic is the engine's ([`distillate_engine::energy`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use distillate_engine::energy::{EnergyReport, Run, counter_delta_uj, energy_report};

/// A readable package-domain counter.
#[derive(Debug, Clone)]
pub struct Counter {
    /// `intel-rapl:0 (package-0)`.
    pub name: String,
    energy_uj: PathBuf,
    max_range_uj: u64,
}

/// The first package domain under `root` (`/sys/class/powercap`) whose counter this user
/// can read, or why there is none — counters exist on most x86 Linux machines but are
/// readable by root only since Linux 5.10 (a side channel, CVE-2020-8694).
pub fn find(root: &Path) -> Result<Counter, String> {
    let mut zones: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|_| format!("no powercap counters ({} does not exist)", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Package domains are `intel-rapl:N`; `intel-rapl:N:M` are parts of one.
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.matches(':').count() == 1))
        .collect();
    zones.sort();
    let mut unreadable = None;
    for zone in zones {
        let energy_uj = zone.join("energy_uj");
        match read_u64(&energy_uj) {
            Ok(_) => {
                let label = std::fs::read_to_string(zone.join("name")).unwrap_or_default().trim().to_string();
                let dir = zone.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                return Ok(Counter {
                    name: if label.is_empty() { dir } else { format!("{dir} ({label})") },
                    energy_uj,
                    max_range_uj: read_u64(&zone.join("max_energy_range_uj")).unwrap_or(0),
                });
            }
            Err(e) if energy_uj.exists() => unreadable = Some(format!("{} is not readable ({e})", energy_uj.display())),
            Err(_) => {}
        }
    }
    Err(unreadable
        .map(|why| format!("{why}; powercap counters are root-only since Linux 5.10 — run as root to measure energy"))
        .unwrap_or_else(|| format!("no package energy counter under {}", root.display())))
}

fn read_u64(path: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path)?;
    text.trim().parse().with_context(|| format!("{} holds {text:?}", path.display()))
}

impl Counter {
    fn read(&self) -> anyhow::Result<u64> {
        read_u64(&self.energy_uj)
    }

    /// The counter's microjoules while `work` runs back to back for `seconds` (a sleep
    /// when `work` is `None`), and how many times it ran.
    fn run(&self, seconds: f64, mut work: Option<&mut dyn FnMut() -> anyhow::Result<()>>) -> anyhow::Result<Run> {
        let before = self.read()?;
        let started = Instant::now();
        let mut inferences = 0u64;
        match work.as_mut() {
            None => std::thread::sleep(Duration::from_secs_f64(seconds)),
            Some(work) => {
                while started.elapsed().as_secs_f64() < seconds {
                    work()?;
                    inferences += 1;
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let energy_uj = counter_delta_uj(before, self.read()?, self.max_range_uj)?;
        Ok(Run { energy_uj, seconds, inferences })
    }

    /// Idle power, then each model alone for `seconds`: energy per inference above idle.
    pub fn measure(
        &self,
        seconds: f64,
        teacher: &mut dyn FnMut() -> anyhow::Result<()>,
        student: &mut dyn FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<EnergyReport> {
        let idle = self.run(seconds / 2.0, None)?;
        let t = self.run(seconds, Some(teacher))?;
        let s = self.run(seconds, Some(student))?;
        Ok(energy_report(&self.name, idle, t, s)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(root: &Path, dir: &str, name: &str, energy: u64) -> PathBuf {
        let zone = root.join(dir);
        std::fs::create_dir_all(&zone).expect("mkdir");
        std::fs::write(zone.join("name"), format!("{name}\n")).expect("write");
        std::fs::write(zone.join("energy_uj"), format!("{energy}\n")).expect("write");
        std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").expect("write");
        zone
    }

    #[test]
    fn a_package_counter_is_found_and_each_inference_charged_what_it_used() {
        let root = tempfile::tempdir().expect("tempdir");
        zone(root.path(), "intel-rapl:0:0", "core", 0);
        let pkg = zone(root.path(), "intel-rapl:0", "package-0", 1_000);
        let counter = find(root.path()).expect("found");
        assert_eq!(counter.name, "intel-rapl:0 (package-0)");
        // The fake counter moves only when a model runs: 300 µJ a teacher call, 100 a student's.
        let bump = |uj: u64| {
            let path = pkg.join("energy_uj");
            move || -> anyhow::Result<()> {
                let now: u64 = std::fs::read_to_string(&path)?.trim().parse()?;
                std::fs::write(&path, (now + uj).to_string())?;
                Ok(())
            }
        };
        let report = counter.measure(0.05, &mut bump(300), &mut bump(100)).expect("measures");
        assert_eq!(report.idle_watts, 0.0);
        assert!((report.teacher_j - 300e-6).abs() < 1e-12, "{}", report.teacher_j);
        assert!((report.student_j - 100e-6).abs() < 1e-12, "{}", report.student_j);
    }

    #[test]
    fn without_a_readable_counter_the_reason_is_given() {
        let root = tempfile::tempdir().expect("tempdir");
        assert!(find(&root.path().join("absent")).unwrap_err().contains("does not exist"));
        assert!(find(root.path()).unwrap_err().contains("no package energy counter"));
        let pkg = zone(root.path(), "intel-rapl:0", "package-0", 5);
        std::fs::write(pkg.join("energy_uj"), "not a number").expect("write");
        let why = find(root.path()).unwrap_err();
        assert!(why.contains("is not readable") && why.contains("root"), "{why}");
    }
}
