//! `onelayer download`, and `reproduce --download`: the official archive with a
//! progress bar (bytes, rate, time left), md5-verified and safely extracted.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use onelayer::data::ReadOptions;
use onelayer::download::{self, DownloadSpec, Event, Format, URL_ENV};

use super::DataArgs;

/// Arguments of `download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Folder to download and extract into (default: the per-user cache,
    /// $XDG_CACHE_HOME/onelayer or the platform's, where every command finds it).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Which version of the data set: binary or python.
    #[arg(long, default_value = "binary", value_parser = parse_format)]
    format: Format,
    /// The archive's URL, for a mirror (default: $ONELAYER_CIFAR10_URL, else the
    /// official one). The archive must still have the official md5.
    #[arg(long)]
    url: Option<String>,
    /// Seconds to wait for the server to connect, to answer, and for each 16 KiB
    /// of the archive before the transfer counts as stalled (and is retried).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    timeout: Duration,
}

/// The `--download` flag of commands that read the data.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// When the data is not found, download the binary version into the data
    /// folder (--data, else $CIFAR10_DIR, else ./data if it exists, else the per-user cache) first.
    #[arg(long)]
    pub download: bool,
    /// The archive's URL for --download (default: $ONELAYER_CIFAR10_URL, else the
    /// official one).
    #[arg(long, requires = "download")]
    pub url: Option<String>,
    /// Seconds to wait for the server for --download (see `onelayer download`).
    #[arg(
        long = "download-timeout",
        value_name = "SECONDS",
        default_value = "30",
        value_parser = parse_timeout,
        requires = "download"
    )]
    pub timeout: Duration,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// A positive, finite number of seconds, at most a day.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        Ok(v) => Err(format!(
            "{v} is not a number of seconds in (0, 86400]; give e.g. 30"
        )),
        Err(e) => Err(format!("{s:?} is not a number of seconds: {e}")),
    }
}

/// `onelayer download`.
pub fn run(a: DownloadArgs) -> anyhow::Result<ExitCode> {
    let dir = match a.dir {
        Some(d) => d,
        None => cache_dir()?,
    };
    let folder = fetch(a.format, a.url.as_deref(), a.timeout, &dir)?;
    outln!("CIFAR-10 ({:?}) is in {}", a.format, folder.display())?;
    Ok(ExitCode::SUCCESS)
}

/// The data's location and read options, as [`DataArgs::resolve`]; with
/// `--download`, the data is first downloaded when missing: the data folder
/// (`--data`, else `$CIFAR10_DIR`, else `./data` if it exists, else the per-user
/// cache) if it holds the data, else its
/// `cifar-10-batches-bin/`, downloaded there when it does not hold the data either.
pub fn resolve_or_download(
    data: &DataArgs,
    fetch_args: &FetchArgs,
) -> anyhow::Result<(PathBuf, ReadOptions)> {
    if !fetch_args.download {
        return data.resolve().map_err(|e| {
            let not_located = e
                .downcast_ref::<onelayer::data::DataError>()
                .is_some_and(|d| matches!(d, onelayer::data::DataError::NotLocated { .. }));
            match not_located {
                true => anyhow::anyhow!("{e:#}; or add --download to download it there"),
                false => e,
            }
        });
    }
    let opts = ReadOptions {
        allow_modified: data.allow_modified,
    };
    let target = match download::data_or_target(data.data.as_deref()) {
        Some(Ok(found)) => return Ok((found, opts)),
        Some(Err(target)) => target,
        None => cache_dir()?,
    };
    errln!("no CIFAR-10 data at {}: downloading it", target.display());
    Ok((
        fetch(
            Format::Binary,
            fetch_args.url.as_deref(),
            fetch_args.timeout,
            &target,
        )?,
        opts,
    ))
}

/// The per-user cache folder, or an error when the platform has none.
fn cache_dir() -> anyhow::Result<PathBuf> {
    onelayer::data::cache_dir().context(
        "no per-user cache folder: set $XDG_CACHE_HOME or $HOME, or give the folder with --dir",
    )
}

/// Downloads and extracts `format` into `dir` with a progress bar; returns the
/// data set's folder.
fn fetch(
    format: Format,
    url: Option<&str>,
    timeout: Duration,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let spec = DownloadSpec {
        timeout,
        ..DownloadSpec::official(format, url)
    };
    if spec.url != format.official_url() {
        errln!("from {} (mirror; --url or ${URL_ENV})", spec.url);
    } else {
        errln!("from {}", spec.url);
    }
    let mut bar: Option<ProgressBar> = None;
    let got = download::download(&spec, dir, &mut |e| show(&mut bar, e))
        .with_context(|| format!("downloading CIFAR-10 into {}", dir.display()));
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    let got = got?;
    errln!(
        "extracted {} files into {}",
        got.written.len(),
        got.folder.display()
    );
    Ok(got.folder)
}

/// Shows one download event: a bar while bytes arrive, a line otherwise.
fn show(bar: &mut Option<ProgressBar>, event: Event) {
    match event {
        Event::AlreadyDownloaded(p) => errln!("{} is already here and verified", p.display()),
        Event::Started { resume_from, total } => {
            if resume_from > 0 {
                errln!("resuming after {resume_from} bytes");
            }
            let b = bar.get_or_insert_with(|| new_bar(total));
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(resume_from);
            b.reset_eta();
        }
        Event::Progress { done } => {
            if let Some(b) = bar {
                b.set_position(done);
            }
        }
        Event::Retrying { attempt, reason } => {
            let msg = format!("transfer interrupted ({reason}); attempt {attempt}");
            match bar {
                Some(b) => b.println(msg),
                None => errln!("{msg}"),
            }
        }
        Event::Verifying => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            errln!("verifying md5");
        }
        Event::Extracting => errln!("extracting"),
    }
}

fn new_bar(total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(t) => (
            ProgressBar::new(t),
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta} left",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {bytes} {bytes_per_sec}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
