//! Checks of an ONNX graph before tract sees it: everything a user's file can get wrong
//! that tract would report with a panic or a puzzling message. Each check names the node
//! and the problem; several were found by fuzzing (the regression models named below live
//! in `tests/fuzz/`).

use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;

use crate::card::BatchDim;
use crate::error::{Error, Result};

/// Operators in `graph` that tract cannot build, refused before parsing so the message
/// names them all at once instead of failing later on the first.
pub(crate) fn check_operators(graph: &pb::GraphProto) -> Result<()> {
    let registry = tract_onnx::onnx().op_register;
    let mut missing: Vec<String> = graph
        .node
        .iter()
        .filter(|n| {
            let standard = n.domain.is_empty() || n.domain == "ai.onnx";
            !standard || !registry.0.contains_key(&n.op_type)
        })
        .map(|n| if n.domain.is_empty() { n.op_type.clone() } else { format!("{}:{}", n.domain, n.op_type) })
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let mut message = missing.join(", ");
    // onnxruntime's own operators (its QOperator int8 format writes QGemm, QLinearAdd, …)
    // run nowhere else; its QDQ format expresses the same model in standard operators.
    if missing.iter().any(|op| op.starts_with("com.microsoft:")) {
        message.push_str(
            " — com.microsoft operators are onnxruntime's own; for an int8 model, quantize with \
             quant_format=QuantFormat.QDQ instead",
        );
    }
    Err(Error::UnsupportedOperator(message))
}

/// Every graph output must be computed by something in the graph. tract assumes so and
/// panics otherwise (found by fuzzing: `tests/fuzz/model_load-output-without-producer.onnx`).
pub(crate) fn check_outputs_are_produced(graph: &pb::GraphProto) -> Result<()> {
    let produced: std::collections::HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| n.output.iter().map(String::as_str))
        .chain(graph.input.iter().map(|i| i.name.as_str()))
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .collect();
    match graph.output.iter().find(|o| !produced.contains(o.name.as_str())) {
        Some(o) => Err(Error::BadOutput(format!("graph output '{}' is not produced by any node", o.name))),
        None => Ok(()),
    }
}

/// Inputs an operator needs at least, for operators whose count does not depend on the
/// opset; every other operator but a source needs one.
const MIN_INPUTS: [(&str, usize); 14] = [
    ("Conv", 2),
    ("ConvTranspose", 2),
    ("Gemm", 2),
    ("MatMul", 2),
    ("Add", 2),
    ("Sub", 2),
    ("Mul", 2),
    ("Div", 2),
    ("Pow", 2),
    ("PRelu", 2),
    ("Gather", 2),
    ("Expand", 2),
    ("Where", 3),
    ("BatchNormalization", 5),
];
/// Operators that take no input.
const SOURCES: [&str; 3] = ["Constant", "RandomNormal", "RandomUniform"];

/// Every node has the inputs its operator reads and at least one output. tract's operators
/// index their inputs without checking and panic on a short list (found by fuzzing:
/// `tests/fuzz/model_load-node-without-input.onnx`).
pub(crate) fn check_arity(graph: &pb::GraphProto) -> Result<()> {
    for node in &graph.node {
        let op = node.op_type.as_str();
        let least =
            MIN_INPUTS.iter().find(|(o, _)| *o == op).map(|(_, n)| *n).unwrap_or(usize::from(!SOURCES.contains(&op)));
        let given = node.input.iter().take(least).filter(|i| !i.is_empty()).count();
        let name = node_label(node);
        if given < least {
            return Err(Error::Model(format!("{name} has {given} of the {least} inputs it needs")));
        }
        if node.output.first().is_none_or(|o| o.is_empty()) {
            return Err(Error::Model(format!("{name} has no output")));
        }
    }
    Ok(())
}

/// A node as messages name it: its operator, and its name when it has one.
fn node_label(node: &pb::NodeProto) -> String {
    if node.name.is_empty() { node.op_type.clone() } else { format!("{} '{}'", node.op_type, node.name) }
}

/// Largest kernel, stride, dilation or padding accepted on a convolution or pooling: far
/// beyond any image model, small enough that shape arithmetic cannot overflow.
const MAX_WINDOW: i64 = 1 << 16;

