//! `onelayer export`: a model file as safetensors or npz, with the normalisation
//! folded into a linear layer on `pixels / 255` (see [`onelayer::export`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use onelayer::export::{self, ExportOptions, Format};

/// Arguments of `export`.
#[derive(Debug, Args)]
#[command(
    after_help = "The file holds `weight` (K×3072) and `bias` (K), float32: the model with its \
normalisation folded in, for pixels/255 in channel-first order (torchvision's ToTensor(), then \
flatten()). torch.nn.Linear(3072, 10).load_state_dict(safetensors.torch.load_file(FILE)) loads \
it. Class names, settings and the data's fingerprint are in the safetensors header's \
__metadata__ (the npz's meta.json)."
)]
pub struct ExportArgs {
    /// The model file (written by `train --save` or `reproduce`).
    #[arg(value_name = "MODEL")]
    model: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Safetensors)]
    format: FormatArg,
    /// The output file (default: the model's path with the format's extension).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also store the unfolded weights and normalisation as raw.W, raw.b, raw.mean, raw.std
    /// (a strict load_state_dict then needs only `weight` and `bias` picked out).
    #[arg(long)]
    raw: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Safetensors,
    Npz,
}

/// `onelayer export`.
pub fn run(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let format = match a.format {
        FormatArg::Safetensors => Format::Safetensors,
        FormatArg::Npz => Format::Npz,
    };
    let out = a
        .out
        .unwrap_or_else(|| export::default_output(&a.model, format));
    export::export(&a.model, format, ExportOptions { raw: a.raw }, &out)?;
    super::print_out(&format!("{} written\n", out.display()))?;
    Ok(ExitCode::SUCCESS)
}
