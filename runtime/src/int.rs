//! The integer model (int8 files): int8 weights, i32 sums, i16 activations, table tanh,
//! integer softmax and sampling, all defined in [`crate::quant`]. Nothing on this path uses
//! floating point ([`IntNet::log_prob`], for evaluation, is the one exception), so a build
//! that runs only an `IntNet` links no float code at all.

use crate::arch;
use crate::format::{Header, Linear, Quant, Weights};
use crate::int_kernels::{self, Logits, Tanh};
use crate::model::{stage_sizes, Model, Network, Scratch};
use crate::quant::{hidden, requant, sample_weights, Softmax, BIGRAM_SHIFT, EMBED_SHIFT};
use crate::rng::Pcg32;
use crate::sampler::{top_k, SampleConfig};
use crate::tensor::{i32_le, int8s, words};
use crate::Error;

/// An int8 file's integer model, ready to run (see [`Model::int`]).
#[derive(Clone, Copy, Debug)]
pub struct IntNet<'m, 'a> {
    model: &'m Model<'a>,
    /// `stage_sizes` of the model, computed once.
    stages: (usize, usize),
}

/// The integer path's sampling settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntSampler {
    /// `None` at temperature 0: the most likely symbol, no random number.
    softmax: Option<Softmax>,
    top_k: usize,
}

/// `buf` split after `n` values (or at its end).
fn split<T>(buf: &mut [T], n: usize) -> (&mut [T], &mut [T]) {
    let n = n.min(buf.len());
    buf.split_at_mut(n)
}

impl IntSampler {
    /// `cfg` for the integer path.
    pub fn new(cfg: &SampleConfig) -> Result<Self, Error> {
        cfg.temperature.check()?;
        let milli = cfg.temperature.milli();
        Ok(Self { softmax: (milli > 0).then(|| Softmax::new(milli)), top_k: cfg.top_k })
    }
}

impl<'m, 'a> IntNet<'m, 'a> {
    /// The net of `model`, whose file must hold this net's numbers (the callers check).
    pub(crate) fn of(model: &'m Model<'a>) -> Self {
        Self { model, stages: stage_sizes(model.parts().0) }
    }

    pub fn new(model: &'m Model<'a>) -> Result<Self, Error> {
        match model.parts().0.quant {
            Quant::Int8 => Ok(Self::of(model)),
            q => Err(Error::WrongNumberFormat { found: q.name(), expected: Quant::Int8.name() }),
        }
    }

    /// Logits of the next symbol after `ctx` (`[block_size]` ids, oldest first, padded with
    /// 0), in Q12 (`z / 4096` nats): `[vocab_size]` values in `scratch`.
    pub fn logits<'s>(&self, ctx: &[u8], scratch: &'s mut Scratch<'_>) -> Result<&'s [i32], Error> {
        scratch.check(self)?;
        let h = self.model.parts().0;
        if ctx.len() != h.block_size {
            return Err(Error::ContextLength { expected: h.block_size, found: ctx.len() });
        }
        let vocab_size = h.vocab.len();
        if let Some(&id) = ctx.iter().find(|&&id| usize::from(id) >= vocab_size) {
            return Err(Error::SymbolOutOfRange { id, vocab_size });
        }
        Ok(self.forward(ctx, scratch.work))
    }

