//! Fixture files written by the tests: synthetic images, binary batches, pickles
//! written opcode by opcode the way Python 2 and Python 3 (protocols 2 to 5) with
//! numpy 1 and 2 write them, and tar.gz archives.

use std::path::Path;

pub const D: usize = 3072;

pub use crate::common::CLASS_NAMES;

/// `n` images with pseudo-random pixels and labels in `0..10`, from `seed`.
pub fn synthetic(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u32
    };
    let pixels = (0..n * D).map(|_| next() as u8).collect();
    let labels = (0..n).map(|_| (next() % 10) as u8).collect();
    (pixels, labels)
}

/// A binary batch: per image, the label byte then the 3072 pixel bytes.
pub fn bin_batch(pixels: &[u8], labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * (D + 1));
    for (l, img) in labels.iter().zip(pixels.chunks_exact(D)) {
        out.push(*l);
        out.extend_from_slice(img);
    }
    out
}

pub fn meta_txt() -> Vec<u8> {
    let mut s = CLASS_NAMES.join("\n");
    s.push('\n');
    s.into_bytes()
}

/// How a pickle is written: protocol, and whether keys are bytes.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub proto: u8,
    /// Python 2 (protocol 2): strs are byte strings, numpy 1 module names.
    pub py2: bool,
    /// Keys as bytes (as Python 3 re-saves a batch read with `encoding='bytes'`).
    pub bytes_keys: bool,
    /// numpy 2's module names (`numpy._core`).
    pub numpy2: bool,
}

/// Every style a CIFAR-10 python batch is found in.
pub const STYLES: [Style; 7] = [
    Style {
        proto: 2,
        py2: true,
        bytes_keys: true,
        numpy2: false,
    },
    Style {
        proto: 2,
        py2: false,
        bytes_keys: false,
        numpy2: true,
    },
    Style {
        proto: 3,
        py2: false,
        bytes_keys: false,
        numpy2: false,
    },
    Style {
        proto: 3,
        py2: false,
        bytes_keys: true,
        numpy2: true,
    },
    Style {
        proto: 4,
        py2: false,
        bytes_keys: false,
        numpy2: true,
    },
    Style {
        proto: 5,
        py2: false,
        bytes_keys: false,
        numpy2: true,
    },
    Style {
        proto: 5,
        py2: false,
        bytes_keys: true,
        numpy2: false,
    },
];

/// What a pickled batch holds; the defaults make a good batch.
pub struct Spec<'a> {
    pub data_key: &'a str,
    pub labels_key: &'a str,
    pub shape: Vec<usize>,
    pub dtype: &'a str,
    pub data: &'a [u8],
    pub labels: Vec<i64>,
    /// Labels as a numpy array of this dtype (`i8`, ...) instead of a list.
    pub labels_dtype: Option<&'a str>,
}

impl<'a> Spec<'a> {
    pub fn good(pixels: &'a [u8], labels: &[u8]) -> Spec<'a> {
        Spec {
            data_key: "data",
            labels_key: "labels",
            shape: vec![labels.len(), D],
            dtype: "u1",
            data: pixels,
            labels: labels.iter().map(|&l| i64::from(l)).collect(),
            labels_dtype: None,
        }
    }
}

/// A pickle writer: opcodes as CPython emits them for each style.
pub struct Writer {
    out: Vec<u8>,
    s: Style,
    memo: u32,
}

impl Writer {
    pub fn new(s: Style) -> Writer {
        Writer {
            out: vec![0x80, s.proto],
            s,
            memo: 0,
        }
    }

    fn op(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    fn memoize(&mut self) -> &mut Self {
        if self.s.proto >= 4 {
            self.op(&[0x94]);
        } else {
            let i = self.memo as u8;
            self.op(&[b'q', i]);
        }
        self.memo += 1;
        self
    }

    fn len_prefixed(&mut self, op: u8, width: usize, b: &[u8]) -> &mut Self {
        self.out.push(op);
        self.out
            .extend_from_slice(&(b.len() as u64).to_le_bytes()[..width]);
        self.op(b)
    }

    /// A str: Python 2 byte string, else unicode.
    pub fn text(&mut self, t: &str) -> &mut Self {
        if self.s.py2 {
            self.len_prefixed(b'U', 1, t.as_bytes())
        } else if self.s.proto >= 4 {
            self.len_prefixed(0x8c, 1, t.as_bytes())
        } else {
            self.len_prefixed(b'X', 4, t.as_bytes())
        }
        .memoize()
    }

    pub fn key(&mut self, k: &str) -> &mut Self {
        if self.s.bytes_keys && !self.s.py2 {
            self.len_prefixed(b'C', 1, k.as_bytes()).memoize()
        } else {
            self.text(k)
        }
    }

    pub fn int(&mut self, i: i64) -> &mut Self {
        match i {
            0..=0xff => self.op(&[b'K', i as u8]),
            0x100..=0xffff => self.op(b"M").op(&(i as u16).to_le_bytes()),
            _ => self.op(b"J").op(&(i as i32).to_le_bytes()),
        }
    }

    pub fn global(&mut self, module: &str, name: &str) -> &mut Self {
        if self.s.proto >= 4 {
            self.text(module).text(name).op(&[0x93]).memoize()
        } else {
            self.op(format!("c{module}\n{name}\n").as_bytes()).memoize()
        }
    }

    /// A bytes object: Python 2 string, `_codecs.encode` in Python 3's protocol 2,
    /// BINBYTES in 3, BINBYTES8 in 4 and 5.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        match (self.s.proto, self.s.py2) {
            (2, true) if b.len() < 256 => self.len_prefixed(b'U', 1, b),
            (2, true) => self.len_prefixed(b'T', 4, b),
            (2, false) => {
                let latin1: String = b.iter().map(|&c| char::from(c)).collect();
                self.global("_codecs", "encode")
                    .len_prefixed(b'X', 4, latin1.as_bytes())
                    .memoize()
                    .text("latin1")
                    .op(&[0x86, b'R'])
            }
            (3, _) if b.len() < 256 => self.len_prefixed(b'C', 1, b),
            (3, _) => self.len_prefixed(b'B', 4, b),
            _ => self.len_prefixed(0x8e, 8, b),
        }
        .memoize()
    }

