//! Bring your own: a teacher and student ONNX, labels, an IDX sample pair or single images,
//! by file picker or drag-and-drop, or another manifest by URL. Files never leave the
//! browser: they are read here and handed to the worker.

use std::rc::Rc;

use distillate_engine::PreprocessSpec;
use distillate_engine::idx;
use distillate_engine::manifest::parse_labels;
use wasm_bindgen::JsCast;
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use crate::browser::{files_of, read_file};
use crate::format::ms;
use crate::worker_link::{PairLoad, SharedBlob};
use distillate_protocol::Prediction;

/// Largest file read (models are further limited by the engine).
const MAX_FILE_BYTES: f64 = 300.0 * 1024.0 * 1024.0;
/// Images classified from one pick or drop (a folder can hold thousands; each answer is a
/// table row, so beyond this the page would only grow).
const MAX_IMAGES_PER_PICK: usize = 200;

/// What the person dropped or picked, routed by content.
#[derive(Debug, Clone, PartialEq, Default)]
struct Picked {
    teacher: Option<(String, Rc<[u8]>)>,
    student: Option<(String, Rc<[u8]>)>,
    labels: Option<Vec<String>>,
    idx_images: Option<Rc<Vec<u8>>>,
    idx_labels: Option<Rc<Vec<u8>>>,
}

/// Props of [`BringYourOwn`].
#[derive(Properties, PartialEq)]
pub struct BringYourOwnProps {
    /// Labels in use now (kept when no labels file is given).
    pub labels: Vec<String>,
    /// Preprocessing to start from.
    pub preprocess: PreprocessSpec,
    /// Answers for the person's own images.
    pub own_images: Vec<(String, Prediction, Prediction)>,
    /// Load this pair.
    pub on_pair: Callback<PairLoad>,
    /// Load this IDX sample pair (images, labels).
    pub on_samples: Callback<(Vec<u8>, Vec<u8>)>,
    /// Classify this image.
    pub on_image: Callback<(String, Vec<u8>)>,
    /// Report a problem.
    pub on_error: Callback<String>,
}

