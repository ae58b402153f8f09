//! A small, safe reader for the subset of Python's pickle format that CIFAR-10's
//! python version uses: protocols 2 to 5, dicts, lists, tuples, ints, strings,
//! bytes, and numpy arrays as numpy pickles them (`_reconstruct` + `BUILD`, or
//! protocol 5's `_frombuffer`).
//!
//! Nothing is executed: a `GLOBAL` is only a name, and `REDUCE` on it builds a
//! value for the few numpy and codec callables listed in [`Callable`]; any other
//! call becomes an inert [`Value::Opaque`]. Memory is bounded by the input's size
//! (every length is checked against the bytes left) and by [`MAX_OBJECTS`];
//! nesting by [`MAX_DEPTH`]. Every malformed input is an error, never a panic.

use std::collections::HashMap;
use std::rc::Rc;

/// Most values a pickle may create (the CIFAR batches create about 20 000).
pub const MAX_OBJECTS: usize = 1 << 20;
/// Deepest nesting of containers accepted.
pub const MAX_DEPTH: usize = 64;

/// A malformed or unsupported pickle: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the opcode at fault.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// A callable a pickle may name that this reader knows how to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callable {
    /// `numpy.core.multiarray._reconstruct` (numpy 1) or `numpy._core...` (numpy 2).
    Reconstruct,
    /// `numpy.ndarray`, the class passed to `_reconstruct`.
    Ndarray,
    /// `numpy.dtype`.
    Dtype,
    /// `_codecs.encode`, used by Python 3's protocol 2 to pickle bytes.
    Encode,
    /// `numpy.core.numeric._frombuffer` (protocol 5).
    FromBuffer,
    /// Anything else, by its dotted name: never called.
    Other(String),
}

/// A numpy array: shape, dtype name (`u1`, `f8`, ...), order and raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// The dtype, spelled as numpy's `dtype.str` without the byte order of
    /// little-endian and one-byte types (`u1` for uint8 however pickled, `f8`,
    /// `>i4`): see [`canonical_dtype`].
    pub dtype: String,
    /// True for Fortran (column-major) order.
    pub fortran: bool,
    /// The elements' bytes.
    pub data: Rc<[u8]>,
}

/// A value built by the pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A float.
    Float(f64),
    /// `bytes`, `bytearray`, or a Python 2 `str` (read as bytes).
    Bytes(Rc<[u8]>),
    /// A Python 3 `str`.
    Str(Rc<str>),
    /// A tuple and its nesting depth.
    Tuple(Rc<[Value]>, usize),
    /// A list and its nesting depth.
    List(Vec<Value>, usize),
    /// A dict (entries in insertion order) and its nesting depth.
    Dict(Vec<(Value, Value)>, usize),
    /// A named callable or class.
    Global(Callable),
    /// An `ndarray` awaiting its state (`BUILD`).
    PendingArray,
    /// A numpy dtype by name, with its byte order once built.
    Dtype(Rc<str>),
    /// A numpy array.
    Array(Rc<Array>),
    /// The result of a call this reader does not perform, by the callable's name.
    Opaque(Rc<str>),
    /// A memoised list or dict: sharing them is not supported.
    Shared,
}

impl Value {
    /// Nesting depth: 0 for scalars.
    pub fn depth(&self) -> usize {
        match self {
            Value::Tuple(_, d) | Value::List(_, d) | Value::Dict(_, d) => *d,
            _ => 0,
        }
    }

    /// A `str`, or `bytes` read as Latin-1 (Python 2 strings).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.to_string()),
            Value::Bytes(b) => Some(b.iter().map(|&c| char::from(c)).collect()),
            _ => None,
        }
    }

    /// A short description of the value's kind, for error messages.
    pub fn kind(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) => "an int".into(),
            Value::Float(_) => "a float".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Str(_) => "a str".into(),
            Value::Tuple(t, _) => format!("a tuple of {}", t.len()),
            Value::List(l, _) => format!("a list of {}", l.len()),
            Value::Dict(d, _) => format!("a dict of {}", d.len()),
            Value::Global(c) => format!("the global {c:?}"),
            Value::PendingArray => "an ndarray without state".into(),
            Value::Dtype(n) => format!("the dtype {n}"),
            Value::Array(a) => format!("a {:?} array of dtype {}", a.shape, a.dtype),
            Value::Opaque(n) => format!("an object made by {n}"),
            Value::Shared => "a shared list or dict".into(),
        }
    }
}

/// Reads one pickled value from `input` (up to its `STOP`).
pub fn parse(input: &[u8]) -> Result<Value, PickleError> {
    let mut m = Machine {
        input,
        pos: 0,
        op_at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        objects: 0,
        made_bytes: 0,
    };
    match input.first() {
        Some(0x80) => {}
        Some(&b) => {
            return Err(m.err(format!(
                "starts with byte 0x{b:02x}, expected the PROTO opcode 0x80 of protocols 2 to 5"
            )));
        }
        None => return Err(m.err("empty file".into())),
    }
    m.run()
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    op_at: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    objects: usize,
    /// Bytes made by calls (`_codecs.encode`), at most the input's length.
    made_bytes: usize,
}

mod machine;
mod numpy;

pub use numpy::{canonical_dtype, itemsize};
