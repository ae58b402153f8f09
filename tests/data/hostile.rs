//! Hostile inputs: each is refused with an error naming what is wrong and the
//! limit, in bounded time and memory, without `--allow-modified` mattering.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onelayer::data::{self, BatchName, ReadOptions, pickle};

use crate::fixtures::{self, CLASS_NAMES, STYLES};

const LENIENT: ReadOptions = ReadOptions {
    allow_modified: true,
};

/// Runs `f` on a thread and fails the test if it does not return within 20 s
/// (a FIFO read blocks forever).
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("did not return within 20 s")
}

fn err_text<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn dup_and_append_doubling_is_refused_by_the_object_limit() {
    // `]` then (DUP, APPEND) × 40: each step copies the list into itself, 2^40 lists.
    let mut p = vec![0x80, 2, b']'];
    for _ in 0..40 {
        p.extend(b"2a");
    }
    p.push(b'.');
    assert_eq!(p.len(), 84);
    let e = pickle::parse(&p).unwrap_err();
    assert!(e.message.contains("objects"), "{e:?}");
}

#[test]
fn deep_appends_and_setitems_are_refused_not_overflowing_the_stack() {
    let n = 200_000;
    let mut lists = vec![0x80, 2];
    lists.extend(std::iter::repeat_n(b']', n));
    lists.extend(std::iter::repeat_n(b'a', n - 1));
    lists.push(b'.');
    let e = pickle::parse(&lists).unwrap_err();
    assert!(e.message.contains("nested deeper"), "{e:?}");

    let mut dicts = vec![0x80, 2];
    for _ in 0..n {
        dicts.extend(b"}K\x01");
    }
    dicts.push(b'}');
    dicts.extend(std::iter::repeat_n(b's', n));
    dicts.push(b'.');
    let e = pickle::parse(&dicts).unwrap_err();
    assert!(e.message.contains("nested deeper"), "{e:?}");
}

#[test]
fn every_uint8_spelling_has_its_size_checked_and_is_read() {
    let t = tempfile::tempdir().unwrap();
    let style = STYLES[0];
    fixtures::write(
        t.path(),
        "batches.meta",
        &fixtures::meta_pickle(style, &CLASS_NAMES),
    );
    let (px, lb) = fixtures::synthetic(2, 7);
    for dtype in ["u1", "|u1", "uint8", "B", "ubyte"] {
        // 5 bytes claiming 10 000 images.
        let mut spec = fixtures::Spec::good(b"hello", &lb);
        spec.dtype = dtype;
        spec.shape = vec![10_000, 3072];
        spec.labels = vec![0; 10_000];
        fixtures::write(
            t.path(),
            "data_batch_1",
            &fixtures::batch_pickle(style, &spec),
        );
        let e = err_text(data::read(t.path(), &[BatchName::Data(1)], &LENIENT));
        assert!(
            e.contains("5 bytes of data") && e.contains("30720000"),
            "{dtype}: {e}"
        );

        let mut spec = fixtures::Spec::good(&px, &lb);
        spec.dtype = dtype;
        fixtures::write(
            t.path(),
            "data_batch_1",
            &fixtures::batch_pickle(style, &spec),
        );
        let d = data::read(t.path(), &[BatchName::Data(1)], &LENIENT).unwrap();
        assert_eq!(d.batches[0].pixels, px, "{dtype}");
    }
}

/// A python-version archive's members: the class names and batch 1 of 2 images.
fn python_members(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let style = STYLES[0];
    let (px, lb) = fixtures::synthetic(2, 3);
    vec![
        (
            format!("{prefix}batches.meta"),
            fixtures::meta_pickle(style, &CLASS_NAMES),
        ),
        (
            format!("{prefix}data_batch_1"),
            fixtures::good_pickle(style, &px, &lb),
        ),
    ]
}

fn tar_bytes(
    members: &[(String, Vec<u8>)],
    extra: impl FnOnce(&mut tar::Builder<Vec<u8>>),
) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    extra(&mut tar);
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_huge_long_name_header_is_refused_before_it_is_read() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("a.tar.gz");
    let tar = tar_bytes(&python_members(""), |tar| {
        // A GNU long-name header of 16 MB of zeros (16 kB compressed).
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(16 << 20);
        h.set_cksum();
        tar.append(&h, std::io::repeat(0).take_bytes(16 << 20))
            .unwrap();
    });
    std::fs::write(&archive, gzip(&tar)).unwrap();
    let e = err_text(data::read(&archive, &[BatchName::Data(1)], &LENIENT));
    assert!(
        e.contains("GNU long-name header of 16777216 bytes") && e.contains("65536"),
        "{e}"
    );
    let dir = t.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let e = err_text(onelayer::download::extract(
        &archive,
        &dir,
        onelayer::download::Format::Python,
    ));
    assert!(e.contains("GNU long-name header"), "{e}");
}

trait TakeBytes: std::io::Read + Sized {
    fn take_bytes(self, n: u64) -> std::io::Take<Self> {
        self.take(n)
    }
}
impl<R: std::io::Read> TakeBytes for R {}

