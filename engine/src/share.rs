//! The page's shareable state as a URL query: which manifest, the cost inputs, the
//! verdict thresholds, a latency typed in for a target device, the view and the theme.
//!
//! A link carries settings, never measurements: whoever opens it re-measures latency and
//! accuracy in their own browser. Keys are the field names of [`CostInputs`] and
//! [`Thresholds`], so a link reads as what it sets:
//! `?manifest=static/demo.json&orders_per_day=40000&min_agreement=0.97&view=present`.
//! Keys this module does not know (say `utm_source`) are ignored; a known key with a bad
//! value is an error naming it, so a hand-edited link fails clearly instead of silently.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cost::CostInputs;
use crate::error::{Error, Result};
use crate::verdict::Thresholds;

/// Longest query accepted (browsers keep far longer URLs; no real link needs more).
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Longest manifest URL a link may carry. Escaping can triple it when the link is written
/// back, and the written link must stay under [`MAX_QUERY_BYTES`].
pub const MAX_MANIFEST_URL_BYTES: usize = 2 * 1024;

/// Which layout the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The full page.
    #[default]
    Page,
    /// Full-screen slides for a projector.
    Present,
}

/// Colour theme; `None` in [`ShareState`] follows the system preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Dark text on light.
    Light,
    /// Light text on dark.
    Dark,
}

/// Settings a link carries. Cost and threshold fields are overrides on top of what the
/// manifest sets, so a link may name only some of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShareState {
    /// Manifest URL, as given (relative to the page or absolute).
    pub manifest: Option<String>,
    /// Cost inputs by field name.
    pub cost: BTreeMap<String, f64>,
    /// Thresholds by field name.
    pub thresholds: BTreeMap<String, f64>,
    /// Latency typed in for the target device: (teacher ms, student ms).
    pub typed_latency: Option<(f64, f64)>,
    /// Layout.
    pub view: View,
    /// Theme, if chosen.
    pub theme: Option<Theme>,
}

impl ShareState {
    /// The state of a page showing `manifest` with these settings; every cost and
    /// threshold field is written, so the link does not depend on the manifest's defaults.
    pub fn capture(
        manifest: Option<&str>,
        cost: &CostInputs,
        thresholds: &Thresholds,
        typed_latency: Option<(f64, f64)>,
        view: View,
        theme: Option<Theme>,
    ) -> ShareState {
        ShareState {
            manifest: manifest.map(str::to_string),
            cost: fields(cost),
            thresholds: fields(thresholds),
            typed_latency,
            view,
            theme,
        }
    }

    /// Drops cost and threshold fields equal to `cost` and `thresholds` (the manifest's
    /// values), so a link names only what the person changed.
    pub fn without_defaults(mut self, cost: &CostInputs, thresholds: &Thresholds) -> ShareState {
        let (cost, thresholds) = (fields(cost), fields(thresholds));
        self.cost.retain(|k, v| cost.get(k) != Some(v));
        self.thresholds.retain(|k, v| thresholds.get(k) != Some(v));
        self
    }

    /// Whether the link sets anything beyond the manifest and the layout.
    pub fn has_settings(&self) -> bool {
        !self.cost.is_empty() || !self.thresholds.is_empty() || self.typed_latency.is_some()
    }

    /// `base` with this link's cost fields applied and checked.
    pub fn apply_cost(&self, base: &CostInputs) -> Result<CostInputs> {
        let cost: CostInputs = overlay(base, &self.cost)?;
        cost.check()?;
        Ok(cost)
    }

    /// `base` with this link's threshold fields applied and checked.
    pub fn apply_thresholds(&self, base: &Thresholds) -> Result<Thresholds> {
        let thresholds: Thresholds = overlay(base, &self.thresholds)?;
        thresholds.check()?;
        Ok(thresholds)
    }

