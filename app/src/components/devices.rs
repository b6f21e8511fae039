//! Other devices: reports `distillate bench` wrote on a Pi, a Graviton instance or a
//! laptop, shown beside this browser's latency. The files are read here and never leave
//! the browser; whether a report belongs to the loaded pair is the engine's check.

use std::rc::Rc;

use distillate_engine::devices::{DeviceFigures, MAX_DEVICES};
use distillate_engine::energy::EnergyReport;
use distillate_engine::report::{LatencyReport, MAX_REPORT_BYTES};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser::{files_of, read_file};
use crate::format::ms;

/// Props of [`Devices`].
#[derive(Properties, PartialEq)]
pub struct DevicesProps {
    /// This browser's finished benchmark, the first row.
    pub browser: Option<LatencyReport>,
    /// The imported reports.
    pub devices: Vec<DeviceFigures>,
    /// The device pricing the cost panel, if one does.
    pub pricing: Option<usize>,
    /// Whether a pair is loaded (reports are matched to it).
    pub ready: bool,
    /// Files read: (name, bytes) each.
    pub on_files: Callback<Vec<(String, Rc<[u8]>)>>,
    /// Remove the `n`th report.
    pub on_remove: Callback<usize>,
    /// Price the cost with the `n`th report's latency.
    pub on_price: Callback<usize>,
    /// A file could not be read.
    pub on_error: Callback<String>,
}

/// The panel.
#[function_component(Devices)]
pub fn devices(props: &DevicesProps) -> Html {
    let read = {
        let on_files = props.on_files.clone();
        let on_error = props.on_error.clone();
        Callback::from(move |files: Vec<web_sys::File>| {
            let (on_files, on_error) = (on_files.clone(), on_error.clone());
            // More files than the page holds only make more refusals to read.
            let files: Vec<_> = files.into_iter().take(MAX_DEVICES).collect();
            wasm_bindgen_futures::spawn_local(async move {
                let mut read = Vec::new();
                for file in files {
                    match read_file(file, MAX_REPORT_BYTES as f64).await {
                        Ok((name, bytes)) => read.push((name, Rc::from(bytes))),
                        Err(e) => on_error.emit(format!("Device report not added: {e}")),
                    }
                }
                if !read.is_empty() {
                    on_files.emit(read);
                }
            });
        })
    };
    let on_pick = {
        let read = read.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            read.emit(files_of(input.files()));
            // The same file picked again (after editing it) must fire `change` again.
            input.set_value("");
        })
    };
    let on_drop = Callback::from(move |e: DragEvent| {
        e.prevent_default();
        read.emit(files_of(e.data_transfer().and_then(|d| d.files())));
    });
    let on_over = Callback::from(|e: DragEvent| e.prevent_default());

    let browser_row = props.browser.as_ref().map(|l| {
        html! {
            <tr class="here">
                <th>{ "this browser" }</th><td>{ "now" }</td>
                <td>{ ms(l.teacher.median) }</td><td>{ ms(l.student.median) }</td>
                <td>{ format!("{:.2}×", l.speedup) }</td><td>{ format!("{:.0}", 1e3 / l.student.median) }</td>
                <td>{ "not measurable" }</td><td>{ "see Readiness" }</td><td></td>
            </tr>
        }
    });
    let rows = props.devices.iter().enumerate().map(|(i, d)| {
        let remove = props.on_remove.reform(move |_| i);
        let price = props.on_price.reform(move |_| i);
        let pricing = props.pricing == Some(i);
        html! {
            <tr class="device">
                <th title={d.environment.describe()}>{ d.name() }</th>
                <td title={d.created.clone()}>{ &d.label }</td>
                <td>{ ms(d.latency.teacher.median) }</td><td>{ ms(d.latency.student.median) }</td>
                <td>{ format!("{:.2}×", d.latency.speedup) }</td><td>{ format!("{:.0}", d.student_per_second()) }</td>
                <td title={d.energy.as_ref().map(|e| e.source.clone()).unwrap_or_default()}>
                    { EnergyReport::label(d.energy.as_ref()) }</td>
                <td>{ d.verdict_label() }</td>
                <td class="actions">
                    <button onclick={price} disabled={pricing} aria-pressed={pricing.to_string()}>
                        { if pricing { "prices the cost" } else { "price the cost" } }</button>
                    <button onclick={remove} aria-label={format!("remove {}", d.label)}>{ "remove" }</button>
                </td>
            </tr>
        }
    });
    html! {
        <section class="devices" ondrop={on_drop} ondragover={on_over}>
            <h2>{ "Other devices" }</h2>
            <p class="note">{ "The latency on the device that will run the model: measure this pair there with " }
                <code>{ "distillate bench --manifest static/demo.json --out pi5" }</code>
                { " (an aarch64 build for a Raspberry Pi or a Graviton instance: " }<code>{ "scripts/cross aarch64" }</code>
                { ") and add its pi5/report.json here. It must have measured these very files (SHA-256); it stays in this browser." }</p>
            <label class="file">{ "add device reports (.json)" }
                <input type="file" accept=".json,application/json" multiple=true disabled={!props.ready} onchange={on_pick} />
            </label>
            if browser_row.is_some() || !props.devices.is_empty() {
                <table class="stats" tabindex="0">
                        <tr><th>{ "device" }</th><th>{ "report" }</th><th>{ "teacher ms" }</th><th>{ "student ms" }</th>
                            <th>{ "speed-up" }</th><th>{ "student / s" }</th><th>{ "energy / inference" }</th>
                            <th>{ "verdict there" }</th><th></th></tr>
                        { for browser_row }
                        { for rows }
                    </table>
            }
        </section>
    }
}
