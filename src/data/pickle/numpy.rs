//! `REDUCE` and `BUILD` for the callables numpy's pickles use. Nothing is called:
//! each known callable's effect on its arguments is rebuilt here, checked.

use std::rc::Rc;

use super::{Array, Callable, Machine, PickleError, Value};

impl Callable {
    /// The callable named `module.name` in a pickle.
    pub fn named(module: &str, name: &str) -> Callable {
        let numpy_core = |sub: &str| {
            module == format!("numpy.core.{sub}") || module == format!("numpy._core.{sub}")
        };
        match name {
            "_reconstruct" if numpy_core("multiarray") => Callable::Reconstruct,
            "_frombuffer" if numpy_core("numeric") => Callable::FromBuffer,
            "ndarray" if module == "numpy" => Callable::Ndarray,
            "dtype" if module == "numpy" => Callable::Dtype,
            "encode" if module == "_codecs" => Callable::Encode,
            _ => Callable::Other(format!("{module}.{name}")),
        }
    }
}

impl Machine<'_> {
    /// `REDUCE`: `callable(*args)` for the known callables; an inert value otherwise.
    pub(super) fn reduce(&mut self) -> Result<(), PickleError> {
        let args = self.pop()?;
        let callable = self.pop()?;
        let Value::Tuple(args, _) = args else {
            return Err(self.err(format!("REDUCE with {} as arguments", args.kind())));
        };
        let v = match callable {
            Value::Global(Callable::Reconstruct) => match args.first() {
                Some(Value::Global(Callable::Ndarray)) => Value::PendingArray,
                _ => Value::Opaque("numpy _reconstruct of a subclass".into()),
            },
            Value::Global(Callable::Dtype) => match args.first().and_then(Value::as_text) {
                Some(name) => Value::Dtype(Rc::from(name)),
                None => return Err(self.err("numpy.dtype without a name".into())),
            },
            Value::Global(Callable::Encode) => self.latin1(&args)?,
            Value::Global(Callable::FromBuffer) => self.frombuffer(&args)?,
            Value::Global(Callable::Ndarray) => Value::Opaque("numpy.ndarray".into()),
            Value::Global(Callable::Other(name)) => Value::Opaque(Rc::from(name)),
            other => return Err(self.err(format!("REDUCE calls {}", other.kind()))),
        };
        self.push(v)
    }

    /// `BUILD`: sets the state of the value below it (an array or a dtype).
    pub(super) fn build(&mut self) -> Result<(), PickleError> {
        let state = self.pop()?;
        let target = self.pop()?;
        let built = match target {
            Value::PendingArray => self.array_state(&state)?,
            // A dtype's state: (version, byte order, subarray, names, fields, ...).
            // Only a big-endian byte order changes how a batch is read.
            Value::Dtype(name) => match &state {
                Value::Tuple(t, _) if t.get(1).and_then(Value::as_text).as_deref() == Some(">") => {
                    Value::Dtype(Rc::from(format!(">{name}")))
                }
                _ => Value::Dtype(name),
            },
            o @ Value::Opaque(_) => o,
            other => return Err(self.err(format!("BUILD on {}", other.kind()))),
        };
        self.push(built)
    }

    /// `_codecs.encode(s, 'latin1')`: Python 3's protocol 2 pickles bytes this way,
    /// each byte as the char of the same code (so 2 UTF-8 bytes from 0x80 up).
    fn latin1(&mut self, args: &[Value]) -> Result<Value, PickleError> {
        match args {
            [Value::Str(s), Value::Str(enc)] if matches!(&**enc, "latin1" | "latin-1") => {
                self.count_bytes(s.len())?;
                latin1_bytes(s.as_bytes())
                    .map(|b| Value::Bytes(Rc::from(b)))
                    .ok_or_else(|| self.err("_codecs.encode of a non-Latin-1 str".into()))
            }
            _ => Err(self.err("_codecs.encode with unexpected arguments".into())),
        }
    }

    /// `numpy._frombuffer(buffer, dtype, shape, order)`, protocol 5's array.
    fn frombuffer(&self, args: &[Value]) -> Result<Value, PickleError> {
        let [Value::Bytes(data), Value::Dtype(dtype), shape, order] = args else {
            return Err(self.err("numpy _frombuffer with unexpected arguments".into()));
        };
        let fortran = match order.as_text().as_deref() {
            Some("C") => false,
            Some("F") => true,
            _ => return Err(self.err("numpy _frombuffer with an unknown order".into())),
        };
        self.array(self.shape(shape)?, dtype, fortran, data)
    }

    /// The state of `_reconstruct`'s array: `(version, shape, dtype, is_fortran,
    /// data)`, or the same without `version`.
    fn array_state(&self, state: &Value) -> Result<Value, PickleError> {
        let Value::Tuple(items, _) = state else {
            return Err(self.err(format!("an ndarray state that is {}", state.kind())));
        };
        let items = match &items[..] {
            [Value::Int(1), rest @ ..] if rest.len() == 4 => rest,
            rest if rest.len() == 4 => rest,
            _ => return Err(self.err("an ndarray state of unexpected length".into())),
        };
        let [shape, Value::Dtype(dtype), Value::Bool(fortran), data] = items else {
            return Err(self.err("an ndarray state of unexpected types".into()));
        };
        let data = match data {
            Value::Bytes(b) => b.clone(),
            other => {
                return Err(self.err(format!(
                    "ndarray data as {}, expected bytes (object arrays are not supported)",
                    other.kind()
                )));
            }
        };
        self.array(self.shape(shape)?, dtype, *fortran, &data)
    }

    fn shape(&self, shape: &Value) -> Result<Vec<usize>, PickleError> {
        let Value::Tuple(dims, _) = shape else {
            return Err(self.err(format!("an ndarray shape that is {}", shape.kind())));
        };
        dims.iter()
            .map(|d| match d {
                Value::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| self.err("an ndarray shape that is not non-negative ints".into()))
    }

    /// An array of a numeric dtype whose data holds exactly its shape's elements.
    fn array(
        &self,
        shape: Vec<usize>,
        dtype: &str,
        fortran: bool,
        data: &Rc<[u8]>,
    ) -> Result<Value, PickleError> {
        let Some(canonical) = canonical_dtype(dtype) else {
            return Err(self.err(format!(
                "an ndarray of dtype {dtype}, not a numeric dtype this reader knows"
            )));
        };
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let bytes = itemsize(&canonical).and_then(|size| count.and_then(|c| c.checked_mul(size)));
        if bytes != Some(data.len()) {
            return Err(self.err(format!(
                "an ndarray of shape {shape:?} and dtype {dtype} with {} bytes of data, \
                 expected {}",
                data.len(),
                bytes.map_or("more than can be addressed".to_string(), |b| b.to_string())
            )));
        }
        Ok(Value::Array(Rc::new(Array {
            shape,
            dtype: canonical,
            fortran,
            data: data.clone(),
        })))
    }
}

