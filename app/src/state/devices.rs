//! Device reports in the page's state: added from files, removed, set aside when another
//! pair loads. What a report must satisfy is the engine's ([`distillate_engine::devices`]).

use distillate_engine::devices::{DeviceFigures, add};

use super::{LatencySource, State};

impl State {
    /// Adds each report that measured the loaded files; each refusal is named and changes
    /// nothing else.
    pub(super) fn add_device_reports(&mut self, files: &[(String, std::rc::Rc<[u8]>)]) {
        let Some((teacher, student)) = self.cards.clone() else {
            self.errors.push("Load the models first: a device report is matched to the files it measured.".into());
            return;
        };
        for (name, bytes) in files {
            let added = DeviceFigures::from_report(name, bytes, &teacher, &student)
                .and_then(|figures| add(&mut self.devices, figures));
            if let Err(e) = added {
                self.errors.push(format!("Device report not added: {e}"));
            }
        }
    }

    /// Removes the `i`th report; a cost priced on it goes back to this browser's latency.
    pub(super) fn remove_device(&mut self, i: usize) {
        if i >= self.devices.len() {
            return;
        }
        self.devices.remove(i);
        self.latency_source = match self.latency_source {
            Some(LatencySource::Device(j)) if j == i => None,
            Some(LatencySource::Device(j)) if j > i => Some(LatencySource::Device(j - 1)),
            other => other,
        };
    }

    /// A pair loaded: reports that measured other files no longer stand beside it.
    pub(super) fn set_aside_other_pairs_devices(&mut self) {
        let Some((teacher, student)) = &self.cards else { return };
        let (kept, aside): (Vec<DeviceFigures>, Vec<DeviceFigures>) =
            std::mem::take(&mut self.devices).into_iter().partition(|d| d.measured(teacher, student));
        if aside.is_empty() {
            self.devices = kept;
            return;
        }
        let names: Vec<String> = aside.iter().map(|d| d.label.clone()).collect();
        self.errors.push(format!(
            "Device reports set aside — they measured other files than the models now loaded: {}",
            names.join(", ")
        ));
        self.devices = kept;
        if matches!(self.latency_source, Some(LatencySource::Device(_))) {
            self.latency_source = None;
        }
    }
}
