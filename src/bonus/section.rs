//! The bonus section of the report, in Markdown and HTML, and the files
//! `onelayer bonus` writes.

use std::path::{Path, PathBuf};

use super::{BonusConfig, BonusOutput, BonusResults, figures};
use crate::io::{self, OutputError};
use crate::loss::Loss;
use crate::results::RunResult;
use crate::results::stage_npy;

/// Figure files, referenced by the section.
pub const CURVES: &str = "bonus_curves.png";
/// The best run's class templates.
pub const TEMPLATES: &str = "bonus_templates.png";
/// The histograms of the true class's probability.
pub const HISTOGRAMS: &str = "bonus_histograms.png";

const HEADER: [&str; 9] = [
    "setting",
    "training images",
    "loss",
    "λ",
    "η",
    "schedule",
    "epochs",
    "augmentation",
    "test accuracy",
];

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

fn row(setting: &str, n_train: usize, r: &RunResult) -> [String; 9] {
    let o = &r.run.options;
    let aug = match (o.augment.flip, o.augment.translate) {
        _ if o.augment.is_off() => "none".to_string(),
        (f, 0) => format!("flip p={f}"),
        (f, t) => format!("flip p={f}, shift ±{t}px"),
    };
    let epochs = match r.best_epoch {
        Some(b) => format!("{} (best {b})", r.history.epochs()),
        None => r.history.epochs().to_string(),
    };
    [
        setting.to_string(),
        n_train.to_string(),
        match o.loss {
            Loss::Generalized(q) => format!("generalized cross-entropy, q {q}"),
            Loss::SmoothedSoftmax(e) => format!("{}, label smoothing {e}", o.reported_loss()),
            l => l.to_string(),
        },
        r.run.lambda.to_string(),
        r.run.eta.to_string(),
        o.schedule.label(),
        epochs,
        aug,
        pct(r.test_accuracy),
    ]
}

/// The comparison table: the report's settings, then the bonus runs and ensembles.
pub fn table(b: &BonusResults) -> Vec<[String; 9]> {
    let n = b.setup.n_train;
    let mut rows: Vec<[String; 9]> = b
        .report_runs
        .iter()
        .map(|r| row(&format!("report {}", r.run.name), 10_000, r))
        .collect();
    rows.push(row("best single network", n, &b.best));
    for m in &b.members {
        rows.push(row(&format!("ensemble member {}", m.run.name), n, m));
    }
    rows.push(row("sigmoid outputs", n, &b.sigmoid));
    let e = &b.ensemble;
    let members = e.members.len();
    for (how, acc) in [
        ("averaged probabilities", e.average_accuracy),
        ("majority vote", e.vote_accuracy),
    ] {
        let mut r: [String; 9] = std::array::from_fn(|_| "—".to_string());
        r[0] = format!("ensemble of {members}, {how}");
        r[1] = n.to_string();
        r[8] = pct(acc);
        rows.push(r);
    }
    rows
}

/// The section in Markdown; figures are referenced relative to the section.
pub fn markdown(b: &BonusResults) -> String {
    let mut s = String::from("## Beyond the report: the best one-layer network\n\n");
    s += &intro(b);
    s += "\n| ";
    s += &HEADER.join(" | ");
    s += " |\n|";
    s += &"---|".repeat(HEADER.len());
    s += "\n";
    for r in table(b) {
        s += &format!("| {} |\n", r.join(" | "));
    }
    s += &format!(
        "\n![Loss and accuracy of the best run]({CURVES})\n\n\
         ![Class templates of the best run: {}]({TEMPLATES})\n\n{}\n\n\
         ![Probability of the true class, softmax against sigmoid]({HISTOGRAMS})\n",
        b.setup.class_names.join(", "),
        histogram_text(b)
    );
    s
}

/// The section as an HTML fragment (`<section>`).
pub fn html(b: &BonusResults) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut s = String::from(
        "<section id=\"bonus\">\n<h2>Beyond the report: the best one-layer network</h2>\n",
    );
    s += &format!("<p>{}</p>\n<table>\n<tr>", esc(&intro(b)));
    for h in HEADER {
        s += &format!("<th>{}</th>", esc(h));
    }
    s += "</tr>\n";
    for r in table(b) {
        s += "<tr>";
        for c in r {
            s += &format!("<td>{}</td>", esc(&c));
        }
        s += "</tr>\n";
    }
    s += &format!(
        "</table>\n<figure><img src=\"{CURVES}\" alt=\"loss and accuracy of the best run\"></figure>\n\
         <figure><img src=\"{TEMPLATES}\" alt=\"class templates\"><figcaption>Class templates of the best run: {}</figcaption></figure>\n\
         <p>{}</p>\n<figure><img src=\"{HISTOGRAMS}\" alt=\"probability of the true class\"></figure>\n</section>\n",
        esc(&b.setup.class_names.join(", ")),
        esc(&histogram_text(b))
    );
    s
}