/// The panel.
#[function_component(BringYourOwn)]
pub fn bring_your_own(props: &BringYourOwnProps) -> Html {
    let picked = use_state(Picked::default);
    let spec_text = use_state(|| serde_json::to_string(&props.preprocess).unwrap_or_default());
    let manifest_url = use_state(String::new);
    let over = use_state(|| false);

    // Routes files by what they are: .onnx → teacher then student; IDX → images or labels
    // by their dimensions; .txt/.json → labels; PNG/JPEG → classify now.
    let route = {
        let picked = picked.clone();
        let on_error = props.on_error.clone();
        let on_image = props.on_image.clone();
        let on_samples = props.on_samples.clone();
        Callback::from(move |(files, role): (Vec<File>, Option<&'static str>)| {
            let picked = picked.clone();
            let on_error = on_error.clone();
            let on_image = on_image.clone();
            let on_samples = on_samples.clone();
            // Hidden files (.DS_Store, ._*) come along with folders and mean nothing here.
            let files: Vec<File> = files.into_iter().filter(|f| !f.name().starts_with('.')).collect();
            wasm_bindgen_futures::spawn_local(async move {
                let mut next = (*picked).clone();
                let mut images = 0usize;
                let mut skipped = 0usize;
                for file in files {
                    let lower = file.name().to_lowercase();
                    if lower.ends_with(".png") || lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
                        images += 1;
                        if images > MAX_IMAGES_PER_PICK {
                            skipped += 1;
                            continue;
                        }
                    }
                    let (name, bytes) = match read_file(file, MAX_FILE_BYTES).await {
                        Ok(x) => x,
                        Err(e) => {
                            on_error.emit(e);
                            continue;
                        }
                    };
                    let is_onnx = lower.ends_with(".onnx");
                    match role {
                        Some("teacher") => next.teacher = Some((name, Rc::from(bytes))),
                        Some("student") => next.student = Some((name, Rc::from(bytes))),
                        _ if is_onnx && next.teacher.is_none() => next.teacher = Some((name, Rc::from(bytes))),
                        _ if is_onnx => next.student = Some((name, Rc::from(bytes))),
                        _ if lower.ends_with(".png") || lower.ends_with(".jpg") || lower.ends_with(".jpeg") => {
                            on_image.emit((name, bytes));
                        }
                        _ if lower.ends_with(".txt") || lower.ends_with(".json") => match parse_labels(&bytes) {
                            Ok(labels) => next.labels = Some(labels),
                            Err(e) => on_error.emit(format!("{name}: {e}")),
                        },
                        _ => match idx::parse(&bytes) {
                            Ok(array) if array.dims.len() == 3 => next.idx_images = Some(Rc::new(bytes)),
                            Ok(array) if array.dims.len() == 1 => next.idx_labels = Some(Rc::new(bytes)),
                            Ok(array) => on_error.emit(format!(
                                "{name}: IDX with dimensions {:?} is neither images nor labels",
                                array.dims
                            )),
                            Err(_) => on_error.emit(format!(
                                "{name}: not a model (.onnx), image (PNG/JPEG), labels file (.txt/.json) or IDX file"
                            )),
                        },
                    }
                }
                if skipped > 0 {
                    on_error.emit(format!(
                        "classified the first {MAX_IMAGES_PER_PICK} of {images} images; {skipped} were skipped \
                         (for a large labelled set, use an IDX pair)"
                    ));
                }
                if let (Some(images), Some(labels)) = (next.idx_images.take(), next.idx_labels.take()) {
                    on_samples.emit(((*images).clone(), (*labels).clone()));
                }
                picked.set(next);
            });
        })
    };

    let input_for = |role: Option<&'static str>, accept: &'static str, multiple: bool| {
        let route = route.clone();
        let onchange = Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            route.emit((files_of(input.files()), role));
            input.set_value("");
        });
        html! { <input type="file" {accept} {multiple} {onchange} /> }
    };
    let folder_input = {
        let route = route.clone();
        let onchange = Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            route.emit((files_of(input.files()), None));
            input.set_value("");
        });
        // webkitdirectory: every browser's folder picker (Chromium, Firefox, Safari).
        html! { <input type="file" class="folder" webkitdirectory={true} multiple={true} {onchange} /> }
    };

    let compare = {
        let picked = picked.clone();
        let spec_text = spec_text.clone();
        let on_pair = props.on_pair.clone();
        let on_error = props.on_error.clone();
        let labels = props.labels.clone();
        Callback::from(move |_| {
            let (Some(t), Some(s)) = (&picked.teacher, &picked.student) else {
                on_error.emit("Pick a teacher and a student ONNX file first.".into());
                return;
            };
            let spec: PreprocessSpec = match serde_json::from_str(&spec_text) {
                Ok(spec) => spec,
                Err(e) => {
                    on_error.emit(format!("preprocessing is not valid JSON for a spec: {e}"));
                    return;
                }
            };
            let blob = |(name, bytes): &(String, Rc<[u8]>)| SharedBlob {
                name: name.clone(),
                bytes: bytes.clone(),
                preprocess: spec.clone(),
            };
            let labels = picked.labels.clone().unwrap_or_else(|| labels.clone());
            on_pair.emit(PairLoad { teacher: blob(t), student: blob(s), labels });
        })
    };

    let ondrop = {
        let route = route.clone();
        let over = over.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            over.set(false);
            route.emit((files_of(e.data_transfer().and_then(|d| d.files())), None));
        })
    };
    let ondragover = {
        let over = over.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            over.set(true);
        })
    };
    let ondragleave = {
        let over = over.clone();
        Callback::from(move |_| over.set(false))
    };
    let on_spec = {
        let spec_text = spec_text.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(t) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok()) {
                spec_text.set(t.value());
            }
        })
    };
    let on_url = {
        let manifest_url = manifest_url.clone();
        Callback::from(move |e: InputEvent| manifest_url.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let open_manifest = {
        let manifest_url = manifest_url.clone();
        Callback::from(move |_| {
            if manifest_url.trim().is_empty() {
                return;
            }
            if let Some(w) = web_sys::window() {
                let query = js_sys::encode_uri_component(manifest_url.trim());
                let _ = w.location().set_search(&format!("manifest={query}"));
            }
        })
    };

    let name_of =
        |slot: &Option<(String, Rc<[u8]>)>| slot.as_ref().map(|s| s.0.clone()).unwrap_or_else(|| "none".into());
    let own = props.own_images.iter().map(|(name, t, s)| {
        let label = |p: &Prediction| {
            let (c, prob) = p.top3[0];
            format!("{} {:.0} %", props.labels.get(c).cloned().unwrap_or_else(|| format!("class {c}")), prob * 100.0)
        };
        html! { <tr><th>{ name.clone() }</th><td>{ label(t) }</td><td>{ ms(t.latency_ms) }</td><td>{ label(s) }</td><td>{ ms(s.latency_ms) }</td></tr> }
    });
    html! {
        <section class="byo">
            <h2>{ "Bring your own" }</h2>
            <div class={classes!("dropzone", (*over).then_some("over"))} {ondrop} {ondragover} {ondragleave}>
                { "Drop files here: two .onnx models (teacher first), a labels file, an IDX images + labels pair, or PNG/JPEG images. Nothing is uploaded: files are read in this tab." }
            </div>
            <div class="inputs">
                <label>{ format!("teacher ONNX: {}", name_of(&picked.teacher)) }{ input_for(Some("teacher"), ".onnx", false) }</label>
                <label>{ format!("student ONNX: {}", name_of(&picked.student)) }{ input_for(Some("student"), ".onnx", false) }</label>
                <label>{ format!("labels: {}", picked.labels.as_ref().map(|l| format!("{} classes", l.len())).unwrap_or_else(|| format!("current ({})", props.labels.len()))) }
                    { input_for(None, ".txt,.json", false) }</label>
                <label>{ "images: IDX pair or PNG/JPEG" }{ input_for(None, ".gz,.idx,.png,.jpg,.jpeg,application/octet-stream", true) }</label>
                <label>{ "or a whole folder (models, labels, images)" }{ folder_input }</label>
            </div>
            <label class="spec">{ "preprocessing (JSON: fit, scale, mean, std, invert)" }
                <textarea rows="2" value={(*spec_text).clone()} oninput={on_spec} /></label>
            <button class="primary" onclick={compare}>{ "Compare these models" }</button>
            <div class="url">
                <input type="url" placeholder="https://…/demo.json" value={(*manifest_url).clone()} oninput={on_url} />
                <button onclick={open_manifest}>{ "Open manifest" }</button>
            </div>
            if !props.own_images.is_empty() {
                <table class="stats" tabindex="0"><tr><th>{ "your image" }</th><th>{ "teacher" }</th><th></th><th>{ "student" }</th><th></th></tr>{ for own }</table>
            }
        </section>
    }
}
