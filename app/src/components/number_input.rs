//! A number field that keeps what the visitor is typing.
//!
//! The page re-renders many times a second while it measures (benchmark and evaluation
//! progress), and Yew re-applies an `<input value=…>` on every render when the DOM's value
//! differs from it: a number typed but not yet committed was reset to the old one, and the
//! edit was lost (a shared-link test failed this way on a slower machine). This input has no
//! `value` attribute; its DOM value is written only when the value it is given changes (a
//! preset, a link, a committed edit), and an edit is committed on `change` (Enter or blur).

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`NumberInput`].
#[derive(Properties, PartialEq)]
pub struct NumberInputProps {
    /// The text beside the field.
    pub label: AttrValue,
    /// The value the page holds.
    pub value: f64,
    /// A committed edit: the field's number (NaN when empty).
    pub on_commit: Callback<f64>,
}

/// A labelled `<input type=number>` that only the visitor or a changed `value` writes to.
#[function_component(NumberInput)]
pub fn number_input(props: &NumberInputProps) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        // Bits, not the f64: NaN (an emptied field) must equal itself, or every render rewrites it.
        use_effect_with(props.value.to_bits(), move |bits| {
            if let Some(input) = node.cast::<HtmlInputElement>() {
                input.set_value(&f64::from_bits(*bits).to_string());
            }
        });
    }
    let onchange = props.on_commit.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().value_as_number());
    html! { <label>{ props.label.clone() }<input ref={node} type="number" step="any" {onchange} /></label> }
}
