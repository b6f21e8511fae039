//! From image bytes to the NCHW f32 tensor a model expects.
//!
//! decode (PNG/JPEG, size checked from the header first) → fit to H×W (centre crop or
//! stretch) → gray or RGB → `(pixel · scale − mean[c]) / std[c]`, written channel-major.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageReader, Limits};
use serde::{Deserialize, Serialize};

use crate::card::ModelCard;
use crate::error::{Error, Result};
use crate::limits::{MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS};

/// Maps 8-bit pixels to [0, 1]: the convention of torchvision's `ToTensor` and of the
/// Fashion-MNIST models we ship.
pub const UNIT_SCALE: f32 = 1.0 / 255.0;
/// ImageNet channel means (RGB) for models trained with torchvision's `Normalize`.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB), from the same source.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// How an image of another size is fitted to the model's H×W.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Scale the shorter side to fit, then cut the centre: keeps the aspect ratio.
    #[default]
    CenterCrop,
    /// Scale each side independently to H×W: keeps everything, distorts the aspect.
    Stretch,
}

/// A model's preprocessing: how pixels become the numbers it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessSpec {
    /// How to fit images of another size.
    #[serde(default)]
    pub fit: Fit,
    /// Multiplies each 8-bit pixel value first (default 1/255 → [0, 1]).
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// Per-channel mean subtracted after scaling: one value for all channels, or one per channel.
    #[serde(default = "default_mean")]
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by after the mean: one value, or one per channel.
    #[serde(default = "default_std")]
    pub std: Vec<f32>,
    /// Use `255 − pixel` (light objects on a dark ground, as Fashion-MNIST is stored).
    #[serde(default)]
    pub invert: bool,
}

fn default_scale() -> f32 {
    UNIT_SCALE
}
fn default_mean() -> Vec<f32> {
    vec![0.0]
}
fn default_std() -> Vec<f32> {
    vec![1.0]
}

impl Default for PreprocessSpec {
    fn default() -> Self {
        PreprocessSpec {
            fit: Fit::default(),
            scale: UNIT_SCALE,
            mean: default_mean(),
            std: default_std(),
            invert: false,
        }
    }
}

impl PreprocessSpec {
    /// torchvision's ImageNet normalisation.
    pub fn imagenet() -> Self {
        PreprocessSpec { mean: IMAGENET_MEAN.to_vec(), std: IMAGENET_STD.to_vec(), ..Default::default() }
    }
}

