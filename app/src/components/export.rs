//! Share and export: the link that restores these settings, the run as Markdown or JSON
//! (the CLI's report type), the scorecard as an SVG image, and presentation mode.

use yew::prelude::*;

/// A file the page can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// `report.md`: tables for a README or pull request.
    Markdown,
    /// `report.json`: the engine's report.
    Json,
    /// `scorecard.svg`.
    ScorecardSvg,
}

impl ExportKind {
    /// File name, MIME type.
    pub fn file(self) -> (&'static str, &'static str) {
        match self {
            ExportKind::Markdown => ("report.md", "text/markdown"),
            ExportKind::Json => ("report.json", "application/json"),
            ExportKind::ScorecardSvg => ("scorecard.svg", "image/svg+xml"),
        }
    }
}

/// Props of [`Export`].
#[derive(Properties, PartialEq)]
pub struct ExportProps {
    /// The link to this page with its settings.
    pub link: String,
    /// A pair is loaded (the report has something to say).
    pub ready: bool,
    /// Latency and evaluation are both in (the scorecard can be drawn).
    pub measured: bool,
    /// A confirmation to show.
    pub notice: Option<String>,
    /// Copy the link.
    pub on_copy: Callback<()>,
    /// Produce a file.
    pub on_export: Callback<ExportKind>,
    /// Enter presentation mode.
    pub on_present: Callback<()>,
}

/// The share-and-export panel.
#[function_component(Export)]
pub fn export(props: &ExportProps) -> Html {
    let file = |kind: ExportKind| props.on_export.reform(move |_: MouseEvent| kind);
    let copy = props.on_copy.reform(|_: MouseEvent| ());
    let present = props.on_present.reform(|_: MouseEvent| ());
    html! {
        <section class="export">
            <h2>{ "Share and export" }</h2>
            <div class="share">
                <input type="text" readonly={true} value={props.link.clone()} aria-label="link to this page"
                    onfocus={Callback::from(|e: FocusEvent| {
                        if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() { input.select(); }
                    })} />
                <button onclick={copy}>{ "Copy link" }</button>
            </div>
            <p class="note">{ "The link carries the manifest, cost inputs, thresholds, typed latency, view and theme — \
                never measurements: whoever opens it measures again in their own browser." }</p>
            <div class="buttons">
                <button onclick={file(ExportKind::Markdown)} disabled={!props.ready}>{ "Markdown report" }</button>
                <button onclick={file(ExportKind::Json)} disabled={!props.ready}>{ "JSON report" }</button>
                <button onclick={file(ExportKind::ScorecardSvg)} disabled={!props.measured}
                    title={ if props.measured { "" } else { "run the benchmark and an evaluation first" } }>{ "Scorecard (SVG)" }</button>
                <button class="primary" onclick={present}>{ "Present" }</button>
            </div>
            if let Some(n) = &props.notice { <p class="notice" role="status">{ n.clone() }</p> }
        </section>
    }
}
