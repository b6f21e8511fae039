//! The process that runs a network for training: `torch_worker.py`, PyTorch on the CPU.
//!
//! Why a second process: burn's flex backend trained the teacher at 140 img/s on an AVX2
//! machine, where PyTorch 1.13's oneDNN convolutions ran the same network, batch and
//! optimiser at 380 img/s (403 s against 145 s an epoch, measured one after the other on
//! 2026-12-03; d7x3 38 s) — the difference between a teacher stage that fits its 120
//! minutes and one that needs 5.6 hours. Everything that decides what a model learns stays
//! in Rust; the worker only does forward, backward and the optimiser step.
//!
//! Invariant: one worker holds one network; requests are answered in order, and a worker
//! that reports an error or dies turns into an `Err` naming the request, never a hang.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::Context;
use serde_json::{Value, json};

/// The worker's source, carried in the binary so `distill` runs from anywhere.
const SCRIPT: &str = include_str!("../torch_worker.py");

/// The Python that has PyTorch: `DISTILL_PYTHON` if set, else Debian's interpreter (where
/// `python3-torch` installs), else whatever `python3` is on the path.
pub fn python() -> String {
    if let Ok(p) = std::env::var("DISTILL_PYTHON") {
        return p;
    }
    if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3".into() } else { "python3".into() }
}

/// A running worker.
pub struct Worker {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("pid", &self.child.id()).finish()
    }
}

impl Worker {
    /// Starts a worker process.
    pub fn spawn() -> anyhow::Result<Worker> {
        let python = python();
        let mut child = Command::new(&python)
            .args(["-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!("cannot start {python} (PyTorch trains the models: scripts/setup installs python3-torch)")
            })?;
        let input = BufWriter::new(child.stdin.take().context("worker stdin")?);
        let output = BufReader::new(child.stdout.take().context("worker stdout")?);
        Ok(Worker { child, input, output })
    }

    /// Sends `header` (an object with `"op"`) and `payload`; returns the reply's header and
    /// the bytes that follow it (its `"bytes"` says how many).
    pub fn request(&mut self, mut header: Value, payload: &[&[u8]]) -> anyhow::Result<(Value, Vec<u8>)> {
        let op = header["op"].as_str().unwrap_or("?").to_string();
        let bytes: usize = payload.iter().map(|p| p.len()).sum();
        header["payload"] = json!(bytes);
        let sent = send(&mut self.input, &header, payload);
        sent.with_context(|| format!("torch worker: cannot send '{op}' (did the worker exit? its error is above)"))?;
        let mut line = String::new();
        let read = self.output.read_line(&mut line).with_context(|| format!("torch worker: no reply to '{op}'"))?;
        anyhow::ensure!(
            read > 0,
            "torch worker exited during '{op}' (its error is above; PyTorch is Debian's python3-torch, which scripts/setup installs)"
        );
        let reply: Value =
            serde_json::from_str(&line).with_context(|| format!("torch worker: unreadable reply to '{op}': {line}"))?;
        if let Some(e) = reply.get("error") {
            anyhow::bail!("torch worker: {}", e.as_str().unwrap_or("error"));
        }
        let size = reply.get("bytes").and_then(Value::as_u64).unwrap_or(0) as usize;
        let mut data = vec![0u8; size];
        self.output.read_exact(&mut data).with_context(|| format!("torch worker: short reply to '{op}'"))?;
        Ok((reply, data))
    }
}

/// Writes one request: its header line, then its payload.
fn send(input: &mut impl Write, header: &Value, payload: &[&[u8]]) -> std::io::Result<()> {
    serde_json::to_writer(&mut *input, header)?;
    input.write_all(b"\n")?;
    for p in payload {
        input.write_all(p)?;
    }
    input.flush()
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `f32` values as little-endian bytes.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes as `f32` values.
pub fn bytes_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}
