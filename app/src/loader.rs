//! Fetching on the main thread: manifest, training cards, model and sample bytes.
//! Every failure becomes one sentence naming the URL.

use std::collections::BTreeMap;

use distillate_engine::Manifest;
use gloo_net::http::Request;

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

/// The manifest at `url` and the training cards it names (cards that fail to load are
/// skipped: they only add training figures).
pub async fn load_manifest(url: &str) -> Result<(Manifest, BTreeMap<String, serde_json::Value>), String> {
    let bytes = fetch_bytes(url).await?;
    let manifest = Manifest::parse(&bytes).map_err(|e| format!("{url}: {e}"))?;
    let mut cards = BTreeMap::new();
    for entry in &manifest.models {
        if let Some(card) = &entry.card {
            let Ok(card_url) = resolve(url, card) else { continue };
            if let Ok(bytes) = fetch_bytes(&card_url).await
                && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
            {
                cards.insert(entry.id.clone(), value);
            }
        }
    }
    Ok((manifest, cards))
}
