//! Command-line interface: argument parsing and one function per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

/// `println!` through [`print_out`]: returns its `anyhow::Result`.
macro_rules! outln {
    () => {
        $crate::cli::print_out("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::print_out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`print_err`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::print_err(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod bonus;
mod download;
mod evaluate;
mod export;
mod gradcheck;
mod predict;
mod progress;
mod report;
mod reproduce;
mod search;

/// A one-layer network (linear softmax classifier) on CIFAR-10.
#[derive(Debug, Parser)]
#[command(name = "onelayer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Instruction set of the kernels: amx, avx512, avx2, neon or portable
    /// (default: $ONELAYER_ISA, else the widest this CPU has).
    #[arg(long, global = true, value_name = "ISA")]
    isa: Option<String>,
}

/// Chooses the kernels' instruction set from `--isa`, else `$ONELAYER_ISA`; an
/// error names the flag or variable, the value and what this CPU has.
fn choose_isa(flag: Option<&str>) -> anyhow::Result<()> {
    let env = std::env::var("ONELAYER_ISA").ok().filter(|v| !v.is_empty());
    let (source, name) = match (flag, env.as_deref()) {
        (Some(v), _) => ("--isa", v),
        (None, Some(v)) => ("ONELAYER_ISA", v),
        (None, None) => return Ok(()),
    };
    let isa =
        onelayer::kernels::Isa::named(name).map_err(|e| anyhow::anyhow!("{source} {name}: {e}"))?;
    onelayer::kernels::choose(Some(isa));
    Ok(())
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the report's four experiments and write results, weights, figures and the report.
    Reproduce(reproduce::ReproduceArgs),
    /// Train custom runs from flags or from a TOML experiment file.
    Train(Box<reproduce::TrainArgs>),
    /// Compare analytic and numerical gradients on the real data.
    Gradcheck(gradcheck::GradcheckArgs),
    /// Grid or random search over λ, η, batch size, schedule, label smoothing and the generalized cross-entropy's q, picked on validation.
    Search(search::SearchArgs),
    /// Train the best recipe found, its ensemble and the sigmoid comparison; write a report section.
    Bonus(bonus::BonusArgs),
    /// Write the figures and the report of a results folder again, without training.
    Report(report::ReportArgs),
    /// Download CIFAR-10 (md5-verified, resumable) and extract it safely.
    Download(download::DownloadArgs),
    /// Accuracy, per-class precision and recall, and confusion matrix of a saved model.
    Evaluate(evaluate::EvaluateArgs),
    /// Classify PNG or JPEG images with a saved model.
    Predict(predict::PredictArgs),
    /// Export a saved model as safetensors or npz, for PyTorch, candle, burn or numpy.
    Export(export::ExportArgs),
    /// Print a shell completion script: `onelayer completions bash > ~/.local/share/bash-completion/completions/onelayer`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Where to read the data, shared by every command that reads it.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// CIFAR-10 folder or archive (default: $CIFAR10_DIR, else ./data, else the per-user
    /// cache that `onelayer download` fills: $XDG_CACHE_HOME/onelayer or the platform's).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Accept batch files that bear an official file's name but differ from it (checked by
    /// BLAKE3 for the binary version, md5 for the python one).
    #[arg(long)]
    pub allow_modified: bool,
}

impl DataArgs {
    /// The data's location (`--data`, else `$CIFAR10_DIR`, else `./data`, else the
    /// per-user cache) and the
    /// read options; an error says where it looked and how to get the data.
    pub fn resolve(&self) -> anyhow::Result<(PathBuf, onelayer::data::ReadOptions)> {
        let path = onelayer::data::locate(self.data.as_deref())?;
        let opts = onelayer::data::ReadOptions {
            allow_modified: self.allow_modified,
        };
        Ok((path, opts))
    }
}

/// Parses the arguments, runs the command and turns an error into one line on
/// stderr and exit status 1.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// [`main`] on the arguments `args` (the program's name first); a usage error,
/// `--help` and `--version` print and return clap's status instead of exiting, so
/// that the Python package's `onelayer` command runs it inside its process.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // A closed stdout or stderr changes nothing: the status says what happened.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if let Err(e) = choose_isa(cli.isa.as_deref()) {
        print_err(&format!("error: {}\n", one_line(&e)));
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Reproduce(a) => reproduce::reproduce(a),
        Command::Train(a) => reproduce::train(*a),
        Command::Gradcheck(a) => gradcheck::run(a),
        Command::Search(a) => search::run(a),
        Command::Bonus(a) => bonus::run(a),
        Command::Report(a) => report::run(a),
        Command::Download(a) => download::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Export(a) => export::run(a),
        Command::Completions { shell } => completions(shell),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            print_err(&format!("error: {}\n", one_line(&e)));
            ExitCode::FAILURE
        }
    }
}

/// `onelayer completions SHELL`: the completion script on stdout.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "onelayer", &mut script);
    print_out(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// Set once stdout is a closed pipe: the rest of the output is dropped.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes `text` to stdout: every output of the commands goes through here. A
/// closed pipe (`onelayer ... | head`) ends the output, not the command.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => Ok(r?),
    }
}

/// Writes `text` to stderr (messages, progress); a closed or failing stderr is
/// ignored, as there is nowhere left to report it.
pub fn print_err(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Locks the output folder `dir` for this command (see [`onelayer::io::OutputLock`]),
/// finishing a commit there that an earlier command left interrupted.
pub fn lock_out(dir: &std::path::Path) -> anyhow::Result<onelayer::io::OutputLock> {
    let command: Vec<String> = std::env::args().collect();
    let lock = onelayer::io::OutputLock::acquire(dir, &command.join(" "))?;
    Ok(lock)
}

/// The error and its causes on one line, leaving out a cause whose text the
/// message already holds (library errors print their cause themselves).
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg = format!("{msg}: {c}");
        }
    }
    msg.replace('\n', " ")
}