fn intro(b: &BonusResults) -> String {
    let r = &b.best;
    format!(
        "The report's network (one layer, softmax, raw normalised pixels) trained on {} images \
         ({}) with {} validation images ({}), picked on validation only. The best single network \
         reaches {} test accuracy (seed {}); the ensemble of {} networks ({}) reaches {} by \
         averaged probabilities and {} by majority vote.\n",
        b.setup.n_train,
        b.setup.train_batches.join(", "),
        b.setup.n_val,
        b.setup.validation,
        pct(r.test_accuracy),
        r.run.seed,
        b.ensemble.members.len(),
        b.ensemble.members.join(", "),
        pct(b.ensemble.average_accuracy),
        pct(b.ensemble.vote_accuracy),
    )
}

fn histogram_text(b: &BonusResults) -> String {
    let [s, g] = &b.histograms;
    format!(
        "Probability given to the true class of each test image. Softmax: mean {:.3} over the \
         correct images, {:.3} over the wrong ones. Sigmoid (σ(s_y), one independent probability \
         per class): {:.3} and {:.3}.",
        s.mean_correct, s.mean_incorrect, g.mean_correct, g.mean_incorrect
    )
}

/// Writes `bonus.json`, `bonus.toml`, the section (`bonus.md`, `bonus.html`),
/// the figures, under `best/` and `sigmoid/` the weights and normalisation
/// (`W.npy`, `b.npy`, `mean.npy`, `std.npy`), and the best network as
/// `best/model.onelayer` for `onelayer predict`; the files appear together or not at all.
pub fn write(
    dir: &Path,
    cfg: &BonusConfig,
    out: &BonusOutput,
) -> Result<Vec<PathBuf>, OutputError> {
    let mut stage = io::Staging::new(dir)?;
    let fail = |name: &str, e: String| OutputError::Write {
        path: dir.join(name),
        source: std::io::Error::other(e),
    };
    let r = &out.results;
    let curves = figures::curves_png(&r.best).map_err(|e| fail(CURVES, e.to_string()))?;
    stage.write_bytes(CURVES, &curves)?;
    let templates = figures::templates_png(&out.best_model, &r.setup.class_names)
        .map_err(|e| fail(TEMPLATES, e.to_string()))?;
    stage.write_bytes(TEMPLATES, &templates)?;
    let hist =
        figures::histograms_png(&r.histograms).map_err(|e| fail(HISTOGRAMS, e.to_string()))?;
    stage.write_bytes(HISTOGRAMS, &hist)?;
    stage.write_bytes("bonus.md", markdown(r).as_bytes())?;
    stage.write_bytes("bonus.html", html(r).as_bytes())?;
    let toml = toml::to_string_pretty(cfg).map_err(|e| fail("bonus.toml", e.to_string()))?;
    stage.write_bytes("bonus.toml", toml.as_bytes())?;
    let json = serde_json::to_vec_pretty(r).map_err(|e| fail("bonus.json", e.to_string()))?;
    stage.write_bytes("bonus.json", &json)?;
    for (name, m) in [
        (&r.best.run.name, &out.best_model),
        (&r.sigmoid.run.name, &out.sigmoid_model),
    ] {
        let rd = Path::new(name);
        stage_npy(&mut stage, rd.join("W.npy"), &m.w)?;
        stage_npy(&mut stage, rd.join("b.npy"), &m.b)?;
        stage_npy(&mut stage, rd.join("mean.npy"), &out.normalizer.mean)?;
        stage_npy(&mut stage, rd.join("std.npy"), &out.normalizer.std)?;
    }
    let rel = Path::new(&r.best.run.name).join(crate::results::MODEL_FILE);
    let bytes = out
        .best_model_file(&cfg.split)
        .to_bytes(&rel)
        .map_err(|e| fail(&rel.to_string_lossy(), e.to_string()))?;
    stage.write_bytes(rel, &bytes)?;
    stage.commit()
}
