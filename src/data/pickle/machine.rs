//! The pickle virtual machine: one opcode at a time, on a stack with marks and a memo.

use std::rc::Rc;

use super::{Callable, MAX_DEPTH, MAX_OBJECTS, Machine, PickleError, Value};

impl Machine<'_> {
    pub(super) fn err(&self, message: String) -> PickleError {
        PickleError {
            offset: self.op_at,
            message,
        }
    }

    /// Runs opcodes until `STOP` and returns the value on top of the stack.
    pub(super) fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.op_at = self.pos;
            let op = self.u8().map_err(|_| PickleError {
                offset: self.pos,
                message: "truncated: the data ends before the STOP opcode".into(),
            })?;
            if op == b'.' {
                return self.pop();
            }
            self.step(op)?;
        }
    }

    fn step(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            0x80 => self.proto(),
            0x95 => self.take(8).map(|_| ()), // FRAME: only a length hint
            b'(' => {
                self.count(1)?;
                self.marks.push(self.stack.len());
                Ok(())
            }
            b'0' => self.pop().map(|_| ()),
            b'1' => self.pop_mark().map(|_| ()),
            b'2' => {
                // A list or dict is copied whole: every element copied counts.
                let size = size(self.top()?, MAX_OBJECTS);
                self.count(size)?;
                let top = self.top()?.clone();
                self.push(top)
            }
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'K' | b'M' | b'J' | 0x8a | b'G' => self.number(op),
            b'U' | b'T' | b'C' | b'B' | 0x8e | 0x96 => self.bytes(op),
            0x8c | b'X' | 0x8d => self.unicode(op),
            b'}' => self.push(Value::Dict(Vec::new(), 1)),
            b']' => self.push(Value::List(Vec::new(), 1)),
            b')' => self.push(Value::Tuple(Rc::from(Vec::new()), 1)),
            b't' | 0x85 | 0x86 | 0x87 | b'l' | b'd' => self.collection(op),
            b'a' | b'e' => self.append(op),
            b's' | b'u' => self.set_items(op),
            b'q' | b'r' | 0x94 => self.put(op),
            b'h' | b'j' => self.get(op),
            b'c' => self.global(),
            0x93 => self.stack_global(),
            b'R' => self.reduce(),
            b'b' => self.build(),
            0x97 | 0x98 => Err(self.err("out-of-band buffers are not supported".into())),
            _ => Err(self.err(format!("unsupported opcode 0x{op:02x}"))),
        }
    }

    fn proto(&mut self) -> Result<(), PickleError> {
        let v = self.u8()?;
        if (2..=5).contains(&v) {
            Ok(())
        } else {
            Err(self.err(format!("protocol {v}, expected 2 to 5")))
        }
    }

    // --- input ---

    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        let left = self.input.len() - self.pos.min(self.input.len());
        if n > left {
            return Err(self.err(format!(
                "truncated: needs {n} more bytes, {left} left in the file"
            )));
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_prefixed(&mut self, width: usize) -> Result<&[u8], PickleError> {
        let n = match width {
            1 => u64::from(self.u8()?),
            4 => u64::from(u32::from_le_bytes(self.le()?)),
            _ => u64::from_le_bytes(self.le()?),
        };
        let n = usize::try_from(n).map_err(|_| self.err(format!("length {n} too large")))?;
        self.take(n)
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.input[self.pos.min(self.input.len())..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.err("truncated: a GLOBAL name without its newline".into()));
        };
        let s = String::from_utf8(rest[..end].to_vec())
            .map_err(|_| self.err("a GLOBAL name that is not UTF-8".into()))?;
        self.pos += end + 1;
        Ok(s)
    }

    // --- stack ---

    /// Counts `n` more objects against [`MAX_OBJECTS`].
    fn count(&mut self, n: usize) -> Result<(), PickleError> {
        self.objects = self.objects.saturating_add(n);
        if self.objects > MAX_OBJECTS {
            return Err(self.err(format!(
                "more than {MAX_OBJECTS} objects (values, marks and copied elements)"
            )));
        }
        Ok(())
    }

    /// Counts `n` bytes made by a call against the input's length.
    pub(super) fn count_bytes(&mut self, n: usize) -> Result<(), PickleError> {
        self.made_bytes = self.made_bytes.saturating_add(n);
        if self.made_bytes > self.input.len() {
            return Err(self.err(format!(
                "calls make more bytes than the pickle's {} bytes",
                self.input.len()
            )));
        }
        Ok(())
    }

    pub(super) fn push(&mut self, v: Value) -> Result<(), PickleError> {
        self.count(1)?;
        if v.depth() > MAX_DEPTH {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH}")));
        }
        self.stack.push(v);
        Ok(())
    }

    pub(super) fn pop(&mut self) -> Result<Value, PickleError> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err(self.err("pops past a MARK".into()));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.err("pops an empty stack".into()))
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("needs a value on the stack".into()));
        }
        let err = self.err("needs a value on the stack".into());
        self.stack.last_mut().ok_or(err)
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| self.err("no MARK to pop to".into()))?;
        Ok(self.stack.split_off(m.min(self.stack.len())))
    }

    // --- scalars ---

    fn number(&mut self, op: u8) -> Result<(), PickleError> {
        let v = match op {
            b'K' => Value::Int(i64::from(self.u8()?)),
            b'M' => Value::Int(i64::from(u16::from_le_bytes(self.le()?))),
            b'J' => Value::Int(i64::from(i32::from_le_bytes(self.le()?))),
            b'G' => Value::Float(f64::from_be_bytes(self.le()?)),
            _ => {
                let at = self.op_at;
                let b = self.len_prefixed(1)?;
                if b.len() > 8 {
                    return Err(PickleError {
                        offset: at,
                        message: format!("an integer of {} bytes", b.len()),
                    });
                }
                let fill = if b.last().is_some_and(|&x| x >= 0x80) {
                    0xff
                } else {
                    0
                };
                let mut a = [fill; 8];
                a[..b.len()].copy_from_slice(b);
                Value::Int(i64::from_le_bytes(a))
            }
        };
        self.push(v)
    }

    fn bytes(&mut self, op: u8) -> Result<(), PickleError> {
        let width = match op {
            b'U' | b'C' => 1,
            b'T' | b'B' => 4,
            _ => 8,
        };
        let b = Rc::from(self.len_prefixed(width)?);
        self.push(Value::Bytes(b))
    }

    fn unicode(&mut self, op: u8) -> Result<(), PickleError> {
        let width = match op {
            0x8c => 1,
            b'X' => 4,
            _ => 8,
        };
        let at = self.op_at;
        let raw = self.len_prefixed(width)?;
        let s = std::str::from_utf8(raw).map_err(|e| PickleError {
            offset: at,
            message: format!("a str that is not UTF-8 ({e})"),
        })?;
        let s = Rc::from(s);
        self.push(Value::Str(s))
    }

    // --- containers ---

    fn collection(&mut self, op: u8) -> Result<(), PickleError> {
        let items = match op {
            0x85 => vec![self.pop()?],
            0x86 | 0x87 => {
                let n = usize::from(op - 0x84);
                let mut v = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                v.reverse();
                v
            }
            _ => self.pop_mark()?,
        };
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        let v = match op {
            b'l' => Value::List(items, depth),
            b'd' => Value::Dict(self.pairs(items)?, depth),
            _ => Value::Tuple(Rc::from(items), depth),
        };
        self.push(v)
    }

    fn pairs(&self, items: Vec<Value>) -> Result<Vec<(Value, Value)>, PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("an odd number of keys and values".into()));
        }
        let mut it = items.into_iter();
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        Ok(out)
    }

    fn append(&mut self, op: u8) -> Result<(), PickleError> {
        let items = if op == b'a' {
            vec![self.pop()?]
        } else {
            self.pop_mark()?
        };
        let err = self.err("APPEND to something that is not a list".into());
        if items.iter().any(|v| v.depth() >= MAX_DEPTH) {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH}")));
        }
        match self.top()? {
            Value::List(list, depth) => {
                for item in items {
                    *depth = (*depth).max(item.depth() + 1);
                    list.push(item);
                }
                Ok(())
            }
            _ => Err(err),
        }
    }

    fn set_items(&mut self, op: u8) -> Result<(), PickleError> {
        let items = if op == b's' {
            let v = self.pop()?;
            let k = self.pop()?;
            vec![k, v]
        } else {
            self.pop_mark()?
        };
        let pairs = self.pairs(items)?;
        let err = self.err("SETITEM on something that is not a dict".into());
        if pairs
            .iter()
            .any(|(k, v)| k.depth().max(v.depth()) >= MAX_DEPTH)
        {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH}")));
        }
        match self.top()? {
            Value::Dict(dict, depth) => {
                for (k, v) in pairs {
                    *depth = (*depth).max(k.depth().max(v.depth()) + 1);
                    dict.push((k, v));
                }
                Ok(())
            }
            _ => Err(err),
        }
    }

    // --- memo ---

    fn put(&mut self, op: u8) -> Result<(), PickleError> {
        let key = match op {
            b'q' => u32::from(self.u8()?),
            b'r' => u32::from_le_bytes(self.le()?),
            _ => u32::try_from(self.memo.len()).map_err(|_| self.err("memo too large".into()))?,
        };
        let v = match self.top()? {
            Value::List(..) | Value::Dict(..) => Value::Shared,
            v => v.clone(),
        };
        self.count(1)?;
        self.memo.insert(key, v);
        Ok(())
    }

    fn get(&mut self, op: u8) -> Result<(), PickleError> {
        let key = match op {
            b'h' => u32::from(self.u8()?),
            _ => u32::from_le_bytes(self.le()?),
        };
        match self.memo.get(&key) {
            None => Err(self.err(format!("memo entry {key} used before it is set"))),
            Some(Value::Shared) => Err(self.err(format!(
                "memo entry {key} is a list or dict used twice, which this reader does not support"
            ))),
            Some(v) => {
                let v = v.clone();
                self.push(v)
            }
        }
    }

    // --- globals ---

    fn global(&mut self) -> Result<(), PickleError> {
        let module = self.line()?;
        let name = self.line()?;
        self.push(Value::Global(Callable::named(&module, &name)))
    }

    fn stack_global(&mut self) -> Result<(), PickleError> {
        let name = self.pop()?;
        let module = self.pop()?;
        match (module, name) {
            (Value::Str(m), Value::Str(n)) => self.push(Value::Global(Callable::named(&m, &n))),
            _ => Err(self.err("STACK_GLOBAL needs two str".into())),
        }
    }
}

/// Values in `v` (itself and every element, tuples included), counted up to `cap`.
fn size(v: &Value, cap: usize) -> usize {
    let mut n = 1;
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::List(l, _) => Box::new(l.iter()),
        Value::Tuple(t, _) => Box::new(t.iter()),
        Value::Dict(d, _) => Box::new(d.iter().flat_map(|(k, v)| [k, v])),
        _ => return 1,
    };
    for c in children {
        if n >= cap {
            break;
        }
        n += size(c, cap - n);
    }
    n
}
