//! Good fixtures of every layout read back to the images they were written from.

use std::path::Path;

use onelayer::data::{self, BatchName, Check, DataError, Layout, ReadOptions};

use crate::fixtures::{self, CLASS_NAMES, STYLES};

const ALLOW: ReadOptions = ReadOptions {
    allow_modified: true,
};

/// Writes batches 1 and test (binary, 10 000 images each) into `dir`; returns them.
pub fn binary_folder(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    fixtures::write(dir, "batches.meta.txt", &fixtures::meta_txt());
    [("data_batch_1.bin", 1), ("test_batch.bin", 2)]
        .into_iter()
        .map(|(name, seed)| {
            let (px, lb) = fixtures::synthetic(10_000, seed);
            fixtures::write(dir, name, &fixtures::bin_batch(&px, &lb));
            (px, lb)
        })
        .collect()
}

fn assert_batches(d: &data::CifarData, want: &[(Vec<u8>, Vec<u8>)]) {
    assert_eq!(d.class_names, CLASS_NAMES);
    assert_eq!(d.batches.len(), want.len());
    for (got, (px, lb)) in d.batches.iter().zip(want) {
        assert_eq!(&got.labels, lb);
        assert!(got.pixels == *px, "pixels differ");
    }
}

#[test]
fn binary_folder_reads_what_was_written() {
    let t = tempfile::tempdir().unwrap();
    let want = binary_folder(t.path());
    let d = data::read(t.path(), &[BatchName::Data(1), BatchName::Test], &ALLOW).unwrap();
    assert_eq!(d.layout, Layout::Binary);
    assert_eq!(d.checks, [Check::Modified, Check::Modified]);
    assert_batches(&d, &want);
    // In the order asked for.
    let d = data::read(t.path(), &[BatchName::Test, BatchName::Data(1)], &ALLOW).unwrap();
    assert_eq!(d.batches[0].labels, want[1].1);
    assert_eq!(d.batches[1].labels, want[0].1);
}

#[test]
fn binary_files_in_the_official_subfolder() {
    let t = tempfile::tempdir().unwrap();
    let want = binary_folder(&t.path().join("cifar-10-batches-bin"));
    let d = data::read(t.path(), &[BatchName::Data(1), BatchName::Test], &ALLOW).unwrap();
    assert_batches(&d, &want);
    assert_eq!(d.source, t.path().join("cifar-10-batches-bin"));
}

/// Writes a python batch 1 and test of `n` images in `style` into `dir`.
fn python_folder(dir: &Path, style: fixtures::Style, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    fixtures::write(
        dir,
        "batches.meta",
        &fixtures::meta_pickle(style, &CLASS_NAMES),
    );
    [("data_batch_1", 3), ("test_batch", 4)]
        .into_iter()
        .map(|(name, seed)| {
            let (px, lb) = fixtures::synthetic(n, seed);
            fixtures::write(dir, name, &fixtures::good_pickle(style, &px, &lb));
            (px, lb)
        })
        .collect()
}

#[test]
fn python_pickles_of_every_protocol_and_key_kind() {
    for (i, style) in STYLES.into_iter().enumerate() {
        let t = tempfile::tempdir().unwrap();
        let want = python_folder(t.path(), style, 7 + i);
        let d = data::read(t.path(), &[BatchName::Data(1), BatchName::Test], &ALLOW)
            .unwrap_or_else(|e| panic!("{style:?}: {e}"));
        assert_eq!(d.layout, Layout::Python, "{style:?}");
        assert_batches(&d, &want);
    }
}

#[test]
fn python_files_in_the_official_subfolder() {
    let t = tempfile::tempdir().unwrap();
    let want = python_folder(&t.path().join("cifar-10-batches-py"), STYLES[0], 20);
    let d = data::read(t.path(), &[BatchName::Data(1), BatchName::Test], &ALLOW).unwrap();
    assert_batches(&d, &want);
}

#[test]
fn binary_and_python_versions_of_the_same_images_agree() {
    let t = tempfile::tempdir().unwrap();
    let bin = binary_folder(&t.path().join("bin"));
    let py = t.path().join("py");
    fixtures::write(
        &py,
        "batches.meta",
        &fixtures::meta_pickle(STYLES[0], &CLASS_NAMES),
    );
    let (px, lb) = &bin[0];
    fixtures::write(
        &py,
        "data_batch_1",
        &fixtures::good_pickle(STYLES[0], px, lb),
    );
    let which = [BatchName::Data(1)];
    let a = data::read(&t.path().join("bin"), &which, &ALLOW).unwrap();
    let b = data::read(&py, &which, &ALLOW).unwrap();
    assert_eq!(a.batches, b.batches);
    assert_eq!(b.layout, Layout::Python);
}

fn members(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut m = vec![(format!("{prefix}readme.html"), b"<html></html>".to_vec())];
    m.extend(
        names
            .into_iter()
            .map(|n| (format!("{prefix}{n}"), std::fs::read(dir.join(&n)).unwrap())),
    );
    m
}

