//! Classifiers that end in Softmax. Exporters often leave the Softmax in (Keras models
//! always do): such a model outputs probabilities, not logits. The page, the CLI and the
//! metrics all apply a softmax to a model's scores, so probabilities went through a second
//! one: the top-1 stayed, but the confidences were flattened toward uniform (0.9 became
//! 0.21 of ten classes) and the KL between teacher and student was wrong. The runner hands
//! such a model's output on as log-probabilities instead: `softmax(ln p) = p`, so
//! everything downstream reads the model's own probabilities, and the argmax is unchanged.

use tract_onnx::pb;

/// Operators that only move values around, looked through on the way back from the output.
const SHAPE_ONLY: [&str; 5] = ["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"];

/// Whether the graph's (first) output comes from a Softmax, through shape-only operators.
pub(crate) fn ends_in_softmax(graph: &pb::GraphProto) -> bool {
    let Some(mut name) = graph.output.first().map(|o| o.name.as_str()) else { return false };
    // At most one hop per node: a malformed cycle cannot loop forever.
    for _ in 0..graph.node.len() {
        let Some(node) = graph.node.iter().find(|n| n.output.iter().any(|o| o == name)) else { return false };
        match node.op_type.as_str() {
            "Softmax" => return true,
            op if SHAPE_ONLY.contains(&op) => match node.input.first() {
                Some(input) => name = input,
                None => return false,
            },
            _ => return false,
        }
    }
    false
}

/// Probabilities to log-probabilities, in place. A zero (or a negative from rounding)
/// becomes the log of the smallest positive normal f32, not −∞, so the KL stays finite.
pub(crate) fn to_log_probabilities(values: &mut [f32]) {
    for v in values {
        *v = v.max(f32::MIN_POSITIVE).ln();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::softmax;
    use crate::onnx_build::RandomCnn;
    use crate::preprocess::PreprocessSpec;
    use crate::runner::Runner;
    use prost::Message;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// RandomCnn with a Softmax (and a Flatten after it, as exporters write) on its output.
    fn with_softmax() -> Vec<u8> {
        let mut proto = pb::ModelProto::decode(&RandomCnn::default().build()[..]).expect("decodes");
        let graph = proto.graph.as_mut().expect("a graph");
        let out = graph.output[0].name.clone();
        let last = graph.node.iter_mut().find(|n| n.output.contains(&out)).expect("the output's node");
        last.output = vec!["scores".into()];
        let node = |op: &str, input: &str, output: &str| pb::NodeProto {
            op_type: op.into(),
            input: vec![input.into()],
            output: vec![output.into()],
            name: format!("{op}_added"),
            ..Default::default()
        };
        graph.node.push(node("Softmax", "scores", "probabilities"));
        graph.node.push(node("Flatten", "probabilities", &out));
        let mut bytes = Vec::new();
        proto.encode(&mut bytes).expect("encodes");
        bytes
    }

    #[test]
    fn a_softmax_output_is_detected_through_shape_only_ops() {
        let plain = pb::ModelProto::decode(&RandomCnn::default().build()[..]).expect("decodes");
        assert!(!ends_in_softmax(plain.graph.as_ref().expect("a graph")));
        let soft = pb::ModelProto::decode(&with_softmax()[..]).expect("decodes");
        assert!(ends_in_softmax(soft.graph.as_ref().expect("a graph")));
    }

    #[test]
    fn a_model_ending_in_softmax_gives_its_own_probabilities_not_a_second_softmax() {
        let spec = PreprocessSpec::default();
        let mut plain = Runner::from_bytes(&RandomCnn::default().build(), &spec).expect("loads");
        let mut soft = Runner::from_bytes(&with_softmax(), &spec).expect("loads");
        assert!(!plain.card().output_probabilities && soft.card().output_probabilities);
        let pixels: Vec<u8> = (0..28 * 28).map(|i| (i * 37 % 256) as u8).collect();
        let expected = softmax(plain.classify_luma8(28, 28, &pixels).expect("runs"));
        let got = softmax(soft.classify_luma8(28, 28, &pixels).expect("runs"));
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-5, "{got:?} vs {expected:?}");
        }
    }

    #[test]
    fn zero_probabilities_stay_finite() {
        let mut v = [1.0, 0.0, -1e-9];
        to_log_probabilities(&mut v);
        assert_eq!(v[0], 0.0);
        assert!(v[1].is_finite() && v[2].is_finite() && v[1] < -80.0);
    }
}
