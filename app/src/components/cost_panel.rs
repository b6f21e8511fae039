//! The cost model: inputs, presets, the formula, and the saving.

use distillate_engine::cost::{CostInputs, compare_with_energy};
use yew::prelude::*;

use super::number_input::NumberInput;
use super::{NumberField, number_inputs};

use crate::format::{money, ms};
use crate::state::LatencySource;

/// Props of [`CostPanel`].
#[derive(Properties, PartialEq)]
pub struct CostPanelProps {
    /// Current inputs.
    pub inputs: CostInputs,
    /// Teacher ms, student ms, and where they came from.
    pub latency: Option<(f64, f64, LatencySource)>,
    /// Inputs changed.
    pub on_change: Callback<CostInputs>,
    /// Latency source changed.
    pub on_latency: Callback<LatencySource>,
    /// Names of the imported device reports, which can price the cost too.
    pub devices: Vec<String>,
    /// Energy per inference (teacher J, student J), where the latency's device measured it.
    pub energy: Option<(f64, f64)>,
}

const FIELDS: [NumberField<CostInputs>; 10] = [
    ("orders / day", |c| c.orders_per_day, |c, v| c.orders_per_day = v),
    ("items / order", |c| c.items_per_order, |c, v| c.items_per_order = v),
    ("inferences / item", |c| c.inferences_per_item, |c, v| c.inferences_per_item = v),
    ("robot cost / hour", |c| c.robot_cost_per_hour, |c, v| c.robot_cost_per_hour = v),
    (
        "share of inference on the robot's critical path (0–1)",
        |c| c.critical_path_share,
        |c, v| c.critical_path_share = v,
    ),
    ("compute cost / core-hour", |c| c.compute_cost_per_core_hour, |c, v| c.compute_cost_per_core_hour = v),
    ("operating days / year", |c| c.operating_days_per_year, |c, v| c.operating_days_per_year = v),
    ("operating hours / day", |c| c.operating_hours_per_day, |c, v| c.operating_hours_per_day = v),
    ("peak hour / average (sizes the compute ceiling check)", |c| c.peak_factor, |c, v| c.peak_factor = v),
    (
        "energy price / kWh (where a device report measured energy; browsers cannot)",
        |c| c.energy_price_per_kwh,
        |c, v| c.energy_price_per_kwh = v,
    ),
];

/// The cost panel.
#[function_component(CostPanel)]
pub fn cost_panel(props: &CostPanelProps) -> Html {
    let fields = number_inputs(&props.inputs, &FIELDS, &props.on_change);
    let presets = [("Mission: 40 k orders/day", CostInputs::mission()), ("Small site", CostInputs::small_site())];
    let preset_buttons = presets.into_iter().map(|(name, p)| {
        let on_change = props.on_change.clone();
        html! { <button onclick={ move |_| on_change.emit(p.clone()) }>{ name }</button> }
    });
    let typed = {
        let on_latency = props.on_latency.clone();
        let latency = props.latency;
        Callback::from(move |_| {
            let (t, s) = latency.map(|(t, s, _)| (t, s)).unwrap_or((112.0, 78.0));
            on_latency.emit(LatencySource::Typed(t, s));
        })
    };
    let mission_latency = props.on_latency.reform(|_| LatencySource::Typed(112.0, 78.0));
    let measured = props.on_latency.reform(|_| LatencySource::Measured);
    let device_buttons = props.devices.iter().enumerate().map(|(i, name)| {
        let on_click = props.on_latency.reform(move |_| LatencySource::Device(i));
        html! { <button onclick={on_click}>{ format!("latency of {name}") }</button> }
    });
    // Bad inputs are named as soon as they are typed, latency or not.
    let result = match (props.inputs.check(), props.latency) {
        (Err(e), _) => html! { <p class="error">{ e.to_string() }</p> },
        (Ok(()), None) => {
            html! { <p class="note">{ "Run the benchmark, or type the latencies of your target device." }</p> }
        }
        (Ok(()), Some((t, s, source))) => match compare_with_energy(&props.inputs, t, s, props.energy) {
            Err(e) => html! { <p class="error">{ e.to_string() }</p> },
            Ok(c) => html! {
                <>
                    <table class="stats" tabindex="0">
                        <tr><th></th><th>{ "latency" }</th><th>{ "cost / order" }</th><th>{ "cost / year" }</th></tr>
                        <tr class="teacher"><th>{ "teacher" }</th><td>{ ms(t) }</td><td>{ money(c.teacher.cost_per_order) }</td><td>{ money(c.teacher.cost_per_year) }</td></tr>
                        <tr class="student"><th>{ "student" }</th><td>{ ms(s) }</td><td>{ money(c.student.cost_per_order) }</td><td>{ money(c.student.cost_per_year) }</td></tr>
                    </table>
                    <p class="headline">{ "Saving " }<b>{ money(c.saving_per_order) }</b>{ " per order, " }
                        <b>{ money(c.saving_per_year) }</b>{ format!(" per year ({:.1} %)", c.saving_share * 100.0) }
                        <span class="src">{ format!(" latency {}", source.describe(&props.devices)) }</span></p>
                </>
            },
        },
    };
    let typed_fields = match props.latency {
        Some((t, s, LatencySource::Typed(..))) => {
            let on_t = props.on_latency.reform(move |t| LatencySource::Typed(t, s));
            let on_s = props.on_latency.reform(move |s| LatencySource::Typed(t, s));
            html! { <div class="typed">
                <NumberInput label="teacher ms" value={t} on_commit={on_t} />
                <NumberInput label="student ms" value={s} on_commit={on_s} />
            </div> }
        }
        _ => html! {},
    };
    html! {
        <section class="cost">
            <h2>{ "Cost per order" }</h2>
            <div class="presets">{ for preset_buttons }
                <button onclick={measured}>{ "use measured latency" }</button>
                <button onclick={typed}>{ "type target-device latency" }</button>
                <button onclick={mission_latency}>{ "mission latency (112 / 78 ms)" }</button>
                { for device_buttons }
            </div>
            { typed_fields }
            <div class="inputs">{ fields }</div>
            <pre class="formula">{ "inference s/order = items/order × inferences/item × latency\n\
    cost/order = s/order × (critical-path share × robot $/h + compute $/core-h) ÷ 3600\n\
    saving/year = (teacher − student cost/order) × orders/day × days/year" }</pre>
            { result }
        </section>
    }
}
