//! Components: data and callbacks in, HTML out.

pub mod benchmark;
pub mod bring_your_own;
pub mod cost_panel;
pub mod devices;
pub mod environment;
pub mod evaluation;
pub mod export;
pub mod gallery;
pub mod headline;
pub mod ladder_plot;
pub mod model_cards;
pub mod presentation;
pub mod scorecard;
pub mod throughput;

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// A labelled number field of a settings struct: label, getter, setter.
pub type NumberField<T> = (&'static str, fn(&T) -> f64, fn(&mut T, f64));

/// One `<input type=number>` per field; each edit emits a copy of `value` with that field set.
pub fn number_inputs<T: Clone + 'static>(value: &T, fields: &[NumberField<T>], on_change: &Callback<T>) -> Html {
    fields
        .iter()
        .map(|(label, get, set)| {
            let on_change = on_change.clone();
            let current = value.clone();
            let set = *set;
            let onchange = Callback::from(move |e: Event| {
                let mut next = current.clone();
                set(&mut next, e.target_unchecked_into::<HtmlInputElement>().value_as_number());
                on_change.emit(next);
            });
            html! { <label>{ *label }<input type="number" step="any" value={ get(value).to_string() } {onchange} /></label> }
        })
        .collect()
}
