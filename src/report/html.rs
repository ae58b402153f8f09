//! `report.html`: one self-contained page (inline CSS, no script, images by
//! relative path) that opens from disk with no network.

use std::fmt::Write;

use super::{FigureRef, Page, Table};

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --band: #f6f8fa; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 16px/1.5 -apple-system, 'Segoe UI', 'DejaVu Sans', Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.9rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .75rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p.lead { color: var(--muted); margin-top: 0; }
nav a { margin-right: 1rem; color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { padding: .35rem .7rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: #fafbfc; }
table.kv th { width: 12rem; background: none; }
.scroll { overflow-x: auto; }
ul.obs li { margin: .35rem 0; }
figure { margin: 0 0 1.25rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .3rem; }
figcaption a { color: var(--accent); }
.curves { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 1rem 1.5rem; }
";

fn table(t: &Table, id: Option<&str>) -> String {
    let class = |numeric: bool| if numeric { " class=\"num\"" } else { "" };
    let id = id.map(|i| format!(" id=\"{i}\"")).unwrap_or_default();
    let mut s = format!("<div class=\"scroll\"><table{id}>\n<thead><tr>");
    for (h, &n) in t.header.iter().zip(&t.numeric) {
        let _ = write!(s, "<th{}>{}</th>", class(n), escape(h));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        s.push_str("<tr>");
        for (cell, &n) in row.iter().zip(&t.numeric) {
            let _ = write!(s, "<td{}>{}</td>", class(n), escape(cell));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    s
}

/// A figure; templates (no SVG) keep their pixels sharp when scaled.
fn figure(f: &FigureRef) -> String {
    let class = if f.svg.is_some() {
        "curve"
    } else {
        "templates"
    };
    let svg = match &f.svg {
        Some(svg) => format!(" (<a href=\"{}\">SVG</a>)", escape(svg)),
        None => String::new(),
    };
    format!(
        "<figure class=\"{class}\"><a href=\"{png}\"><img src=\"{png}\" alt=\"{cap}\" loading=\"eager\"></a>\
         <figcaption>{cap}{svg}</figcaption></figure>\n",
        png = escape(&f.png),
        cap = escape(&f.caption),
    )
}

/// The page.
pub fn render(p: &Page) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<title>onelayer: a one-layer network on CIFAR-10</title>\n");
    let _ = writeln!(s, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    s.push_str("<h1>A one-layer network on CIFAR-10</h1>\n");
    s.push_str(
        "<p class=\"lead\">A linear softmax classifier trained by mini-batch gradient descent \
         on cross-entropy plus λ‖W‖²: its setup, gradient check, experiments and what it learnt.</p>\n",
    );
    s.push_str(
        "<nav><a href=\"#setup\">Setup</a><a href=\"#gradient-check\">Gradient check</a>\
         <a href=\"#experiments\">Experiments</a><a href=\"#observations\">Observations</a>\
         <a href=\"#comparison\">Side by side</a><a href=\"#runs\">Each run</a></nav>\n",
    );
    s.push_str("<h2 id=\"setup\">Setup</h2>\n<table class=\"kv\"><tbody>\n");
    for (k, v) in &p.setup {
        let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    }
    s.push_str("</tbody></table>\n");
    s.push_str("<h2 id=\"gradient-check\">Gradient check</h2>\n");
    s.push_str(
        "<p>Analytic gradients against centred finite differences in float64, on the first \
         images and input dimensions of the training set; relative error |a − n| / max(ε, |a| + |n|).</p>\n",
    );
    s.push_str(&table(&p.gradient_check, Some("gradient-check-table")));
    s.push_str("<h2 id=\"experiments-heading\">Experiments</h2>\n");
    s.push_str(
        "<p>Final values are those of the last epoch; accuracies are fractions of images \
         classified correctly.</p>\n",
    );
    s.push_str(&table(&p.experiments, Some("experiments")));
    s.push_str("<h2 id=\"observations\">Observations</h2>\n<ul class=\"obs\">\n");
    for o in &p.observations {
        let _ = writeln!(s, "<li>{}</li>", escape(o));
    }
    s.push_str("</ul>\n<h2 id=\"comparison\">The runs side by side</h2>\n");
    for f in &p.comparison {
        s.push_str(&figure(f));
    }
    s.push_str("<h2 id=\"runs\">Each run</h2>\n");
    for r in &p.runs {
        let _ = writeln!(
            s,
            "<h3 id=\"run-{}\">{} <small>({})</small></h3>\n<div class=\"curves\">",
            escape(&r.name),
            escape(&r.label),
            escape(&r.name)
        );
        for f in &r.curves {
            s.push_str(&figure(f));
        }
        s.push_str("</div>\n");
        s.push_str(&figure(&r.templates));
    }
    s.push_str("</main>\n</body>\n</html>\n");
    s
}