    /// The forward pass proper. `work` holds, in words: `[ceil(even / 2)]` and
    /// `[ceil(odd / 2)]` of i16 activations (see `stage_sizes`), then `[vocab]` i32 logits.
    fn forward<'w>(&self, ctx: &[u8], work: &'w mut [u32]) -> &'w mut [i32] {
        let (h, w) = self.model.parts();
        let (n_even, n_odd) = self.stages;
        let (even, rest) = split(work, n_even.div_ceil(2));
        let (odd, rest) = split(rest, n_odd.div_ceil(2));
        let (logits, _) = split(rest, h.vocab.len());
        let even: &mut [i16] = bytemuck::cast_slice_mut(even);
        let odd: &mut [i16] = bytemuck::cast_slice_mut(odd);
        let logits: &mut [i32] = bytemuck::cast_slice_mut(logits);
        match w {
            Weights::Bigram { table, requant: m } => {
                let prev = usize::from(ctx.last().copied().unwrap_or(0));
                let v = h.vocab.len();
                let m = words(m).get(prev).map_or(0, i32_le);
                let row = int8s(table).get(prev * v..(prev + 1) * v).unwrap_or(&[]);
                for (z, &q) in logits.iter_mut().zip(row) {
                    *z = requant(i32::from(q) << BIGRAM_SHIFT, m);
                }
            }
            Weights::Mlp { c, layers } => {
                // even[p * n_embd..] = C[ctx[p]] << 8: the concatenated embeddings.
                for (x_p, &id) in even.chunks_exact_mut(h.n_embd.max(1)).zip(ctx) {
                    embed(x_p, c, h.n_embd, usize::from(id));
                }
                let last = layers.len().saturating_sub(1);
                for (k, layer) in layers.iter().enumerate() {
                    match (k % 2, k == last) {
                        (0, false) => hidden_layer(odd, even, h, k, layer),
                        (_, false) => hidden_layer(even, odd, h, k, layer),
                        (0, true) => logits_layer(logits, even, h, k, layer),
                        (_, true) => logits_layer(logits, odd, h, k, layer),
                    }
                }
            }
        }
        logits
    }
}

/// Row `row` of a `[_, cols]` int8 table, widened to i16 activations (`q << 8`), into `out`.
fn embed(out: &mut [i16], table: &[u8], cols: usize, row: usize) {
    for (o, &q) in out.iter_mut().zip(int8s(table).get(row * cols..(row + 1) * cols).unwrap_or(&[])) {
        *o = i16::from(q) << EMBED_SHIFT;
    }
}

/// Layer `k`'s inputs per position.
fn n_in(h: &Header, k: usize) -> usize {
    h.layers.as_slice().get(k).map_or(0, |l| l.n_merge) * h.stage(k).1
}

/// Hidden layer `k` over every position: `out[t * n_out + i] = tanh(requant(row i's sum))`.
fn hidden_layer(out: &mut [i16], x: &[i16], h: &Header, k: usize, layer: &Linear) {
    let (t_out, n_out) = h.stage(k + 1);
    let n_in = n_in(h, k);
    let (w, b, m) = (int8s(layer.w), words(layer.b), words(layer.requant));
    for (out_t, x_t) in out.chunks_exact_mut(n_out.max(1)).zip(x.chunks_exact(n_in.max(1))).take(t_out) {
        arch::linear::<Tanh>(x_t, w, b, m, out_t);
    }
}

/// The last layer (one position): `logits[i] = requant(row i's sum)`.
fn logits_layer(logits: &mut [i32], x: &[i16], h: &Header, k: usize, layer: &Linear) {
    let (w, b, m) = (int8s(layer.w), words(layer.b), words(layer.requant));
    arch::linear::<Logits>(x.get(..n_in(h, k)).unwrap_or(&[]), w, b, m, logits);
}

/// The first index of the largest value; 0 for an empty slice.
fn argmax(z: &[i32]) -> usize {
    let mut best = 0;
    for (i, &v) in z.iter().enumerate() {
        if z.get(best).is_some_and(|&b| v > b) {
            best = i;
        }
    }
    best
}

/// Picks the next symbol from Q12 `logits` (`[vocab]`, overwritten with the weights): argmax
/// at temperature 0, else top-k, the integer softmax's weights and one random `u32`.
pub fn sample(logits: &mut [i32], s: &IntSampler, rng: &mut Pcg32) -> usize {
    let Some(softmax) = s.softmax else { return argmax(logits) };
    // Logits are above -2^30, so i32::MIN marks the symbols top-k removes.
    top_k(logits, s.top_k, i32::MIN);
    let z_max = logits.iter().copied().max().unwrap_or(0);
    let weights: &mut [u32] = bytemuck::cast_slice_mut(logits);
    for w in weights.iter_mut() {
        let z = *w as i32;
        *w = if z == i32::MIN { 0 } else { softmax.weight(z_max.wrapping_sub(z) as u32) };
    }
    sample_weights(weights, rng.next_u32())
}

