//! The disagreement grid: teacher's prediction (rows) × student's prediction (columns) over
//! the evaluated images. The diagonal is where they agree; every other cell is a kind of
//! mistake the student copies or adds, with its count printed in it, so the grid reads
//! without colour (the shade only ranks the counts).

use distillate_engine::metrics::ConfusionMatrix;
use yew::prelude::*;

use crate::format::group;

/// Props of [`DisagreementGrid`].
#[derive(Properties, PartialEq)]
pub struct DisagreementGridProps {
    /// Teacher prediction × student prediction counts.
    pub grid: ConfusionMatrix,
    /// Class names; a class past the list is shown by its number.
    pub labels: Vec<String>,
}

/// Side of a cell and the room for the row and column labels, in SVG units.
const CELL: f64 = 40.0;
const LEFT: f64 = 120.0;
/// Room on the right for the last column label, which leans past its cell.
const RIGHT: f64 = 40.0;
const TOP: f64 = 96.0;

/// The grid as an SVG; nothing for an empty matrix (a summary written before it existed).
#[function_component(DisagreementGrid)]
pub fn disagreement_grid(props: &DisagreementGridProps) -> Html {
    let n = props.grid.classes;
    if n == 0 || props.grid.counts.len() != n * n {
        return html! {};
    }
    let name = |i: usize| props.labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
    let off_diagonal_max =
        (0..n * n).filter(|k| k / n != k % n).map(|k| props.grid.counts[k]).max().unwrap_or(0).max(1) as f64;
    let disagreements: u64 = (0..n * n).filter(|k| k / n != k % n).map(|k| props.grid.counts[k]).sum();
    let size = (LEFT + n as f64 * CELL + RIGHT, TOP + n as f64 * CELL + 4.0);
    let cells = (0..n * n).map(|k| {
        let (row, col) = (k / n, k % n);
        let count = props.grid.counts[k];
        let (x, y) = (LEFT + col as f64 * CELL, TOP + row as f64 * CELL);
        let (class, opacity) = if row == col {
            ("agree", 1.0)
        } else if count == 0 {
            ("none", 1.0)
        } else {
            // A single disagreement stays visible; the darkest cell keeps its number readable.
            ("disagree", 0.12 + 0.48 * count as f64 / off_diagonal_max)
        };
        html! { <g class={class}>
            <rect x={format!("{x:.0}")} y={format!("{y:.0}")} width={format!("{:.0}", CELL - 2.0)} height={format!("{:.0}", CELL - 2.0)}
                fill-opacity={format!("{opacity:.2}")} />
            if count > 0 {
                <text x={format!("{:.0}", x + CELL / 2.0 - 1.0)} y={format!("{:.0}", y + CELL / 2.0 + 4.0)} text-anchor="middle">{ group(count) }</text>
            }
        </g> }
    });
    let rows = (0..n).map(|i| {
        let y = TOP + i as f64 * CELL + CELL / 2.0 + 4.0;
        html! { <text class="label" x={format!("{:.0}", LEFT - 6.0)} y={format!("{y:.0}")} text-anchor="end">{ name(i) }</text> }
    });
    let cols = (0..n).map(|i| {
        let (x, y) = (LEFT + i as f64 * CELL + CELL / 2.0, TOP - 6.0);
        html! { <text class="label" transform={format!("translate({x:.0} {y:.0}) rotate(-55)")}>{ name(i) }</text> }
    });
    let label = format!(
        "Disagreement grid: rows are the teacher's prediction, columns the student's; {} disagreements off the diagonal",
        group(disagreements)
    );
    html! {
        <figure class="grid-figure">
            <svg class="disagreement-grid" viewBox={format!("0 0 {:.0} {:.0}", size.0, size.1)} role="img" aria-label={label}>
                <text class="axis" x="2" y="14">{ "teacher ↓ · student →" }</text>
                { for cols }{ for rows }{ for cells }
            </svg>
            <figcaption>{ format!("Teacher's answer (rows) against the student's (columns): the diagonal is agreement, the {} images off it are where they differ.", group(disagreements)) }</figcaption>
        </figure>
    }
}