#[test]
fn binary_archive_read_in_memory() {
    let t = tempfile::tempdir().unwrap();
    let want = binary_folder(&t.path().join("x"));
    let archive = t.path().join("cifar-10-binary.tar.gz");
    fixtures::tar_gz(
        &archive,
        &members(&t.path().join("x"), "cifar-10-batches-bin/"),
    );
    let d = data::read(&archive, &[BatchName::Data(1), BatchName::Test], &ALLOW).unwrap();
    assert_eq!(d.layout, Layout::Binary);
    assert_eq!(d.source, archive);
    assert_batches(&d, &want);
    // Asked twice, read once.
    let d = data::read(&archive, &[BatchName::Test, BatchName::Test], &ALLOW).unwrap();
    assert_eq!(d.batches[0], d.batches[1]);
    assert_eq!(d.batches[0].labels, want[1].1);
}

#[test]
fn python_archives_of_every_style_and_member_layout() {
    for (i, style) in STYLES.into_iter().enumerate() {
        let t = tempfile::tempdir().unwrap();
        let want = python_folder(&t.path().join("x"), style, 5);
        let prefix = ["cifar-10-batches-py/", "", "some/where/"][i % 3];
        let archive = t.path().join("batches.tar.gz");
        fixtures::tar_gz(&archive, &members(&t.path().join("x"), prefix));
        let d = data::read(&archive, &[BatchName::Data(1), BatchName::Test], &ALLOW)
            .unwrap_or_else(|e| panic!("{style:?}: {e}"));
        assert_eq!(d.layout, Layout::Python);
        assert_batches(&d, &want);
    }
}

#[test]
fn an_official_archive_inside_the_folder() {
    let t = tempfile::tempdir().unwrap();
    let want = python_folder(&t.path().join("x"), STYLES[5], 5);
    let folder = t.path().join("data");
    std::fs::create_dir(&folder).unwrap();
    let archive = folder.join("cifar-10-python.tar.gz");
    fixtures::tar_gz(
        &archive,
        &members(&t.path().join("x"), "cifar-10-batches-py/"),
    );
    let d = data::read(&folder, &[BatchName::Data(1), BatchName::Test], &ALLOW).unwrap();
    assert_eq!(d.source, archive);
    assert_batches(&d, &want);
}

#[test]
fn files_with_unofficial_names_are_not_checked() {
    // Not an official name: the digest check does not apply (the reader is asked for
    // official names only, so this goes through the check directly).
    let f = data::FileRef::disk(Path::new("/somewhere/my_batch.bin"));
    assert_eq!(
        data::verify::check(&f, b"abc", false).unwrap(),
        Check::Unofficial
    );
    let f = data::FileRef::member(Path::new("a.tar.gz"), "x/data_batch_2");
    match data::verify::check(&f, b"abc", false) {
        Err(DataError::DigestMismatch {
            expected, found, ..
        }) => {
            assert_eq!(expected, "d4bba439e000b95fd0a9bffe97cbabec");
            // md5("abc"), RFC 1321 appendix A.5.
            assert_eq!(found, "900150983cd24fb0d6963f7d28e17f72");
        }
        other => panic!("expected an md5 mismatch, got {other:?}"),
    }
}

#[test]
fn locate_prefers_the_flag_then_the_environment_then_the_default() {
    let t = tempfile::tempdir().unwrap();
    let here = t.path();
    let gone = here.join("gone");
    assert_eq!(
        data::locate_in(Some(here), Some(gone.clone().into()), &gone).unwrap(),
        here
    );
    assert_eq!(
        data::locate_in(None, Some(here.into()), &gone).unwrap(),
        here
    );
    assert_eq!(data::locate_in(None, None, here).unwrap(), here);
    assert_eq!(data::locate_in(None, Some("".into()), here).unwrap(), here);
}

#[test]
fn locate_says_where_it_looked_and_how_to_get_the_data() {
    let t = tempfile::tempdir().unwrap();
    let gone = t.path().join("gone");
    let e = data::locate_in(None, None, &gone).unwrap_err().to_string();
    for part in [
        "--data (not given)",
        "$CIFAR10_DIR (not set)",
        "gone (no such folder",
        "cifar-10-binary.tar.gz",
    ] {
        assert!(e.contains(part), "{part:?} not in {e}");
    }
    let e = data::locate_in(None, Some(gone.clone().into()), t.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("$CIFAR10_DIR={}", gone.display())),
        "{e}"
    );
    let e = data::locate_in(Some(&gone), None, t.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("--data {}", gone.display())), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn labels_as_a_numpy_integer_array() {
    for style in STYLES {
        for dtype in ["i8", "u1", "i4"] {
            let t = tempfile::tempdir().unwrap();
            let (px, lb) = fixtures::synthetic(9, 30);
            let mut spec = fixtures::Spec::good(&px, &lb);
            spec.labels_dtype = Some(dtype);
            fixtures::write(
                t.path(),
                "batches.meta",
                &fixtures::meta_pickle(style, &CLASS_NAMES),
            );
            fixtures::write(
                t.path(),
                "test_batch",
                &fixtures::batch_pickle(style, &spec),
            );
            let d = data::read(t.path(), &[BatchName::Test], &ALLOW).unwrap();
            assert_eq!(d.batches[0].labels, lb, "{style:?} {dtype}");
        }
    }
}
