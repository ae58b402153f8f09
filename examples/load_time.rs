//! Times reading batches 1, 2 and test (the report's split) from a folder or an
//! archive, the checks against the official files included:
//!
//! ```text
//! cargo run --release --example load_time -- PATH [--allow-modified]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use onelayer::data::{self, BatchName, ReadOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: load_time PATH [--allow-modified]");
        return ExitCode::FAILURE;
    };
    let opts = ReadOptions {
        allow_modified: args.iter().any(|a| a == "--allow-modified"),
    };
    let which = [BatchName::Data(1), BatchName::Data(2), BatchName::Test];
    for _ in 0..3 {
        let t = Instant::now();
        match data::read(&path, &which, &opts) {
            Ok(d) => println!(
                "{:?} version, {} images, {:.3} s, checks: {:?}",
                d.layout,
                d.batches.iter().map(|b| b.len()).sum::<usize>(),
                t.elapsed().as_secs_f64(),
                d.checks
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