/// The Latin-1 bytes of UTF-8 text whose chars are all below U+0100, or `None`.
fn latin1_bytes(utf8: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(utf8.len());
    let mut it = utf8.iter();
    while let Some(&b) = it.next() {
        match b {
            0x00..=0x7f => out.push(b),
            0xc2 | 0xc3 => {
                let &c = it.next()?;
                out.push(((b & 0x03) << 6) | (c & 0x3f));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Bytes per element of a numeric dtype in any of numpy's spellings (`u1`, `<i8`,
/// `uint8`, `B`, `float32`, ...), or `None` for other dtypes.
pub fn itemsize(dtype: &str) -> Option<usize> {
    let c = canonical_dtype(dtype)?;
    c.trim_start_matches('>').get(1..)?.parse().ok()
}

/// A numeric dtype in any of numpy's spellings as numpy's short form: kind
/// (`b` bool, `i`, `u`, `f`) and size, prefixed by `>` for a big-endian type of
/// more than one byte (`uint8`, `|u1`, `B` → `u1`; `<f8`, `double` → `f8`;
/// `>i4` → `>i4`); `None` for other dtypes.
pub fn canonical_dtype(dtype: &str) -> Option<String> {
    let (big, name) = match dtype.as_bytes().first() {
        Some(b'>' | b'!') => (true, &dtype[1..]),
        Some(b'<' | b'|' | b'=') => (false, &dtype[1..]),
        _ => (false, dtype),
    };
    let (kind, size) = match name {
        "u1" | "uint8" | "B" | "ubyte" => ('u', 1),
        "i1" | "int8" | "b" | "byte" => ('i', 1),
        "b1" | "bool" | "bool_" | "bool8" | "?" => ('b', 1),
        "u2" | "uint16" | "H" | "ushort" => ('u', 2),
        "i2" | "int16" | "h" | "short" => ('i', 2),
        "u4" | "uint32" | "I" | "uintc" => ('u', 4),
        "i4" | "int32" | "i" | "intc" => ('i', 4),
        "u8" | "uint64" | "Q" | "L" | "P" | "ulonglong" | "ulong" | "uint" | "uintp" => ('u', 8),
        "i8" | "int64" | "q" | "l" | "p" | "longlong" | "long" | "int" | "int_" | "intp" => {
            ('i', 8)
        }
        "f2" | "float16" | "e" | "half" => ('f', 2),
        "f4" | "float32" | "f" | "single" => ('f', 4),
        "f8" | "float64" | "d" | "double" | "float" | "float_" => ('f', 8),
        _ => return None,
    };
    let order = if big && size > 1 { ">" } else { "" };
    Some(format!("{order}{kind}{size}"))
}
