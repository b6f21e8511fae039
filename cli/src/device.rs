//! What machine a report was measured on: CPU model, board, clock, SIMD the kernels use, OS.
//! Read from Linux's `/proc` and `/sys` where they exist; on other systems the fields the OS
//! does not tell stay empty rather than guessed.

use distillate_engine::report::Environment;

/// This machine, as every report names it.
pub fn environment() -> Environment {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
    // Device trees end their strings with NUL; DMI names end with a newline.
    let clean = |s: String| {
        Some(s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).filter(|s| !s.is_empty())
    };
    let board = read("/sys/firmware/devicetree/base/model")
        .and_then(clean)
        .or_else(|| read("/sys/devices/virtual/dmi/id/product_name").and_then(clean));
    let max_mhz = read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(|khz| khz / 1e3);
    let os = read("/proc/sys/kernel/osrelease")
        .and_then(clean)
        .map(|release| format!("{} {release}", std::env::consts::OS))
        .or_else(|| Some(std::env::consts::OS.to_string()));
    Environment {
        target: format!("{}-{} (native)", std::env::consts::ARCH, std::env::consts::OS),
        host: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown CPU".into()),
        cores: std::thread::available_parallelism().ok().map(|n| n.get()),
        engine_build: format!("distillate-engine {} (tract-onnx 0.23, single thread)", env!("CARGO_PKG_VERSION")),
        timer_resolution_ms: 1e-6,
        board,
        max_mhz,
        simd: Some(distillate_engine::kernel_isa()),
        os,
        threads: Some(1),
    }
}

/// The CPU's name from `/proc/cpuinfo`: x86 says it (`model name`); ARM gives implementer
/// and part numbers, named here for the cores people deploy on.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    let field = |name: &str| {
        cpuinfo.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    if let Some(name) = field("model name").filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let part = field("CPU part")?;
    let named = match (field("CPU implementer").as_deref(), part.as_str()) {
        (Some("0x41"), "0xd03") => Some("Arm Cortex-A53"),
        (Some("0x41"), "0xd04") => Some("Arm Cortex-A35"),
        (Some("0x41"), "0xd05") => Some("Arm Cortex-A55"),
        (Some("0x41"), "0xd07") => Some("Arm Cortex-A57"),
        (Some("0x41"), "0xd08") => Some("Arm Cortex-A72"),
        (Some("0x41"), "0xd0a") => Some("Arm Cortex-A75"),
        (Some("0x41"), "0xd0b") => Some("Arm Cortex-A76"),
        (Some("0x41"), "0xd0c") => Some("Arm Neoverse N1 (AWS Graviton2)"),
        (Some("0x41"), "0xd0d") => Some("Arm Cortex-A77"),
        (Some("0x41"), "0xd40") => Some("Arm Neoverse V1 (AWS Graviton3)"),
        (Some("0x41"), "0xd41") => Some("Arm Cortex-A78"),
        (Some("0x41"), "0xd44") => Some("Arm Cortex-X1"),
        (Some("0x41"), "0xd46") => Some("Arm Cortex-A510"),
        (Some("0x41"), "0xd47") => Some("Arm Cortex-A710"),
        (Some("0x41"), "0xd49") => Some("Arm Neoverse N2"),
        (Some("0x41"), "0xd4f") => Some("Arm Neoverse V2 (AWS Graviton4)"),
        _ => None,
    };
    Some(named.map(str::to_string).unwrap_or_else(|| {
        format!("ARM implementer {} part {part}", field("CPU implementer").unwrap_or_else(|| "?".into()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_and_arm_cpus_are_named_from_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n";
        assert_eq!(cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        // A Raspberry Pi 5's /proc/cpuinfo.
        let pi5 = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n\
                   CPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n";
        assert_eq!(cpu_model(pi5).as_deref(), Some("Arm Cortex-A76"));
        let unknown = "CPU implementer\t: 0x61\nCPU part\t: 0x022\n";
        assert_eq!(cpu_model(unknown).as_deref(), Some("ARM implementer 0x61 part 0x022"));
        assert_eq!(cpu_model(""), None);
    }
}
