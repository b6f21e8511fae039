//! The root component: loads the manifest, talks to the worker, lays out the panels.

use distillate_engine::bench::{BenchConfig, Phase};
use distillate_engine::cost::compare_with_energy;
use distillate_engine::idx::LabelledImages;
use distillate_engine::report::Environment;
use distillate_engine::scorecard::scorecard_svg;
use distillate_engine::share::{ShareState, Theme, View};
use distillate_protocol::Request;
use yew::prelude::*;

use crate::auto_measure::{AutoStep, auto_bench_config};
use crate::browser;
use crate::components::benchmark::Benchmark;
use crate::components::bring_your_own::BringYourOwn;
use crate::components::cost_panel::CostPanel;
use crate::components::devices::Devices;
use crate::components::environment::{EnvironmentCard, browser_facts};
use crate::components::evaluation::Evaluation;
use crate::components::export::{Export, ExportKind};
use crate::components::gallery::{Gallery, SampleSet};
use crate::components::headline::HeadlineStrip;
use crate::components::ladder_plot::{LadderPlot, LadderPoint};
use crate::components::model_cards::ModelCards;
use crate::components::presentation::Presentation;
use crate::components::scorecard::Scorecard;
use crate::components::throughput::ThroughputPanel;
use crate::demo::{DEFAULT_MANIFEST, deliver_samples, load_demo, request_pair};
use crate::eval_pool::EvalRun;
use crate::hooks::{reach, worker_script};
use crate::loader::query_param;
use crate::rungs::RungStatus;
use crate::state::{Action, LatencySource, State, ThroughputStatus};
use crate::timeline::Milestone;
use crate::worker_link::{PairLoad, use_worker_link};

/// Sample images shown in the gallery: this many per class.
const GALLERY_PER_CLASS: usize = 2;

