//! The page's first load, measured: when the app started, when the worker was ready, when
//! the models and samples were fetched and loaded, when the first prediction arrived.
//! Shown on the environment card, which also carries it as JSON in `data-timeline` for the
//! benchmark (bench/browser.mjs reads it on cold loads).

use std::collections::BTreeMap;

use distillate_protocol::Response;

/// A point of the first load, in the order they usually happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Milestone {
    /// The page's wasm is running (the app's first effect).
    AppStarted,
    /// The page asked the browser for the worker.
    WorkerSpawned,
    /// The worker's module is running: its script and wasm fetched, compiled, instantiated
    /// (the worker's own clock, converted to the page's).
    WorkerRunning,
    /// The worker's first answer (it is connected and ready for work).
    WorkerReady,
    /// Both model files are in the page.
    ModelsFetched,
    /// The worker parsed and optimised both models.
    ModelsLoaded,
    /// The sample set is in the page.
    SamplesFetched,
    /// The worker decoded the sample set.
    SamplesLoaded,
    /// The first prediction is on screen (its answer arrived).
    FirstPrediction,
}

impl Milestone {
    /// Short name, as the page shows it.
    pub fn label(self) -> &'static str {
        match self {
            Milestone::AppStarted => "app started",
            Milestone::WorkerSpawned => "worker spawned",
            Milestone::WorkerRunning => "worker running",
            Milestone::WorkerReady => "worker ready",
            Milestone::ModelsFetched => "models fetched",
            Milestone::ModelsLoaded => "models loaded",
            Milestone::SamplesFetched => "samples fetched",
            Milestone::SamplesLoaded => "samples decoded",
            Milestone::FirstPrediction => "first prediction",
        }
    }

    /// Key in the card's `data-timeline` JSON.
    pub fn key(self) -> String {
        self.label().replace(' ', "_")
    }

    /// The milestone a worker answer reaches, if any.
    pub fn of_response(response: &Response) -> Option<Milestone> {
        match response {
            Response::Ready(_) => Some(Milestone::WorkerReady),
            Response::Loaded { .. } => Some(Milestone::ModelsLoaded),
            Response::SamplesLoaded { .. } => Some(Milestone::SamplesLoaded),
            Response::Classified { .. } => Some(Milestone::FirstPrediction),
            _ => None,
        }
    }
}

/// When each milestone was first reached, in ms since the page's navigation started.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadTimeline {
    at: BTreeMap<Milestone, f64>,
}

impl LoadTimeline {
    /// Records `milestone` at `at_ms` unless it was reached before (a restarted worker or
    /// a second pair does not move the first load's milestones).
    pub fn reach(&mut self, milestone: Milestone, at_ms: f64) {
        self.at.entry(milestone).or_insert(at_ms);
    }

    /// When `milestone` was reached.
    pub fn at(&self, milestone: Milestone) -> Option<f64> {
        self.at.get(&milestone).copied()
    }

    /// Reached milestones in the order they were reached.
    pub fn reached(&self) -> Vec<(Milestone, f64)> {
        let mut reached: Vec<(Milestone, f64)> = self.at.iter().map(|(m, t)| (*m, *t)).collect();
        reached.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        reached
    }

    /// The timeline as a JSON object, milestone key → ms.
    pub fn to_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> =
            self.at.iter().map(|(m, t)| (m.key(), serde_json::json!(t))).collect();
        serde_json::Value::Object(map).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Milestone; 9] = [
        Milestone::AppStarted,
        Milestone::WorkerSpawned,
        Milestone::WorkerRunning,
        Milestone::WorkerReady,
        Milestone::ModelsFetched,
        Milestone::ModelsLoaded,
        Milestone::SamplesFetched,
        Milestone::SamplesLoaded,
        Milestone::FirstPrediction,
    ];

    #[test]
    fn a_milestone_keeps_the_first_time_it_was_reached() {
        let mut timeline = LoadTimeline::default();
        timeline.reach(Milestone::FirstPrediction, 900.0);
        timeline.reach(Milestone::FirstPrediction, 1500.0);
        timeline.reach(Milestone::WorkerReady, 400.0);
        assert_eq!(timeline.at(Milestone::FirstPrediction), Some(900.0));
        assert_eq!(timeline.at(Milestone::ModelsLoaded), None);
    }

    #[test]
    fn milestones_are_listed_in_the_order_they_were_reached() {
        let mut timeline = LoadTimeline::default();
        // Samples can be decoded before the models are: the order is the clock's.
        timeline.reach(Milestone::ModelsLoaded, 700.0);
        timeline.reach(Milestone::SamplesLoaded, 650.0);
        timeline.reach(Milestone::AppStarted, 90.0);
        let order: Vec<Milestone> = timeline.reached().into_iter().map(|(m, _)| m).collect();
        assert_eq!(order, [Milestone::AppStarted, Milestone::SamplesLoaded, Milestone::ModelsLoaded]);
    }

    #[test]
    fn the_json_has_one_distinct_key_per_milestone() {
        let mut timeline = LoadTimeline::default();
        for (i, m) in ALL.iter().enumerate() {
            timeline.reach(*m, i as f64);
        }
        let json: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&timeline.to_json()).expect("valid JSON");
        assert_eq!(json.len(), ALL.len());
        assert_eq!(json["first_prediction"], serde_json::json!(8.0));
    }
}
