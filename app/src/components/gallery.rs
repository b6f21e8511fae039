//! Sample images with both models' top-3, agreement and correctness.

use std::rc::Rc;

use distillate_engine::idx::LabelledImages;
use distillate_protocol::Prediction;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::prelude::*;

use crate::format::ms;

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
    /// The finished benchmark's medians (teacher, student), ms per image.
    pub warmed: Option<(f64, f64)>,
}

/// Props of [`Thumbnail`].
#[derive(Properties, PartialEq)]
pub struct ThumbnailProps {
    /// The sample set.
    pub samples: SampleSet,
    /// Which image.
    pub index: usize,
    /// Its class name (the image's accessible name).
    pub label: String,
}

/// One sample drawn into a canvas at its own size (CSS scales it): pixels straight into
/// `ImageData`, drawn once per sample set and index, where a data URL would encode a PNG
/// and base64 for every thumbnail.
#[function_component(Thumbnail)]
pub fn thumbnail(props: &ThumbnailProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with((props.samples.clone(), props.index), move |(SampleSet(set), index)| {
            // A canvas without a 2-D context stays blank; the label still names the image.
            let _ = draw(&canvas, set, *index);
        });
    }
    let set = &props.samples.0;
    html! {
        <canvas ref={canvas} width={set.width.to_string()} height={set.height.to_string()}
                role="img" aria-label={props.label.clone()} />
    }
}

fn draw(canvas: &NodeRef, set: &LabelledImages, index: usize) -> Option<()> {
    let canvas = canvas.cast::<HtmlCanvasElement>()?;
    let context = canvas.get_context("2d").ok()??.dyn_into::<CanvasRenderingContext2d>().ok()?;
    let rgba: Vec<u8> = set.image(index).iter().flat_map(|&p| [p, p, p, 255]).collect();
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), set.width, set.height).ok()?;
    context.put_image_data(&data, 0.0, 0.0).ok()
}

/// Thumbnails and the selected image's predictions.
#[function_component(Gallery)]
pub fn gallery(props: &GalleryProps) -> Html {
    let set = &props.samples.0;
    let name = |i: usize| props.labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
    let thumbs = props.indices.iter().map(|&i| {
        let verdict = props.predictions.get(&i).map(|(label, t, s)| {
            let (tc, sc) = (t.top3[0].0, s.top3[0].0);
            match (tc == *label, sc == *label, tc == sc) {
                (_, _, false) => "disagree",
                (true, true, true) => "right",
                _ => "wrong",
            }
        });
        let on_select = props.on_select.clone();
        // The border's colour says it at a glance; the mark and the title say it without colour.
        let (mark, said) = match verdict {
            Some("right") => ("", " — both models right"),
            Some("wrong") => ("✗", " — a model is wrong"),
            Some(_) => ("≠", " — the models disagree"),
            None => ("", ""),
        };
        html! {
            <button class={classes!("thumb", (i == props.selected).then_some("selected"), verdict)}
                    title={ format!("{}{said}", name(set.labels[i])) } onclick={ move |_| on_select.emit(i) }>
                <Thumbnail samples={props.samples.clone()} index={i} label={format!("{}{said}", name(set.labels[i]))} />
                if !mark.is_empty() { <span class="mark" aria-hidden="true">{ mark }</span> }
            </button>
        }
    });
    let detail = props.predictions.get(&props.selected).map(|(label, t, s)| {
        // One latency per model: a prediction's own timing comes from the first calls,
        // before V8 has optimised the code (5–9 ms for a model the benchmark puts at 1.9–3),
        // so once the benchmark has run its warmed median stands in for it.
        let latency = |p: &Prediction, warmed: Option<f64>| match warmed {
            Some(median) => html! { <div class="latency">{ ms(median) }<span class="src">{ " warmed median (benchmark)" }</span></div> },
            None => html! { <div class="latency">{ ms(p.latency_ms) }<span class="src">{ " first calls, before warm-up" }</span></div> },
        };
        let column = |role: &str, p: &Prediction, warmed: Option<f64>| {
            let right = p.top3[0].0 == *label;
            html! {
                <div class="prediction">
                    <h4>{ role }<span class={ if right { "ok" } else { "bad" } }>{ if right { " ✓ right" } else { " ✗ wrong" } }</span></h4>
                    <ol>{ for p.top3.iter().map(|(c, prob)| html! {
                        <li style={ format!("--p:{:.1}%", prob * 100.0) }>{ format!("{} {:.1} %", name(*c), prob * 100.0) }</li>
                    }) }</ol>
                    { latency(p, warmed) }
                </div>
            }
        };
        let agree = t.top3[0].0 == s.top3[0].0;
        html! {
            <div class="detail">
                <div class="truth">{ "label: " }<b>{ name(*label) }</b>
                    <span class={ if agree { "ok" } else { "bad" } }>{ if agree { " · models agree" } else { " · models disagree" } }</span></div>
                <div class="columns">{ column("Teacher", t, props.warmed.map(|w| w.0)) }{ column("Student", s, props.warmed.map(|w| w.1)) }</div>
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
