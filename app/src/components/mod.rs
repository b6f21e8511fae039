//! Components: data and callbacks in, HTML out.

pub mod benchmark;
pub mod bring_your_own;
pub mod cost_panel;
pub mod devices;
pub mod disagreement_grid;
pub mod environment;
pub mod evaluation;
pub mod export;
pub mod gallery;
pub mod headline;
pub mod ladder_plot;
pub mod model_cards;
pub mod number_input;
pub mod presentation;
pub mod scorecard;
pub mod throughput;

use yew::prelude::*;

use number_input::NumberInput;

/// A labelled number field of a settings struct: label, getter, setter.
pub type NumberField<T> = (&'static str, fn(&T) -> f64, fn(&mut T, f64));

/// One [`NumberInput`] per field; each committed edit emits a copy of `value` with that field set.
pub fn number_inputs<T: Clone + 'static>(value: &T, fields: &[NumberField<T>], on_change: &Callback<T>) -> Html {
    fields
        .iter()
        .map(|(label, get, set)| {
            let current = value.clone();
            let set = *set;
            let on_commit = on_change.reform(move |v: f64| {
                let mut next = current.clone();
                set(&mut next, v);
                next
            });
            html! { <NumberInput label={*label} value={get(value)} {on_commit} /> }
        })
        .collect()
}
