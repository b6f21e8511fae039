//! `distillate inspect`: the model card of each file.

use anyhow::Context;
use distillate_engine::Model;

use crate::args::InspectArgs;
use crate::data::read;

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    for path in &args.models {
        let bytes = read(path)?;
        let model = Model::load(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
        let card = model.card();
        if args.json {
            println!("{}", serde_json::to_string_pretty(card)?);
            continue;
        }
        println!("{}", path.display());
        println!("  input       {} (batch {:?})", card.input_label(), card.batch);
        println!("  classes     {}", card.classes);
        if card.channels_last {
            println!("  layout      channels-last input [N, H, W, C]; fed NCHW through an added Transpose");
        }
        if card.output_probabilities {
            println!("  output      probabilities (ends in Softmax; read as log-probabilities)");
        }
        println!("  parameters  {}", card.params);
        println!("  MACs        {} per image ({:.3} GFLOPs)", card.macs, card.flops as f64 / 1e9);
        println!("  size        {} bytes", card.bytes);
        let ops: Vec<String> = card.operators.iter().map(|(op, n)| format!("{op}×{n}")).collect();
        println!("  operators   {}", ops.join(" "));
        if !card.producer.is_empty() {
            println!("  producer    {}", card.producer);
        }
    }
    Ok(())
}
