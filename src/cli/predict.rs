//! `onelayer predict`: the top classes of PNG or JPEG images under a saved model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use onelayer::classify::{self, Ranked};
use onelayer::image_input;
use onelayer::modelfile::ModelFile;

/// Arguments of `predict`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each image is read as PNG or JPEG, its alpha channel dropped and grey \
turned into RGB, then stretched to 32×32 with a triangle (linear) filter that widens with the \
shrink factor, so it averages the source pixels (image::imageops::FilterType::Triangle); a 32×32 \
image is used as is. It is then normalised with the model's mean and std."
)]
pub struct PredictArgs {
    /// The model file (written by `train --save` or `reproduce`).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// PNG or JPEG images, of any size.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    top: u16,
}

/// One image's answer.
#[derive(Debug, serde::Serialize)]
struct Prediction {
    image: String,
    top: Vec<Ranked>,
}

/// `onelayer predict`.
pub fn run(a: PredictArgs) -> anyhow::Result<ExitCode> {
    let model = ModelFile::load(&a.model)?;
    model.require_images(&a.model)?;
    // Every image is read before anything is printed: one bad file fails the lot.
    let mut pixels = Vec::with_capacity(a.images.len() * onelayer::D);
    for path in &a.images {
        pixels.extend(image_input::load(path)?);
    }
    let p = classify::probabilities(&model, &pixels);
    let predictions: Vec<Prediction> = a
        .images
        .iter()
        .zip(p.columns())
        .map(|(path, col)| Prediction {
            image: path.display().to_string(),
            top: classify::top(&col.to_vec(), &model.meta.class_names, a.top.into()),
        })
        .collect();
    let text = if a.json {
        serde_json::to_string_pretty(&predictions)? + "\n"
    } else {
        let mut t = String::new();
        for p in &predictions {
            t += &format!("{}\n", p.image);
            for (rank, r) in p.top.iter().enumerate() {
                t += &format!(
                    "  {}. {:<12} {:6.2}%\n",
                    rank + 1,
                    r.name,
                    100.0 * r.probability
                );
            }
        }
        t
    };
    super::print_out(&text)?;
    Ok(ExitCode::SUCCESS)
}
