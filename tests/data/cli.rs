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
fn allow_modified_accepts_data_whose_digest_differs() {
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
    assert_one_line_error(
        &out,
        &["data_batch_1.bin", "BLAKE3", "md5", "--allow-modified"],
    );
    let out = onelayer(
        &[&args[..], &["--allow-modified", "--tolerance", "1"]].concat(),
        t.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("passed"));
}

/// A python folder whose batches hold `sizes` images (batch 1, batch 2, test).
fn small_python_folder(dir: &Path, sizes: [usize; 3]) {
    let style = fixtures::STYLES[0];
    fixtures::write(
        dir,
        "batches.meta",
        &fixtures::meta_pickle(style, &fixtures::CLASS_NAMES),
    );
    for ((name, n), seed) in ["data_batch_1", "data_batch_2", "test_batch"]
        .into_iter()
        .zip(sizes)
        .zip(30..)
    {
        let (px, lb) = fixtures::synthetic(n, seed);
        fixtures::write(dir, name, &fixtures::good_pickle(style, &px, &lb));
    }
}

#[test]
fn data_too_small_for_the_settings_is_refused_with_the_numbers() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("small");
    small_python_folder(&data, [5, 5, 5]);
    let out = t.path().join("out");
    let train = |extra: &[&str]| {
        let args = [
            &[
                "train",
                "--data",
                data.to_str().unwrap(),
                "--allow-modified",
                "--n-epochs",
                "1",
                "--out",
                out.to_str().unwrap(),
            ][..],
            extra,
        ]
        .concat();
        onelayer(&args, t.path())
    };
    // The default mini-batch of 100 is larger than the 5 images there are.
    assert_one_line_error(&train(&[]), &["--n-batch", "100", "only 5 images"]);
    // 10 images held out of 5.
    let o = train(&["--val-size", "10", "--n-batch", "1"]);
    assert_one_line_error(&o, &["--val-size", "10", "only 5", "data_batch_1"]);
    // Every image held out leaves none to train on.
    let o = train(&["--val-size", "5", "--n-batch", "1"]);
    assert_one_line_error(&o, &["--val-size", "5", "only 5"]);
    // Within the data: trains.
    let o = train(&["--val-size", "2", "--n-batch", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The same through a config file names the file and the field.
    let cfg = t.path().join("exp.toml");
    std::fs::write(
        &cfg,
        "[[run]]\nlambda = 0.0\neta = 0.01\nn_epochs = 1\nn_batch = 50\n",
    )
    .unwrap();
    let o = onelayer(
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--allow-modified",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        t.path(),
    );
    assert_one_line_error(&o, &["exp.toml", "run[0].n_batch", "50", "only 5 images"]);

    // Two batches of 5 images: the default hold-out of 1000 leaves none to train
    // on (and the gradient check none to check).
    let o = train(&["--train-batches", "1,2", "--n-batch", "1"]);
    assert_one_line_error(&o, &["--val-size", "1000", "only 10"]);
    // An empty batch is refused by the reader, naming the file.
    let empty = t.path().join("empty");
    small_python_folder(&empty, [0, 5, 5]);
    let o = onelayer(
        &[
            "gradcheck",
            "--data",
            empty.to_str().unwrap(),
            "--allow-modified",
        ],
        t.path(),
    );
    assert_one_line_error(&o, &["data_batch_1", "(0, 3072)"]);
}
