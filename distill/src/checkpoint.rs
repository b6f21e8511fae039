//! A training run's checkpoint after every epoch, so a run stopped part-way (the machine
//! shut down, the process killed) goes on from its last finished epoch instead of from
//! scratch: a teacher stage is 75 minutes of two cores, and losing one at epoch 38 of 42
//! is what made this exist.
//!
//! Two files per run: the worker's state (`<base>.e<epoch>.pt`: weights, BatchNorm
//! statistics, AdamW moments, the kept best checkpoint) and `<base>.json`, the Rust side's
//! progress (epoch records, best loss, the early-stop cut, step, generator state, seconds
//! so far), which names the `.pt` it goes with. The JSON is replaced only after its `.pt`
//! is complete, and the previous `.pt` removed only after that, so a kill at any moment
//! leaves one consistent pair. Seeded training is deterministic, so a resumed run takes the
//! same steps the uninterrupted run would have.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::model::Cnn;
use crate::train::EpochRecord;

/// Where the early-stop rule would have ended a run that went on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleCut {
    /// Epochs the rule would have run.
    pub epochs: usize,
    /// Its checkpoint's epoch (the weights are in the worker's best slot).
    pub best: usize,
    /// Seconds since the start when it would have stopped.
    pub seconds: f64,
}

/// The Rust side of a run after some epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Finished epochs.
    pub epochs: Vec<EpochRecord>,
    /// Lowest validation loss so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Where the early-stop rule fired, in a run that goes on past it.
    pub cut: Option<RuleCut>,
    /// Optimiser steps taken (the cosine schedule's position).
    pub step: usize,
    /// The shuffling and augmentation generator's state.
    pub rng: u64,
    /// Seconds spent in training steps.
    pub train_seconds: f64,
    /// Images trained on.
    pub trained_images: usize,
    /// Wall-clock seconds of the run so far (what the budget counts).
    pub elapsed_seconds: f64,
    /// Epochs after which earlier processes stopped.
    pub resumed_after_epochs: Vec<usize>,
    /// File name of the worker state this progress goes with.
    weights: String,
}

impl Progress {
    /// The progress of a run that has not started, with its generator seeded.
    pub fn fresh(rng: u64) -> Progress {
        Progress {
            epochs: vec![],
            best: None,
            cut: None,
            step: 0,
            rng,
            train_seconds: 0.0,
            trained_images: 0,
            elapsed_seconds: 0.0,
            resumed_after_epochs: vec![],
            weights: String::new(),
        }
    }
}

/// The checkpoint files of one run: `<base>.json` and `<base>.e<epoch>.pt`.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    base: PathBuf,
}

impl Checkpoint {
    /// The checkpoint at `base` (its directory is created on the first save).
    pub fn new(base: impl Into<PathBuf>) -> Checkpoint {
        Checkpoint { base: base.into() }
    }

    fn stem(&self) -> String {
        self.base.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    fn json(&self) -> PathBuf {
        self.sibling(&format!("{}.json", self.stem()))
    }

    fn sibling(&self, name: &str) -> PathBuf {
        self.base.parent().unwrap_or(Path::new(".")).join(name)
    }

    /// Saves `model` and `progress` after epoch `progress.epochs.len()`.
    pub fn save(&self, model: &mut Cnn, progress: &Progress) -> anyhow::Result<()> {
        if let Some(dir) = self.base.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let weights = format!("{}.e{}.pt", self.stem(), progress.epochs.len());
        model.checkpoint(&self.sibling(&weights))?;
        let previous = self.read().map(|p| p.weights);
        let progress = Progress { weights, ..progress.clone() };
        let tmp = self.sibling(&format!("{}.json.tmp", self.stem()));
        std::fs::write(&tmp, serde_json::to_vec(&progress)?)?;
        std::fs::rename(&tmp, self.json())?;
        if let Some(old) = previous.filter(|old| *old != progress.weights) {
            let _ = std::fs::remove_file(self.sibling(&old));
        }
        Ok(())
    }

    fn read(&self) -> Option<Progress> {
        serde_json::from_slice(&std::fs::read(self.json()).ok()?).ok()
    }

    /// The progress saved last, with `model` restored to it; `None` (and `model` untouched)
    /// if there is no checkpoint. A checkpoint whose worker state cannot be restored is an
    /// error naming the file: going on from half-restored weights would be a silent lie.
    pub fn resume(&self, model: &mut Cnn) -> anyhow::Result<Option<Progress>> {
        let Some(progress) = self.read() else { return Ok(None) };
        let weights = self.sibling(&progress.weights);
        model.restore(&weights).with_context(|| {
            format!("cannot resume from {} (delete it and {} to start over)", weights.display(), self.json().display())
        })?;
        Ok(Some(progress))
    }

    /// Removes the run's files (it finished).
    pub fn clear(&self) {
        if let Some(p) = self.read() {
            let _ = std::fs::remove_file(self.sibling(&p.weights));
        }
        let _ = std::fs::remove_file(self.json());
    }
}
