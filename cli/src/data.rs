//! Reading what the user points at: files with limits, manifests, labelled image sets.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use distillate_engine::idx::LabelledImages;
use distillate_engine::manifest::parse_labels;

/// Largest file read whole (models are further limited by the engine): 512 MiB.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Reads a whole file, refusing directories and files past [`MAX_FILE_BYTES`].
pub fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!("{} is a directory, not a file", path.display());
    }
    if meta.len() > MAX_FILE_BYTES {
        bail!("{} is {} bytes; files over {MAX_FILE_BYTES} bytes are refused", path.display(), meta.len());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Labelled images, in either form the CLI accepts.
pub enum Images {
    /// Gray images from an IDX pair.
    Idx(LabelledImages),
    /// Encoded image files with their labels.
    Files(Vec<(PathBuf, usize)>),
}

impl Images {
    pub fn len(&self) -> usize {
        match self {
            Images::Idx(set) => set.len(),
            Images::Files(files) => files.len(),
        }
    }

    pub fn truncate(&mut self, n: usize) {
        match self {
            Images::Idx(set) => set.truncate(n),
            Images::Files(files) => files.truncate(n),
        }
    }
}

/// An IDX pair.
pub fn idx_pair(images: &Path, labels: &Path) -> anyhow::Result<Images> {
    let set = LabelledImages::from_idx(&read(images)?, &read(labels)?)
        .with_context(|| format!("cannot pair {} with {}", images.display(), labels.display()))?;
    if set.is_empty() {
        bail!("{} holds no images", images.display());
    }
    Ok(Images::Idx(set))
}

/// A directory of images with a `file,label` list; labels are class indices or names.
pub fn image_dir(dir: &Path, labels: &Path, class_names: &[String]) -> anyhow::Result<Images> {
    let text = String::from_utf8(read(labels)?).with_context(|| format!("{} is not UTF-8 text", labels.display()))?;
    let mut files = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((file, label)) = line.rsplit_once(',') else {
            bail!("{}:{}: expected 'file,label', got '{line}'", labels.display(), n + 1);
        };
        let (file, label) = (file.trim(), label.trim());
        if n == 0 && label.eq_ignore_ascii_case("label") {
            continue; // a CSV header
        }
        let index = match label.parse::<usize>() {
            Ok(i) => i,
            Err(_) => class_names.iter().position(|c| c == label).with_context(|| {
                format!("{}:{}: '{label}' is neither a class index nor a class name", labels.display(), n + 1)
            })?,
        };
        files.push((dir.join(file), index));
    }
    if files.is_empty() {
        bail!("{} lists no images", labels.display());
    }
    Ok(Images::Files(files))
}

/// Class names from a file.
pub fn class_names(path: &Path) -> anyhow::Result<Vec<String>> {
    parse_labels(&read(path)?).with_context(|| format!("cannot read class names from {}", path.display()))
}
