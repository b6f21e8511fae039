//! IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
//!
//! Format (Y. LeCun's MNIST page): two zero bytes, a type byte (0x08 = unsigned byte),
//! the number of dimensions, then each dimension as a big-endian u32, then the data.
//! Labelled sample sets ship as an images file `[n, h, w]` and a labels file `[n]`.

use std::io::Read;

use crate::error::{Error, Result};

/// The IDX type byte for unsigned 8-bit data, the only type image sets use.
const IDX_UBYTE: u8 = 0x08;
/// First bytes of a gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Largest decompressed IDX accepted: 512 MiB (Fashion-MNIST's training images are 47 MB).
pub const MAX_IDX_BYTES: u64 = 512 * 1024 * 1024;

/// An unsigned-byte IDX array.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Row-major data.
    pub data: Vec<u8>,
}

/// True when `bytes` start like a gzip stream (and [`parse`] would inflate them first).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Parses IDX bytes, gunzipping them first when they are gzip.
pub fn parse(bytes: &[u8]) -> Result<IdxArray> {
    if is_gzip(bytes) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_IDX_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::invalid("IDX file", format!("gzip stream is corrupt ({e})")))?;
        if out.len() as u64 > MAX_IDX_BYTES {
            return Err(Error::invalid("IDX file", format!("decompresses past {MAX_IDX_BYTES} bytes")));
        }
        return parse_plain(&out);
    }
    parse_plain(bytes)
}

fn parse_plain(bytes: &[u8]) -> Result<IdxArray> {
    let bad = |m: String| Error::invalid("IDX file", m);
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("missing the IDX magic number (00 00 type ndim)".into()));
    }
    if bytes[2] != IDX_UBYTE {
        return Err(bad(format!("data type 0x{:02x}; only unsigned bytes (0x08) are supported", bytes[2])));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(bad("zero dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad("header is truncated".into()));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d));
    match expected {
        Some(n) if n == bytes.len() - header => Ok(IdxArray { dims, data: bytes[header..].to_vec() }),
        Some(n) => {
            Err(bad(format!("dimensions {dims:?} need {n} bytes of data; the file has {}", bytes.len() - header)))
        }
        None => Err(bad(format!("dimensions {dims:?} overflow"))),
    }
}

/// Writes an unsigned-byte IDX array (used to ship sample sets).
pub fn write(dims: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    let n: usize = dims.iter().product();
    if n != data.len() || dims.is_empty() || dims.len() > 255 {
        return Err(Error::Input(format!("{} bytes do not fill dimensions {dims:?}", data.len())));
    }
    let mut out = vec![0, 0, IDX_UBYTE, dims.len() as u8];
    for d in dims {
        let d = u32::try_from(*d).map_err(|_| Error::Input(format!("dimension {d} is too large")))?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// Gray images with one class label each: the evaluation set.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledImages {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// All images, row-major, one after another.
    pub pixels: Vec<u8>,
    /// One class index per image.
    pub labels: Vec<usize>,
}

impl LabelledImages {
    /// Pairs an images IDX (`[n, h, w]`) with a labels IDX (`[n]`).
    pub fn from_idx(images: &[u8], labels: &[u8]) -> Result<Self> {
        let images = parse(images)?;
        let labels = parse(labels)?;
        let [n, h, w] = images.dims[..] else {
            return Err(Error::invalid("IDX file", format!("images must be [n, h, w]; got {:?}", images.dims)));
        };
        if labels.dims.len() != 1 {
            return Err(Error::invalid("IDX file", format!("labels must be [n]; got {:?}", labels.dims)));
        }
        if labels.dims[0] != n {
            return Err(Error::invalid("IDX file", format!("{n} images but {} labels", labels.dims[0])));
        }
        let (Ok(width), Ok(height)) = (u32::try_from(w), u32::try_from(h)) else {
            return Err(Error::invalid("IDX file", format!("image size {w}×{h} is too large")));
        };
        Ok(LabelledImages {
            width,
            height,
            pixels: images.data,
            labels: labels.data.into_iter().map(usize::from).collect(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = (self.width * self.height) as usize;
        &self.pixels[i * size..(i + 1) * size]
    }

    /// The first `n` images (all of them when `n` is larger).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * (self.width * self.height) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn write_then_parse_round_trips() {
        let bytes = write(&[2, 3], &[1, 2, 3, 4, 5, 6]).expect("writes");
        assert_eq!(parse(&bytes).expect("parses"), IdxArray { dims: vec![2, 3], data: vec![1, 2, 3, 4, 5, 6] });
    }

    #[test]
    fn gzip_is_transparent() {
        let plain = write(&[4], &[9, 8, 7, 6]).expect("writes");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).expect("compresses");
        let gz = gz.finish().expect("finishes");
        assert_eq!(parse(&gz).expect("parses").data, vec![9, 8, 7, 6]);
    }

    #[test]
    fn short_data_and_wrong_type_are_refused() {
        let mut bytes = write(&[2, 2], &[1, 2, 3, 4]).expect("writes");
        bytes.pop();
        assert!(parse(&bytes).is_err());
        assert!(parse(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        assert!(parse(b"PK\x03\x04").is_err());
        assert!(parse(&[0x1f, 0x8b, 1, 2, 3]).is_err());
    }

    #[test]
    fn labelled_images_need_matching_counts() {
        let images = write(&[2, 2, 2], &[0; 8]).expect("writes");
        let labels = write(&[3], &[0, 1, 2]).expect("writes");
        assert!(LabelledImages::from_idx(&images, &labels).is_err());
        let labels = write(&[2], &[4, 7]).expect("writes");
        let set = LabelledImages::from_idx(&images, &labels).expect("pairs");
        assert_eq!((set.len(), set.width, set.height, set.labels.clone()), (2, 2, 2, vec![4, 7]));
        assert_eq!(set.image(1).len(), 4);
    }
}
