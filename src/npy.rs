//! Reading `.npy` arrays with the size their header claims checked against the
//! bytes present before anything is allocated (`ndarray-npy` allocates the
//! header's element count first, so a 100-byte file claiming 2^40 elements
//! would ask for terabytes).

use ndarray::{Array, Dimension};
use ndarray_npy::{ReadNpyExt, ReadableElement};

/// Reads a `.npy` array of `A` from `bytes`, after checking that the bytes after
/// the header hold the shape's elements.
pub fn read<A: ReadableElement, D: Dimension>(bytes: &[u8]) -> Result<Array<A, D>, String> {
    let (shape, data) = header(bytes)?;
    let count = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let needed = count.and_then(|c| c.checked_mul(std::mem::size_of::<A>() as u64));
    match needed {
        Some(n) if n <= data as u64 => {}
        _ => {
            return Err(format!(
                "the header claims shape {shape:?} ({} bytes of {}-byte elements) but only \
                 {data} bytes of data follow",
                needed.map_or("more than 2^64".to_string(), |n| n.to_string()),
                std::mem::size_of::<A>(),
            ));
        }
    }
    Array::<A, D>::read_npy(bytes).map_err(|e| e.to_string())
}

/// The shape in a `.npy` header and the number of bytes after the header.
fn header(bytes: &[u8]) -> Result<(Vec<u64>, usize), String> {
    let not_npy = || "not a .npy array (no \\x93NUMPY header)".to_string();
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err(not_npy());
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(not_npy)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(format!(".npy format version {v}, expected 1 to 3")),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| format!("a header of {len} bytes in a file of {} bytes", bytes.len()))?;
    let text = String::from_utf8_lossy(&bytes[start..end]);
    let bad_shape = || format!("a header without a readable shape: {}", text.trim());
    let at = text.find("'shape'").ok_or_else(bad_shape)?;
    let rest = &text[at + "'shape'".len()..];
    let open = rest.find('(').ok_or_else(bad_shape)?;
    let close = rest.find(')').ok_or_else(bad_shape)?;
    let dims = rest.get(open + 1..close).ok_or_else(bad_shape)?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.trim_end_matches('L')
                .parse::<u64>()
                .map_err(|_| bad_shape())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((shape, bytes.len() - end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((h.len() as u16).to_le_bytes());
        out.extend(h.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn a_header_claiming_2_pow_40_elements_is_refused_before_allocating() {
        let bytes = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }",
            &[0; 16],
        );
        let e = read::<f32, ndarray::Ix2>(&bytes).unwrap_err();
        assert!(
            e.contains("[1048576, 1048576]") && e.contains("16 bytes"),
            "{e}"
        );
    }

    #[test]
    fn arrays_written_by_ndarray_npy_read_back() {
        use ndarray_npy::WriteNpyExt;
        let a = ndarray::Array2::<f32>::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as f32);
        let mut bytes = Vec::new();
        a.write_npy(&mut bytes).unwrap();
        assert_eq!(read::<f32, ndarray::Ix2>(&bytes).unwrap(), a);
        let s = ndarray::Array1::<f32>::from_vec(vec![1.5]);
        let mut bytes = Vec::new();
        s.write_npy(&mut bytes).unwrap();
        assert_eq!(read::<f32, ndarray::Ix1>(&bytes).unwrap(), s);
    }
}
