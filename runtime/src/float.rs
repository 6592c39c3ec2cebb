//! The float reference (f32 files): f32 weights and activations, `libm`'s tanh and exp, a
//! softmax and a 24-bit coin. Every operation is in a fixed order, so the same file, seed
//! and settings give the same bits on every platform (x86, Cortex-M4F, soft-float M0).

use crate::format::{Header, Linear, Quant, Weights};
use crate::kernels;
use crate::network::{stage_sizes, state_at, stream_batch_alone, weights_key, Network, Scratch};
use crate::rng::Pcg32;
use crate::sampler::{one_hot, top_k, SampleConfig};
use crate::stream::{self, Stack};
use crate::tensor::{f32_le, words};
use crate::Error;

/// An f32 model, ready to run (see [`crate::Model::float`]).
#[derive(Clone, Copy, Debug)]
pub struct FloatNet<'m, 'a, const STREAM: bool = true> {
    header: &'m Header<'a>,
    weights: &'m Weights<'a>,
    /// `stage_sizes` of the model, computed once.
    stages: (usize, usize),
}

/// The float path's sampling settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatSampler {
    /// Divides the logits; 0 picks the most likely symbol.
    temperature: f32,
    top_k: usize,
}

impl FloatSampler {
    /// `cfg` for the float path.
    pub fn new(cfg: &SampleConfig) -> Result<Self, Error> {
        cfg.temperature.check()?;
        // milli / 1000 correctly rounded, which is the f32 a decimal literal gives: T = 0.8
        // here and `0.8f32` are the same number.
        Ok(Self { temperature: cfg.temperature.milli() as f32 / 1000.0, top_k: cfg.top_k })
    }
}

impl<'m, 'a, const STREAM: bool> FloatNet<'m, 'a, STREAM> {
    /// The net of a model's header and weights, whose file must hold this net's numbers
    /// (the callers check).
    pub(crate) fn of(header: &'m Header<'a>, weights: &'m Weights<'a>) -> Self {
        Self { header, weights, stages: stage_sizes(header) }
    }

    /// The same net without streaming generation ([`crate::stream`]): [`Network::stream_words`]
    /// is 0 whatever the model, so `generate` runs the full forward pass at every step and the
    /// streaming code is not linked. For a firmware whose model has nothing to stream (a
    /// Bengio MLP): `embed_model`'s `model::net` returns this one then (2.5 KB less flash).
    pub fn without_streaming(self) -> FloatNet<'m, 'a, false> {
        FloatNet { header: self.header, weights: self.weights, stages: self.stages }
    }

    pub(crate) fn new(header: &'m Header<'a>, weights: &'m Weights<'a>) -> Result<Self, Error> {
        match header.quant {
            Quant::F32 => Ok(Self::of(header, weights)),
            q => Err(Error::WrongNumberFormat { found: q.name(), expected: Quant::F32.name() }),
        }
    }

    /// Logits of the next symbol after `ctx` (`[block_size]` ids, oldest first, padded with
    /// 0): `[vocab_size]` values in `scratch`.
    pub fn logits<'s>(&self, ctx: &[u8], scratch: &'s mut Scratch<'_>) -> Result<&'s [f32], Error> {
        scratch.check(self)?;
        let h = self.header;
        if ctx.len() != h.block_size {
            return Err(Error::ContextLength { expected: h.block_size, found: ctx.len() });
        }
        let vocab_size = h.vocab.len();
        if let Some(&id) = ctx.iter().find(|&&id| usize::from(id) >= vocab_size) {
            return Err(Error::SymbolOutOfRange { id, vocab_size });
        }
        Ok(self.forward(ctx, scratch.work))
    }

