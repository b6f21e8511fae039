//! Fetching on the main thread: manifest, training cards, model and sample bytes.
//! Every failure becomes one sentence naming the URL.

use std::collections::BTreeMap;
use std::rc::Rc;

use distillate_engine::Manifest;
use distillate_engine::idx::{self, LabelledImages};
use distillate_engine::training::TrainingCard;
use gloo_net::http::Request;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Largest download accepted (models are further limited by the engine).
const MAX_DOWNLOAD_BYTES: usize = 300 * 1024 * 1024;

/// `rel` resolved against `base` (a page or manifest URL).
pub fn resolve(base: &str, rel: &str) -> Result<String, String> {
    web_sys::Url::new_with_base(rel, base).map(|u| u.href()).map_err(|_| format!("'{rel}' is not a valid URL"))
}

/// The page's own URL.
pub fn page_url() -> String {
    web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default()
}

/// A query parameter of the page URL.
pub fn query_param(name: &str) -> Option<String> {
    let url = web_sys::Url::new(&page_url()).ok()?;
    url.search_params().get(name).filter(|v| !v.is_empty())
}

/// The bytes at `url`.
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = Request::get(url).send().await.map_err(|e| format!("cannot fetch {url}: {e}"))?;
    if !response.ok() {
        return Err(format!("cannot fetch {url}: HTTP {} {}", response.status(), response.status_text()));
    }
    let bytes = response.binary().await.map_err(|e| format!("cannot read {url}: {e}"))?;
    if bytes.len() > MAX_DOWNLOAD_BYTES {
        return Err(format!("{url} is {} bytes; the limit is {MAX_DOWNLOAD_BYTES}", bytes.len()));
    }
    Ok(bytes)
}

/// The manifest at `url`.
pub async fn load_manifest(url: &str) -> Result<Manifest, String> {
    let bytes = fetch_bytes(url).await?;
    Manifest::parse(&bytes).map_err(|e| format!("{url}: {e}"))
}

/// The training cards `manifest` (loaded from `url`) names, fetched at once, by model id.
/// A card that cannot be fetched or parsed is left out and named in the second list: cards
/// only add training figures, so the page goes on without them.
pub async fn load_cards(url: &str, manifest: &Manifest) -> (BTreeMap<String, Rc<TrainingCard>>, Vec<String>) {
    let fetches = manifest.models.iter().filter_map(|entry| {
        let file = entry.card.as_deref()?;
        Some(async move {
            let card_url = resolve(url, file)?;
            let bytes = fetch_bytes(&card_url).await?;
            let card = TrainingCard::parse(&bytes).map_err(|e| format!("{card_url}: {e}"))?;
            Ok::<_, String>((entry.id.clone(), Rc::new(card)))
        })
    });
    let mut cards = BTreeMap::new();
    let mut problems = Vec::new();
    for result in futures::future::join_all(fetches).await {
        match result {
            Ok((id, card)) => {
                cards.insert(id, card);
            }
            Err(e) => problems.push(format!("A model card was left out: {e}")),
        }
    }
    (cards, problems)
}

/// A sample set ready for the page and the worker: decoded (for thumbnails) and its images
/// as an uncompressed IDX file, which is what the worker is sent — so a worker that is still
/// warming up never inflates megabytes again. A gzip images file is inflated by the
/// browser's `DecompressionStream` (native code, off the page's wasm, which runs unoptimised
/// during a cold start), or by the engine where the browser has none.
pub async fn prepare_samples(images: Vec<u8>, labels: &[u8]) -> Result<(LabelledImages, Vec<u8>), String> {
    let images = if idx::is_gzip(&images) {
        match gunzip_in_browser(&images, idx::MAX_IDX_BYTES as usize).await {
            Some(plain) => plain?,
            None => images,
        }
    } else {
        images
    };
    let set = LabelledImages::from_idx(&images, labels).map_err(|e| e.to_string())?;
    let plain = if idx::is_gzip(&images) {
        idx::write(&[set.len(), set.height as usize, set.width as usize], &set.pixels).map_err(|e| e.to_string())?
    } else {
        images
    };
    Ok((set, plain))
}

/// `bytes` gunzipped by the browser, refused past `limit` bytes (a small file can inflate
/// to gigabytes); `None` where the browser has no `DecompressionStream`.
async fn gunzip_in_browser(bytes: &[u8], limit: usize) -> Option<Result<Vec<u8>, String>> {
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&js_sys::global(), &"DecompressionStream".into()).ok()?.dyn_into().ok()?;
    let stream = js_sys::Reflect::construct(&constructor, &js_sys::Array::of1(&"gzip".into())).ok()?;
    let blob = web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&js_sys::Uint8Array::from(bytes))).ok()?;
    let inflated = blob.stream().pipe_through(stream.unchecked_ref());
    let reader: web_sys::ReadableStreamDefaultReader = inflated.get_reader().unchecked_into();
    let mut out = Vec::new();
    Some(loop {
        let chunk = match JsFuture::from(reader.read()).await {
            Ok(chunk) => chunk,
            Err(e) => break Err(format!("the gzip stream is corrupt ({})", js_message(&e))),
        };
        if js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break Ok(out);
        }
        let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) else { break Err("unreadable stream".into()) };
        let value: js_sys::Uint8Array = value.unchecked_into();
        if out.len() + value.length() as usize > limit {
            let _ = reader.cancel();
            break Err(format!("the file decompresses past {limit} bytes"));
        }
        let start = out.len();
        out.resize(start + value.length() as usize, 0);
        value.copy_to(&mut out[start..]);
    })
}

/// What a JavaScript error says.
fn js_message(e: &wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
