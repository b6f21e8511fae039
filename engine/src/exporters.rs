//! The models people actually export, loaded and checked against their exporter's own
//! outputs: fixtures written by PyTorch 1.13's `torch.onnx` (`tests/exports/make.py`, kept
//! with them) — BatchNormalization left unfused, ReLU6 as `Clip` (attributes at opset 9,
//! min/max inputs from 11), the `view(x.size(0), -1)` flatten (Shape → Gather → Unsqueeze →
//! Concat → Reshape), a dynamic batch named `batch_size`, opsets 9 to 17, one ending in
//! Softmax and one taking channels-last input. Each must load with the right card and give
//! PyTorch's scores for the same pixels. The same network quantized by onnxruntime
//! (`tests/exports/quantize.py`): its QDQ form runs, its QOperator form is refused with
//! what to do instead.

#[cfg(test)]
mod tests {
    use crate::card::BatchDim;
    use crate::model::Model;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    struct Fixture {
        name: &'static str,
        onnx: &'static [u8],
        expected: &'static str,
    }

    macro_rules! fixture {
        ($name:literal) => {
            Fixture {
                name: $name,
                onnx: include_bytes!(concat!("../tests/exports/", $name, ".onnx")),
                expected: include_str!(concat!("../tests/exports/", $name, ".json")),
            }
        };
    }

    const FIXTURES: [Fixture; 6] = [
        fixture!("torch-opset9"),
        fixture!("torch-opset11"),
        fixture!("torch-opset13"),
        fixture!("torch-opset17"),
        fixture!("torch-softmax-opset13"),
        fixture!("torch-channels-last-opset13"),
    ];

    #[derive(serde::Deserialize)]
    struct Expected {
        input: Vec<f32>,
        output: Vec<f32>,
    }

    #[test]
    fn pytorch_exports_load_and_give_pytorchs_scores() {
        for f in &FIXTURES {
            let expected: Expected = serde_json::from_str(f.expected).expect("fixture JSON");
            let model = Model::load(f.onnx).unwrap_or_else(|e| panic!("{}: {e}", f.name));
            let card = model.card();
            assert_eq!((card.channels, card.height, card.width, card.classes), (1, 28, 28, 10), "{}", f.name);
            assert_eq!(card.batch, BatchDim::Dynamic, "{}: batch_size is symbolic", f.name);
            assert!(card.operators.contains_key("BatchNormalization"), "{}: BatchNormalization unfused", f.name);
            assert_eq!(card.channels_last, f.name.contains("channels-last"), "{}", f.name);
            assert_eq!(card.output_probabilities, f.name.contains("softmax"), "{}", f.name);
            // The classifier runs NCHW pixels whatever the file's layout (the fixture's
            // pattern is the same pixels in both layouts, one channel).
            let got = model.classifier(1).expect("compiles").run(&expected.input).expect("runs");
            assert_eq!(got.len(), expected.output.len(), "{}", f.name);
            for (g, e) in got.iter().zip(&expected.output) {
                assert!((g - e).abs() < 1e-4, "{}: {got:?} vs PyTorch {:?}", f.name, expected.output);
            }
        }
    }

    #[test]
    fn onnxruntimes_int8_qdq_model_runs_and_its_qoperator_one_is_refused_with_what_to_do() {
        let qdq = fixture!("ort-int8-qdq");
        let expected: Expected = serde_json::from_str(qdq.expected).expect("fixture JSON");
        let model = Model::load(qdq.onnx).unwrap_or_else(|e| panic!("QDQ: {e}"));
        assert!(model.card().operators.contains_key("QuantizeLinear"));
        let got = model.classifier(1).expect("compiles").run(&expected.input).expect("runs");
        assert_eq!(got.len(), expected.output.len());
        // tract's QDQ arithmetic matches onnxruntime's here to 1e-7; 1e-4 as for the others.
        for (g, e) in got.iter().zip(&expected.output) {
            assert!((g - e).abs() < 1e-4, "{got:?} vs onnxruntime {:?}", expected.output);
        }
        let qop = fixture!("ort-int8-qoperator");
        let err = Model::load(qop.onnx).expect_err("QGemm is onnxruntime's own operator").to_string();
        assert!(err.contains("com.microsoft:QGemm") && err.contains("QuantFormat.QDQ"), "{err}");
    }

    #[test]
    fn a_dynamic_batch_export_runs_a_batch_of_four() {
        let f = &FIXTURES[2];
        let expected: Expected = serde_json::from_str(f.expected).expect("fixture JSON");
        let model = Model::load(f.onnx).expect("loads");
        let input: Vec<f32> = expected.input.iter().copied().cycle().take(4 * 28 * 28).collect();
        let got = model.classifier(4).expect("compiles for 4").run(&input).expect("runs");
        assert_eq!(got.len(), 4 * expected.output.len());
        for image in got.chunks(10) {
            for (g, e) in image.iter().zip(&expected.output) {
                assert!((g - e).abs() < 1e-4);
            }
        }
    }
}