/// Convolution and pooling window attributes must be positive (pads non-negative) and sane.
/// tract computes output sizes as `(kernel - 1) * dilation + 1` on unsigned integers and
/// overflows on a zero kernel (found by fuzzing: `tests/fuzz/model_load-zero-kernel.onnx`);
/// a zero-sized convolution weight is the same defect in another form.
pub(crate) fn check_window_attributes(graph: &pb::GraphProto) -> Result<()> {
    const WINDOWED: [&str; 5] = ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"];
    let weights: std::collections::HashMap<&str, &pb::TensorProto> =
        graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in graph.node.iter().filter(|n| WINDOWED.contains(&n.op_type.as_str())) {
        let name = node_label(node);
        // Spatial rank: from the weight when it is known, else from the first window attribute.
        let weight = node.input.get(1).and_then(|w| weights.get(w.as_str()));
        let mut rank = weight.filter(|_| node.op_type.starts_with("Conv")).map(|w| w.dims.len().saturating_sub(2));
        for attr in &node.attribute {
            let (least, per_axis) = match attr.name.as_str() {
                "kernel_shape" | "strides" | "dilations" => (1, 1),
                "pads" => (0, 2),
                _ => continue,
            };
            if let Some(v) = attr.ints.iter().find(|v| !(least..=MAX_WINDOW).contains(*v)) {
                return Err(Error::Model(format!(
                    "{name} has {} value {v}; it must be from {least} to {MAX_WINDOW}",
                    attr.name
                )));
            }
            // tract indexes these per spatial axis (found by fuzzing: `model_load-pads-length.onnx`).
            let axes = *rank.get_or_insert(attr.ints.len() / per_axis);
            if attr.ints.len() != axes * per_axis || axes == 0 {
                return Err(Error::Model(format!(
                    "{name} has {} {} value(s) for {axes} spatial axes; it needs {}",
                    attr.name,
                    attr.ints.len(),
                    axes * per_axis
                )));
            }
        }
        if node.op_type.starts_with("Conv")
            && let Some(w) = weight
            && w.dims.iter().any(|d| *d < 1)
        {
            return Err(Error::Model(format!(
                "{name} has a weight of shape {:?}; every dimension must be ≥ 1",
                w.dims
            )));
        }
    }
    Ok(())
}

/// The one real input (graph inputs that are not initializers) as (C, H, W, batch).
pub(crate) fn check_input(graph: &pb::GraphProto) -> Result<(usize, usize, usize, BatchDim)> {
    use pb::tensor_shape_proto::dimension::Value;
    let initializers: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> =
        graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).collect();
    let input = match inputs.as_slice() {
        [one] => *one,
        [] => return Err(Error::BadInput("the model declares no input".into())),
        many => {
            return Err(Error::BadInput(format!(
                "the model has {} inputs ({}); an image classifier takes one",
                many.len(),
                many.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    };
    let name = &input.name;
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t,
        None => return Err(Error::BadInput(format!("input '{name}' has no declared type"))),
    };
    if tensor.elem_type != DataType::Float as i32 {
        let ty = DataType::try_from(tensor.elem_type).map(|d| d.as_str_name()).unwrap_or("unknown");
        return Err(Error::BadInput(format!("input '{name}' is {ty}; expected FLOAT (f32) pixels")));
    }
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| &s.dim)
        .ok_or_else(|| Error::DynamicDimension(format!("input '{name}' declares no shape")))?;
    if dims.len() != 4 {
        return Err(Error::BadInput(format!(
            "input '{name}' is {}-D; expected 4-D NCHW [batch, channels, height, width]",
            dims.len()
        )));
    }
    const AXES: [&str; 4] = ["batch", "channels", "height", "width"];
    let mut fixed = [0usize; 4];
    let mut batch = BatchDim::Dynamic;
    for (axis, dim) in dims.iter().enumerate() {
        match &dim.value {
            Some(Value::DimValue(v)) if *v > 0 => {
                fixed[axis] = *v as usize;
                if axis == 0 {
                    batch = BatchDim::Fixed(*v as usize);
                }
            }
            _ if axis == 0 => batch = BatchDim::Dynamic,
            Some(Value::DimValue(v)) => {
                return Err(Error::BadInput(format!("input '{name}' {} is {v}", AXES[axis])));
            }
            Some(Value::DimParam(p)) => {
                return Err(Error::DynamicDimension(format!(
                    "input '{name}' {} is the symbol '{p}'; only the batch may be symbolic, \
                     export the model with a fixed {}",
                    AXES[axis], AXES[axis]
                )));
            }
            None => {
                return Err(Error::DynamicDimension(format!(
                    "input '{name}' {} has no size; export the model with a fixed {}",
                    AXES[axis], AXES[axis]
                )));
            }
        }
    }
    let [_, c, h, w] = fixed;
    if c != 1 && c != 3 {
        return Err(Error::BadInput(format!("input '{name}' has {c} channels; images give 1 (gray) or 3 (RGB)")));
    }
    Ok((c, h, w, batch))
}
