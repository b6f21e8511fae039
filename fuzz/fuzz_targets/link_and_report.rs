//! Any text offered as a shared link's query, and any bytes offered as a report.
#![no_main]

use distillate_engine::Report;
use distillate_engine::cost::CostInputs;
use distillate_engine::share::ShareState;
use distillate_engine::verdict::Thresholds;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data)
        && let Ok(link) = ShareState::from_query(query)
    {
        let _ = link.apply_cost(&CostInputs::mission());
        let _ = link.apply_thresholds(&Thresholds::default());
        // What the page writes back must parse to the same settings.
        let again = ShareState::from_query(&link.to_query()).expect("a written link parses");
        assert_eq!(again, link);
    }
    if let Ok(report) = Report::from_json(data) {
        let _ = report.to_markdown();
        let _ = distillate_engine::scorecard::scorecard_svg(&report);
    }
});
