//! `lanes::tanh` and `lanes::exp` against libm, bit for bit. The default run checks every
//! 97th f32 bit pattern (44 million values per function) and every pattern near each range
//! boundary of the rewrite; `cargo test --release -p makemore-runtime --test lanes -- --ignored`
//! checks all 2^32 (tools/test runs it).

use makemore_runtime::lanes;

/// Equal bits, or both NaN (NaN payloads differ between platforms anyway).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs `fast` over the values `bits` yields, in slices of varied lengths (so the
/// remainder path runs too), and compares each with `exact`.
fn check(bits: impl Iterator<Item = u32>, fast: fn(&mut [f32]), exact: fn(f32) -> f32) -> u64 {
    let mut xs: Vec<f32> = Vec::with_capacity(4099);
    let mut ys = xs.clone();
    let mut n = 0u64;
    let mut flush = |xs: &mut Vec<f32>, ys: &mut Vec<f32>| {
        ys.clear();
        ys.extend_from_slice(xs);
        fast(ys);
        for (x, y) in xs.iter().zip(ys.iter()) {
            let want = exact(*x);
            assert!(same(*y, want), "f({x:e}) [{:#010x}] = {y:e}, libm says {want:e}", x.to_bits());
        }
        n += xs.len() as u64;
        xs.clear();
    };
    for b in bits {
        xs.push(f32::from_bits(b));
        if xs.len() == 4099 {
            flush(&mut xs, &mut ys);
        }
    }
    flush(&mut xs, &mut ys);
    n
}

/// Every 97th pattern, plus 64K patterns on each side of each boundary in `edges` (both signs).
fn sample(edges: &[u32]) -> impl Iterator<Item = u32> + '_ {
    let strided = (0..=u32::MAX / 97).map(|i| i * 97);
    let near = edges.iter().flat_map(|&e| {
        let lo = e.saturating_sub(1 << 16);
        (lo..=e.saturating_add(1 << 16)).flat_map(|b| [b, b | 0x8000_0000])
    });
    strided.chain(near)
}

const TANH_EDGES: [u32; 7] =
    [0x0080_0000, 0x3300_0000, 0x3e82_c578, 0x3eb1_7218, 0x3f0c_9f54, 0x3f85_1592, 0x4120_0000];
const EXP_EDGES: [u32; 5] = [0x3900_0000, 0x3eb1_7218, 0x3f85_1592, 0x42ae_ac50, 0x42b1_7218];

#[test]
fn tanh_is_libm_on_a_sample() {
    assert!(check(sample(&TANH_EDGES), lanes::tanh, libm::tanhf) > 44_000_000);
}

#[test]
fn exp_is_libm_on_a_sample() {
    assert!(check(sample(&EXP_EDGES), lanes::exp, libm::expf) > 44_000_000);
}

#[test]
#[ignore = "all 2^32 inputs: run in release (tools/test does)"]
fn tanh_is_libm_everywhere() {
    assert_eq!(check(0..=u32::MAX, lanes::tanh, libm::tanhf), 1 << 32);
}

#[test]
#[ignore = "all 2^32 inputs: run in release (tools/test does)"]
fn exp_is_libm_everywhere() {
    assert_eq!(check(0..=u32::MAX, lanes::exp, libm::expf), 1 << 32);
}
