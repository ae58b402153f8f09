//! `onelayer evaluate`: a saved model on one batch — accuracy, per-class
//! precision and recall, and the confusion matrix (printed and as a PNG or SVG).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use onelayer::classify;
use onelayer::data::{self, BatchName};
use onelayer::metrics::Confusion;
use onelayer::modelfile::ModelFile;
use onelayer::plot::{self, confusion::ConfusionFigure};

use super::{DataArgs, print_out};

/// Arguments of `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The model file (written by `train --save` or `reproduce`).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// The batch to evaluate on: test_batch or data_batch_1 … data_batch_5.
    #[arg(long, default_value = "test_batch", value_parser = parse_batch)]
    batch: BatchName,
    /// Where to write the confusion matrix image: a .png or .svg file (default:
    /// beside the model, named after it: m.onelayer gives m-confusion.png).
    #[arg(long, value_name = "FILE", value_parser = parse_image)]
    image: Option<PathBuf>,
    /// Print JSON (accuracy, per-class precision and recall, confusion matrix) instead of tables.
    #[arg(long)]
    json: bool,
}

/// The default image path: `DIR/STEM-confusion.png` for the model `DIR/STEM.EXT`.
fn default_image(model: &std::path::Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    model.with_file_name(format!("{stem}-confusion.png"))
}

/// What `evaluate --json` prints.
#[derive(Debug, serde::Serialize)]
struct Evaluation<'a> {
    model: String,
    batch: String,
    images: u64,
    /// Fraction of images classified correctly, in [0, 1].
    accuracy: Option<f64>,
    classes: Vec<ClassScores<'a>>,
    /// `confusion[t][p]`: images of true class `t` predicted as `p`.
    confusion: Vec<Vec<u64>>,
    image: String,
}

/// One class's line of [`Evaluation`].
#[derive(Debug, serde::Serialize)]
struct ClassScores<'a> {
    class: usize,
    name: &'a str,
    precision: Option<f64>,
    recall: Option<f64>,
    images: u64,
}

/// A file name ending in `.png` or `.svg` (any case): the formats the figure is
/// written in.
fn parse_image(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    match image_format(&p) {
        Some(_) => Ok(p),
        None => Err(format!(
            "{s:?} names no image format onelayer writes: give a name ending in .png or .svg"
        )),
    }
}

/// `"png"` or `"svg"`, from the file name's extension.
fn image_format(p: &std::path::Path) -> Option<&'static str> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    ["png", "svg"].into_iter().find(|&f| f == ext)
}

fn parse_batch(s: &str) -> Result<BatchName, String> {
    match s.strip_suffix(".bin").unwrap_or(s) {
        "test_batch" | "test" => Ok(BatchName::Test),
        b => match b.strip_prefix("data_batch_").map(str::parse::<u8>) {
            Some(Ok(i)) if (1..=5).contains(&i) => Ok(BatchName::Data(i)),
            _ => Err(format!(
                "unknown batch {s:?}, expected test_batch or data_batch_1 … data_batch_5"
            )),
        },
    }
}

