//! A bounded fuzz run of every reader of user files, in `cargo test`: the seed
//! corpus `fuzz/corpus/<target>/` mutated by proptest (bytes flipped, inserted,
//! removed, runs repeated, the file cut), each input fed to the reader's entry
//! point in `fuzz/targets.rs` (the same functions the `cargo fuzz` targets run)
//! under an address-space limit of 4 GiB. An error is a fine outcome; a panic,
//! an abort or memory past the limit fails the test. `ONELAYER_FUZZ_CASES` sets
//! the inputs per target (default 200).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;
use std::sync::Once;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The address space of the test process, in bytes.
const MEMORY_LIMIT: u64 = 4 << 30;

fn limit_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let lim = libc::rlimit {
            rlim_cur: MEMORY_LIMIT,
            rlim_max: MEMORY_LIMIT,
        };
        // SAFETY: setrlimit reads the struct it is given and nothing else.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
    });
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<_> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// One change to an input: what, where (a fraction of its length), and a byte.
#[derive(Debug, Clone)]
enum Edit {
    Flip(f64, u8),
    Insert(f64, u8),
    Remove(f64),
    Repeat(f64, f64, u8),
    Cut(f64),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), any::<u8>()).prop_map(|(a, b)| Edit::Flip(a, b)),
        (at.clone(), any::<u8>()).prop_map(|(a, b)| Edit::Insert(a, b)),
        at.clone().prop_map(Edit::Remove),
        (at.clone(), at.clone(), 1..16u8).prop_map(|(a, l, n)| Edit::Repeat(a, l, n)),
        at.prop_map(Edit::Cut),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    let pos = |bytes: &Vec<u8>, f: f64| ((bytes.len() as f64) * f) as usize;
    for e in edits {
        match *e {
            Edit::Flip(a, b) if !bytes.is_empty() => {
                let i = pos(&bytes, a).min(bytes.len() - 1);
                bytes[i] ^= b.max(1);
            }
            Edit::Insert(a, b) => {
                let i = pos(&bytes, a);
                bytes.insert(i, b);
            }
            Edit::Remove(a) if !bytes.is_empty() => {
                let i = pos(&bytes, a).min(bytes.len() - 1);
                bytes.remove(i);
            }
            Edit::Repeat(a, l, n) => {
                let i = pos(&bytes, a);
                let len = ((bytes.len() - i) as f64 * l) as usize % 64 + 1;
                let end = (i + len).min(bytes.len());
                let run = bytes[i..end].to_vec();
                for _ in 0..n {
                    bytes.splice(end..end, run.iter().copied());
                }
            }
            Edit::Cut(a) => {
                let i = pos(&bytes, a);
                bytes.truncate(i);
            }
            _ => {}
        }
    }
    bytes
}

fn fuzz(name: &str, cases: u32) {
    limit_memory();
    let target = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {name}"));
    let seeds = seeds(name);
    // The seeds themselves first.
    for s in &seeds {
        target(s);
    }
    let cases = std::env::var("ONELAYER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..seeds.len(), prop::collection::vec(edit(), 1..8));
    runner
        .run(&strategy, |(i, edits)| {
            target(&apply(seeds[i].clone(), &edits));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn pickle_reader() {
    fuzz("pickle", 200);
}

#[test]
fn npy_and_model_reader() {
    fuzz("npy_model", 200);
}

#[test]
fn archive_reader() {
    fuzz("archive", 200);
}

#[test]
fn binary_batch_reader() {
    // Each input is also written out as a whole 30 MB batch.
    fuzz("binary_batch", 24);
}

#[test]
fn image_input() {
    fuzz("image", 200);
}

#[test]
fn config_and_results_readers() {
    fuzz("config_results", 200);
}