    /// The query string, without the leading `?`, keys in a stable order.
    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(m) = &self.manifest {
            pairs.push(("manifest".into(), m.clone()));
        }
        for (k, v) in self.cost.iter().chain(&self.thresholds) {
            pairs.push((k.clone(), number(*v)));
        }
        if let Some((t, s)) = self.typed_latency {
            pairs.push(("teacher_ms".into(), number(t)));
            pairs.push(("student_ms".into(), number(s)));
        }
        if self.view == View::Present {
            pairs.push(("view".into(), "present".into()));
        }
        if let Some(theme) = self.theme {
            pairs.push(("theme".into(), if theme == Theme::Dark { "dark" } else { "light" }.into()));
        }
        let mut out = String::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&encode(k));
            out.push('=');
            out.push_str(&encode(v));
        }
        out
    }

    /// Parses a query (with or without the leading `?`).
    pub fn from_query(query: &str) -> Result<ShareState> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(invalid(format!("{} bytes; the limit is {MAX_QUERY_BYTES}", query.len())));
        }
        let cost_keys = fields(&CostInputs::default());
        let threshold_keys = fields(&Thresholds::default());
        let mut state = ShareState::default();
        let (mut teacher_ms, mut student_ms) = (None, None);
        for pair in query.strip_prefix('?').unwrap_or(query).split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key)?;
            let value = decode(value)?;
            match key.as_str() {
                "manifest" if value.is_empty() => return Err(invalid("manifest is empty".into())),
                "manifest" if value.len() > MAX_MANIFEST_URL_BYTES => {
                    return Err(invalid(format!(
                        "the manifest URL is {} bytes; the limit is {MAX_MANIFEST_URL_BYTES}",
                        value.len()
                    )));
                }
                "manifest" => state.manifest = Some(value),
                "view" => {
                    state.view = match value.as_str() {
                        "page" => View::Page,
                        "present" => View::Present,
                        other => return Err(invalid(format!("view '{other}'; expected page or present"))),
                    }
                }
                "theme" => {
                    state.theme = match value.as_str() {
                        "light" => Some(Theme::Light),
                        "dark" => Some(Theme::Dark),
                        other => return Err(invalid(format!("theme '{other}'; expected light or dark"))),
                    }
                }
                "teacher_ms" => teacher_ms = Some(latency(&key, &value)?),
                "student_ms" => student_ms = Some(latency(&key, &value)?),
                k if cost_keys.contains_key(k) => {
                    state.cost.insert(key.clone(), finite(&key, &value)?);
                }
                k if threshold_keys.contains_key(k) => {
                    state.thresholds.insert(key.clone(), finite(&key, &value)?);
                }
                _ => {}
            }
        }
        state.typed_latency = match (teacher_ms, student_ms) {
            (Some(t), Some(s)) => Some((t, s)),
            (None, None) => None,
            _ => return Err(invalid("teacher_ms and student_ms go together".into())),
        };
        Ok(state)
    }
}

fn invalid(message: String) -> Error {
    Error::invalid("link", message)
}

/// A struct of numbers as `field → value`.
fn fields<T: Serialize>(value: &T) -> BTreeMap<String, f64> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().filter_map(|(k, v)| Some((k, v.as_f64()?))).collect(),
        _ => BTreeMap::new(),
    }
}

/// `base` with `fields` replaced.
fn overlay<T: Serialize + DeserializeOwned>(base: &T, fields: &BTreeMap<String, f64>) -> Result<T> {
    let mut value = serde_json::to_value(base).map_err(|e| invalid(e.to_string()))?;
    if let serde_json::Value::Object(map) = &mut value {
        for (k, v) in fields {
            let number = serde_json::Number::from_f64(*v).ok_or_else(|| invalid(format!("{k} is not finite")))?;
            map.insert(k.clone(), serde_json::Value::Number(number));
        }
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

fn finite(key: &str, value: &str) -> Result<f64> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(invalid(format!("{key} = '{value}' is not a finite number"))),
    }
}

fn latency(key: &str, value: &str) -> Result<f64> {
    let v = finite(key, value)?;
    if v > 0.0 { Ok(v) } else { Err(invalid(format!("{key} = {value}: a latency must be positive"))) }
}

/// Shortest text that parses back to the same `f64`: plain for everyday magnitudes
/// (`40000`, `0.97`), with an exponent beyond them so no number takes hundreds of digits.
fn number(v: f64) -> String {
    if v != 0.0 && !(1e-5..1e16).contains(&v.abs()) { format!("{v:e}") } else { format!("{v}") }
}