/// The page.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(State::default);
    let link = use_worker_link(state.dispatcher(), state.worker_generation);

    {
        let dispatch = state.dispatcher();
        let worker = link.clone();
        use_effect_with((), move |_| {
            reach(&dispatch, Milestone::AppStarted);
            let link = match ShareState::from_query(&browser::query()) {
                Ok(link) => link,
                Err(e) => {
                    dispatch.dispatch(Action::Error(format!("{e} — opened with the default settings instead")));
                    ShareState::default()
                }
            };
            let url = link.manifest.clone().unwrap_or_else(|| DEFAULT_MANIFEST.to_string());
            dispatch.dispatch(Action::LinkOpened(link));
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = load_demo(&url, &dispatch, &worker).await {
                    dispatch.dispatch(Action::Error(e));
                }
            });
        });
    }

    let gallery: Vec<usize> = state.samples.as_ref().map(|s| gallery_indices(s)).unwrap_or_default();
    // Classify the gallery whenever a new pair of models is ready, or a new worker has it.
    // Keyed on the pair's number: a second load of the same files is a new pair too.
    {
        let link = link.clone();
        let gallery = gallery.clone();
        let selected = state.selected;
        use_effect_with((state.pair, gallery.len(), state.worker_generation), move |(pair, _, _)| {
            if pair.is_some() {
                // The image shown large first: it is the prediction a visitor waits for.
                let mut order = gallery;
                if let Some(shown) = order.iter().position(|i| *i == selected) {
                    order[..=shown].rotate_right(1);
                }
                for index in order {
                    link.send(Request::Classify { index });
                }
            }
        });
    }

    // The address bar always holds a link that restores these settings.
    let query = state.share_state().to_query();
    use_effect_with(query.clone(), |query| browser::set_query(query));
    use_effect_with(state.theme, |theme| browser::apply_theme(*theme));

    let ready = state.cards.is_some() && state.samples.is_some();
    let labels = state.labels.clone();
    let on_select = {
        let dispatch = state.dispatcher();
        Callback::from(move |i: usize| dispatch.dispatch(Action::Select(i)))
    };
    // The evaluation runs in workers of its own, one per core (crate::eval_pool); a new
    // pair ends it, as does a benchmark, which must have the cores to itself.
    let eval_run = (*use_memo((), |_| EvalRun::default())).clone();
    {
        let eval_run = eval_run.clone();
        use_effect_with(state.pair, move |_| {
            eval_run.stop();
        });
    }
    let pool_workers = *use_memo((), |_| crate::pool::workers_for(browser_facts().cores));
    let on_bench = {
        let dispatch = state.dispatcher();
        let (link, eval_run) = (link.clone(), eval_run.clone());
        Callback::from(move |_| {
            eval_run.stop();
            dispatch.dispatch(Action::StartBench);
            link.send(Request::Benchmark { config: browser_bench_config() });
        })
    };
    // The page measures by itself once the first prediction is in (crate::auto_measure):
    // opened from a shared link too, whose settings carry no numbers.
    {
        let dispatch = state.dispatcher();
        let (link, eval_run) = (link.clone(), eval_run.clone());
        let step = state.auto_step();
        use_effect_with(step, move |step| match *step {
            Some(AutoStep::Benchmark) => {
                dispatch.dispatch(Action::AutoMeasure(AutoStep::Benchmark));
                link.send(Request::Benchmark { config: auto_bench_config(BROWSER_WARMUP_MS) });
            }
            Some(AutoStep::Evaluate(limit)) => {
                dispatch.dispatch(Action::AutoMeasure(AutoStep::Evaluate(limit)));
                eval_run.start(&dispatch, &link, limit, pool_workers);
            }
            None => {}
        });
    }
    let on_eval = {
        let dispatch = state.dispatcher();
        let (link, eval_run) = (link.clone(), eval_run.clone());
        Callback::from(move |limit: usize| {
            // The page's worker may be benchmarking: the two would share the cores.
            link.send(Request::Cancel);
            dispatch.dispatch(Action::StartEval);
            eval_run.start(&dispatch, &link, limit, pool_workers);
        })
    };
    let on_bench_cancel = {
        let link = link.clone();
        Callback::from(move |_| link.send(Request::Cancel))
    };
    let on_eval_cancel = {
        let dispatch = state.dispatcher();
        Callback::from(move |_| {
            if eval_run.stop() {
                dispatch.dispatch(Action::StopEval);
            }
        })
    };
    let on_throughput = {
        let dispatch = state.dispatcher();
        let link = link.clone();
        Callback::from(move |_| {
            let (Some(pair), Some(samples)) = link.given() else {
                dispatch.dispatch(Action::Error("Throughput needs loaded models and samples.".into()));
                return;
            };
            dispatch.dispatch(Action::Throughput(ThroughputStatus::Running(pool_workers)));
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let status = match crate::pool::measure(&worker_script(), pool_workers, pair, samples).await {
                    Ok(t) => ThroughputStatus::Done(t),
                    Err(e) => ThroughputStatus::Failed(e),
                };
                dispatch.dispatch(Action::Throughput(status));
            });
        })
    };
    let on_time_rungs = {
        let (dispatch, link) = (state.dispatcher(), link.clone());
        let (url, manifest) = (state.manifest_url.clone(), state.manifest.clone());
        Callback::from(move |_| crate::rungs::start(&dispatch, &link, url.clone(), manifest.clone()))
    };
    let on_cost = {
        let dispatch = state.dispatcher();
        Callback::from(move |c| dispatch.dispatch(Action::Cost(c)))
    };
    let on_latency = {
        let dispatch = state.dispatcher();
        Callback::from(move |l| dispatch.dispatch(Action::LatencySource(l)))
    };
    let on_thresholds = {
        let dispatch = state.dispatcher();
        Callback::from(move |t| dispatch.dispatch(Action::Thresholds(t)))
    };
    let on_device_files = {
        let dispatch = state.dispatcher();
        Callback::from(move |files| dispatch.dispatch(Action::DeviceReports(files)))
    };
    let on_device_remove = {
        let dispatch = state.dispatcher();
        Callback::from(move |i| dispatch.dispatch(Action::RemoveDevice(i)))
    };
    let on_device_price = on_latency.reform(LatencySource::Device);
    let pricing_device = match state.latency_source {
        Some(LatencySource::Device(i)) => Some(i),
        _ => None,
    };
    let device_verdicts: Vec<(String, String)> = state.devices.iter().map(|d| (d.name(), d.verdict_label())).collect();
    // A deliberate worker panic for the end-to-end test of recovery, once models are in.
    // Read at the first render: the address bar is rewritten to the share link right after.
    let debug_panic = *use_memo((), |_| query_param("debug").as_deref() == Some("worker-panic"));
    {
        let link = link.clone();
        use_effect_with((ready, state.worker_generation), move |(ready, generation)| {
            if *ready && *generation == 0 && debug_panic {
                link.send(Request::Panic);
            }
        });
    }
    let on_pair = {
        let dispatch = state.dispatcher();
        let link = link.clone();
        Callback::from(move |pair: PairLoad| request_pair(&link, &dispatch, pair))
    };
    let on_samples = {
        let dispatch = state.dispatcher();
        let link = link.clone();
        Callback::from(move |(images, labels): (Vec<u8>, Vec<u8>)| {
            let (dispatch, link) = (dispatch.clone(), link.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = deliver_samples(images, labels, &dispatch, &link).await {
                    dispatch.dispatch(Action::Error(format!("IDX pair: {e}")));
                }
            });
        })
    };
    let on_image = {
        let link = link.clone();
        Callback::from(move |(name, bytes): (String, Vec<u8>)| link.send(Request::ClassifyImage { name, bytes }))
    };
    let on_error = {
        let dispatch = state.dispatcher();
        Callback::from(move |e: String| dispatch.dispatch(Action::Error(e)))
    };
    let preprocess = state.manifest.as_ref().map(|m| m.student_entry().preprocess.clone()).unwrap_or_default();
    let clear = {
        let dispatch = state.dispatcher();
        Callback::from(move |_| dispatch.dispatch(Action::ClearErrors))
    };
    let dark = state.theme == Some(Theme::Dark) || (state.theme.is_none() && browser::prefers_dark());
    let on_theme = {
        let dispatch = state.dispatcher();
        Callback::from(move |_: ()| {
            dispatch.dispatch(Action::Theme(Some(if dark { Theme::Light } else { Theme::Dark })))
        })
    };
    let on_present = {
        let dispatch = state.dispatcher();
        Callback::from(move |_: ()| {
            browser::enter_fullscreen();
            dispatch.dispatch(Action::View(View::Present));
        })
    };
    let on_exit = {
        let dispatch = state.dispatcher();
        Callback::from(move |_: ()| {
            browser::exit_fullscreen();
            dispatch.dispatch(Action::View(View::Page));
        })
    };
    let on_slide = {
        let dispatch = state.dispatcher();
        Callback::from(move |n: usize| dispatch.dispatch(Action::Slide(n)))
    };
    let link = browser::page_with_query(&query);
    let on_copy = {
        let dispatch = state.dispatcher();
        let link = link.clone();
        Callback::from(move |_: ()| match browser::copy(&link) {
            Ok(()) => dispatch.dispatch(Action::Notice(Some("Link copied.".into()))),
            Err(e) => dispatch.dispatch(Action::Notice(Some(e))),
        })
    };
    let on_export = {
        let dispatch = state.dispatcher();
        let state = state.clone();
        Callback::from(move |kind: ExportKind| {
            let (name, mime) = kind.file();
            let made = state.report(environment(&state), &browser::now_rfc3339()).and_then(|report| match kind {
                ExportKind::Markdown => Ok(report.to_markdown()),
                ExportKind::Json => Ok(report.to_json()),
                ExportKind::ScorecardSvg => scorecard_svg(&report).map_err(|e| e.to_string()),
            });
            match made.and_then(|content| browser::download(name, mime, &content)) {
                Ok(()) => dispatch.dispatch(Action::Notice(Some(format!("Saved {name}.")))),
                Err(e) => dispatch.dispatch(Action::Error(format!("Cannot export {name}: {e}"))),
            }
        })
    };
    let verdict = state.verdict();
    // The finished benchmark's statistics, computed once for every panel that shows them.
    let latency = state.latency();
    let present = state.view == View::Present;
    let presentation = present.then(|| {
        let running_bench = state.bench.as_ref().filter(|b| b.phase != Phase::Done).map(|b| b.progress);
        let running_eval = state.eval.as_ref().filter(|e| !e.finished()).map(|e| (e.done, e.total));
        let finished_eval = state.eval.as_ref().filter(|e| e.finished()).and_then(|e| e.summary.clone());
        let cost = match state.cost_latency() {
            Some((t, s, source)) => compare_with_energy(&state.cost, t, s, state.cost_energy())
                .map(|c| (c, source.describe(&state.device_names())))
                .map_err(|e| e.to_string()),
            None => Err("No latency yet — press b to run the benchmark, or type a target-device latency in the cost panel.".into()),
        };
        let on_bench = on_bench.clone();
        let on_eval = on_eval.clone();
        let available = state.samples.as_ref().map(|s| s.len()).unwrap_or(0);
        html! {
            <Presentation names={state.names.clone().unwrap_or_default()} cards={state.cards.clone()}
                latency={latency.clone()} samples={state.bench.as_ref().filter(|b| b.phase == Phase::Done).map(|b| b.samples.clone())}
                labels={state.labels.clone()} devices={state.devices.clone()} bench_progress={running_bench} eval={finished_eval} eval_progress={running_eval}
                {cost} verdict={verdict.clone()} slide={state.slide} {dark} on_slide={on_slide.clone()}
                on_exit={on_exit.clone()} on_theme={on_theme.clone()}
                on_bench={Callback::from(move |_: ()| if ready { on_bench.emit(()) })}
                on_eval={Callback::from(move |_: ()| if ready && available > 0 { on_eval.emit(available) })} />
        }
    });
    let header_theme = on_theme.reform(|_: MouseEvent| ());
    let header_present = on_present.reform(|_: MouseEvent| ());

    // Training cards describe the manifest's models only, not a pair the person brought.
    let (teacher_training, student_training) = state.pair_training_cards().unzip();
    let card_accuracy = |t: &Option<std::rc::Rc<distillate_engine::training::TrainingCard>>| {
        t.as_ref().map(|t| (t.test_accuracy, t.test_images))
    };

    html! {
        <>
        { for presentation }
        <main hidden={present} data-pair={state.pair.map(|p| p.0.to_string())}>
            <header>
                <div class="header-actions">
                    <button onclick={header_theme}>{ if dark { "light theme" } else { "dark theme" } }</button>
                    <button class="primary" onclick={header_present}>{ "Present" }</button>
                </div>
                <h1>{ "Distillate" }</h1>
                <p class="lede">{ state.manifest.as_ref().map(|m| m.title.clone()).unwrap_or_else(|| "Teacher and distilled student, measured in your browser".into()) }</p>
                if let Some(m) = &state.manifest { <p class="note">{ m.description.clone() }</p> }
            </header>
            if !state.errors.is_empty() {
                <div class="errors" role="alert">
                    { for state.errors.iter().map(|e| html! { <p>{ e.clone() }</p> }) }
                    <button onclick={clear}>{ "dismiss" }</button>
                </div>
            }
            if let Some(what) = &state.loading { <p class="loading">{ what.clone() }</p> }
            <HeadlineStrip headline={state.headline()} measuring={state.auto_measuring()} />
            if state.from_link() {
                <p class="from-link" role="status">{ "Opened from a shared link: its settings are restored. \
                    Latency and accuracy are not carried by links — they are measured again, here, in your browser." }</p>
            }
            if let (Some(names), Some(cards)) = (&state.names, &state.cards) {
                <ModelCards names={names.clone()} cards={cards.clone()} load_ms={state.load_ms}
                    training={(teacher_training.clone(), student_training.clone())} />
            }
            if let Some(samples) = &state.samples {
                <Gallery samples={SampleSet(samples.clone())} indices={gallery} labels={labels.clone()}
                    predictions={state.predictions.clone()} selected={state.selected} {on_select}
                    warmed={latency.as_ref().map(|l| (l.teacher.median, l.student.median))} />
            }
            <div class="grid">
                <Benchmark names={state.names.clone().unwrap_or_default()} bench={state.bench.clone()}
                    on_run={on_bench} on_cancel={on_bench_cancel} {ready} />
                <Evaluation eval={state.eval.clone()} available={state.samples.as_ref().map(|s| s.len()).unwrap_or(0)}
                    labels={labels.clone()} on_run={on_eval} on_cancel={on_eval_cancel}
                    card_accuracy={(card_accuracy(&teacher_training), card_accuracy(&student_training))} {ready} />
            </div>
            <Devices browser={latency} devices={state.devices.clone()} pricing={pricing_device} {ready}
                on_files={on_device_files} on_remove={on_device_remove} on_price={on_device_price} on_error={on_error.clone()} />
            <ThroughputPanel status={state.throughput.clone()} workers={pool_workers} on_run={on_throughput} {ready} />
            <div class="grid">
                <CostPanel inputs={state.cost.clone()} latency={state.cost_latency()} on_change={on_cost} {on_latency}
                    devices={state.device_names()} energy={state.cost_energy()} />
                <Scorecard verdict={verdict.clone()} thresholds={state.thresholds.clone()} on_change={on_thresholds}
                    devices={device_verdicts} />
            </div>
            <Export link={link} ready={state.cards.is_some()} measured={verdict.is_ok()}
                notice={state.notice.clone()} {on_copy} {on_export} {on_present} />
            <BringYourOwn labels={labels.clone()} {preprocess} own_images={state.own_images.clone()}
                {on_pair} {on_samples} {on_image} {on_error} />
            <LadderPlot points={ladder_points(&state)} reason={state.manifest.as_ref().and_then(|m| m.choice.clone())}
                thresholds={(state.thresholds.min_latency_cut, state.thresholds.max_accuracy_drop_points)}
                rungs={state.rungs.clone()} on_measure={on_time_rungs} />
            <EnvironmentCard worker={state.worker.clone()} timeline={state.timeline.clone()} />
            <footer><p class="note">{ "Every number marked measured was measured in this browser, now. \
                Figures marked model card come from training." }</p></footer>
        </main>
        </>
    }
}

