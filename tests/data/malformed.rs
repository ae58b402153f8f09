//! Every malformed kind gets its own error, naming the file, what was expected
//! and what was found, on one line.

use std::path::Path;

use onelayer::data::{self, BatchName, Check, DataError, ReadOptions};

use crate::fixtures::{self, CLASS_NAMES, STYLES, Spec};

const STRICT: ReadOptions = ReadOptions {
    allow_modified: false,
};
const ALLOW: ReadOptions = ReadOptions {
    allow_modified: true,
};

fn read_err(path: &Path, which: &[BatchName], opts: &ReadOptions) -> (DataError, String) {
    let e = data::read(path, which, opts).expect_err("the read should fail");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    (e, msg)
}

fn binary_test_batch(dir: &Path, bytes: &[u8]) {
    fixtures::write(dir, "batches.meta.txt", &fixtures::meta_txt());
    fixtures::write(dir, "test_batch.bin", bytes);
}

#[test]
fn truncated_and_over_long_binary_batches() {
    let (px, lb) = fixtures::synthetic(10_000, 7);
    let good = fixtures::bin_batch(&px, &lb);
    for len in [good.len() - 1, good.len() - 3073, good.len() + 1, 0] {
        let t = tempfile::tempdir().unwrap();
        let mut bytes = good.clone();
        bytes.resize(len, 0);
        binary_test_batch(t.path(), &bytes);
        let (e, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
        assert!(
            matches!(e, DataError::BadSize { expected: 30_730_000, found, .. } if found == len),
            "{e:?}"
        );
        assert!(
            msg.contains("test_batch.bin") && msg.contains("30730000"),
            "{msg}"
        );
        assert!(msg.contains(&format!("found {len} bytes")), "{msg}");
    }
}

#[test]
fn binary_label_out_of_range_names_the_record() {
    let (px, mut lb) = fixtures::synthetic(10_000, 8);
    lb[1234] = 10;
    lb[5000] = 255;
    let t = tempfile::tempdir().unwrap();
    binary_test_batch(t.path(), &fixtures::bin_batch(&px, &lb));
    let (e, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                index: 1234,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains("test_batch.bin") && msg.contains("record 1234"),
        "{msg}"
    );
}

#[test]
fn digest_mismatch_is_an_error_unless_modified_data_is_allowed() {
    let t = tempfile::tempdir().unwrap();
    let (px, lb) = fixtures::synthetic(10_000, 9);
    binary_test_batch(t.path(), &fixtures::bin_batch(&px, &lb));
    let (e, msg) = read_err(t.path(), &[BatchName::Test], &STRICT);
    assert!(matches!(e, DataError::DigestMismatch { .. }), "{e:?}");
    for part in [
        "test_batch.bin",
        "BLAKE3",
        "69a7d1df5b1d17f8c98089666dffee384a8f3da4421e368f08a80f067ae79ffc",
        "803d5f7f4d78ea53de84dbe85f74fb6d",
        "--allow-modified",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    let d = data::read(t.path(), &[BatchName::Test], &ALLOW).unwrap();
    assert_eq!(d.checks, [Check::Modified]);
    assert_eq!(d.batches[0].labels, lb);

    // The python version has its own published md5s.
    let t = tempfile::tempdir().unwrap();
    python_test_batch(
        t.path(),
        &fixtures::good_pickle(STYLES[0], &px[..D * 4], &lb[..4]),
    );
    let (_, msg) = read_err(t.path(), &[BatchName::Test], &STRICT);
    assert!(msg.contains("40351d587109b95175f43aff81a1287e"), "{msg}");
    assert!(data::read(t.path(), &[BatchName::Test], &ALLOW).is_ok());
}

const D: usize = fixtures::D;

fn python_test_batch(dir: &Path, bytes: &[u8]) {
    fixtures::write(
        dir,
        "batches.meta",
        &fixtures::meta_pickle(STYLES[0], &CLASS_NAMES),
    );
    fixtures::write(dir, "test_batch", bytes);
}

/// Reads a python test batch holding `bytes`; returns the error and its message.
fn python_err(bytes: &[u8]) -> (DataError, String) {
    let t = tempfile::tempdir().unwrap();
    python_test_batch(t.path(), bytes);
    let (e, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
    assert!(msg.contains("test_batch"), "{msg}");
    (e, msg)
}

#[test]
fn pickles_that_are_not_cifar_batches() {
    let (px, lb) = fixtures::synthetic(6, 10);
    let f8 = vec![0u8; 6 * D * 8];
    for style in STYLES {
        let bad = |f: &dyn Fn(&mut Spec)| {
            let mut s = Spec::good(&px, &lb);
            f(&mut s);
            python_err(&fixtures::batch_pickle(style, &s)).1
        };
        let msg = bad(&|s| s.data_key = "images");
        assert!(
            msg.contains("keys data and labels") && msg.contains("images"),
            "{msg}"
        );
        let msg = bad(&|s| s.labels_key = "fine_labels");
        assert!(msg.contains("fine_labels"), "{msg}");
        let msg = bad(&|s| s.shape = vec![6 * 3, 1024]);
        assert!(
            msg.contains("shape (n, 3072)") && msg.contains("(18, 1024)"),
            "{msg}"
        );
        let msg = bad(&|s| s.shape = vec![6 * D]);
        assert!(msg.contains(&format!("shape ({})", 6 * D)), "{msg}");
        let mut s = Spec::good(&f8, &lb);
        s.dtype = "f8";
        let msg = python_err(&fixtures::batch_pickle(style, &s)).1;
        assert!(msg.contains("uint8") && msg.contains("f8"), "{msg}");
        let msg = bad(&|s| {
            s.labels.pop();
        });
        assert!(msg.contains("6 ints") && msg.contains("5 labels"), "{msg}");
        let mut s = Spec::good(&px[..D * 5], &lb);
        s.dtype = "f8";
        let msg = python_err(&fixtures::batch_pickle(style, &s)).1;
        assert!(msg.contains("bytes of data"), "{msg}");
        let mut s = Spec::good(&px, &lb);
        s.labels_dtype = Some("f8");
        let msg = python_err(&fixtures::batch_pickle(style, &s)).1;
        assert!(msg.contains("label array of dtype f8"), "{msg}");
        let (e, _) = python_err(&fixtures::batch_pickle(style, &{
            let mut s = Spec::good(&px, &lb);
            s.labels[3] = 10;
            s
        }));
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    index: 3,
                    label: 10,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

#[test]
fn files_that_are_not_pickles_or_are_truncated() {
    let (e, msg) = python_err(b"hello, world\n");
    assert!(
        matches!(e, DataError::Pickle { .. }) && msg.contains("0x68"),
        "{msg}"
    );
    let (e, _) = python_err(b"");
    assert!(matches!(e, DataError::Pickle { .. }));
    let (px, lb) = fixtures::synthetic(4, 11);
    for style in STYLES {
        let good = fixtures::good_pickle(style, &px, &lb);
        for cut in [3, good.len() / 2, good.len() - 1] {
            let (e, msg) = python_err(&good[..cut]);
            assert!(
                matches!(e, DataError::Pickle { .. }),
                "{style:?} cut {cut}: {e:?}"
            );
            assert!(msg.contains("truncated"), "{msg}");
        }
    }
}

#[test]
fn class_names_files_that_do_not_hold_ten_names() {
    let t = tempfile::tempdir().unwrap();
    let (px, lb) = fixtures::synthetic(10_000, 12);
    fixtures::write(t.path(), "test_batch.bin", &fixtures::bin_batch(&px, &lb));
    fixtures::write(t.path(), "batches.meta.txt", b"cat\ndog\n");
    let (e, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
    assert!(matches!(e, DataError::BadClassNames { .. }), "{e:?}");
    assert!(
        msg.contains("batches.meta.txt") && msg.contains("2 non-empty lines"),
        "{msg}"
    );

    let t = tempfile::tempdir().unwrap();
    let (px, lb) = fixtures::synthetic(3, 12);
    fixtures::write(
        t.path(),
        "test_batch",
        &fixtures::good_pickle(STYLES[2], &px, &lb),
    );
    fixtures::write(
        t.path(),
        "batches.meta",
        &fixtures::meta_pickle(STYLES[2], &CLASS_NAMES[..9]),
    );
    let (_, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
    assert!(
        msg.contains("batches.meta") && msg.contains("9 names"),
        "{msg}"
    );
    // Ten names, one of them empty: the empty one is named.
    let mut names = CLASS_NAMES;
    names[4] = "";
    fixtures::write(
        t.path(),
        "batches.meta",
        &fixtures::meta_pickle(STYLES[2], &names),
    );
    let (_, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
    assert!(
        msg.contains("batches.meta") && msg.contains("name 4 is empty"),
        "{msg}"
    );
}

#[test]
fn missing_folder_batch_or_class_names() {
    let t = tempfile::tempdir().unwrap();
    let gone = t.path().join("nowhere");
    let (e, msg) = read_err(&gone, &[BatchName::Test], &ALLOW);
    assert!(
        matches!(e, DataError::Missing { .. }) && msg.contains("nowhere"),
        "{msg}"
    );

    let (px, lb) = fixtures::synthetic(10_000, 13);
    binary_test_batch(t.path(), &fixtures::bin_batch(&px, &lb));
    let (e, msg) = read_err(t.path(), &[BatchName::Test, BatchName::Data(3)], &ALLOW);
    assert!(matches!(e, DataError::MissingBatch { .. }), "{e:?}");
    assert!(
        msg.contains("data_batch_3") && msg.contains("data_batch_3.bin"),
        "{msg}"
    );

    std::fs::remove_file(t.path().join("batches.meta.txt")).unwrap();
    let (_, msg) = read_err(t.path(), &[BatchName::Test], &ALLOW);
    assert!(
        msg.contains("class names") && msg.contains("batches.meta.txt"),
        "{msg}"
    );

    let empty = tempfile::tempdir().unwrap();
    fixtures::write(empty.path(), "notes.txt", b"nothing here");
    let (e, msg) = read_err(empty.path(), &[BatchName::Test], &ALLOW);
    assert!(matches!(e, DataError::UnknownLayout { .. }), "{e:?}");
    assert!(msg.contains("test_batch.bin"), "{msg}");
}

fn good_archive(path: &Path) -> Vec<u8> {
    let (px, lb) = fixtures::synthetic(10_000, 14);
    fixtures::tar_gz(
        path,
        &[
            (
                "cifar-10-batches-bin/batches.meta.txt".into(),
                fixtures::meta_txt(),
            ),
            (
                "cifar-10-batches-bin/test_batch.bin".into(),
                fixtures::bin_batch(&px, &lb),
            ),
        ],
    );
    std::fs::read(path).unwrap()
}

#[test]
fn corrupt_truncated_or_incomplete_archives() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("cifar-10-binary.tar.gz");
    let good = good_archive(&path);
    assert!(data::read(&path, &[BatchName::Test], &ALLOW).is_ok());

    let (e, msg) = read_err(&path, &[BatchName::Test, BatchName::Data(2)], &ALLOW);
    assert!(matches!(e, DataError::MissingBatch { .. }), "{e:?}");
    assert!(
        msg.contains("cifar-10-binary.tar.gz") && msg.contains("data_batch_2.bin"),
        "{msg}"
    );

    for cut in [good.len() / 2, good.len() - 4, 20] {
        std::fs::write(&path, &good[..cut]).unwrap();
        let (e, msg) = read_err(&path, &[BatchName::Test], &ALLOW);
        assert!(matches!(e, DataError::Archive { .. }), "cut {cut}: {e:?}");
        assert!(
            msg.contains("cifar-10-binary.tar.gz") && msg.contains("corrupt"),
            "{msg}"
        );
    }
    let mut flipped = good.clone();
    for b in &mut flipped[1000..1100] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &flipped).unwrap();
    let (e, _) = read_err(&path, &[BatchName::Test], &ALLOW);
    assert!(matches!(e, DataError::Archive { .. }), "{e:?}");

    std::fs::write(&path, b"this is not an archive").unwrap();
    let (e, msg) = read_err(&path, &[BatchName::Test], &ALLOW);
    assert!(
        matches!(e, DataError::Archive { .. }) && msg.contains("not a gzip"),
        "{msg}"
    );
}

#[test]
fn errors_inside_an_archive_name_the_member() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("cifar-10-binary.tar.gz");
    let (px, lb) = fixtures::synthetic(10_000, 15);
    let mut bytes = fixtures::bin_batch(&px, &lb);
    bytes.pop();
    fixtures::tar_gz(
        &path,
        &[
            (
                "cifar-10-batches-bin/batches.meta.txt".into(),
                fixtures::meta_txt(),
            ),
            ("cifar-10-batches-bin/test_batch.bin".into(), bytes),
        ],
    );
    let (_, msg) = read_err(&path, &[BatchName::Test], &ALLOW);
    assert!(
        msg.contains("cifar-10-binary.tar.gz (member cifar-10-batches-bin/test_batch.bin)"),
        "{msg}"
    );
    assert!(msg.contains("found 30729999 bytes"), "{msg}");
}
