//! The optimised binary runs its vector code inline: no SIMD intrinsic of `core::arch`
//! is left as a function of its own, and no software `fmaf`/`rintf` is called.
//!
//! An intrinsic becomes a call when the code using it is not compiled with the
//! instruction set enabled: a helper generic over the kernels' lanes that is not
//! inlined into its `#[target_feature]` caller makes every `_mm256_add_ps` in it a call,
//! which made evaluations 1.25–1.32× slower. Only an optimised build inlines, so the test
//! runs with `cargo test --release` (the README's test command).

use object::{Object, ObjectSymbol};

/// The symbol names of the binary, its own and those it imports.
fn symbols(bytes: &[u8]) -> Vec<String> {
    let file = object::File::parse(bytes).expect("the onelayer binary parses as an object file");
    assert!(
        file.symbols().next().is_some(),
        "the onelayer binary has no symbol table (stripped?)"
    );
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .collect()
}

/// The module of `core::arch` a mangled symbol lies in (`avx2` for
/// `core::core_arch::x86::avx2::_mm256_add_epi32`), in legacy and v0 manglings alike:
/// both write each name as its length then its characters.
fn arch_module(symbol: &str) -> Option<&str> {
    let at = symbol.find("9core_arch")? + "9core_arch".len();
    let mut rest = &symbol[at..];
    let mut names = Vec::new();
    for _ in 0..2 {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let len: usize = rest[..digits].parse().ok()?;
        names.push(rest.get(digits..digits + len)?);
        rest = &rest[digits + len..];
    }
    // `x86::avx2`, `aarch64::neon`, `arm_shared::neon`.
    Some(names[1])
}

/// Instruction sets whose intrinsics the kernels use.
fn is_vector_module(module: &str) -> bool {
    ["avx", "fma", "f16c", "neon", "sse"]
        .iter()
        .any(|p| module.starts_with(p))
}

/// A software fused multiply-add or rounding: `fmaf`, `rintf`, or their versioned names.
fn is_soft_float(symbol: &str) -> bool {
    let name = symbol.split('@').next().unwrap_or(symbol);
    let name = name.strip_prefix('_').unwrap_or(name);
    matches!(name, "fmaf" | "rintf" | "fma" | "rint")
}

#[test]
fn names_are_read_in_both_manglings() {
    let legacy = "_ZN4core9core_arch3x863avx13_mm256_mul_ps17h58bbe016b84ccbcdE";
    let v0 = "_RNvNtNtNtCsgEmfK2I1SDS_4core9core_arch3x865ssse316__mm_shuffle_epi8";
    let neon = "_RNvNtNtNtCs1_4core9core_arch10arm_shared4neon9vfmaq_f32";
    assert_eq!(arch_module(legacy), Some("avx"));
    assert_eq!(arch_module(v0), Some("ssse3"));
    assert_eq!(arch_module(neon), Some("neon"));
    assert_eq!(arch_module("_ZN8onelayer7kernels5panel6blocks17h0E"), None);
    assert!(is_vector_module("avx2") && is_vector_module("avx512f") && is_vector_module("neon"));
    assert!(!is_vector_module("pclmulqdq") && !is_vector_module("xsave"));
    assert!(is_soft_float("fmaf@GLIBC_2.2.5") && is_soft_float("rintf") && is_soft_float("_fmaf"));
    assert!(!is_soft_float("expf@GLIBC_2.27"));
}

#[test]
#[cfg_attr(
    any(debug_assertions, not(target_os = "linux")),
    ignore = "reads the symbol table of an optimised Linux build: `cargo test --release` on Linux"
)]
fn the_binary_calls_no_vector_intrinsic_and_no_soft_float() {
    let path = env!("CARGO_BIN_EXE_onelayer");
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let names = symbols(&bytes);
    let outlined: Vec<&String> = names
        .iter()
        .filter(|s| arch_module(s).is_some_and(is_vector_module))
        .collect();
    assert!(
        outlined.is_empty(),
        "{path} has vector intrinsics as functions of their own (a helper not inlined into \
         its #[target_feature] caller? every crate of the binary is read): {outlined:#?}"
    );
    let soft: Vec<&String> = names.iter().filter(|s| is_soft_float(s)).collect();
    assert!(
        soft.is_empty(),
        "{path} calls software floating point: {soft:?}"
    );
}
