//! The binary on bad data: a one-line `error: ...` naming the file, a non-zero
//! status, no panic, and nothing written to the output folder.

use std::path::Path;
use std::process::Output;

use crate::common;
use crate::fixtures;

fn onelayer(args: &[&str], cwd: &Path) -> Output {
    common::onelayer()
        .args(args)
        .current_dir(cwd)
        .env_remove("CIFAR10_DIR")
        .output()
        .unwrap()
}

/// Asserts a failure with one line on stderr, `error: ...` holding every part.
fn assert_one_line_error(out: &Output, parts: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for p in parts {
        assert!(lines[0].contains(p), "{p:?} not in {stderr}");
    }
}

/// Bad data of several kinds, each with the file its error must name.
fn bad_fixtures(root: &Path) -> Vec<(std::path::PathBuf, &'static str)> {
    let truncated = root.join("truncated");
    fixtures::write(&truncated, "batches.meta.txt", &fixtures::meta_txt());
    fixtures::write(&truncated, "data_batch_1.bin", &[3u8; 3073 * 10]);
    let not_pickle = root.join("not-pickle");
    fixtures::write(&not_pickle, "batches.meta", b"plain text\n");
    fixtures::write(&not_pickle, "data_batch_1", b"plain text\n");
    let archive = root.join("cifar-10-binary.tar.gz");
    std::fs::write(&archive, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).unwrap();
    let missing = root.join("missing");
    fixtures::write(&missing, "batches.meta.txt", &fixtures::meta_txt());
    vec![
        (truncated, "data_batch_1.bin"),
        (not_pickle, "batches.meta"),
        (archive, "cifar-10-binary.tar.gz"),
        (missing, "data_batch_1"),
        (root.join("nowhere"), "nowhere"),
    ]
}

#[test]
fn gradcheck_and_reproduce_fail_cleanly_on_bad_data() {
    let t = tempfile::tempdir().unwrap();
    for (data, file) in bad_fixtures(t.path()) {
        let data = data.to_str().unwrap();
        let out = onelayer(&["gradcheck", "--data", data], t.path());
        assert_one_line_error(&out, &[file]);
        let results = t.path().join("out");
        let out_arg = results.to_str().unwrap();
        let out = onelayer(&["reproduce", "--data", data, "--out", out_arg], t.path());
        assert_one_line_error(&out, &[file]);
        let left = std::fs::read_dir(&results).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "files left in {}", results.display());
    }
}

#[test]
fn no_data_anywhere_says_where_it_looked() {
    let t = tempfile::tempdir().unwrap();
    let out = onelayer(&["gradcheck"], t.path());
    assert_one_line_error(
        &out,
        &[
            "--data (not given)",
            "$CIFAR10_DIR (not set)",
            "./data",
            "cifar-10-binary.tar.gz",
        ],
    );
}

#[test]
fn allow_modified_accepts_data_whose_md5_differs() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("modified");
    fixtures::write(&dir, "batches.meta.txt", &fixtures::meta_txt());
    for (i, name) in ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"]
        .into_iter()
        .enumerate()
    {
        let (px, lb) = fixtures::synthetic(10_000, 20 + i as u64);
        fixtures::write(&dir, name, &fixtures::bin_batch(&px, &lb));
    }
    let data = dir.to_str().unwrap();
    let args = [
        "gradcheck",
        "--data",
        data,
        "--dims",
        "5",
        "--examples",
        "5",
    ];
    let out = onelayer(&args, t.path());
    assert_one_line_error(&out, &["data_batch_1.bin", "md5", "--allow-modified"]);
    let out = onelayer(
        &[&args[..], &["--allow-modified", "--tolerance", "1"]].concat(),
        t.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("passed"));
}
