//! Channels-last image classifiers. Keras and tf2onnx export an input `[N, H, W, C]`
//! (usually followed by their own Transpose to NCHW); the engine, the page and the worker
//! hand every model NCHW pixels, and a 224×224×3 model used to be refused as "224
//! channels". Such a graph gets an NCHW input instead, and a Transpose
//! (`perm = [0, 2, 3, 1]`) in front of the nodes that read the old one, before tract parses
//! it: every caller keeps feeding NCHW. (Whether tract's optimiser cancels the added
//! Transpose against the exporter's own is not measured yet; at worst it is one copy of
//! the input per call.) The card says the model was channels-last.

use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::dimension::Value;

/// Name of the Transpose the engine adds (its operator is not counted on the model card).
pub(crate) const ADDED_NODE: &str = "distillate_nchw_to_nhwc";

/// Rewrites a channels-last graph to take NCHW input; returns whether it was one. A 4-D
/// input is channels-last when its last axis is 1 or 3 and its second is not (so an NCHW
/// image of width 3 is still read as NCHW: a 1- or 3-pixel-high image is no photo).
pub(crate) fn feed_nchw(graph: &mut pb::GraphProto) -> bool {
    let initializers: std::collections::HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let mut inputs = graph.input.iter_mut().filter(|i| !initializers.contains(&i.name));
    let (Some(input), None) = (inputs.next(), inputs.next()) else { return false };
    let Some(pb::type_proto::Value::TensorType(tensor)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
        return false;
    };
    let Some(shape) = tensor.shape.as_mut().filter(|s| s.dim.len() == 4) else { return false };
    let fixed = |d: &pb::tensor_shape_proto::Dimension| match d.value {
        Some(Value::DimValue(v)) => Some(v),
        _ => None,
    };
    let image_channels = |v: Option<i64>| matches!(v, Some(1 | 3));
    if !image_channels(fixed(&shape.dim[3])) || image_channels(fixed(&shape.dim[1])) {
        return false;
    }
    // [N, H, W, C] → [N, C, H, W]
    let channels = shape.dim.remove(3);
    shape.dim.insert(1, channels);
    let name = input.name.clone();
    let inner = format!("{name}__nhwc");
    for node in &mut graph.node {
        for i in node.input.iter_mut().filter(|i| **i == name) {
            i.clone_from(&inner);
        }
    }
    graph.node.insert(0, transpose(ADDED_NODE, name, inner, vec![0, 2, 3, 1]));
    true
}

/// A Transpose node named `name` with permutation `perm`.
fn transpose(name: &str, input: String, output: String, perm: Vec<i64>) -> pb::NodeProto {
    let perm = pb::AttributeProto {
        name: "perm".into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: perm,
        ..Default::default()
    };
    pb::NodeProto {
        name: name.into(),
        op_type: "Transpose".into(),
        input: vec![input],
        output: vec![output],
        attribute: vec![perm],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_build::RandomCnn;
    use crate::preprocess::PreprocessSpec;
    use crate::runner::Runner;
    use prost::Message;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// `net` as tf2onnx writes a Keras model: an `[N, H, W, C]` input and its own Transpose
    /// to NCHW in front of the network.
    fn as_keras_export(net: &RandomCnn) -> Vec<u8> {
        let mut proto = pb::ModelProto::decode(&net.build()[..]).expect("decodes");
        let graph = proto.graph.as_mut().expect("a graph");
        let input = &mut graph.input[0];
        let nchw = input.name.clone();
        input.name = "input_1".into();
        let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
            panic!("a tensor input")
        };
        let dims = &mut t.shape.as_mut().expect("a shape").dim;
        let c = dims.remove(1);
        dims.push(c);
        graph.node.insert(0, transpose("keras_transpose", "input_1".into(), nchw, vec![0, 3, 1, 2]));
        let mut bytes = Vec::new();
        proto.encode(&mut bytes).expect("encodes");
        bytes
    }

    #[test]
    fn a_channels_last_export_runs_on_nchw_pixels_with_the_same_scores() {
        for net in [RandomCnn::default(), RandomCnn { channels: 3, height: 32, width: 32, ..RandomCnn::default() }] {
            let spec = PreprocessSpec::default();
            let mut nchw = Runner::from_bytes(&net.build(), &spec).expect("NCHW loads");
            let mut nhwc = Runner::from_bytes(&as_keras_export(&net), &spec).expect("NHWC loads");
            let card = nhwc.card().clone();
            assert!(card.channels_last && !nchw.card().channels_last);
            assert_eq!(
                (card.channels, card.height, card.width),
                (net.channels as usize, net.height as usize, net.width as usize)
            );
            // The engine's own Transpose is not the model's operator.
            assert_eq!(card.operators.get("Transpose"), Some(&1));
            let (w, h) = (net.width as u32, net.height as u32);
            let pixels: Vec<u8> = (0..w * h).map(|i| (i * 53 % 256) as u8).collect();
            let a = nchw.classify_luma8(w, h, &pixels).expect("runs").to_vec();
            let b = nhwc.classify_luma8(w, h, &pixels).expect("runs").to_vec();
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn nchw_models_and_tiny_images_are_left_alone() {
        let mut proto = pb::ModelProto::decode(&RandomCnn::default().build()[..]).expect("decodes");
        assert!(!feed_nchw(proto.graph.as_mut().expect("a graph")));
        // 3 channels of a 3×3 image: NCHW, whatever the last axis says.
        let tiny = RandomCnn { channels: 3, height: 3, width: 3, ..RandomCnn::default() };
        let mut proto = pb::ModelProto::decode(&tiny.build()[..]).expect("decodes");
        assert!(!feed_nchw(proto.graph.as_mut().expect("a graph")));
    }
}
