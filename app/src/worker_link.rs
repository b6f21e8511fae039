//! The page's end of the inference worker: one [`WorkerLink`] sends every request, numbers
//! each pair it loads, and remembers what the worker was given so that a worker started
//! after a crash gets the same pair (under the same [`PairId`]) and the same samples.

use std::cell::RefCell;
use std::rc::Rc;

use distillate_engine::PreprocessSpec;
use distillate_protocol::{ModelBlob, PairId, Request, Response};
use gloo_worker::{HandlerId, Worker, WorkerBridge, WorkerScope};
use yew::prelude::*;

use crate::hooks::use_worker;
use crate::state::State;

/// The inference worker as the page knows it: its messages. gloo-worker names a bridge by
/// the worker type at its other end but only uses that type's `Input` and `Output`; the
/// worker itself (`distillate-worker`'s `InferenceWorker`) is compiled into its own bundle,
/// so that the page's bundle never links tract. Uninhabited: the page never creates one.
#[derive(Debug)]
pub enum Inference {}

impl Worker for Inference {
    type Message = std::convert::Infallible;
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        // Only gloo-worker's registrar calls this, and only in the worker's bundle.
        unreachable!("the page does not run the inference worker")
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {
        match *self {}
    }

    fn received(&mut self, _scope: &WorkerScope<Self>, _msg: Request, _id: HandlerId) {
        match *self {}
    }
}

/// One model's file as the page holds it: the bytes are shared, not copied, between the
/// restart cache and each message that carries them.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedBlob {
    /// Display name.
    pub name: String,
    /// ONNX bytes.
    pub bytes: Rc<[u8]>,
    /// Preprocessing.
    pub preprocess: PreprocessSpec,
}

impl SharedBlob {
    fn message(&self) -> ModelBlob {
        ModelBlob { name: self.name.clone(), bytes: self.bytes.to_vec(), preprocess: self.preprocess.clone() }
    }
}

/// A pair to load, with the class names it scores.
#[derive(Debug, Clone, PartialEq)]
pub struct PairLoad {
    /// The teacher's file.
    pub teacher: SharedBlob,
    /// The student's file.
    pub student: SharedBlob,
    /// Class names (the page shows them; the worker checks their count).
    pub labels: Vec<String>,
}

impl PairLoad {
    /// The request that loads it as pair `id`.
    pub fn request(&self, id: PairId) -> Request {
        Request::LoadPair {
            id,
            teacher: self.teacher.message(),
            student: self.student.message(),
            classes: self.labels.len(),
        }
    }
}

/// The labelled sample set as IDX bytes (images uncompressed).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplesLoad {
    /// Images IDX.
    pub images: Rc<[u8]>,
    /// Labels IDX.
    pub labels: Rc<[u8]>,
}

impl SamplesLoad {
    /// The request that loads it.
    pub fn request(&self) -> Request {
        Request::LoadSamples { images: self.images.to_vec(), labels: self.labels.to_vec() }
    }
}

/// What the worker was given.
#[derive(Debug, Default)]
pub struct Given {
    /// Last pair number handed out.
    last_id: u64,
    /// Pairs sent and not yet confirmed, oldest first.
    pending: Vec<(PairId, PairLoad)>,
    /// The pair the worker last confirmed.
    pair: Option<(PairId, PairLoad)>,
    /// The sample set.
    samples: Option<SamplesLoad>,
}

impl Given {
    /// The worker loaded pair `id`: it is now the one a restarted worker gets. Earlier
    /// requests still pending can no longer be the worker's pair.
    pub fn confirm(&mut self, id: PairId) {
        if let Some(at) = self.pending.iter().position(|(p, _)| *p == id) {
            let mut confirmed = self.pending.drain(..=at);
            self.pair = confirmed.next_back();
        }
    }
}

/// Sends to the current worker and keeps [`Given`] up to date.
#[derive(Clone)]
pub struct WorkerLink {
    bridge: Rc<WorkerBridge<Inference>>,
    given: Rc<RefCell<Given>>,
}

impl WorkerLink {
    /// Any request that needs no remembering.
    pub fn send(&self, request: Request) {
        self.bridge.send(request);
    }

    /// Loads `pair` under a new number, which its `Loaded` answer will carry.
    pub fn load_pair(&self, pair: PairLoad) -> PairId {
        let mut given = self.given.borrow_mut();
        given.last_id += 1;
        let id = PairId(given.last_id);
        self.bridge.send(pair.request(id));
        given.pending.push((id, pair));
        id
    }

    /// Loads the sample set and keeps it for a restarted worker.
    pub fn load_samples(&self, samples: SamplesLoad) {
        self.bridge.send(samples.request());
        self.given.borrow_mut().samples = Some(samples);
    }

    /// The confirmed pair and the sample set (for the throughput pool's workers).
    pub fn given(&self) -> (Option<(PairId, PairLoad)>, Option<SamplesLoad>) {
        let given = self.given.borrow();
        (given.pair.clone(), given.samples.clone())
    }

    /// Gives a new worker what the crashed one had: the confirmed pair under its own
    /// number (so the page's state still describes it), then the samples.
    fn replay(&self) {
        let given = self.given.borrow();
        if let Some((id, pair)) = &given.pair {
            self.bridge.send(pair.request(*id));
        }
        if let Some(samples) = &given.samples {
            self.bridge.send(samples.request());
        }
    }
}

/// The worker link: a worker started now and again after every crash (`generation`), its
/// answers dispatched to the reducer, and what it was given replayed to each new one.
#[hook]
pub fn use_worker_link(dispatch: UseReducerDispatcher<State>, generation: usize) -> WorkerLink {
    let given = use_mut_ref(Given::default);
    let bridge = use_worker(dispatch, generation, given.clone());
    let link = WorkerLink { bridge, given };
    {
        let link = link.clone();
        use_effect_with(generation, move |generation| {
            if *generation > 0 {
                link.replay();
            }
        });
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> PairLoad {
        let blob =
            SharedBlob { name: name.into(), bytes: Rc::from(vec![1u8, 2]), preprocess: PreprocessSpec::default() };
        PairLoad { teacher: blob.clone(), student: blob, labels: vec!["a".into()] }
    }

    #[test]
    fn the_confirmed_pair_is_the_one_replayed_even_when_a_newer_one_is_pending() {
        let pending = vec![(PairId(1), pair("one")), (PairId(2), pair("two")), (PairId(3), pair("three"))];
        let mut given = Given { pending, ..Given::default() };
        given.confirm(PairId(2));
        assert_eq!(given.pair.as_ref().map(|(id, p)| (*id, p.teacher.name.as_str())), Some((PairId(2), "two")));
        assert_eq!(given.pending.len(), 1, "pair 1 can no longer be loaded; 3 still may be");
        // An id nobody is waiting for (a replayed pair's answer) changes nothing.
        given.confirm(PairId(2));
        assert_eq!(given.pair.as_ref().map(|(id, _)| *id), Some(PairId(2)));
    }
}