impl Network for IntNet<'_, '_> {
    type Sampler = IntSampler;

    fn header(&self) -> &Header<'_> {
        self.model.parts().0
    }

    fn work_words(&self) -> usize {
        let h = self.model.parts().0;
        let (even, odd) = self.stages;
        even.div_ceil(2).saturating_add(odd.div_ceil(2)).saturating_add(h.vocab.len())
    }

    fn batch_work_words(&self, n: usize) -> usize {
        let h = self.model.parts().0;
        let (even, odd) = batch_stage_words(h, n);
        even.saturating_add(odd).saturating_add(h.vocab.len().saturating_mul(n + 1))
    }

    fn sampler(&self, cfg: &SampleConfig) -> Result<IntSampler, Error> {
        IntSampler::new(cfg)
    }

    fn next_symbol(&self, ctx: &[u8], work: &mut [u32], s: &IntSampler, rng: &mut Pcg32) -> usize {
        sample(self.forward(ctx, work), s, rng)
    }

    fn log_prob(&self, ctx: &[u8], work: &mut [u32], target: u8) -> f64 {
        let logits = self.forward(ctx, work);
        let softmax = Softmax::new(1000);
        let z_max = logits.iter().copied().max().unwrap_or(0);
        let (mut total, mut w_target) = (0u64, 0u64);
        for (i, &z) in logits.iter().enumerate() {
            let w = u64::from(softmax.weight(z_max.wrapping_sub(z) as u32));
            total += w;
            if i == usize::from(target) {
                w_target = w;
            }
        }
        libm::log(w_target as f64) - libm::log(total as f64)
    }

    fn forward_batch(&self, ctx: &[u8], n: usize, work: &mut [u32]) {
        let (h, w) = self.model.parts();
        let (n_even, n_odd) = batch_stage_words(h, n);
        let (even, rest) = split(work, n_even);
        let (odd, rest) = split(rest, n_odd);
        let (logits, _) = split(rest, h.vocab.len() * n);
        let even: &mut [i16] = bytemuck::cast_slice_mut(even);
        let odd: &mut [i16] = bytemuck::cast_slice_mut(odd);
        let logits: &mut [i32] = bytemuck::cast_slice_mut(logits);
        let block = h.block_size.max(1);
        match w {
            Weights::Bigram { table, requant: m } => {
                let v = h.vocab.len();
                for (k, c) in ctx.chunks_exact(block).take(n).enumerate() {
                    let prev = usize::from(c.last().copied().unwrap_or(0));
                    let m = words(m).get(prev).map_or(0, i32_le);
                    let row = int8s(table).get(prev * v..(prev + 1) * v).unwrap_or(&[]);
                    for (z, &q) in logits.chunks_exact_mut(n).zip(row) {
                        if let Some(z) = z.get_mut(k) {
                            *z = requant(i32::from(q) << BIGRAM_SHIFT, m);
                        }
                    }
                }
            }
            Weights::Mlp { c, layers } => {
                let input = PairMajor::new(h, 0, n);
                even.fill(0);
                for (k, ids) in ctx.chunks_exact(block).take(n).enumerate() {
                    for (p, &id) in ids.iter().enumerate() {
                        let row = int8s(c).get(usize::from(id) * h.n_embd..).unwrap_or(&[]);
                        for (e, &q) in row.iter().take(h.n_embd).enumerate() {
                            if let Some(slot) = even.get_mut(input.index(p, e, k)) {
                                *slot = i16::from(q) << EMBED_SHIFT;
                            }
                        }
                    }
                }
                let last = layers.len().saturating_sub(1);
                for (k, layer) in layers.iter().enumerate() {
                    let (x, out) = if k % 2 == 0 { (&*even, &mut *odd) } else { (&*odd, &mut *even) };
                    let input = PairMajor::new(h, k, n);
                    let t_out = h.stage(k + 1).0;
                    let (w, b, m) = (int8s(layer.w), words(layer.b), words(layer.requant));
                    if k == last {
                        int_kernels::linear_batch(x, n, input.n_in, w, b, |i, lane, acc| {
                            if let (Some(z), Some(m)) = (logits.get_mut(i * n + lane), m.get(i)) {
                                *z = requant(acc, i32_le(m));
                            }
                        });
                        continue;
                    }
                    let next = PairMajor::new(h, k + 1, n);
                    out.fill(0);
                    for t in 0..t_out {
                        let x_t = x.get(t * input.block..(t + 1) * input.block).unwrap_or(&[]);
                        int_kernels::linear_batch(x_t, n, input.n_in, w, b, |i, lane, acc| {
                            if let (Some(o), Some(m)) = (out.get_mut(next.index(t, i, lane)), m.get(i)) {
                                *o = hidden(acc, i32_le(m));
                            }
                        });
                    }
                }
            }
        }
    }

    fn sample_batch(&self, work: &mut [u32], n: usize, k: usize, s: &IntSampler, rng: &mut Pcg32) -> usize {
        let h = self.model.parts().0;
        let (n_even, n_odd) = batch_stage_words(h, n);
        let (_, rest) = split(work, n_even + n_odd);
        let (logits, rest) = split(rest, h.vocab.len() * n);
        let (row, _) = split(rest, h.vocab.len());
        let (logits, row): (&[i32], &mut [i32]) = (bytemuck::cast_slice(logits), bytemuck::cast_slice_mut(row));
        for (z, zs) in row.iter_mut().zip(logits.chunks_exact(n.max(1))) {
            *z = zs.get(k).copied().unwrap_or(0);
        }
        sample(row, s, rng)
    }
}

