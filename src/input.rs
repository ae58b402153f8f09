//! Opening a user's input file for reading: only a regular file (never a FIFO,
//! a device or a socket, which could block forever or never end), and never more
//! than the caller's limit, checked against the size on disk before reading and
//! enforced while reading (a file that grows meanwhile is cut off and refused).
//!
//! Errors are [`std::io::Error`]s carrying an [`InputError`], so that every
//! reader's existing "cannot read FILE: ..." error reports them unchanged.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Limits for the inputs onelayer reads, in bytes. Each is well above what a
/// valid file of its kind holds.
pub mod limit {
    /// A CIFAR-10 batch (binary: 30 730 000 bytes; python: about 31 MB).
    pub const BATCH: u64 = 32 << 20;
    /// A class names file (61 bytes binary, 158 bytes python).
    pub const META: u64 = 1 << 20;
    /// A CIFAR-10 archive (the official ones are 163 and 162 MB).
    pub const ARCHIVE: u64 = 1 << 30;
    /// A model file or `.npy` array (a model is about 130 kB).
    pub const MODEL: u64 = 64 << 20;
    /// A configuration or results file (TOML, JSON, JSON lines).
    pub const TEXT: u64 = 16 << 20;
    /// An image to classify.
    pub const IMAGE: u64 = 64 << 20;
}

/// Why an input file is not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A FIFO, device, socket or folder where a regular file is expected.
    #[error("is {kind}, not a regular file (onelayer reads only regular files)")]
    NotRegular {
        /// What the path is (`a FIFO (named pipe)`, `a character device`, ...).
        kind: &'static str,
    },
    /// Larger than what the reader accepts.
    #[error("is {size} bytes, more than the {limit} bytes accepted for {what}")]
    TooLarge {
        /// The file's size (or the bytes read before stopping).
        size: u64,
        /// The limit.
        limit: u64,
        /// What the file was read as.
        what: &'static str,
    },
}

/// What kind of file `meta` describes, in words.
pub fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        } else if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

fn refused(e: InputError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
}

/// Opens `path` (following links) if it is a regular file of at most `limit`
/// bytes; `what` names its kind in the error. The type is checked without
/// opening (opening a FIFO blocks), then again on the opened file.
pub fn open(path: &Path, limit: u64, what: &'static str) -> std::io::Result<(File, u64)> {
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            return Err(refused(InputError::NotRegular { kind: kind(meta) }));
        }
        if meta.len() > limit {
            return Err(refused(InputError::TooLarge {
                size: meta.len(),
                limit,
                what,
            }));
        }
        Ok(meta.len())
    };
    check(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    let size = check(&file.metadata()?)?;
    Ok((file, size))
}

/// The bytes of the regular file `path`, at most `limit` of them (see [`open`]).
pub fn read(path: &Path, limit: u64, what: &'static str) -> std::io::Result<Vec<u8>> {
    let (file, size) = open(path, limit, what)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(refused(InputError::TooLarge {
            size: bytes.len() as u64,
            limit,
            what,
        }));
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, limit: u64, what: &'static str) -> std::io::Result<String> {
    String::from_utf8(read(path, limit, what)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn fifo(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("pipe");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        let made = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(made, 0);
        p
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(&fifo(dir.path()), 100, "a test").unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn dev_zero_is_refused() {
        let e = read(Path::new("/dev/zero"), 100, "a test").unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_with_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [0u8; 101]).unwrap();
        let e = read(&p, 100, "a test").unwrap_err();
        assert!(e.to_string().contains("100 bytes"), "{e}");
        assert_eq!(read(&p, 101, "a test").unwrap().len(), 101);
    }
}