    /// The forward pass proper. `work: [even + odd + vocab]` f32 words (see `stage_sizes`):
    /// the embeddings and every even layer's input in the first part, odd layers' inputs in
    /// the second, the logits last. Returns the logits.
    fn forward<'w>(&self, ctx: &[u8], work: &'w mut [u32]) -> &'w mut [f32] {
        let (h, w) = (self.header, self.weights);
        let (n_even, n_odd) = self.stages;
        let work: &mut [f32] = bytemuck::cast_slice_mut(work);
        let (even, rest) = split(work, n_even);
        let (odd, rest) = split(rest, n_odd);
        let (logits, _) = split(rest, h.vocab.len());
        match w {
            Weights::Bigram { table, .. } => {
                embed(logits, table, h.vocab.len(), usize::from(ctx.last().copied().unwrap_or(0)))
            }
            Weights::Mlp { c, layers } => {
                // even[p * n_embd..] = C[ctx[p]]: the concatenated embeddings.
                for (x_p, &id) in even.chunks_exact_mut(h.n_embd.max(1)).zip(ctx) {
                    embed(x_p, c, h.n_embd, usize::from(id));
                }
                let last = layers.len().saturating_sub(1);
                for (k, layer) in layers.iter().enumerate() {
                    let (x, out) = match (k % 2, k == last) {
                        (0, false) => (&*even, &mut *odd),
                        (_, false) => (&*odd, &mut *even),
                        (0, true) => (&*even, &mut *logits),
                        (_, true) => (&*odd, &mut *logits),
                    };
                    linear(out, x, h, k, layer);
                    if k != last {
                        let (t, n_out) = h.stage(k + 1);
                        kernels::tanh(out.get_mut(..t * n_out).unwrap_or(&mut []));
                    }
                }
            }
        }
        logits
    }
}

impl<const STREAM: bool> FloatNet<'_, '_, STREAM> {
    /// The logits for the context `state` has seen: the last layer on the top ring's outputs
    /// (the full forward pass for a net that does not stream). `work` as for `forward`.
    #[inline(never)] // as the stream's functions: locals in a frame of their own
    fn stream_forward<'w>(&self, ctx: &[u8], state: &mut [u32], work: &'w mut [u32]) -> &'w mut [f32] {
        let (h, w) = (self.header, self.weights);
        let (Weights::Mlp { layers, .. }, true) = (w, STREAM && stream::is_set(state)) else {
            return self.forward(ctx, work);
        };
        let (n_even, n_odd) = self.stages;
        let work: &mut [f32] = bytemuck::cast_slice_mut(work);
        let (x, rest) = split(work, n_even);
        let (_, rest) = split(rest, n_odd);
        let (logits, _) = split(rest, h.vocab.len());
        let x = stream::top(state, x);
        if let Some(layer) = layers.last() {
            linear(logits, x, h, layers.len() - 1, layer);
        }
        logits
    }
}

/// One embedding row and one position of a hidden layer, for streaming ([`crate::stream`]).
impl<const STREAM: bool> Stack for FloatNet<'_, '_, STREAM> {
    type V = f32;

    fn embed_one(&self, id: u8, out: &mut [f32]) {
        let (h, w) = (self.header, self.weights);
        if let Weights::Mlp { c, .. } = w {
            embed(out, c, h.n_embd, usize::from(id));
        }
    }

    fn hidden_one(&self, k: usize, x: &[f32], out: &mut [f32]) {
        if let Weights::Mlp { layers, .. } = self.weights {
            if let Some(layer) = layers.get(k) {
                kernels::linear_f32_x4(out, x, words(layer.w), words(layer.b));
                kernels::tanh(out);
            }
        }
    }
}

/// `buf` split after `n` values (or at its end).
fn split<T>(buf: &mut [T], n: usize) -> (&mut [T], &mut [T]) {
    let n = n.min(buf.len());
    buf.split_at_mut(n)
}

/// Layer `k` over every position: `out[t] = W x[t] + b`, where `x[t]` concatenates
/// `n_merge` consecutive positions of the layer's input (contiguous in `x`).
fn linear(out: &mut [f32], x: &[f32], h: &Header, k: usize, layer: &Linear) {
    let (t_out, n_out) = h.stage(k + 1);
    let n_in = h.layers.as_slice().get(k).map_or(0, |l| l.n_merge) * h.stage(k).1;
    let (w, b) = (words(layer.w), words(layer.b));
    for (out_t, x_t) in out.chunks_exact_mut(n_out.max(1)).zip(x.chunks_exact(n_in.max(1))).take(t_out) {
        kernels::linear_f32_x4(out_t, x_t, w, b);
    }
}

