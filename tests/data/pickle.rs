//! The pickle reader on its own: values, safety limits, and no panic on any input.

use onelayer::data::pickle::{self, MAX_DEPTH, Value};
use proptest::prelude::*;

use crate::fixtures::{self, STYLES};

#[test]
fn scalars_containers_and_memo() {
    // {'a': (1, -2, 300, 70000), 'b': [b'xy', None, True], 'c': 'xy'}, protocol 2,
    // with 'xy' memoised and fetched again.
    let mut p = vec![
        0x80, 2, b'}', b'(', b'X', 1, 0, 0, 0, b'a', b'(', b'K', 1, b'J',
    ];
    p.extend((-2i32).to_le_bytes());
    p.extend([b'M', 0x2c, 0x01, b'J']);
    p.extend(70000i32.to_le_bytes());
    p.extend([
        b't', b'X', 1, 0, 0, 0, b'b', b']', b'(', b'C', 2, b'x', b'y', b'N', 0x88, b'e',
    ]);
    p.extend([
        b'X', 1, 0, 0, 0, b'c', b'X', 2, 0, 0, 0, b'x', b'y', b'q', 7, b'0', b'h', 7,
    ]);
    p.extend([b'u', b'.']);
    let Value::Dict(d, _) = pickle::parse(&p).unwrap() else {
        panic!("not a dict")
    };
    assert_eq!(d.len(), 3);
    let Value::Tuple(t, _) = &d[0].1 else {
        panic!()
    };
    assert_eq!(
        &t[..],
        [
            Value::Int(1),
            Value::Int(-2),
            Value::Int(300),
            Value::Int(70000)
        ]
    );
    let Value::List(l, _) = &d[1].1 else { panic!() };
    assert_eq!(l[0], Value::Bytes(b"xy"[..].into()));
    assert_eq!(l[1..], [Value::None, Value::Bool(true)]);
    assert_eq!(d[2].1, Value::Str("xy".into()));
}

#[test]
fn calls_are_never_made() {
    // os.system('touch <file>') must not run: the call becomes an inert value.
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("touched");
    let cmd = format!("touch {}", target.display());
    let mut p = vec![0x80, 2];
    p.extend(b"cos\nsystem\n");
    p.extend([b'X']);
    p.extend((cmd.len() as u32).to_le_bytes());
    p.extend(cmd.as_bytes());
    p.extend([0x85, b'R', b'.']);
    let v = pickle::parse(&p).unwrap();
    assert!(
        matches!(v, Value::Opaque(ref n) if &**n == "os.system"),
        "{v:?}"
    );
    assert!(!target.exists());
}

#[test]
fn limits_on_nesting_lengths_and_memo() {
    // 1000 nested 1-tuples.
    let mut p = vec![0x80, 2, b'N'];
    p.extend(std::iter::repeat_n(0x85, 1000));
    p.push(b'.');
    let e = pickle::parse(&p).unwrap_err();
    assert!(
        e.message.contains(&format!("deeper than {MAX_DEPTH}")),
        "{e:?}"
    );
    // A length far beyond the input.
    let mut p = vec![0x80, 4, 0x8e];
    p.extend(u64::MAX.to_le_bytes());
    assert!(pickle::parse(&p).unwrap_err().message.contains("truncated"));
    // A memo entry used before it is set; a list fetched twice.
    assert!(pickle::parse(&[0x80, 2, b'h', 9, b'.']).is_err());
    assert!(pickle::parse(&[0x80, 2, b']', b'q', 0, b'h', 0, b'.']).is_err());
    // Protocols 0 and 1, and out-of-band buffers, are refused.
    assert!(pickle::parse(b"(dp0\n.").is_err());
    assert!(pickle::parse(&[0x80, 5, 0x97, b'.']).is_err());
}

fn small_pickles() -> Vec<Vec<u8>> {
    let (px, lb) = fixtures::synthetic(2, 5);
    STYLES
        .iter()
        .flat_map(|&s| {
            [
                fixtures::good_pickle(s, &px, &lb),
                fixtures::meta_pickle(s, &fixtures::CLASS_NAMES),
            ]
        })
        .collect()
}

#[test]
fn every_prefix_of_a_good_pickle_is_an_error() {
    for p in small_pickles() {
        assert!(pickle::parse(&p).is_ok());
        for cut in 0..p.len() {
            assert!(pickle::parse(&p[..cut]).is_err(), "prefix of {cut} bytes");
        }
    }
}

proptest! {
    /// Changed bytes in a good pickle give a value or an error, never a panic.
    #[test]
    fn corrupted_pickles_never_panic(
        which in 0usize..14,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let mut p = small_pickles().swap_remove(which);
        for (at, b) in edits {
            let i = at % p.len();
            p[i] = b;
        }
        let _ = pickle::parse(&p);
    }
}