/// `onelayer evaluate`.
pub fn run(a: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let model = ModelFile::load(&a.model)?;
    model.require_images(&a.model)?;
    plot::confusion::check_classes(model.k())
        .with_context(|| format!("--model {}", a.model.display()))?;
    let c = confusion_on_batch(&a, &model)?;
    let names = &model.meta.class_names;
    let image = a.image.clone().unwrap_or_else(|| default_image(&a.model));
    let figure = ConfusionFigure {
        confusion: &c,
        class_names: names,
        title: format!("{} on {}", file_name(&a.model), a.batch),
    };
    let bytes = match image_format(&image) {
        Some("svg") => plot::to_svg(&figure)?,
        _ => plot::to_png(&figure)?,
    };
    onelayer::io::write_bytes_atomic(&image, &bytes)?;
    let text = if a.json {
        serde_json::to_string_pretty(&Evaluation::new(&a, &c, names, &image))? + "\n"
    } else {
        tables(&a, &c, names, &image)
    };
    print_out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The confusion matrix of `model` on the batch `a.batch` of the data; warns
/// when the data's class names differ from the model's.
fn confusion_on_batch(a: &EvaluateArgs, model: &ModelFile) -> anyhow::Result<Confusion> {
    let (path, opts) = a.data.resolve()?;
    let read = data::read(&path, &[a.batch], &opts)?;
    let names = &model.meta.class_names;
    if read.class_names != *names {
        errln!(
            "warning: the data's class names {:?} differ from the model's {:?}",
            read.class_names,
            names
        );
    }
    let images = read
        .batches
        .first()
        .context("the data reader returned no batch")?;
    let predicted = classify::predict(model, &images.pixels);
    let truth: Vec<usize> = images.labels.iter().map(|&l| usize::from(l)).collect();
    Confusion::from_pairs(model.k(), &truth, &predicted)
        .with_context(|| format!("{} in {}", a.batch, path.display()))
}

impl<'a> Evaluation<'a> {
    /// What `--json` prints for the confusion matrix `c` of `a.model` on
    /// `a.batch`, its figure written to `image`.
    fn new(a: &EvaluateArgs, c: &Confusion, names: &'a [String], image: &Path) -> Self {
        let k = c.k();
        Evaluation {
            model: a.model.display().to_string(),
            batch: a.batch.to_string(),
            images: c.total(),
            accuracy: c.accuracy(),
            classes: (0..k)
                .map(|i| ClassScores {
                    class: i,
                    name: names.get(i).map_or("", String::as_str),
                    precision: c.precision(i),
                    recall: c.recall(i),
                    images: c.row_sum(i),
                })
                .collect(),
            confusion: (0..k)
                .map(|t| (0..k).map(|p| c.count(t, p)).collect())
                .collect(),
            image: image.display().to_string(),
        }
    }
}

/// What `evaluate` prints without `--json`: the accuracy, the per-class table,
/// the matrix and where its figure went.
fn tables(a: &EvaluateArgs, c: &Confusion, names: &[String], image: &Path) -> String {
    let mut text = format!(
        "{} on {} ({} images): accuracy {:.2}%\n",
        a.model.display(),
        a.batch,
        c.total(),
        100.0 * c.accuracy().unwrap_or(0.0)
    );
    text += &per_class_table(c, names);
    text += &matrix_table(c, names);
    text + &format!("confusion matrix image written to {}\n", image.display())
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn percent(v: Option<f64>) -> String {
    v.map_or("     -".to_string(), |v| format!("{:6.2}", 100.0 * v))
}

/// One line per class: index, name, precision, recall, number of images.
fn per_class_table(c: &Confusion, names: &[String]) -> String {
    let mut s = format!(
        "\n{:>2}  {:<12} {:>9} {:>9} {:>7}\n",
        "#", "class", "precision", "recall", "images"
    );
    for (i, name) in names.iter().enumerate().take(c.k()) {
        s += &format!(
            "{i:>2}  {name:<12} {:>8}% {:>8}% {:>7}\n",
            percent(c.precision(i)),
            percent(c.recall(i)),
            c.row_sum(i)
        );
    }
    s
}

/// The matrix, rows true classes and columns predicted classes (by index).
fn matrix_table(c: &Confusion, names: &[String]) -> String {
    let mut s = format!(
        "\nconfusion matrix (rows: true class, columns: predicted)\n{:<16}",
        ""
    );
    for p in 0..c.k() {
        s += &format!("{p:>6}");
    }
    s.push('\n');
    for t in 0..c.k() {
        let name = names.get(t).map_or("", String::as_str);
        s += &format!("{t:>2} {name:<13}");
        for p in 0..c.k() {
            s += &format!("{:>6}", c.count(t, p));
        }
        s.push('\n');
    }
    s
}