/// Row `row` of a `[_, cols]` f32 table into `out`.
fn embed(out: &mut [f32], table: &[u8], cols: usize, row: usize) {
    kernels::dequant_f32(out, words(table).get(row * cols..(row + 1) * cols).unwrap_or(&[]));
}

/// Picks the next symbol from `logits` (`[vocab]`, overwritten with the probabilities):
/// argmax at temperature 0, else top-k, softmax(logits / temperature) and one 24-bit coin.
pub fn sample(logits: &mut [f32], s: &FloatSampler, rng: &mut Pcg32) -> usize {
    if s.temperature == 0.0 {
        return kernels::argmax(logits);
    }
    softmax(logits, s);
    sample_mult(logits, rng.next_f32())
}

/// `logits` (temperature above 0) turned into [`sample`]'s probabilities in place:
/// divided by the temperature, top-k, softmax.
fn softmax(logits: &mut [f32], s: &FloatSampler) {
    for v in logits.iter_mut() {
        *v /= s.temperature;
    }
    top_k(logits, s.top_k, f32::NEG_INFINITY);
    kernels::softmax(logits);
}

/// The probabilities [`sample`] draws with from `logits` (overwritten): the softmax over its
/// f32 sum, as [`sample_mult`] scales its coin; at temperature 0 all on the argmax.
fn distribution(logits: &mut [f32], s: &FloatSampler, probs: &mut [f64]) {
    if s.temperature == 0.0 {
        one_hot(probs, kernels::argmax(logits));
        return;
    }
    softmax(logits, s);
    let total: f32 = logits.iter().sum();
    for (p, &q) in probs.iter_mut().zip(logits.iter()) {
        *p = f64::from(q) / f64::from(total);
    }
}

/// Index drawn from the distribution `probs` with `coin` in `[0, 1)` (llama2.c's
/// `sample_mult`): the first index whose running sum exceeds `coin * sum(probs)`.
///
/// Rounding can leave the running sum just below the target; then the last index with a
/// nonzero probability is returned, so a masked-out symbol is never picked. Returns 0 for an
/// empty or all-zero slice.
pub fn sample_mult(probs: &[f32], coin: f32) -> usize {
    let total: f32 = probs.iter().sum();
    let target = coin * total;
    let mut cdf = 0.0f32;
    let mut last_nonzero = 0;
    for (i, &p) in probs.iter().enumerate() {
        cdf += p;
        if p > 0.0 {
            last_nonzero = i;
            if target < cdf {
                return i;
            }
        }
    }
    last_nonzero
}

impl<const STREAM: bool> Network for FloatNet<'_, '_, STREAM> {
    type Sampler = FloatSampler;