/// The benchmark as the page runs it: the engine's defaults with a longer warm-up. V8
/// compiles wasm with a baseline tier first and optimises hot code in the background; on
/// this 2-core machine a page's first benchmark after 0.5 s of warm-up measured the teacher
/// at 4.7 ms and a second one at 1.9 ms. Warming up for longer lets the optimised code
/// arrive before any sample counts.
fn browser_bench_config() -> BenchConfig {
    BenchConfig { warmup_ms: BROWSER_WARMUP_MS, ..BenchConfig::default() }
}

/// Warm-up of the page's benchmark, ms (see [`browser_bench_config`]).
pub(crate) const BROWSER_WARMUP_MS: f64 = 4_000.0;

/// Where this page's numbers were measured, for the report.
fn environment(state: &State) -> Environment {
    let facts = browser_facts();
    Environment {
        target: "wasm32 (browser)".into(),
        host: facts.user_agent,
        cores: facts.cores,
        engine_build: state.worker.as_ref().map(|w| w.build.clone()).unwrap_or_default(),
        timer_resolution_ms: state.worker.as_ref().map(|w| w.timer_resolution_ms).unwrap_or_default(),
        // The worker's build reads `wasm32 · simd128 + relaxed-simd` (protocol::build_features).
        simd: state.worker.as_ref().and_then(|w| w.build.split(" · ").nth(1).map(str::to_string)),
        threads: Some(1),
        ..Default::default()
    }
}