/// Reads width and height from the image header without decoding pixels.
pub fn image_dimensions(bytes: &[u8]) -> Result<(u32, u32)> {
    reader(bytes)?.into_dimensions().map_err(|e| Error::ImageDecode(e.to_string()))
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>> {
    if bytes.is_empty() {
        return Err(Error::ImageDecode("the file is empty".into()));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(Error::ImageDecode(format!(
            "the file is {} bytes, over the {MAX_IMAGE_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| Error::ImageDecode(e.to_string()))?;
    if reader.format().is_none() {
        return Err(Error::ImageDecode("not a PNG or JPEG file".into()));
    }
    Ok(reader)
}

/// Decodes PNG or JPEG bytes, refusing images over [`MAX_IMAGE_PIXELS`] before any pixel
/// buffer is allocated.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage> {
    let (width, height) = image_dimensions(bytes)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(Error::ImageTooLarge { width: width.into(), height: height.into(), limit: MAX_IMAGE_PIXELS });
    }
    if pixels == 0 {
        return Err(Error::ImageDecode(format!("the image is {width}×{height}")));
    }
    let mut reader = reader(bytes)?;
    let mut limits = Limits::default();
    // RGBA f32 is the widest buffer a decoder may need for an accepted image.
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 16);
    reader.limits(limits);
    reader.decode().map_err(|e| Error::ImageDecode(e.to_string()))
}

/// Turns images into one model's input; checked once against the model card.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: PreprocessSpec,
    channels: usize,
    height: u32,
    width: u32,
    /// `scale / std[c]` and `mean[c] / std[c]` per channel, so each pixel is one multiply-add.
    mul: Vec<f32>,
    sub: Vec<f32>,
}

impl Preprocessor {
    /// Checks `spec` against the model's input and precomputes the per-channel affine map.
    pub fn new(spec: &PreprocessSpec, card: &ModelCard) -> Result<Self> {
        Self::for_shape(spec, card.channels, card.height, card.width)
    }

    /// As [`Preprocessor::new`], for an explicit C×H×W.
    pub fn for_shape(spec: &PreprocessSpec, channels: usize, height: usize, width: usize) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(Error::Preprocess(format!("{channels} channels; images give 1 or 3")));
        }
        let (Ok(h), Ok(w)) = (u32::try_from(height), u32::try_from(width)) else {
            return Err(Error::Preprocess(format!("input {height}×{width} is too large")));
        };
        if h == 0 || w == 0 || u64::from(h) * u64::from(w) > MAX_IMAGE_PIXELS {
            return Err(Error::Preprocess(format!("input {height}×{width} is not a usable image size")));
        }
        if !(spec.scale.is_finite() && spec.scale > 0.0) {
            return Err(Error::Preprocess(format!("scale {} must be a positive number", spec.scale)));
        }
        let per_channel = |name: &str, v: &[f32]| -> Result<Vec<f32>> {
            match v.len() {
                1 => Ok(vec![v[0]; channels]),
                n if n == channels => Ok(v.to_vec()),
                n => Err(Error::Preprocess(format!("{name} has {n} values; the model has {channels} channel(s)"))),
            }
        };
        let mean = per_channel("mean", &spec.mean)?;
        let std = per_channel("std", &spec.std)?;
        if mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::Preprocess("mean values must be finite numbers".into()));
        }
        if std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::Preprocess("std values must be positive numbers".into()));
        }
        Ok(Preprocessor {
            spec: spec.clone(),
            channels,
            height: h,
            width: w,
            mul: std.iter().map(|s| spec.scale / s).collect(),
            sub: mean.iter().zip(&std).map(|(m, s)| m / s).collect(),
        })
    }

    /// f32 values per image (C·H·W).
    pub fn len(&self) -> usize {
        self.channels * self.height as usize * self.width as usize
    }

    /// Never true: a preprocessor always produces at least one value.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Decodes `bytes` and writes the model input into `out` (`len()` values).
    pub fn bytes_into(&self, bytes: &[u8], out: &mut [f32]) -> Result<()> {
        let image = decode_image(bytes)?;
        self.image_into(&image, out)
    }

    /// Writes the model input for a decoded image into `out` (`len()` values).
    pub fn image_into(&self, image: &DynamicImage, out: &mut [f32]) -> Result<()> {
        if out.len() != self.len() {
            return Err(Error::Input(format!("buffer holds {} values; need {}", out.len(), self.len())));
        }
        let fitted = self.fit(image);
        let plane = (self.height * self.width) as usize;
        if self.channels == 1 {
            let gray = fitted.to_luma8();
            self.write_plane(gray.as_raw().iter().copied(), 0, &mut out[..plane]);
        } else {
            let rgb = fitted.to_rgb8();
            for c in 0..3 {
                let channel = rgb.as_raw().iter().skip(c).step_by(3).copied();
                self.write_plane(channel, c, &mut out[c * plane..(c + 1) * plane]);
            }
        }
        Ok(())
    }

    /// Writes the model input for raw 8-bit gray pixels (`width × height`, row-major):
    /// the form of IDX sample sets. Pixels already at the model's size skip resampling.
    pub fn luma8_into(&self, width: u32, height: u32, pixels: &[u8], out: &mut [f32]) -> Result<()> {
        if pixels.len() as u64 != u64::from(width) * u64::from(height) {
            return Err(Error::Input(format!("{} pixels for a {width}×{height} image", pixels.len())));
        }
        if self.channels == 1 && width == self.width && height == self.height && out.len() == pixels.len() {
            self.write_plane(pixels.iter().copied(), 0, out);
            return Ok(());
        }
        let gray = GrayImage::from_raw(width, height, pixels.to_vec())
            .ok_or_else(|| Error::Input("pixel buffer does not match its size".into()))?;
        self.image_into(&DynamicImage::ImageLuma8(gray), out)
    }

    fn write_plane(&self, pixels: impl Iterator<Item = u8>, channel: usize, out: &mut [f32]) {
        let (mul, sub) = (self.mul[channel], self.sub[channel]);
        for (dst, p) in out.iter_mut().zip(pixels) {
            let p = if self.spec.invert { 255 - p } else { p };
            *dst = f32::from(p) * mul - sub;
        }
    }

    fn fit(&self, image: &DynamicImage) -> DynamicImage {
        let (w, h) = (self.width, self.height);
        if image.width() == w && image.height() == h {
            return image.clone();
        }
        match self.spec.fit {
            Fit::Stretch => image.resize_exact(w, h, FilterType::Triangle),
            Fit::CenterCrop => image.resize_to_fill(w, h, FilterType::Triangle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).expect("encodes");
        out.into_inner()
    }

    #[test]
    fn gray_png_is_scaled_and_normalised() {
        let gray = GrayImage::from_fn(4, 4, |x, y| image::Luma([(x * 60 + y) as u8]));
        let spec = PreprocessSpec { mean: vec![0.5], std: vec![0.25], ..Default::default() };
        let pre = Preprocessor::for_shape(&spec, 1, 4, 4).expect("valid");
        let mut out = vec![0.0; 16];
        pre.bytes_into(&png(&DynamicImage::ImageLuma8(gray)), &mut out).expect("runs");
        // pixel (x=1, y=0) = 60 → (60/255 − 0.5)/0.25
        assert!((out[1] - (60.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
        assert!((out[4] - (1.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
    }

    #[test]
    fn rgb_is_written_channel_major() {
        let rgb = RgbImage::from_pixel(2, 2, Rgb([255, 0, 51]));
        let pre = Preprocessor::for_shape(&PreprocessSpec::default(), 3, 2, 2).expect("valid");
        let mut out = vec![0.0; 12];
        pre.image_into(&DynamicImage::ImageRgb8(rgb), &mut out).expect("runs");
        assert_eq!(&out[0..4], &[1.0; 4]);
        assert_eq!(&out[4..8], &[0.0; 4]);
        assert!(out[8..12].iter().all(|v| (v - 0.2).abs() < 1e-6));
    }

    #[test]
    fn rgb_image_for_gray_model_becomes_luma_and_any_size_fits() {
        let rgb = RgbImage::from_pixel(300, 120, Rgb([200, 200, 200]));
        let pre = Preprocessor::for_shape(&PreprocessSpec::default(), 1, 28, 28).expect("valid");
        let mut out = vec![0.0; 784];
        pre.image_into(&DynamicImage::ImageRgb8(rgb), &mut out).expect("runs");
        assert!(out.iter().all(|v| (v - 200.0 / 255.0).abs() < 0.01));
    }

    #[test]
    fn invert_maps_black_to_one() {
        let pre =
            Preprocessor::for_shape(&PreprocessSpec { invert: true, ..Default::default() }, 1, 2, 2).expect("valid");
        let mut out = vec![0.0; 4];
        pre.luma8_into(2, 2, &[0, 255, 0, 255], &mut out).expect("runs");
        assert_eq!(out, [1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn luma8_of_another_size_is_resampled() {
        let pre = Preprocessor::for_shape(&PreprocessSpec::default(), 3, 8, 8).expect("valid");
        let mut out = vec![0.0; 192];
        pre.luma8_into(4, 4, &[255; 16], &mut out).expect("runs");
        assert!(out.iter().all(|v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn spec_must_fit_the_model() {
        let bad_mean = PreprocessSpec { mean: vec![0.1, 0.2], ..Default::default() };
        assert!(matches!(Preprocessor::for_shape(&bad_mean, 3, 8, 8), Err(Error::Preprocess(_))));
        let zero_std = PreprocessSpec { std: vec![0.0], ..Default::default() };
        assert!(matches!(Preprocessor::for_shape(&zero_std, 1, 8, 8), Err(Error::Preprocess(_))));
        let nan_scale = PreprocessSpec { scale: f32::NAN, ..Default::default() };
        assert!(matches!(Preprocessor::for_shape(&nan_scale, 1, 8, 8), Err(Error::Preprocess(_))));
    }

    #[test]
    fn non_images_and_corrupt_images_are_refused() {
        assert!(matches!(decode_image(&[]), Err(Error::ImageDecode(_))));
        assert!(matches!(decode_image(b"{\"not\": \"an image\"}"), Err(Error::ImageDecode(_))));
        let good = png(&DynamicImage::ImageLuma8(GrayImage::new(16, 16)));
        let truncated = &good[..good.len() / 2];
        assert!(matches!(decode_image(truncated), Err(Error::ImageDecode(_))));
    }

    #[test]
    fn huge_header_is_refused_before_decoding() {
        // A PNG whose IHDR claims 20 000 × 20 000 pixels, with no pixel data behind it.
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(&ihdr);
        bytes.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        for chunk in [&b"IDAT"[..], &b"IEND"[..]] {
            bytes.extend_from_slice(&0u32.to_be_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(&crc32(chunk).to_be_bytes());
        }
        let err = decode_image(&bytes).expect_err("refused");
        assert!(matches!(err, Error::ImageTooLarge { width: 20_000, height: 20_000, .. }), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