    fn core(&self) -> &'static str {
        if self.s.numpy2 {
            "numpy._core"
        } else {
            "numpy.core"
        }
    }

    pub fn dtype(&mut self, name: &str) -> &mut Self {
        self.global("numpy", "dtype")
            .text(name)
            .op(&[0x89, 0x88, 0x87, b'R'])
            .memoize()
            .op(b"(")
            .int(3)
            .text("|")
            .op(b"NNN")
            .op(b"J")
            .op(&(-1i32).to_le_bytes())
            .op(b"J")
            .op(&(-1i32).to_le_bytes())
            .int(0)
            .op(b"t")
            .memoize()
            .op(b"b")
    }

    fn shape(&mut self, shape: &[usize]) -> &mut Self {
        self.op(b"(");
        for &d in shape {
            self.int(d as i64);
        }
        self.op(b"t").memoize()
    }

    /// A numpy array as numpy pickles it: `_reconstruct` and a BUILD state, or
    /// `_frombuffer` on a bytearray in protocol 5.
    pub fn array(&mut self, shape: &[usize], dtype: &str, data: &[u8]) -> &mut Self {
        if self.s.proto >= 5 {
            let m = format!("{}.numeric", self.core());
            self.global(&m, "_frombuffer").op(b"(");
            self.len_prefixed(0x96, 8, data).memoize();
            return self.dtype(dtype).shape(shape).text("C").op(b"tR").memoize();
        }
        let m = format!("{}.multiarray", self.core());
        self.global(&m, "_reconstruct")
            .global("numpy", "ndarray")
            .int(0)
            .op(&[0x85]);
        self.bytes(b"b").op(&[0x87, b'R']).memoize().op(b"(").int(1);
        self.shape(shape)
            .dtype(dtype)
            .op(&[0x89])
            .bytes(data)
            .op(b"t")
            .memoize()
            .op(b"b")
    }

    pub fn list_of_ints(&mut self, v: &[i64]) -> &mut Self {
        self.op(b"]").memoize().op(b"(");
        for &i in v {
            self.int(i);
        }
        self.op(b"e")
    }

    /// Ends the pickle; protocol 4 and 5 put it all in one frame.
    pub fn finish(&mut self) -> Vec<u8> {
        self.op(b".");
        if self.s.proto >= 4 {
            let body = self.out.split_off(2);
            self.op(&[0x95])
                .op(&(body.len() as u64).to_le_bytes())
                .op(&body);
        }
        std::mem::take(&mut self.out)
    }
}

/// A pickled batch dict: `batch_label`, the labels, the data, `filenames`.
pub fn batch_pickle(s: Style, spec: &Spec) -> Vec<u8> {
    let mut w = Writer::new(s);
    w.op(b"}").memoize().op(b"(");
    w.key("batch_label").text("training batch 1 of 5");
    w.key(spec.labels_key);
    match spec.labels_dtype {
        None => w.list_of_ints(&spec.labels),
        Some(dtype) => {
            let size: usize = dtype[1..].parse().unwrap();
            let bytes: Vec<u8> = spec
                .labels
                .iter()
                .flat_map(|l| l.to_le_bytes()[..size].to_vec())
                .collect();
            w.array(&[spec.labels.len()], dtype, &bytes)
        }
    };
    w.key(spec.data_key)
        .array(&spec.shape, spec.dtype, spec.data);
    w.key("filenames").op(b"]").memoize().op(b"(");
    for i in 0..spec.labels.len().min(3) {
        w.text(&format!("image_{i}.png"));
    }
    w.op(b"e").op(b"u");
    w.finish()
}

pub fn good_pickle(s: Style, pixels: &[u8], labels: &[u8]) -> Vec<u8> {
    batch_pickle(s, &Spec::good(pixels, labels))
}

/// `batches.meta`: `label_names`, `num_cases_per_batch`, `num_vis`.
pub fn meta_pickle(s: Style, names: &[&str]) -> Vec<u8> {
    let mut w = Writer::new(s);
    w.op(b"}").memoize().op(b"(");
    w.key("num_cases_per_batch").int(10000);
    w.key("label_names").op(b"]").memoize().op(b"(");
    for n in names {
        if s.bytes_keys && !s.py2 {
            w.len_prefixed(b'C', 1, n.as_bytes()).memoize();
        } else {
            w.text(n);
        }
    }
    w.op(b"e");
    w.key("num_vis").int(3072).op(b"u");
    w.finish()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A tar.gz archive of `members` (name, content).
pub fn tar_gz(path: &Path, members: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}
