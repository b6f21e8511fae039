//! Loading a demo: the manifest, then its pair, sample set and training cards, each handed
//! on (to the worker, to the state) as soon as it is in.

use std::rc::Rc;

use yew::prelude::*;

use crate::hooks::reach;
use crate::loader::{fetch_bytes, load_cards, load_manifest, page_url, prepare_samples, resolve};
use crate::state::{Action, State};
use crate::timeline::Milestone;
use crate::worker_link::{PairLoad, SamplesLoad, SharedBlob, WorkerLink};

/// Manifest loaded when the URL names none.
pub const DEFAULT_MANIFEST: &str = "static/demo.json";

/// Asks the worker for `pair` and tells the state what it will be called once loaded.
pub fn request_pair(link: &WorkerLink, dispatch: &UseReducerDispatcher<State>, pair: PairLoad) {
    let names = (pair.teacher.name.clone(), pair.student.name.clone());
    let labels = pair.labels.clone();
    let id = link.load_pair(pair);
    dispatch.dispatch(Action::PairRequested { id, names, labels });
}

/// Parses an IDX sample pair for the thumbnails, then hands it to the worker.
pub async fn deliver_samples(
    images: Vec<u8>,
    labels: Vec<u8>,
    dispatch: &UseReducerDispatcher<State>,
    link: &WorkerLink,
) -> Result<(), String> {
    let (set, images) = prepare_samples(images, &labels).await?;
    if set.is_empty() {
        return Err("it holds no images".into());
    }
    dispatch.dispatch(Action::SamplesParsed(Rc::new(set)));
    link.load_samples(SamplesLoad { images: Rc::from(images), labels: Rc::from(labels) });
    Ok(())
}

/// Fetches the manifest, then at once both models, the sample set and the training cards,
/// handing bytes to the worker as soon as they are in: the models as a pair, the samples on
/// their own, so neither waits for the other or for the cards (which only add figures).
pub async fn load_demo(url: &str, dispatch: &UseReducerDispatcher<State>, link: &WorkerLink) -> Result<(), String> {
    let manifest_url = resolve(&page_url(), url)?;
    dispatch.dispatch(Action::Loading(Some(format!("Loading {manifest_url}…"))));
    let manifest = load_manifest(&manifest_url).await?;
    let blob = |id: &str| {
        let entry = manifest.model(id).ok_or_else(|| format!("model '{id}' missing"))?.clone();
        Ok::<_, String>((resolve(&manifest_url, &entry.file)?, entry))
    };
    let (teacher_url, teacher) = blob(&manifest.teacher)?;
    let (student_url, student) = blob(&manifest.student)?;
    let samples = match &manifest.samples {
        Some(s) => Some((resolve(&manifest_url, &s.images)?, resolve(&manifest_url, &s.labels)?)),
        None => None,
    };
    let labels = manifest.labels.clone();
    dispatch.dispatch(Action::ManifestLoaded { url: manifest_url.clone(), manifest: manifest.clone() });
    dispatch.dispatch(Action::Loading(Some("Loading the models…".into())));

    let models = async {
        let (teacher_bytes, student_bytes) = futures::join!(fetch_bytes(&teacher_url), fetch_bytes(&student_url));
        let (teacher_bytes, student_bytes) = (teacher_bytes?, student_bytes?);
        reach(dispatch, Milestone::ModelsFetched);
        let teacher = SharedBlob { name: teacher.name, bytes: Rc::from(teacher_bytes), preprocess: teacher.preprocess };
        let student = SharedBlob { name: student.name, bytes: Rc::from(student_bytes), preprocess: student.preprocess };
        request_pair(link, dispatch, PairLoad { teacher, student, labels });
        Ok::<_, String>(())
    };
    let samples = async {
        let Some((images_url, labels_url)) = samples else { return Ok(()) };
        let (images, labels) = futures::join!(fetch_bytes(&images_url), fetch_bytes(&labels_url));
        let (images, labels) = (images?, labels?);
        reach(dispatch, Milestone::SamplesFetched);
        deliver_samples(images, labels, dispatch, link).await.map_err(|e| format!("sample set: {e}"))
    };
    let cards = async {
        let (cards, problems) = load_cards(&manifest_url, &manifest).await;
        dispatch.dispatch(Action::TrainingCards(cards));
        for problem in problems {
            dispatch.dispatch(Action::Error(problem));
        }
    };
    match futures::join!(models, samples, cards) {
        (Err(models), Err(samples), ()) => Err(format!("{models}; {samples}")),
        (Err(e), Ok(()), ()) | (Ok(()), Err(e), ()) => Err(e),
        (Ok(()), Ok(()), ()) => Ok(()),
    }
}