/// The batch path's layout of layer `k`'s input for `n` names ("pair-major"): one block per
/// output position `t`, holding the `n_in = n_merge * features` inputs of that position as
/// `[ceil(n_in / 2) pairs][n names][2]` i16, an odd last input paired with a 0 (see
/// [`int_kernels::linear_batch`]).
struct PairMajor {
    n: usize,
    n_merge: usize,
    /// Features per position of the stage.
    features: usize,
    n_in: usize,
    /// i16 values per output position.
    block: usize,
}

impl PairMajor {
    /// Layer `k`'s input (`k = 0`: the embeddings).
    fn new(h: &Header, k: usize, n: usize) -> Self {
        let n_merge = h.layers.as_slice().get(k).map_or(1, |l| l.n_merge);
        let features = h.stage(k).1;
        let n_in = n_merge * features;
        Self { n, n_merge, features, n_in, block: n_in.div_ceil(2) * 2 * n }
    }

    /// Where feature `f` of position `p` of name `k` goes.
    fn index(&self, p: usize, f: usize, k: usize) -> usize {
        let (t, j) = (p / self.n_merge.max(1), (p % self.n_merge.max(1)) * self.features + f);
        t * self.block + (j / 2 * self.n + k) * 2 + j % 2
    }
}

/// Words of the batch path's two activation buffers (even and odd layers' inputs) for `n`.
fn batch_stage_words(h: &Header, n: usize) -> (usize, usize) {
    let mut words = (0usize, 0usize);
    for k in 0..h.layers.as_slice().len() {
        let input = PairMajor::new(h, k, n);
        let size = (h.stage(k + 1).0.saturating_mul(input.block)).div_ceil(2);
        if k % 2 == 0 {
            words.0 = words.0.max(size);
        } else {
            words.1 = words.1.max(size);
        }
    }
    words
}
