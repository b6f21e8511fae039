//! The two model cards side by side, with the ratios that matter.

use std::rc::Rc;

use distillate_engine::ModelCard;
use distillate_engine::training::TrainingCard;
use yew::prelude::*;

use crate::format::{bytes, group, pct, si};

/// Props of [`ModelCards`].
#[derive(Properties, PartialEq)]
pub struct ModelCardsProps {
    /// Teacher and student names.
    pub names: (String, String),
    /// Cards computed from the files in this browser.
    pub cards: (ModelCard, ModelCard),
    /// Training cards (test accuracy from the model card), if the manifest has them.
    pub training: (Option<Rc<TrainingCard>>, Option<Rc<TrainingCard>>),
    /// How long loading both took here, ms.
    pub load_ms: Option<f64>,
}

/// Teacher and student cards.
#[function_component(ModelCards)]
pub fn model_cards(props: &ModelCardsProps) -> Html {
    let (t, s) = &props.cards;
    let ratio = |a: u64, b: u64| {
        if b == 0 { "—".to_string() } else { format!("{:.1}× smaller", b as f64 / a.max(1) as f64) }
    };
    let card = |role: &str, name: &str, c: &ModelCard, training: &Option<Rc<TrainingCard>>| {
        let acc = training.as_ref().map(|t| t.test_accuracy);
        let arch = training.as_ref().map(|t| t.architecture.clone());
        html! {
            <div class={classes!("card", role.to_lowercase())}>
                <div class="role">{ role }</div>
                <h3>{ name }</h3>
                if let Some(arch) = arch { <div class="arch">{ arch }</div> }
                <dl>
                    <dt>{ "parameters" }</dt><dd>{ group(c.params) }</dd>
                    <dt>{ "MACs / image" }</dt><dd>{ si(c.macs) }</dd>
                    <dt>{ "file" }</dt><dd>{ bytes(c.bytes) }</dd>
                    <dt>{ "input" }</dt><dd>{ c.input_label() }</dd>
                    <dt>{ "classes" }</dt><dd>{ c.classes }</dd>
                    if c.channels_last {
                        <dt>{ "layout" }</dt><dd>{ "channels-last input (Keras), fed NCHW" }</dd>
                    }
                    if c.output_probabilities {
                        <dt>{ "output" }</dt><dd>{ "probabilities (ends in Softmax), used as they are" }</dd>
                    }
                    if let Some(acc) = acc {
                        <dt>{ "test accuracy" }</dt><dd>{ pct(acc) }<span class="src">{ " model card" }</span></dd>
                    }
                </dl>
            </div>
        }
    };
    html! {
        <section class="models">
            <h2>{ "The models" }</h2>
            <div class="pair">
                { card("Teacher", &props.names.0, t, &props.training.0) }
                <div class="ratios">
                    <div>{ ratio(s.params, t.params) }<small>{ " params" }</small></div>
                    <div>{ ratio(s.macs, t.macs) }<small>{ " MACs" }</small></div>
                    <div>{ ratio(s.bytes, t.bytes) }<small>{ " file" }</small></div>
                </div>
                { card("Student", &props.names.1, s, &props.training.1) }
            </div>
            if let Some(ms) = props.load_ms {
                <p class="note">{ format!("Both models parsed, checked and optimised by the engine in this browser in {ms:.0} ms.") }</p>
            }
        </section>
    }
}
