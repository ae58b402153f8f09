//! What onelayer guarantees for its output folders: links are never followed,
//! names are checked before any work, one command at a time holds a folder, an
//! interrupted commit is finished by the next command, a closed pipe ends only
//! the output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{onelayer, s};

fn run(args: &[&str]) -> Output {
    onelayer().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `train --name mine --out OUT` without data: the exit code is 1; returns stderr.
fn train_mine_fails(out: &Path) -> String {
    let o = run(&[
        "train",
        "--name",
        "mine",
        "--data",
        "/nonexistent",
        "--out",
        s(out),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    err
}

/// Runs the binary with stdout a pipe whose reading end is closed at once.
fn run_into_closed_pipe(args: &[&str]) -> std::process::ExitStatus {
    let mut child = onelayer()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait().unwrap()
}

/// A CIFAR-10 binary folder of blank images (read with `--allow-modified`).
fn blank_data(root: &Path) -> PathBuf {
    let dir = root.join("blank-data");
    std::fs::create_dir(&dir).unwrap();
    let mut batch = vec![0u8; 10_000 * 3073];
    for (i, rec) in batch.chunks_mut(3073).enumerate() {
        rec[0] = (i % 10) as u8;
        rec[1 + i % 3072] = (i % 251) as u8;
    }
    for name in ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"] {
        std::fs::write(dir.join(name), &batch).unwrap();
    }
    std::fs::write(
        dir.join("batches.meta.txt"),
        common::CLASS_NAMES.join("\n") + "\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_symlinked_run_folder_is_refused_and_nothing_outside_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("W.npy"), "the user's").unwrap();
    std::fs::write(outside.join("model.onelayer"), "the user's").unwrap();
    let link = out.join("mine");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let err = train_mine_fails(&out);
    assert!(
        err.contains(s(&link)) && err.contains("symbolic link"),
        "{err}"
    );
    for f in ["W.npy", "model.onelayer"] {
        assert_eq!(std::fs::read(outside.join(f)).unwrap(), b"the user's");
    }
}

#[test]
fn a_file_named_like_a_run_folder_fails_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("results.json")).unwrap();
    std::fs::write(out.join("mine"), "a file").unwrap();
    // The data is missing: an error about the names comes before reading it.
    let err = train_mine_fails(&out);
    assert!(
        err.contains(s(&out.join("results.json")))
            && err.contains("folder where onelayer writes a file"),
        "{err}"
    );
    std::fs::remove_dir(out.join("results.json")).unwrap();
    let err = train_mine_fails(&out);
    assert!(
        err.contains(s(&out.join("mine"))) && err.contains("file where onelayer writes a folder"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("mine")).unwrap(), b"a file");
}

#[test]
fn a_second_command_on_a_locked_folder_names_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("results.json"), "{}").unwrap();
    let lock = onelayer::io::OutputLock::acquire(&out, "onelayer search --out elsewhere").unwrap();
    let holder = format!("pid {}: onelayer search", std::process::id());
    let search = tmp.path().join("grid.toml");
    std::fs::write(
        &search,
        "[grid]\nlambda = [0.0]\neta = [0.01]\nn_epochs = [1]\n",
    )
    .unwrap();
    for args in [
        vec!["train", "--data", "/nonexistent", "--out", s(&out)],
        vec!["reproduce", "--data", "/nonexistent", "--out", s(&out)],
        vec!["bonus", "--data", "/nonexistent", "--out", s(&out)],
        vec!["report", s(&out)],
    ] {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(s(&out)) && err.contains("in use") && err.contains(&holder),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    drop(lock);
    // Released: the next command gets past the lock (and fails on the data).
    let o = run(&["train", "--data", "/nonexistent", "--out", s(&out)]);
    assert!(!stderr(&o).contains("in use"), "{}", stderr(&o));
}

#[test]
fn a_search_on_a_locked_folder_names_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let _lock = onelayer::io::OutputLock::acquire(&out, "onelayer train").unwrap();
    let cfg = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/search-lambda.toml");
    let o = run(&[
        "search",
        "--config",
        s(&cfg),
        "--data",
        "/nonexistent",
        "--out",
        s(&out),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("in use") && err.contains(s(&out)), "{err}");
}

#[test]
fn the_next_command_finishes_a_commit_killed_between_renames() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run_dir = out.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    for f in ["results.json", "run/W.npy", "run/b.npy"] {
        std::fs::write(out.join(f), "old").unwrap();
    }
    // The state a kill after the first rename leaves: W.npy new, the rest old,
    // the rest still staged, the journal written before the renames.
    let staging = out.join(".onelayer-staging-AbC123");
    std::fs::create_dir_all(staging.join("run")).unwrap();
    std::fs::write(run_dir.join("W.npy"), "new").unwrap();
    for f in ["results.json", "run/b.npy"] {
        std::fs::write(staging.join(f), "new").unwrap();
    }
    std::fs::write(
        out.join(".onelayer-commit.json"),
        r#"{"staging":".onelayer-staging-AbC123","files":["run/W.npy","run/b.npy","results.json"]}"#,
    )
    .unwrap();
    // A stale staging folder of a kill during training, and a link named like one.
    std::fs::create_dir_all(out.join(".onelayer-staging-old/run")).unwrap();
    std::fs::write(out.join(".onelayer-staging-old/run/W.npy"), "stale").unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep"), "mine").unwrap();
    std::os::unix::fs::symlink(&outside, out.join(".onelayer-staging-link")).unwrap();

    let o = run(&["train", "--data", "/nonexistent", "--out", s(&out)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "fails on the data: {}",
        stderr(&o)
    );
    for f in ["results.json", "run/W.npy", "run/b.npy"] {
        assert_eq!(std::fs::read_to_string(out.join(f)).unwrap(), "new", "{f}");
    }
    assert!(!out.join(".onelayer-commit.json").exists());
    assert!(!staging.exists() && !out.join(".onelayer-staging-old").exists());
    assert_eq!(std::fs::read(outside.join("keep")).unwrap(), b"mine");
}

#[test]
fn report_into_a_closed_pipe_still_writes_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("results");
    std::fs::create_dir_all(&dir).unwrap();
    common::report::write(&dir);
    let status = run_into_closed_pipe(&["report", s(&dir)]);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(dir.join("report.html").is_file());
}

#[test]
fn train_into_a_closed_pipe_still_saves_its_model() {
    let tmp = tempfile::tempdir().unwrap();
    let data = blank_data(tmp.path());
    let out = tmp.path().join("out");
    let save = tmp.path().join("saved.onelayer");
    let status = run_into_closed_pipe(&[
        "train",
        "--data",
        s(&data),
        "--allow-modified",
        "--n-epochs",
        "1",
        "--out",
        s(&out),
        "--save",
        s(&save),
    ]);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(save.is_file() && out.join("results.json").is_file());
}

#[test]
fn save_onto_a_data_file_being_read_is_refused_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let data = blank_data(tmp.path());
    let batch = data.join("data_batch_1.bin");
    let before = std::fs::read(&batch).unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--allow-modified",
        "--n-epochs",
        "1",
        "--out",
        s(&out),
        "--save",
        s(&batch),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--save") && err.contains("data_batch_1.bin"),
        "{err}"
    );
    assert!(
        std::fs::read(&batch).unwrap() == before,
        "the data file was overwritten"
    );
    assert!(!out.join("results.json").exists());
}