/// The first `GALLERY_PER_CLASS` images of each class, in class order.
fn gallery_indices(set: &LabelledImages) -> Vec<usize> {
    let classes = set.labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut picked = Vec::new();
    for class in 0..classes {
        picked.extend(
            set.labels.iter().enumerate().filter(|(_, l)| **l == class).map(|(i, _)| i).take(GALLERY_PER_CLASS),
        );
    }
    picked
}

/// Ladder points from the training cards of every model in the manifest, with the
/// latencies timed in this browser once there are some (never the two sources mixed).
fn ladder_points(state: &State) -> Vec<LadderPoint> {
    let Some(m) = &state.manifest else { return vec![] };
    let timed = match &state.rungs {
        RungStatus::Done(times) => Some(times),
        _ => None,
    };
    m.models
        .iter()
        .filter_map(|entry| {
            let card = state.training_cards.get(&entry.id)?;
            let latency_ms = match timed {
                Some(times) => *times.get(&entry.id)?,
                None => card.native_latency_ms,
            };
            Some(LadderPoint {
                name: entry.name.clone(),
                role: card.role.as_str().to_string(),
                params: card.params,
                bytes: card.bytes,
                latency_ms,
                accuracy: card.test_accuracy,
                chosen: entry.id == m.student,
            })
        })
        .collect()
}
