//! The integration tests' shared fixture: the real data (or a note why a test is
//! skipped), the built binary, synthetic data sets, and a hand-made results folder
//! (`report`). Each test file includes it with `mod common;`. (The unit tests'
//! fixture is `src/testing.rs`.)
#![allow(dead_code)]

pub mod report;

use std::path::{Path, PathBuf};

use onelayer::data::LabeledImages;
use onelayer::normalize::{Dataset, Normalizer};
use onelayer::{D, K};
use rand::{RngExt, SeedableRng};

/// CIFAR-10's class names in label order, as `batches.meta.txt` lists them.
pub const CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The real CIFAR-10 binary folder from `$CIFAR10_DIR`. When it is unset, the
/// test is skipped with a note — unless `ONELAYER_REQUIRE_DATA=1` (set by CI),
/// in which case the test fails.
pub fn real_data() -> Option<PathBuf> {
    match std::env::var_os("CIFAR10_DIR") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.join("data_batch_1.bin").is_file(),
                "CIFAR10_DIR={} holds no data_batch_1.bin",
                p.display()
            );
            Some(p)
        }
        _ => {
            let required = std::env::var("ONELAYER_REQUIRE_DATA").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "ONELAYER_REQUIRE_DATA=1 but CIFAR10_DIR is not set"
            );
            eprintln!(
                "skipped: set CIFAR10_DIR to the real CIFAR-10 binary folder to run this test"
            );
            None
        }
    }
}

/// The `onelayer` binary built for the tests.
pub fn onelayer() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_onelayer"))
}

/// A folder of `../shared` (beside the project). When it is absent, the test is
/// skipped with a note — unless `ONELAYER_REQUIRE_DATA=1`, when it fails.
pub fn shared_dir(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(name);
    if p.is_dir() {
        return Some(p);
    }
    let required = std::env::var("ONELAYER_REQUIRE_DATA").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "ONELAYER_REQUIRE_DATA=1 but {} is absent",
        p.display()
    );
    eprintln!("skipped: {} is absent", p.display());
    None
}

/// A path as text, for command-line arguments (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Images whose class shows as a block of dimensions brighter by `signal`, plus
/// noise, normalised with their own statistics.
pub fn synthetic(n: usize, seed: u64, signal: f32) -> Dataset {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let labels: Vec<u8> = (0..n).map(|i| (i % K) as u8).collect();
    let mut pixels = Vec::with_capacity(n * D);
    for &y in &labels {
        for j in 0..D {
            let signal = if j / 300 == y as usize { signal } else { 0.0 };
            pixels.push((100.0 + signal + rng.random_range(-60.0f32..60.0)) as u8);
        }
    }
    let images = LabeledImages { pixels, labels };
    Normalizer::fit(&images).apply(images)
}

/// Answers every request on a loopback port with `status` (e.g. `"404 Not Found"`)
/// and no body; returns the URL of an archive there.
pub fn answering_server(status: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/cifar-10-binary.tar.gz",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let answer =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}
