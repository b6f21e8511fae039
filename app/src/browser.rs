//! Small pieces of browser glue the view needs: the address bar, downloads, the
//! clipboard, full screen and the theme attribute. Each reports failure as a sentence
//! instead of throwing, because all of them can be refused by the browser.

use distillate_engine::share::Theme;
use wasm_bindgen::{JsCast, JsValue};

/// Milliseconds since the page's navigation started (`performance.now()`).
pub fn now_ms() -> Option<f64> {
    Some(web_sys::window()?.performance()?.now())
}

/// The page's clock origin as epoch milliseconds (`performance.timeOrigin`): times from a
/// worker's clock are converted to the page's through it.
pub fn time_origin_ms() -> Option<f64> {
    Some(web_sys::window()?.performance()?.time_origin())
}

/// The page's query string, without `?`.
pub fn query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default().trim_start_matches('?').to_string()
}

/// This page's address with `query` in place of its query and fragment.
pub fn page_with_query(query: &str) -> String {
    let page = crate::loader::page_url();
    let path = page.split(['?', '#']).next().unwrap_or_default();
    if query.is_empty() { path.to_string() } else { format!("{path}?{query}") }
}

/// Replaces the query in the address bar without reloading or adding a history entry.
pub fn set_query(query: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        // A refusal (e.g. a sandboxed frame) only means the link is not updated.
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&page_with_query(query)));
    }
}

/// Offers `content` as a file download named `name`.
pub fn download(name: &str, mime: &str, content: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(content));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| format!("the browser refused to create {name}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| format!("the browser refused a download URL for {name}"))?;
    let anchor = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
        .ok_or("cannot create a link element")?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The click has started the download; the object URL is no longer needed.
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Copies `text` to the clipboard (only available on https and localhost).
pub fn copy(text: &str) -> Result<(), String> {
    let navigator = web_sys::window().ok_or("no window")?.navigator();
    let available = js_sys::Reflect::get(&navigator, &"clipboard".into()).map(|c| !c.is_undefined()).unwrap_or(false);
    if !available {
        return Err(
            "this page cannot use the clipboard (it needs https or localhost); copy the link from the box".into()
        );
    }
    // The promise settles later; a refusal then changes nothing on the page.
    let _ = navigator.clipboard().write_text(text);
    Ok(())
}

/// Asks for full screen (allowed only from a click or key press; refusal is harmless).
pub fn enter_fullscreen() {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.request_fullscreen();
    }
}

/// Leaves full screen if the page is in it.
pub fn exit_fullscreen() {
    if let Some(document) = web_sys::window().and_then(|w| w.document())
        && document.fullscreen_element().is_some()
    {
        document.exit_fullscreen();
    }
}

/// Sets `data-theme` on `<html>`; `None` follows the system preference.
pub fn apply_theme(theme: Option<Theme>) {
    let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) else { return };
    let _ = match theme {
        Some(Theme::Dark) => root.set_attribute("data-theme", "dark"),
        Some(Theme::Light) => root.set_attribute("data-theme", "light"),
        None => root.remove_attribute("data-theme"),
    };
}

/// Whether the system asks for a dark theme.
pub fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .map(|m| m.matches())
        .unwrap_or(false)
}

/// Now, as an RFC 3339 timestamp.
pub fn now_rfc3339() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}

/// A module of one function using `f32x4.relaxed_madd` (three zero `v128.const`s, the
/// instruction, `end`): it validates only where the host supports relaxed SIMD. The same
/// probe is in bench/page/harness.js.
const RELAXED_SIMD_PROBE: [u8; 82] = {
    let mut m = [0u8; 82];
    let head = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 10, 61, 1, 59, 0];
    let mut i = 0;
    while i < head.len() {
        m[i] = head[i];
        i += 1;
    }
    // Three `v128.const 0` (0xfd 0x0c + 16 zero bytes) start at 24, 42 and 60.
    m[24] = 0xfd;
    m[25] = 0x0c;
    m[42] = 0xfd;
    m[43] = 0x0c;
    m[60] = 0xfd;
    m[61] = 0x0c;
    // f32x4.relaxed_madd (0xfd, LEB128 0x105) and end.
    m[78] = 0xfd;
    m[79] = 0x85;
    m[80] = 0x02;
    m[81] = 0x0b;
    m
};

/// True when this browser can instantiate modules compiled with `+relaxed-simd`.
pub fn supports_relaxed_simd() -> bool {
    js_sys::WebAssembly::validate(&js_sys::Uint8Array::from(&RELAXED_SIMD_PROBE[..]).into()).unwrap_or(false)
}

/// Reads a file's bytes, refusing one over `max_bytes` before reading it.
pub async fn read_file(file: web_sys::File, max_bytes: f64) -> Result<(String, Vec<u8>), String> {
    let name = file.name();
    if file.size() > max_bytes {
        let mb = |b: f64| if b >= 1e6 { format!("{:.0} MB", b / 1e6) } else { format!("{:.0} kB", b / 1e3) };
        return Err(format!("{name} is {}; files over {} are refused", mb(file.size()), mb(max_bytes)));
    }
    let buffer =
        wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await.map_err(|_| format!("cannot read {name}"))?;
    Ok((name, js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// The files of a picker or a drop, in order.
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return vec![] };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}