/// Percent-encodes everything but unreserved characters and the few a query may hold
/// unescaped that keep URLs readable (`/ : ,`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:,".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Reverses [`encode`] (and `+` for space, as forms write it).
fn decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| invalid(format!("bad percent escape at byte {i}")))?;
                out.push(byte);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| invalid("an escaped value is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn mission_link() -> ShareState {
        ShareState::capture(
            Some("https://example.org/my models/demo.json?v=2"),
            &CostInputs::mission(),
            &Thresholds::default(),
            Some((112.0, 78.0)),
            View::Present,
            Some(Theme::Dark),
        )
    }

    #[test]
    fn a_captured_link_restores_every_setting() {
        let link = mission_link();
        let back = ShareState::from_query(&format!("?{}", link.to_query())).expect("parses");
        assert_eq!(back, link);
        assert_eq!(back.apply_cost(&CostInputs::default()).expect("valid"), CostInputs::mission());
        assert_eq!(back.apply_thresholds(&Thresholds::default()).expect("valid"), Thresholds::default());
    }

    #[test]
    fn query_is_readable() {
        let q = mission_link().to_query();
        assert!(q.starts_with("manifest=https://example.org/my%20models/demo.json%3Fv%3D2&"), "{q}");
        assert!(q.contains("orders_per_day=40000"), "{q}");
        assert!(q.contains("teacher_ms=112&student_ms=78&view=present&theme=dark"), "{q}");
    }

    #[test]
    fn a_partial_link_overrides_only_what_it_names() {
        let link = ShareState::from_query("orders_per_day=100&utm_source=x").expect("parses");
        let cost = link.apply_cost(&CostInputs::mission()).expect("valid");
        assert_eq!(cost.orders_per_day, 100.0);
        assert_eq!(cost.items_per_order, CostInputs::mission().items_per_order);
        assert_eq!(link.view, View::Page);
        assert_eq!(ShareState::from_query("").expect("empty is fine"), ShareState::default());
    }

    #[test]
    fn a_link_names_only_what_differs_from_the_manifest() {
        let cost = CostInputs { orders_per_day: 123.0, ..CostInputs::mission() };
        let link = ShareState::capture(None, &cost, &Thresholds::default(), None, View::Page, None)
            .without_defaults(&CostInputs::mission(), &Thresholds::default());
        assert_eq!(link.to_query(), "orders_per_day=123");
        assert!(link.has_settings());
        let untouched =
            ShareState::capture(None, &CostInputs::mission(), &Thresholds::default(), None, View::Page, None)
                .without_defaults(&CostInputs::mission(), &Thresholds::default());
        assert_eq!(untouched.to_query(), "");
        assert!(!untouched.has_settings());
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (query, needle) in [
            ("orders_per_day=NaN", "orders_per_day"),
            ("orders_per_day=inf", "orders_per_day"),
            ("min_agreement=lots", "min_agreement"),
            ("view=slides", "view"),
            ("theme=blue", "theme"),
            ("teacher_ms=3", "go together"),
            ("teacher_ms=0&student_ms=1", "positive"),
            ("manifest=", "empty"),
            ("manifest=%zz", "percent"),
            ("manifest=%ff", "UTF-8"),
        ] {
            let err = ShareState::from_query(query).expect_err(query).to_string();
            assert!(err.contains(needle), "{query}: {err}");
        }
        let long = "a".repeat(MAX_QUERY_BYTES + 1);
        assert!(ShareState::from_query(&long).is_err());
    }

    #[test]
    fn out_of_range_settings_fail_when_applied() {
        let link = ShareState::from_query("orders_per_day=-5&min_agreement=2").expect("parses");
        assert!(link.apply_cost(&CostInputs::mission()).is_err());
        assert!(link.apply_thresholds(&Thresholds::default()).is_err());
    }

    #[test]
    fn fuzz_regression_a_link_written_back_stays_readable() {
        // Found by fuzzing: a long manifest URL that re-escaped past the query limit.
        let found = include_bytes!("../tests/fuzz/link-rewritten-over-limit.txt");
        if let Ok(link) = ShareState::from_query(&String::from_utf8_lossy(found)) {
            assert_eq!(ShareState::from_query(&link.to_query()).expect("written link parses"), link);
        }
        // The worst case by construction: the longest manifest, every byte escaped.
        let manifest = "é".repeat(MAX_MANIFEST_URL_BYTES / 2);
        let link = ShareState::capture(
            Some(&manifest),
            &CostInputs::mission(),
            &Thresholds::default(),
            Some((1e-300, 1.7976931348623157e308)),
            View::Present,
            Some(Theme::Light),
        );
        let query = link.to_query();
        assert!(query.len() <= MAX_QUERY_BYTES, "{} bytes", query.len());
        assert_eq!(ShareState::from_query(&query).expect("parses"), link);
        assert!(ShareState::from_query(&format!("manifest={}", "a".repeat(MAX_MANIFEST_URL_BYTES + 1))).is_err());
    }

    #[test]
    fn numbers_stay_short_and_exact() {
        for v in [40_000.0, 0.97, 0.05, 1e300, -2.5e-300, 1.7976931348623157e308, 123456789.125] {
            let text = number(v);
            assert!(text.len() <= 25, "{text}");
            assert_eq!(text.parse::<f64>().expect("parses"), v);
        }
        assert_eq!(number(40_000.0), "40000");
    }

    proptest! {
        #[test]
        fn any_query_parses_or_fails_cleanly(query in ".{0,200}") {
            let _ = ShareState::from_query(&query);
        }

        #[test]
        fn encoding_round_trips(s in ".{0,100}") {
            prop_assert_eq!(decode(&encode(&s)).expect("decodes"), s);
        }

        #[test]
        fn captured_numbers_round_trip(orders in 0.0f64..1e9, agreement in 0.0f64..1.0, t in 1e-3f64..1e4, s in 1e-3f64..1e4) {
            let cost = CostInputs { orders_per_day: orders, ..CostInputs::mission() };
            let thresholds = Thresholds { min_agreement: agreement, ..Thresholds::default() };
            let link = ShareState::capture(None, &cost, &thresholds, Some((t, s)), View::Page, None);
            let back = ShareState::from_query(&link.to_query()).expect("parses");
            prop_assert_eq!(back.apply_cost(&CostInputs::default()).expect("valid"), cost);
            prop_assert_eq!(back.apply_thresholds(&Thresholds::default()).expect("valid"), thresholds);
            prop_assert_eq!(back.typed_latency, Some((t, s)));
        }
    }
}
