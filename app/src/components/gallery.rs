//! Sample images with both models' top-3, agreement and correctness.

use std::rc::Rc;

use distillate_engine::idx::LabelledImages;
use yew::prelude::*;

use crate::format::{gray_png_data_url, ms};
use crate::protocol::Prediction;

/// A sample set compared by identity: the same `Rc` is the same set. Props and memo
/// dependencies compare with `==`, and comparing megabytes of pixels on every render of the
/// page (each worker message) would cost what the memo below is there to save.
#[derive(Clone)]
pub struct SampleSet(pub Rc<LabelledImages>);

impl PartialEq for SampleSet {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Props of [`Gallery`].
#[derive(Properties, PartialEq)]
pub struct GalleryProps {
    /// The sample set.
    pub samples: SampleSet,
    /// Indices shown.
    pub indices: Vec<usize>,
    /// Class names.
    pub labels: Vec<String>,
    /// Predictions by index.
    pub predictions: std::collections::BTreeMap<usize, (usize, Prediction, Prediction)>,
    /// Selected index.
    pub selected: usize,
    /// Select an image.
    pub on_select: Callback<usize>,
}

/// Thumbnails and the selected image's predictions.
#[function_component(Gallery)]
pub fn gallery(props: &GalleryProps) -> Html {
    let set = &props.samples.0;
    let name = |i: usize| props.labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
    // Encoded once per sample set and selection of images, not on every render: each
    // prediction that arrives re-renders the gallery, and 20 PNG encodes per render kept
    // the page's main thread busy through the cold load.
    let sources = use_memo((props.samples.clone(), props.indices.clone()), |(SampleSet(set), indices)| {
        indices
            .iter()
            .map(|&i| gray_png_data_url(set.width, set.height, set.image(i)).unwrap_or_default())
            .collect::<Vec<_>>()
    });
    let thumbs = props.indices.iter().zip(sources.iter()).map(|(&i, src)| {
        let src = src.clone();
        let verdict = props.predictions.get(&i).map(|(label, t, s)| {
            let (tc, sc) = (t.top3[0].0, s.top3[0].0);
            match (tc == *label, sc == *label, tc == sc) {
                (_, _, false) => "disagree",
                (true, true, true) => "right",
                _ => "wrong",
            }
        });
        let on_select = props.on_select.clone();
        html! {
            <button class={classes!("thumb", (i == props.selected).then_some("selected"), verdict)}
                    title={ name(set.labels[i]) } onclick={ move |_| on_select.emit(i) }>
                <img src={ src } alt={ name(set.labels[i]) } width="56" height="56" />
            </button>
        }
    });
    let detail = props.predictions.get(&props.selected).map(|(label, t, s)| {
        let column = |role: &str, p: &Prediction| {
            let right = p.top3[0].0 == *label;
            html! {
                <div class="prediction">
                    <h4>{ role }<span class={ if right { "ok" } else { "bad" } }>{ if right { " ✓ right" } else { " ✗ wrong" } }</span></h4>
                    <ol>{ for p.top3.iter().map(|(c, prob)| html! {
                        <li style={ format!("--p:{:.1}%", prob * 100.0) }>{ format!("{} {:.1} %", name(*c), prob * 100.0) }</li>
                    }) }</ol>
                    <div class="latency">{ ms(p.latency_ms) }<span class="src">{ " measured" }</span></div>
                </div>
            }
        };
        let agree = t.top3[0].0 == s.top3[0].0;
        html! {
            <div class="detail">
                <div class="truth">{ "label: " }<b>{ name(*label) }</b>
                    <span class={ if agree { "ok" } else { "bad" } }>{ if agree { " · models agree" } else { " · models disagree" } }</span></div>
                <div class="columns">{ column("Teacher", t) }{ column("Student", s) }</div>
            </div>
        }
    });
    html! {
        <section class="gallery">
            <h2>{ "Warehouse items" }</h2>
            <div class="thumbs">{ for thumbs }</div>
            { detail.unwrap_or_else(|| html! { <p class="note">{ "Classifying…" }</p> }) }
        </section>
    }
}
