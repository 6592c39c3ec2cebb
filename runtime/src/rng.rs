//! PCG32 (PCG-XSH-RR 64/32, O'Neill 2014): the one random number generator of the project.
//!
//! Hand-written rather than taken from `rand_pcg` so the firmware needs no `rand` stack and the
//! stream is fixed by this file: same seed, same numbers on every platform. The tests check it
//! against the published reference outputs and against `rand_pcg`.

const MULTIPLIER: u64 = 6364136223846793005;

/// The stream [`Pcg32::from_seed`] uses: the one of the reference `pcg32-demo` (seed 42, stream 54).
pub const DEFAULT_STREAM: u64 = 54;

/// PCG32 generator state: a 64-bit LCG state and an odd increment (the stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pcg32 {
    state: u64,
    inc: u64,
}

impl Pcg32 {
    /// Seeds like the reference `pcg32_srandom_r(rng, initstate, initseq)`.
    pub const fn new(initstate: u64, initseq: u64) -> Self {
        let inc = (initseq << 1) | 1;
        let mut rng = Self { state: 0, inc };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    /// A generator for `seed` on [`DEFAULT_STREAM`].
    pub const fn from_seed(seed: u64) -> Self {
        Self::new(seed, DEFAULT_STREAM)
    }

    /// The generator of name `index` (0, 1, 2, ...) of a list of names drawn with `seed`: the
    /// seed on stream [`DEFAULT_STREAM`]` + index`, so every name has a stream of its own and
    /// name 0 draws what [`Pcg32::from_seed`] draws. Name `i` of seed `s` is the same word
    /// however many names are asked for and in whatever batches they are computed
    /// ([`crate::generate_batch`]); `trainer sample`, the firmware and the playground all
    /// number their names this way, so they print the same list.
    pub const fn for_name(seed: u64, index: u64) -> Self {
        Self::new(seed, DEFAULT_STREAM.wrapping_add(index))
    }

    /// The generator's (state, increment), to save it and continue later with [`Pcg32::from_state`].
    pub const fn state(&self) -> (u64, u64) {
        (self.state, self.inc)
    }

    /// A generator continuing from a saved [`Pcg32::state`] (the increment is forced odd).
    pub const fn from_state(state: u64, inc: u64) -> Self {
        Self { state, inc: inc | 1 }
    }

    const fn step(&mut self) {
        self.state = self.state.wrapping_mul(MULTIPLIER).wrapping_add(self.inc);
    }

    /// The next 32 random bits.
    pub const fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.step();
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rot = (old >> 59) as u32;
        xorshifted.rotate_right(rot)
    }

    /// A uniform coin in `[0, 1)`: the top 24 bits of [`Pcg32::next_u32`], so every value is
    /// exactly representable in an f32.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }
}
