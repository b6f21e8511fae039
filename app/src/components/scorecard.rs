//! The readiness scorecard: three axes, pass/fail, editable thresholds.

use distillate_engine::verdict::{Thresholds, Verdict};
use yew::prelude::*;

use super::{NumberField, number_inputs};

/// Props of [`Scorecard`].
#[derive(Properties, PartialEq)]
pub struct ScorecardProps {
    /// The verdict, once latency and evaluation are in (or why not).
    pub verdict: Result<Verdict, String>,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Thresholds changed.
    pub on_change: Callback<Thresholds>,
    /// Other devices' verdicts, from their own reports: (device, verdict there).
    pub devices: Vec<(String, String)>,
}

const FIELDS: [NumberField<Thresholds>; 8] = [
    ("min agreement (0–1)", |t| t.min_agreement, |t, v| t.min_agreement = v),
    ("max mean KL", |t| t.max_mean_kl, |t, v| t.max_mean_kl = v),
    ("min latency cut (0–1)", |t| t.min_latency_cut, |t, v| t.min_latency_cut = v),
    ("max params ratio", |t| t.max_params_ratio, |t, v| t.max_params_ratio = v),
    ("max MACs ratio", |t| t.max_macs_ratio, |t, v| t.max_macs_ratio = v),
    ("max bytes ratio", |t| t.max_bytes_ratio, |t, v| t.max_bytes_ratio = v),
    ("max accuracy drop (points)", |t| t.max_accuracy_drop_points, |t, v| t.max_accuracy_drop_points = v),
    ("max device FLOP/s used at peak (0–1)", |t| t.max_compute_share, |t, v| t.max_compute_share = v),
];

/// The scorecard.
#[function_component(Scorecard)]
pub fn scorecard(props: &ScorecardProps) -> Html {
    let fields = number_inputs(&props.thresholds, &FIELDS, &props.on_change);
    let body = match &props.verdict {
        Err(why) => html! { <p class="note">{ why.clone() }</p> },
        Ok(v) => html! {
            <>
                <p class={classes!("verdict", if v.ready { "ok" } else { "bad" })}>
                    { if v.ready { "Ready to replace the teacher" } else { "Not ready" } }</p>
                <div class="axes">{ for v.axes().into_iter().map(|axis| html! {
                    <div class={classes!("axis", if axis.pass { "ok" } else { "bad" })}>
                        <h4>{ &axis.name }<span>{ if axis.pass { " PASS" } else { " FAIL" } }</span></h4>
                        <ul>{ for axis.checks.iter().map(|c| html! {
                            <li class={ if c.pass { "ok" } else { "bad" } }>
                                { format!("{}: {:.4} {} {:.4}", c.name, c.value, c.comparison, c.threshold) }</li>
                        }) }</ul>
                    </div>
                }) }</div>
            </>
        },
    };
    let devices = (!props.devices.is_empty()).then(|| {
        html! {
            <div class="device-verdicts">
                <h4>{ "On other devices (their own reports and thresholds)" }</h4>
                <ul>{ for props.devices.iter().map(|(name, verdict)| html! {
                    <li>{ format!("{name}: {verdict}") }</li>
                }) }</ul>
            </div>
        }
    });
    html! {
        <section class="scorecard">
            <h2>{ "Readiness" }</h2>
            { body }
            { for devices }
            <details><summary>{ "thresholds" }</summary><div class="inputs">{ fields }</div></details>
        </section>
    }
}
