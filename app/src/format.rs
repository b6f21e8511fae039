//! Number formatting and small image helpers for the view.

pub use distillate_engine::report::group;

/// `12_300_000` → `12.3 M`.
pub fn si(n: u64) -> String {
    let v = n as f64;
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        n.to_string()
    }
}

/// Bytes as KB/MB.
pub fn bytes(n: u64) -> String {
    let v = n as f64;
    if v >= 1024.0 * 1024.0 { format!("{:.2} MB", v / 1024.0 / 1024.0) } else { format!("{:.1} KB", v / 1024.0) }
}

/// A share in [0, 1] as a percentage.
pub fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// Milliseconds with precision fit to the size.
pub fn ms(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1} ms")
    } else if x >= 0.1 {
        format!("{x:.3} ms")
    } else {
        format!("{:.1} µs", x * 1000.0)
    }
}

/// `-0.47` as "−0.47" (a minus sign, not a hyphen), `0.2` as "+0.20".
pub fn signed(x: f64) -> String {
    if x < 0.0 { format!("\u{2212}{:.2}", -x) } else { format!("+{x:.2}") }
}

/// Money with precision fit to the size.
pub fn money(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 {
        let whole = group(a.round() as u64);
        format!("{}{whole}", if x < 0.0 { "−" } else { "" })
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_are_a_real_minus_or_a_plus() {
        assert_eq!(signed(-0.47), "\u{2212}0.47");
        assert_eq!(signed(0.2), "+0.20");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(si(29_400_000), "29.40 M");
        assert_eq!(ms(0.05), "50.0 µs");
        assert_eq!(money(24_861.37), "24,861");
    }
}
