//! Components: data and callbacks in, HTML out.

pub mod benchmark;
pub mod bring_your_own;
pub mod cost_panel;
pub mod environment;
pub mod evaluation;
pub mod gallery;
pub mod ladder_plot;
pub mod model_cards;
pub mod scorecard;