    fn header(&self) -> &Header<'_> {
        self.header
    }

    fn work_words(&self) -> usize {
        let h = self.header;
        let (even, odd) = self.stages;
        even.saturating_add(odd).saturating_add(h.vocab.len())
    }

    fn batch_work_words(&self, n: usize) -> usize {
        // The activations and logits of every name, feature-major, and one name's logits.
        self.work_words().saturating_mul(n).saturating_add(self.header.vocab.len())
    }

    fn sampler(&self, cfg: &SampleConfig) -> Result<FloatSampler, Error> {
        FloatSampler::new(cfg)
    }

    fn next_symbol(&self, ctx: &[u8], work: &mut [u32], s: &FloatSampler, rng: &mut Pcg32) -> usize {
        sample(self.forward(ctx, work), s, rng)
    }

    fn logits_into(&self, ctx: &[u8], work: &mut [u32], logits: &mut [u32]) {
        let z: &[u32] = bytemuck::cast_slice(self.forward(ctx, work));
        for (dst, &z) in logits.iter_mut().zip(z) {
            *dst = z;
        }
    }

    fn draw(&self, logits: &mut [u32], s: &FloatSampler, rng: &mut Pcg32) -> usize {
        sample(bytemuck::cast_slice_mut(logits), s, rng)
    }

    fn model_key(&self) -> usize {
        weights_key(self.weights)
    }

    stream::network_methods!(f32, FloatSampler);

    fn distribution(&self, ctx: &[u8], work: &mut [u32], s: &FloatSampler, probs: &mut [f64]) {
        distribution(self.forward(ctx, work), s, probs);
    }

    fn log_prob(&self, ctx: &[u8], work: &mut [u32], target: u8) -> f64 {
        let logits = self.forward(ctx, work);
        let logit = logits.get(usize::from(target)).copied().unwrap_or(f32::NEG_INFINITY);
        f64::from(logit - kernels::logsumexp(logits))
    }

    fn forward_batch(&self, ctx: &[u8], n: usize, work: &mut [u32]) {
        let (h, w) = (self.header, self.weights);
        let (n_even, n_odd) = self.stages;
        let work: &mut [f32] = bytemuck::cast_slice_mut(work);
        let (even, rest) = split(work, n_even * n);
        let (odd, rest) = split(rest, n_odd * n);
        let (logits, _) = split(rest, h.vocab.len() * n);
        let block = h.block_size.max(1);
        match w {
            Weights::Bigram { table, .. } => {
                for (k, c) in ctx.chunks_exact(block).take(n).enumerate() {
                    embed_column(logits, n, k, table, h.vocab.len(), usize::from(c.last().copied().unwrap_or(0)));
                }
            }
            Weights::Mlp { c, layers } => {
                for (k, ids) in ctx.chunks_exact(block).take(n).enumerate() {
                    // Symbol p of the context fills features [p * n_embd, (p + 1) * n_embd).
                    for (x_p, &id) in even.chunks_exact_mut(h.n_embd * n).zip(ids) {
                        embed_column(x_p, n, k, c, h.n_embd, usize::from(id));
                    }
                }
                let last = layers.len().saturating_sub(1);
                for (k, layer) in layers.iter().enumerate() {
                    let (x, out) = match (k % 2, k == last) {
                        (0, false) => (&*even, &mut *odd),
                        (_, false) => (&*odd, &mut *even),
                        (0, true) => (&*even, &mut *logits),
                        (_, true) => (&*odd, &mut *logits),
                    };
                    let (t_out, n_out) = h.stage(k + 1);
                    let n_in = h.layers.as_slice().get(k).map_or(0, |l| l.n_merge) * h.stage(k).1;
                    let (wv, b) = (words(layer.w), words(layer.b));
                    // Position t's inputs are features [t * n_in, (t + 1) * n_in): rows of x.
                    for (out_t, x_t) in out.chunks_exact_mut(n_out * n).zip(x.chunks_exact(n_in * n)).take(t_out) {
                        kernels::linear_f32_batch(out_t, x_t, n, wv, b);
                    }
                    if k != last {
                        kernels::tanh(out.get_mut(..t_out * n_out * n).unwrap_or(&mut []));
                    }
                }
            }
        }
    }

    fn stream_batch(&self, ctx: &[u8], n: usize, states: &mut [u32], slots: &[u16], push: bool, work: &mut [u32]) {
        let (h, w) = (self.header, self.weights);
        let per = self.stream_words();
        let Weights::Mlp { c, layers } = w else { return self.forward_batch(ctx, n, work) };
        let state_at = |k: usize| state_at(slots, per, k);
        if stream_batch_alone(self, ctx, n, states, slots, push, work) {
            return;
        }
        let (n_even, n_odd) = self.stages;
        let work: &mut [f32] = bytemuck::cast_slice_mut(work);
        let (even, rest) = split(work, n_even * n);
        let (odd, rest) = split(rest, n_odd * n);
        let (logits, _) = split(rest, h.vocab.len() * n);
        let (block, last) = (h.block_size.max(1), layers.len().saturating_sub(1));
        for (k, layer) in layers.iter().enumerate().skip(if push { 0 } else { last }) {
            let n_merge = h.layers.as_slice().get(k).map_or(0, |l| l.n_merge);
            let (n_in, n_out) = (n_merge * h.stage(k).1, h.stage(k + 1).1);
            let (x, out) = if k % 2 == 0 { (&mut *even, &mut *odd) } else { (&mut *odd, &mut *even) };
            // Every name's input for the newest position, feature-major (see `forward_batch`).
            if k == 0 {
                for (lane, ids) in ctx.chunks_exact(block).take(n).enumerate() {
                    if let Some(state) = state_at(lane).and_then(|at| states.get_mut(at..at + per)) {
                        stream::advance(state);
                    }
                    let newest = ids.get(block.saturating_sub(n_merge)..).unwrap_or(&[]);
                    for (j, &id) in newest.iter().enumerate() {
                        let row = words(c).get(usize::from(id) * h.n_embd..).unwrap_or(&[]);
                        for (f, v) in row.iter().take(h.n_embd).enumerate() {
                            if let Some(slot) = x.get_mut((j * h.n_embd + f) * n + lane) {
                                *slot = f32_le(v);
                            }
                        }
                    }
                }
            } else if let Some(inputs) =
                state_at(0).and_then(|s0| stream::Inputs::of::<f32>(states.get_mut(s0..s0 + per)?, k))
            {
                // Every lane's segments, at the same places in each name's state.
                let values: &[f32] = bytemuck::cast_slice(states);
                let width = inputs.width();
                for (i0, at) in inputs.segments() {
                    for lane in 0..n {
                        let Some(src) = state_at(lane).and_then(|base| values.get(base + at..base + at + width)) else {
                            continue;
                        };
                        for (i, &v) in src.iter().enumerate() {
                            if let Some(slot) = x.get_mut((i0 + i) * n + lane) {
                                *slot = v;
                            }
                        }
                    }
                }
            }
            let x = x.get(..n_in * n).unwrap_or(&[]);
            let (wv, b) = (words(layer.w), words(layer.b));
            if k == last {
                kernels::linear_f32_batch(logits.get_mut(..n_out * n).unwrap_or(&mut []), x, n, wv, b);
                continue;
            }
            let out = out.get_mut(..n_out * n).unwrap_or(&mut []);
            kernels::linear_f32_batch(out, x, n, wv, b);
            kernels::tanh(out);
            // The outputs into every name's ring: the same slot in each state.
            let at = state_at(0).and_then(|s0| stream::output_index::<f32>(states.get_mut(s0..s0 + per)?, k));
            let Some(at) = at else { continue };
            let values: &mut [f32] = bytemuck::cast_slice_mut(states);
            for lane in 0..n {
                let Some(base) = state_at(lane) else { continue };
                let dst = values.get_mut(base + at..base + at + n_out).unwrap_or(&mut []);
                for (d, &v) in dst.iter_mut().zip(out.iter().skip(lane).step_by(n.max(1))) {
                    *d = v;
                }
            }
        }
    }

    fn sample_batch(&self, work: &mut [u32], n: usize, k: usize, s: &FloatSampler, rng: &mut Pcg32) -> usize {
        let h = self.header;
        let (n_even, n_odd) = self.stages;
        let work: &mut [f32] = bytemuck::cast_slice_mut(work);
        let (_, rest) = split(work, (n_even + n_odd) * n);
        let (logits, rest) = split(rest, h.vocab.len() * n);
        let (probs, _) = split(rest, h.vocab.len());
        for (p, row) in probs.iter_mut().zip(logits.chunks_exact(n.max(1))) {
            *p = row.get(k).copied().unwrap_or(f32::NEG_INFINITY);
        }
        sample(probs, s, rng)
    }
}

/// Row `row` of a `[_, cols]` f32 table into column `k` of a feature-major buffer `dst_t`
/// (`[cols * n]`).
fn embed_column(dst_t: &mut [f32], n: usize, k: usize, table: &[u8], cols: usize, row: usize) {
    let values = words(table).get(row * cols..(row + 1) * cols).unwrap_or(&[]);
    for (feature, v) in dst_t.chunks_exact_mut(n.max(1)).zip(values) {
        if let Some(slot) = feature.get_mut(k) {
            *slot = f32_le(v);
        }
    }
}