#[test]
fn long_member_names_within_the_limit_are_read() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("a.tar.gz");
    let prefix = format!("{}/", "long-folder-name-".repeat(10));
    std::fs::write(&archive, gzip(&tar_bytes(&python_members(&prefix), |_| {}))).unwrap();
    let d = data::read(&archive, &[BatchName::Data(1)], &LENIENT).unwrap();
    assert_eq!(d.batches[0].len(), 2);
}

#[test]
fn a_multi_member_gzip_is_read_whole() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("a.tar.gz");
    let tar = tar_bytes(&python_members(""), |_| {});
    // Split within the first member's data: the second gzip member holds the rest.
    let mut bytes = gzip(&tar[..700]);
    bytes.extend(gzip(&tar[700..]));
    std::fs::write(&archive, bytes).unwrap();
    let d = data::read(&archive, &[BatchName::Data(1)], &LENIENT).unwrap();
    assert_eq!(d.batches[0].len(), 2);
    assert_eq!(d.class_names.len(), 10);
}

#[test]
fn a_link_named_like_a_batch_is_reported_as_a_link() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("a.tar.gz");
    let members = python_members("");
    let tar = tar_bytes(&members[..1], |tar| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        tar.append_link(&mut h, "data_batch_1", "/etc/passwd")
            .unwrap();
    });
    std::fs::write(&archive, gzip(&tar)).unwrap();
    let e = err_text(data::read(&archive, &[BatchName::Data(1)], &LENIENT));
    assert!(e.contains("data_batch_1 is a link"), "{e}");
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let made = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(made, 0);
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_by_every_reader() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_path_buf();
    fixtures::write(&dir, "batches.meta.txt", &fixtures::meta_txt());
    mkfifo(&dir.join("data_batch_1.bin"));
    let fifo: PathBuf = dir.join("data_batch_1.bin");

    let d = dir.clone();
    let e = err_text(within_20s(move || {
        data::read(&d, &[BatchName::Data(1)], &LENIENT)
    }));
    assert!(e.contains("FIFO") && e.contains("data_batch_1.bin"), "{e}");

    // A FIFO given as the data itself is named as one, not as missing.
    let f = fifo.clone();
    let e = err_text(within_20s(move || {
        data::read(&f, &[BatchName::Data(1)], &LENIENT)
    }));
    assert!(e.contains("FIFO"), "{e}");

    for path in [fifo, PathBuf::from("/dev/zero")] {
        let kind = if path.starts_with("/dev") {
            "character device"
        } else {
            "FIFO"
        };
        let p = path.clone();
        let e = err_text(within_20s(move || {
            onelayer::config::read_toml::<toml::Value>(&p)
        }));
        assert!(e.contains(kind), "config: {e}");
        let p = path.clone();
        let e = err_text(within_20s(move || {
            onelayer::modelfile::ModelFile::load(&p).map(|_| ())
        }));
        assert!(e.contains(kind), "model: {e}");
        let p = path.clone();
        let e = err_text(within_20s(move || onelayer::image_input::load(&p)));
        assert!(e.contains(kind), "image: {e}");
        let p = path.clone();
        let e = err_text(within_20s(move || onelayer::report::read_weights(&p, 10)));
        assert!(e.contains(kind), "weights: {e}");
    }
}

#[test]
fn a_batch_larger_than_any_batch_is_refused_with_the_limit() {
    let t = tempfile::tempdir().unwrap();
    fixtures::write(t.path(), "batches.meta.txt", &fixtures::meta_txt());
    let f = std::fs::File::create(t.path().join("data_batch_1.bin")).unwrap();
    f.set_len(onelayer::input::limit::BATCH + 1).unwrap();
    let e = err_text(data::read(t.path(), &[BatchName::Data(1)], &LENIENT));
    assert!(
        e.contains(&onelayer::input::limit::BATCH.to_string()),
        "{e}"
    );
}

/// A PNG's signature, header and end: enough for its dimensions to be read.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        c.extend(kind);
        c.extend(data);
        c.extend(crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn a_huge_image_is_refused_from_its_header_with_the_limit() {
    let t = tempfile::tempdir().unwrap();
    for (w, h) in [(100_000_000, 1), (20_000, 20_000), (16_384, 16_384)] {
        let p = t.path().join("huge.png");
        std::fs::write(&p, png_header_only(w, h)).unwrap();
        let e = err_text(onelayer::image_input::load(&p));
        assert!(e.contains("16384×16384"), "{e}");
        if w < 100_000 {
            assert!(e.contains(&format!("{w}×{h}")), "{e}");
        }
    }
}

#[test]
fn weights_claiming_2_pow_40_elements_are_refused_before_allocating() {
    let t = tempfile::tempdir().unwrap();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1024, 1073741824), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((h.len() as u16).to_le_bytes());
    npy.extend(h.as_bytes());
    npy.extend([0u8; 64]);
    let p = t.path().join("W.npy");
    std::fs::write(&p, npy).unwrap();
    let e = err_text(onelayer::report::read_weights(&p, 1024));
    assert!(
        e.contains("[1024, 1073741824]") && e.contains("64 bytes"),
        "{e}"
    );
}
