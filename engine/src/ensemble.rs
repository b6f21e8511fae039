//! One ONNX classifier from several: every member reads the same input and the graph's
//! logits are the mean of theirs.
//!
//! Why: an ensemble of independently trained networks is the classic distillation teacher
//! (Hinton et al. 2015 distilled exactly that). It is more accurate than any member, and its
//! decisions on ambiguous images carry less of one training run's chance — the part of a
//! single teacher a student cannot learn from the data. Shipping it as one graph keeps the
//! page, the worker, the CLI and the benchmarks unchanged: to all of them the teacher is one
//! ONNX file whose cost is the members' together.
//!
//! What is written: each member's nodes and initializers with every name but the shared
//! input prefixed by `m{i}.`, then ONNX `Mean` of the members' outputs into `logits` (one
//! node and no new initializer, so the parameter count stays the members' own). Logits are
//! averaged rather than probabilities so the output stays logits, what every consumer of a
//! classifier here expects (the page applies softmax itself).
//!
//! Invariant (tested): the ensemble's logits are the mean of the members' logits, run apart.

use prost::Message;
use tract_onnx::pb;

use crate::error::{Error, Result};

/// The graph output of an ensemble.
pub const OUTPUT: &str = "logits";

/// Merges `members` (ONNX bytes of classifiers with the same single input and one output)
/// into one model whose output is the mean of their logits; `doc` becomes its doc string.
pub fn average_logits(members: &[&[u8]], doc: &str) -> Result<Vec<u8>> {
    if members.len() < 2 {
        return Err(Error::invalid("ensemble", format!("{} member(s); an ensemble needs at least 2", members.len())));
    }
    let mut protos = Vec::with_capacity(members.len());
    for (i, bytes) in members.iter().enumerate() {
        let proto = pb::ModelProto::decode(*bytes)
            .map_err(|e| Error::NotOnnx(format!("ensemble member {}: not an ONNX protobuf ({e})", i + 1)))?;
        protos.push(proto);
    }
    let first = protos[0].graph.as_ref().ok_or_else(|| Error::NotOnnx("ensemble member 1 has no graph".into()))?;
    let input = single(&first.input, first, "input", 1)?.clone();
    let mut node = Vec::new();
    let mut initializer = Vec::new();
    let mut outputs = Vec::new();
    for (i, proto) in protos.iter().enumerate() {
        let graph =
            proto.graph.as_ref().ok_or_else(|| Error::NotOnnx(format!("ensemble member {} has no graph", i + 1)))?;
        let own_input = single(&graph.input, graph, "input", i + 1)?;
        if own_input.r#type != input.r#type {
            return Err(Error::Incompatible(format!(
                "ensemble member {} declares another input type or shape than member 1",
                i + 1
            )));
        }
        let output = single(&graph.output, graph, "output", i + 1)?;
        let shared = input.name.as_str();
        let rename =
            |name: &str| if name == shared || name.is_empty() { name.to_string() } else { format!("m{i}.{name}") };
        for n in &graph.node {
            let mut n = n.clone();
            n.input = n.input.iter().map(|s| rename(s)).collect();
            n.output = n.output.iter().map(|s| rename(s)).collect();
            n.name = rename(&n.name);
            node.push(n);
        }
        for t in &graph.initializer {
            initializer.push(pb::TensorProto { name: rename(&t.name), ..t.clone() });
        }
        outputs.push(rename(&output.name));
    }
    node.push(pb::NodeProto {
        input: outputs,
        output: vec![OUTPUT.into()],
        name: "ensemble.mean".into(),
        op_type: "Mean".into(),
        ..Default::default()
    });
    let graph = pb::GraphProto {
        name: "ensemble".into(),
        node,
        initializer,
        input: vec![input],
        output: vec![pb::ValueInfoProto { name: OUTPUT.into(), ..Default::default() }],
        ..Default::default()
    };
    let model = pb::ModelProto { doc_string: doc.into(), graph: Some(graph), ..protos[0].clone() };
    Ok(model.encode_to_vec())
}

/// The one graph input (declared, not an initializer) or the one graph output of member `m`.
fn single<'a>(
    values: &'a [pb::ValueInfoProto],
    graph: &pb::GraphProto,
    what: &str,
    m: usize,
) -> Result<&'a pb::ValueInfoProto> {
    let real: Vec<&pb::ValueInfoProto> =
        values.iter().filter(|v| !graph.initializer.iter().any(|t| t.name == v.name)).collect();
    match real.as_slice() {
        [one] => Ok(one),
        _ => Err(Error::Incompatible(format!(
            "ensemble member {m} has {} graph {what}s; members need exactly one",
            real.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;
    use crate::onnx_build::{OnnxBuilder, RandomCnn, SplitMix64};
    use crate::preprocess::PreprocessSpec;
    use crate::runner::Runner;

    fn logits(bytes: &[u8], image: &[u8]) -> Vec<f32> {
        let mut runner = Runner::from_bytes(bytes, &PreprocessSpec::default()).expect("loads");
        runner.classify_luma8(12, 12, image).expect("runs").to_vec()
    }

    fn member(seed: u64) -> Vec<u8> {
        RandomCnn { height: 12, width: 12, filters: 4, classes: 5, seed, ..Default::default() }.build()
    }

    #[test]
    fn ensemble_logits_are_the_mean_of_the_members() {
        let members: Vec<Vec<u8>> = (1..=3).map(member).collect();
        let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
        let ensemble = average_logits(&refs, "three").expect("merges");
        let model = Model::load(&ensemble).expect("tract loads the ensemble");
        assert_eq!(model.card().classes, 5);
        let cards: Vec<_> = members.iter().map(|m| Model::load(m).expect("loads").card().clone()).collect();
        assert!(model.card().macs >= cards.iter().map(|c| c.macs).sum(), "the ensemble costs its members together");
        assert_eq!(model.card().params, cards.iter().map(|c| c.params).sum::<u64>(), "and has their weights, no more");
        let mut rng = SplitMix64(7);
        for _ in 0..4 {
            let image: Vec<u8> = (0..144).map(|_| (rng.next_u64() % 256) as u8).collect();
            let each: Vec<Vec<f32>> = members.iter().map(|m| logits(m, &image)).collect();
            let got = logits(&ensemble, &image);
            for (k, g) in got.iter().enumerate() {
                let mean = each.iter().map(|l| l[k]).sum::<f32>() / 3.0;
                assert!((g - mean).abs() <= 1e-5 * (1.0 + mean.abs()), "class {k}: {g} vs mean {mean}");
            }
        }
    }

    #[test]
    fn fewer_than_two_members_or_mismatched_inputs_are_refused() {
        let one = member(1);
        assert!(average_logits(&[&one], "").expect_err("one member").to_string().contains("at least 2"));
        let other = OnnxBuilder::image_classifier(1, 10, 10).global_avg_pool().flatten().build();
        let e = average_logits(&[&one, &other], "").expect_err("shapes differ").to_string();
        assert!(e.contains("member 2"), "{e}");
        let e = average_logits(&[&one, b"not onnx"], "").expect_err("garbage").to_string();
        assert!(e.contains("member 2"), "{e}");
    }
}
