//! `report.md`: the same page in GitHub-flavoured Markdown, images by relative path.

use std::fmt::Write;

use super::{FigureRef, Page, Table};

/// Escapes a table cell: `|` would end it, a newline would end the row.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(t: &Table) -> String {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let align: Vec<String> = t
        .numeric
        .iter()
        .map(|&n| if n { "---:" } else { ":---" }.to_string())
        .collect();
    let mut s = row(&t.header);
    s += &row(&align);
    for r in &t.rows {
        s += &row(r);
    }
    s
}

fn figure(f: &FigureRef) -> String {
    let svg = match &f.svg {
        Some(svg) => format!(" ([SVG]({svg}))"),
        None => String::new(),
    };
    format!(
        "![{cap}]({png})\n\n*{cap}*{svg}\n\n",
        cap = f.caption,
        png = f.png
    )
}

/// The page.
pub fn render(p: &Page) -> String {
    let mut s = String::from("# A one-layer network on CIFAR-10\n\n");
    s += "A linear softmax classifier trained by mini-batch gradient descent on cross-entropy \
          plus λ‖W‖²: its setup, gradient check, experiments and what it learnt.\n\n";
    s += "## Setup\n\n| | |\n| :--- | :--- |\n";
    for (k, v) in &p.setup {
        let _ = writeln!(s, "| **{}** | {} |", cell(k), cell(v));
    }
    s += "\n## Gradient check\n\nAnalytic gradients against centred finite differences in \
          float64; relative error |a − n| / max(ε, |a| + |n|).\n\n";
    s += &table(&p.gradient_check);
    s += "\n## Experiments\n\nFinal values are those of the last epoch.\n\n";
    s += &table(&p.experiments);
    s += "\n## Observations\n\n";
    for o in &p.observations {
        let _ = writeln!(s, "- {o}");
    }
    s += "\n## The runs side by side\n\n";
    for f in &p.comparison {
        s += &figure(f);
    }
    s += "## Each run\n\n";
    for r in &p.runs {
        let _ = writeln!(s, "### {} ({})\n", r.label, r.name);
        for f in r.curves.iter().chain([&r.templates]) {
            s += &figure(f);
        }
    }
    s
}
