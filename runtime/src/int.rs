//! The integer model (int8 files): int8 weights, i32 sums, i16 activations, table tanh,
//! integer softmax and sampling, all defined in [`crate::quant`]. Nothing on this path uses
//! floating point ([`IntNet::log_prob`], for evaluation, is the one exception), so a build
//! that runs only an `IntNet` links no float code at all.

use crate::arch;
use crate::batch::MAX_BATCH;
use crate::format::{Header, Linear, ModelKind, Quant, Weights};
use crate::int_kernels::{batch_stride, Logits, Tanh};
use crate::network::{stage_sizes, state_at, stream_batch_alone, weights_key, Network, Scratch};
use crate::quant::{requant, sample_weights, Softmax, BIGRAM_SHIFT, EMBED_SHIFT};
use crate::rng::Pcg32;
use crate::sampler::{one_hot, top_k, SampleConfig};
use crate::stream::{self, Stack};
use crate::tensor::{i32_le, int8s, words, I32Le};
use crate::Error;

/// An int8 file's integer model, ready to run (see [`crate::Model::int`]).
#[derive(Clone, Copy, Debug)]
pub struct IntNet<'m, 'a, const STREAM: bool = true> {
    header: &'m Header<'a>,
    weights: &'m Weights<'a>,
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

impl<'m, 'a, const STREAM: bool> IntNet<'m, 'a, STREAM> {
    /// The net of a model's header and weights, whose file must hold this net's numbers
    /// (the callers check).
    pub(crate) fn of(header: &'m Header<'a>, weights: &'m Weights<'a>) -> Self {
        Self { header, weights, stages: stage_sizes(header) }
    }

    /// The same net without streaming generation ([`crate::stream`]): [`Network::stream_words`]
    /// is 0 whatever the model, so `generate` runs the full forward pass at every step and the
    /// streaming code is not linked. For a firmware whose model has nothing to stream (a
    /// Bengio MLP): `embed_model`'s `model::net` returns this one then (2.5 KB less flash).
    pub fn without_streaming(self) -> IntNet<'m, 'a, false> {
        IntNet { header: self.header, weights: self.weights, stages: self.stages }
    }

    /// The integer model of a decoded model's header and weights (see [`crate::Model::int`]),
    /// or [`Error::WrongNumberFormat`] for an f32 file.
    pub fn new(header: &'m Header<'a>, weights: &'m Weights<'a>) -> Result<Self, Error> {
        match header.quant {
            Quant::Int8 => Ok(Self::of(header, weights)),
            q => Err(Error::WrongNumberFormat { found: q.name(), expected: Quant::Int8.name() }),
        }
    }

    /// Logits of the next symbol after `ctx` (`[block_size]` ids, oldest first, padded with
    /// 0), in Q12 (`z / 4096` nats): `[vocab_size]` values in `scratch`.
    pub fn logits<'s>(&self, ctx: &[u8], scratch: &'s mut Scratch<'_>) -> Result<&'s [i32], Error> {
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

    /// The forward pass proper. `work` holds, in words: `[ceil(even / 2)]` and
    /// `[ceil(odd / 2)]` of i16 activations (see `stage_sizes`), then `[vocab]` i32 logits.
    fn forward<'w>(&self, ctx: &[u8], work: &'w mut [u32]) -> &'w mut [i32] {
        let (h, w) = (self.header, self.weights);
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

impl<const STREAM: bool> IntNet<'_, '_, STREAM> {
    /// The logits for the context `state` has seen: the last layer on the top ring's outputs
    /// (the full forward pass for a net that does not stream). `work` as for `forward`.
    #[inline(never)] // as the stream's functions: locals in a frame of their own
    fn stream_forward<'w>(&self, ctx: &[u8], state: &mut [u32], work: &'w mut [u32]) -> &'w mut [i32] {
        let (h, w) = (self.header, self.weights);
        let (Weights::Mlp { layers, .. }, true) = (w, STREAM && stream::is_set(state)) else {
            return self.forward(ctx, work);
        };
        let (n_even, n_odd) = self.stages;
        let (even, rest) = split(work, n_even.div_ceil(2));
        let (_, rest) = split(rest, n_odd.div_ceil(2));
        let (logits, _) = split(rest, h.vocab.len());
        let x = stream::top(state, bytemuck::cast_slice_mut::<u32, i16>(even));
        let logits: &mut [i32] = bytemuck::cast_slice_mut(logits);
        if let Some(layer) = layers.last() {
            logits_layer(logits, x, h, layers.len() - 1, layer);
        }
        logits
    }
}

/// One embedding row and one position of a hidden layer, for streaming ([`crate::stream`]).
impl<const STREAM: bool> Stack for IntNet<'_, '_, STREAM> {
    type V = i16;

    fn embed_one(&self, id: u8, out: &mut [i16]) {
        let (h, w) = (self.header, self.weights);
        if let Weights::Mlp { c, .. } = w {
            embed(out, c, h.n_embd, usize::from(id));
        }
    }

    fn hidden_one(&self, k: usize, x: &[i16], out: &mut [i16]) {
        if let Weights::Mlp { layers, .. } = self.weights {
            if let Some(layer) = layers.get(k) {
                arch::linear::<Tanh>(x, int8s(layer.w), words(layer.b), words(layer.requant), out);
            }
        }
    }
}

/// Every lane's input segments ([`stream::Inputs`], the same places in every name's state)
/// into the batch's pair-major input `x_t`: a pair of inputs is one word of the layout, so
/// segments that start on a pair (even widths) are copied a word at a time.
fn gather_batch(
    inputs: &stream::Inputs,
    states: &[u32],
    n: usize,
    state_at: &impl Fn(usize) -> Option<usize>,
    x_t: &mut [i16],
    stride: usize,
) {
    let width = inputs.width();
    if width.is_multiple_of(2) && inputs.segments().all(|(_, at)| at.is_multiple_of(2)) {
        if let Ok(x_words) = bytemuck::try_cast_slice_mut::<i16, u32>(x_t) {
            let words = width / 2;
            for (i, at) in inputs.segments() {
                let (i, at) = (i / 2, at / 2);
                let src = |lane: usize| state_at(lane).and_then(|base| states.get(base + at..base + at + words));
                // Four lanes' words four at a time: one 4 x 4 transpose, four stores of four
                // words into four rows.
                let (mut lane, fours) = (0, words / 4 * 4);
                while lane + 4 <= n {
                    let [Some(a), Some(b), Some(c), Some(d)] = [src(lane), src(lane + 1), src(lane + 2), src(lane + 3)]
                    else {
                        break;
                    };
                    for m0 in (0..fours).step_by(4) {
                        let four =
                            |s: &[u32]| s.get(m0..).and_then(|s| s.first_chunk::<4>()).copied().unwrap_or_default();
                        let rows = arch::transpose4([four(a), four(b), four(c), four(d)]);
                        for (m, r) in rows.iter().enumerate() {
                            let to = (i + m0 + m) * stride + lane;
                            if let Some(dst) = x_words.get_mut(to..to + 4) {
                                dst.copy_from_slice(r);
                            }
                        }
                    }
                    for m in fours..words {
                        for (d, s) in [a, b, c, d].iter().enumerate() {
                            if let (Some(dst), Some(&v)) = (x_words.get_mut((i + m) * stride + lane + d), s.get(m)) {
                                *dst = v;
                            }
                        }
                    }
                    lane += 4;
                }
                for lane in lane..n {
                    let Some(src) = src(lane) else {
                        continue;
                    };
                    // Word m of the segment in row i + m of `x_words` (rows of `stride`
                    // words), at `lane`: its bounds check leaves the loop.
                    for (row, &word) in x_words.chunks_exact_mut(stride.max(1)).skip(i).zip(src) {
                        if let Some(slot) = row.get_mut(lane) {
                            *slot = word;
                        }
                    }
                }
            }
            return;
        }
    }
    let values: &[i16] = bytemuck::cast_slice(states);
    for (i0, at) in inputs.segments() {
        for lane in 0..n {
            let Some(src) = state_at(lane).and_then(|base| values.get(base * 2 + at..base * 2 + at + width)) else {
                continue;
            };
            for (i, &v) in src.iter().enumerate().map(|(i, v)| (i0 + i, v)) {
                if let Some(slot) = x_t.get_mut((i / 2 * stride + lane) * 2 + i % 2) {
                    *slot = v;
                }
            }
        }
    }
}

/// The last layer for a batch: `logits[i * stride + lane] = requant(row i's sum)` from the
/// pair-major inputs `x_t` (`forward_batch` and `stream_batch`).
fn logits_batch(logits: &mut [i32], x_t: &[i16], stride: usize, n_in: usize, layer: &Linear) {
    let m = words(layer.requant);
    arch::linear_batch(x_t, stride, int8s(layer.w), n_in, words(layer.b), |first, lane0, rows| {
        for (i, sums) in rows.iter().enumerate().map(|(r, s)| (first + r, s)) {
            let m = m.get(i).map_or(0, i32_le);
            let row = logits.get_mut(i * stride + lane0..).unwrap_or(&mut []);
            for (z, &s) in row.iter_mut().zip(sums) {
                *z = requant(s, m);
            }
        }
    });
}

/// The embedding table of an MLP's weights (empty for a bigram).
fn c_of<'a>(w: &Weights<'a>) -> &'a [u8] {
    match w {
        Weights::Mlp { c, .. } => c,
        Weights::Bigram { .. } => &[],
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
    // `weigh`'s loop, written out: through the function LLVM allocated the M4F's registers
    // differently and a symbol cost 26 more instructions (`tools/firmware-report`).
    top_k(logits, s.top_k, i32::MIN);
    let z_max = logits.iter().copied().max().unwrap_or(0);
    let weights: &mut [u32] = bytemuck::cast_slice_mut(logits);
    for w in weights.iter_mut() {
        let z = *w as i32;
        *w = if z == i32::MIN { 0 } else { softmax.weight(z_max.wrapping_sub(z) as u32) };
    }
    sample_weights(weights, rng.next_u32())
}

/// The weights [`sample`] draws from, written over the Q12 `logits`: top-k, then the integer
/// softmax (0 for the symbols top-k removes).
fn weigh(logits: &mut [i32], softmax: Softmax, k: usize) -> &mut [u32] {
    // Logits are above -2^30, so i32::MIN marks the symbols top-k removes.
    top_k(logits, k, i32::MIN);
    let z_max = logits.iter().copied().max().unwrap_or(0);
    let weights: &mut [u32] = bytemuck::cast_slice_mut(logits);
    for w in weights.iter_mut() {
        let z = *w as i32;
        *w = if z == i32::MIN { 0 } else { softmax.weight(z_max.wrapping_sub(z) as u32) };
    }
    weights
}

/// The probabilities [`sample`] draws with from Q12 `logits` (overwritten): each symbol's
/// weight over their sum, exactly as the draw divides them; at temperature 0 all on the argmax.
fn distribution(logits: &mut [i32], s: &IntSampler, probs: &mut [f64]) {
    let Some(softmax) = s.softmax else {
        one_hot(probs, argmax(logits));
        return;
    };
    let weights = weigh(logits, softmax, s.top_k);
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    for (p, &w) in probs.iter_mut().zip(weights.iter()) {
        *p = w as f64 / total.max(1) as f64;
    }
}

impl<const STREAM: bool> Network for IntNet<'_, '_, STREAM> {
    type Sampler = IntSampler;

    fn header(&self) -> &Header<'_> {
        self.header
    }

    fn work_words(&self) -> usize {
        let h = self.header;
        let (even, odd) = self.stages;
        even.div_ceil(2).saturating_add(odd.div_ceil(2)).saturating_add(h.vocab.len())
    }

    fn batch_work_words(&self, n: usize) -> usize {
        BatchPlan::new(self.header, n).words()
    }

    fn sampler(&self, cfg: &SampleConfig) -> Result<IntSampler, Error> {
        IntSampler::new(cfg)
    }

    fn next_symbol(&self, ctx: &[u8], work: &mut [u32], s: &IntSampler, rng: &mut Pcg32) -> usize {
        sample(self.forward(ctx, work), s, rng)
    }

    fn logits_into(&self, ctx: &[u8], work: &mut [u32], logits: &mut [u32]) {
        let z: &[u32] = bytemuck::cast_slice(self.forward(ctx, work));
        for (dst, &z) in logits.iter_mut().zip(z) {
            *dst = z;
        }
    }

    fn draw(&self, logits: &mut [u32], s: &IntSampler, rng: &mut Pcg32) -> usize {
        sample(bytemuck::cast_slice_mut(logits), s, rng)
    }

    /// [`sample`]'s top-k and weights (none at temperature 0: its argmax reads the logits).
    fn prepare_draw(&self, logits: &mut [u32], s: &IntSampler) {
        if let Some(softmax) = s.softmax {
            weigh(bytemuck::cast_slice_mut(logits), softmax, s.top_k);
        }
    }

    /// [`sample`] after its weights: the same draw, from the same `u32` of `rng`.
    fn draw_prepared(&self, prepared: &[u32], _: &mut [u32], s: &IntSampler, rng: &mut Pcg32) -> usize {
        if s.softmax.is_some() {
            sample_weights(prepared, rng.next_u32())
        } else {
            argmax(bytemuck::cast_slice(prepared))
        }
    }

    fn model_key(&self) -> usize {
        weights_key(self.weights)
    }

    stream::network_methods!(i16, IntSampler);

    fn distribution(&self, ctx: &[u8], work: &mut [u32], s: &IntSampler, probs: &mut [f64]) {
        distribution(self.forward(ctx, work), s, probs);
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

    fn begin_batch(&self, work: &mut [u32]) {
        let (h, w) = (self.header, self.weights);
        let Weights::Mlp { c, layers } = w else { return };
        let Some(layer) = layers.first().filter(|_| layers.len() > 1) else { return };
        let plan = BatchPlan::new(h, 1);
        let t0 = &plan.table;
        let (table, rest) = split(work, t0.words());
        let table: &mut [i32] = bytemuck::cast_slice_mut(table);
        let x_t: &mut [i16] = bytemuck::cast_slice_mut(split(rest, plan.even).0);
        // Lane `j * vocab + id`: symbol `id`'s embedding in slot `j` of the first layer's
        // input, every other input 0.
        let input = PairMajor::new(h, 0, t0.lanes);
        x_t.fill(0);
        for j in 0..t0.n_merge {
            for (id, e) in int8s(c).chunks_exact(h.n_embd.max(1)).take(h.vocab.len()).enumerate() {
                for (f, &q) in e.iter().enumerate() {
                    if let Some(slot) = x_t.get_mut(input.index(j, f, j * h.vocab.len() + id)) {
                        *slot = i16::from(q) << EMBED_SHIFT;
                    }
                }
            }
        }
        let b = words(layer.b);
        arch::linear_batch(x_t, t0.lanes, int8s(layer.w), input.n_in, b, |first, lane0, rows| {
            for (i, sums) in rows.iter().enumerate().map(|(r, s)| (first + r, s)) {
                let bias = b.get(i).map_or(0, i32_le);
                for (l, &s) in sums.iter().enumerate() {
                    // The bias once, in slot 0's entries.
                    let lane = lane0 + l;
                    let s = if lane < h.vocab.len() { s } else { s.wrapping_sub(bias) };
                    if let Some(v) = table.get_mut(lane * t0.n_out + i) {
                        *v = s;
                    }
                }
            }
        });
        // Every window's units, from the table as a step computes them (where `x_t` was:
        // the table is built).
        if t0.combos > 0 {
            let units: &mut [i16] = bytemuck::cast_slice_mut(split(rest, t0.units_words()).0);
            let (vocab, m) = (h.vocab.len(), words(layer.requant));
            let (mut ids, mut acc) = ([0u8; MAX_WINDOW], [0i32; MAX_TABLE_ROWS]);
            let (ids, acc) = (ids.get_mut(..t0.n_merge).unwrap_or(&mut []), acc.get_mut(..t0.n_out).unwrap_or(&mut []));
            for (c, out) in units.chunks_exact_mut(t0.n_out.max(1)).take(t0.combos).enumerate() {
                // Window c's ids: its digits in base `vocab`, oldest first.
                let mut rest = c;
                for id in ids.iter_mut().rev() {
                    *id = u8::try_from(rest % vocab.max(1)).unwrap_or(0);
                    rest /= vocab.max(1);
                }
                t0.sums(table, ids, vocab, acc);
                arch::hidden_many(acc, m, out);
            }
        }
    }

    fn forward_batch(&self, ctx: &[u8], n: usize, work: &mut [u32]) {
        let (h, w) = (self.header, self.weights);
        let plan = BatchPlan::new(h, n);
        let stride = plan.stride;
        let (tables, even, odd, logits) = plan.split(work);
        let block = h.block_size.max(1);
        let vocab = h.vocab.len();
        match w {
            Weights::Bigram { table, requant: m } => {
                for (k, c) in ctx.chunks_exact(block).take(n).enumerate() {
                    let prev = usize::from(c.last().copied().unwrap_or(0));
                    let m = words(m).get(prev).map_or(0, i32_le);
                    let row = int8s(table).get(prev * vocab..(prev + 1) * vocab).unwrap_or(&[]);
                    for (z, &q) in logits.chunks_exact_mut(stride).zip(row) {
                        if let Some(z) = z.get_mut(k) {
                            *z = requant(i32::from(q) << BIGRAM_SHIFT, m);
                        }
                    }
                }
            }
            Weights::Mlp { c, layers } => {
                let t0 = &plan.table;
                let mut first = 0;
                if t0.words() > 0 {
                    // The first layer from the table: per output position, the sum of its
                    // slots' entries (bias included), then tanh, into the second layer's input.
                    let m = layers.first().map_or(&[][..], |l| words(l.requant));
                    let next = PairMajor::new(h, 1, stride);
                    let (mut acc, mut units) = ([0i32; MAX_TABLE_ROWS], [0i16; MAX_TABLE_ROWS]);
                    let acc = acc.get_mut(..t0.n_out).unwrap_or(&mut []);
                    let units = units.get_mut(..t0.n_out).unwrap_or(&mut []);
                    let mut out = [0i16; MAX_TABLE_ROWS];
                    let out = out.get_mut(..t0.n_out).unwrap_or(&mut []);
                    for (k, ids) in ctx.chunks_exact(block).take(n).enumerate() {
                        for (t, window) in ids.chunks_exact(t0.n_merge.max(1)).enumerate() {
                            first_units(t0, &tables, window, vocab, m, acc, units, out);
                            let slot = next.slots(t, k);
                            for (i, &u) in out.iter().enumerate() {
                                if let Some(o) = odd.get_mut(slot(i)) {
                                    *o = u;
                                }
                            }
                        }
                    }
                    first = 1;
                } else {
                    let input = PairMajor::new(h, 0, stride);
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
                }
                let last = layers.len().saturating_sub(1);
                for (k, layer) in layers.iter().enumerate().skip(first) {
                    let (x, out) = if k % 2 == 0 { (&*even, &mut *odd) } else { (&*odd, &mut *even) };
                    let input = PairMajor::new(h, k, stride);
                    let (w, b, m) = (int8s(layer.w), words(layer.b), words(layer.requant));
                    if k == last {
                        logits_batch(logits, x, stride, input.n_in, layer);
                        continue;
                    }
                    let next = PairMajor::new(h, k + 1, stride);
                    for t in 0..h.stage(k + 1).0 {
                        let x_t = x.get(t * input.block..(t + 1) * input.block).unwrap_or(&[]);
                        arch::linear_batch(x_t, stride, w, input.n_in, b, |first, lane0, rows| {
                            for (i, sums) in rows.iter().enumerate().map(|(r, s)| (first + r, s)) {
                                let units = arch::hidden_lanes(sums, m.get(i).map_or(0, i32_le));
                                // Lane l's slot is two values after lane l - 1's.
                                let slots = out.get_mut(next.index(t, i, lane0)..).unwrap_or(&mut []);
                                for (o, &u) in slots.iter_mut().step_by(2).zip(&units) {
                                    *o = u;
                                }
                            }
                        });
                    }
                }
            }
        }
    }

    fn stream_batch(&self, ctx: &[u8], n: usize, states: &mut [u32], slots: &[u16], push: bool, work: &mut [u32]) {
        let (h, w) = (self.header, self.weights);
        let per = self.stream_words();
        let Weights::Mlp { layers, .. } = w else { return self.forward_batch(ctx, n, work) };
        let state_at = |k: usize| state_at(slots, per, k);
        if stream_batch_alone(self, ctx, n, states, slots, push, work) {
            return;
        }
        let plan = BatchPlan::new(h, n);
        let stride = plan.stride;
        let (tables, even, odd, logits) = plan.split(work);
        let (block, vocab, last) = (h.block_size.max(1), h.vocab.len(), layers.len().saturating_sub(1));
        // Without `push` only the last layer runs, on the outputs the states hold.
        for (k, layer) in layers.iter().enumerate().skip(if push { 0 } else { last }) {
            let (w8, b, m) = (int8s(layer.w), words(layer.b), words(layer.requant));
            if k == 0 {
                // Each name takes its newest symbol.
                for lane in 0..n {
                    if let Some(state) = state_at(lane).and_then(|at| states.get_mut(at..at + per)) {
                        stream::advance(state);
                    }
                }
            }
            let input = PairMajor::new(h, k, stride);
            let x_t = if k % 2 == 0 { &mut *even } else { &mut *odd };
            let t0 = &plan.table;
            if k == 0 && t0.words() > 0 {
                // The first layer from the tables, a name at a time (see `forward_batch`).
                let (mut acc, mut units) = ([0i32; MAX_TABLE_ROWS], [0i16; MAX_TABLE_ROWS]);
                let acc = acc.get_mut(..t0.n_out).unwrap_or(&mut []);
                let units = units.get_mut(..t0.n_out).unwrap_or(&mut []);
                for (lane, ids) in ctx.chunks_exact(block).take(n).enumerate() {
                    let window = ids.get(block.saturating_sub(t0.n_merge)..).unwrap_or(&[]);
                    let Some(state) = state_at(lane).and_then(|at| states.get_mut(at..at + per)) else { continue };
                    let at = stream::output_index::<i16>(state, 0).unwrap_or(usize::MAX);
                    let out: &mut [i16] = bytemuck::cast_slice_mut(state);
                    let Some(out) = out.get_mut(at..).and_then(|o| o.get_mut(..t0.n_out)) else { continue };
                    first_units(t0, &tables, window, vocab, m, acc, units, out);
                }
                continue;
            }
            // Every name's input for the newest position, pair-major (see `PairMajor`).
            if k == 0 {
                // The newest `n_merge` symbols' embeddings (no table: a wide first layer).
                for (lane, ids) in ctx.chunks_exact(block).take(n).enumerate() {
                    let newest = ids.get(block.saturating_sub(input.n_merge)..).unwrap_or(&[]);
                    for (j, &id) in newest.iter().enumerate() {
                        let row = int8s(c_of(w)).get(usize::from(id) * h.n_embd..).unwrap_or(&[]);
                        for (f, &q) in row.iter().take(h.n_embd).enumerate() {
                            let i = j * h.n_embd + f;
                            if let Some(slot) = x_t.get_mut((i / 2 * stride + lane) * 2 + i % 2) {
                                *slot = i16::from(q) << EMBED_SHIFT;
                            }
                        }
                    }
                }
            } else if let Some(inputs) =
                state_at(0).and_then(|s0| stream::Inputs::of::<i16>(states.get_mut(s0..s0 + per)?, k))
            {
                gather_batch(&inputs, states, n, &state_at, x_t, stride);
            }
            let x_t = x_t.get(..input.block).unwrap_or(&[]);
            if k == last {
                logits_batch(logits, x_t, stride, input.n_in, layer);
                continue;
            }
            // The outputs straight into every name's ring: the same slot in each state, at
            // `places[lane]` (i16) for each running name.
            let at = state_at(0).and_then(|s0| stream::output_index::<i16>(states.get_mut(s0..s0 + per)?, k));
            let Some(at) = at else { continue };
            let mut places: heapless::Vec<usize, MAX_BATCH> = heapless::Vec::new();
            for lane in 0..n.min(MAX_BATCH) {
                // `n <= MAX_BATCH`: every push fits; a lane without a state gets no place.
                let _ = places.push(state_at(lane).map_or(usize::MAX, |base| base * 2 + at));
            }
            let values: &mut [i16] = bytemuck::cast_slice_mut(states);
            let slot = |lane: usize, i: usize| places.get(lane).and_then(|p| p.checked_add(i));
            arch::linear_batch(x_t, stride, w8, input.n_in, b, |first, lane0, rows| {
                if let [r0, r1, r2, r3] = rows {
                    // A quad's units, a name's four together (one 8-byte store each).
                    let unit = |r: usize, sums| arch::hidden_lanes(sums, m.get(first + r).map_or(0, i32_le));
                    let quads = arch::transpose_quad([unit(0, r0), unit(1, r1), unit(2, r2), unit(3, r3)]);
                    for (l, q) in quads.iter().enumerate() {
                        let to = slot(lane0 + l, first).and_then(|at| values.get_mut(at..at.checked_add(4)?));
                        if let Some(o) = to {
                            o.copy_from_slice(q);
                        }
                    }
                    return;
                }
                for (i, sums) in rows.iter().enumerate().map(|(r, s)| (first + r, s)) {
                    let units = arch::hidden_lanes(sums, m.get(i).map_or(0, i32_le));
                    for (l, &u) in units.iter().enumerate() {
                        if let Some(o) = slot(lane0 + l, i).and_then(|at| values.get_mut(at)) {
                            *o = u;
                        }
                    }
                }
            });
        }
    }

    fn sample_batch(&self, work: &mut [u32], n: usize, k: usize, s: &IntSampler, rng: &mut Pcg32) -> usize {
        let stride = batch_stride(n);
        let (logits, row) = logits_at_end(work, stride, self.header.vocab.len());
        for (z, zs) in row.iter_mut().zip(logits.chunks_exact(stride.max(1))) {
            *z = zs.get(k).copied().unwrap_or(0);
        }
        sample(row, s, rng)
    }
}

/// The first layer's units for the window `ids` into `out` (`[n_out]`): copied from the units
/// table when [`Network::begin_batch`] made one, else summed from the table's entries
/// (`acc`) and put through tanh (`units`), the same values either way.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn first_units(
    t0: &FirstLayerTable,
    tables: &Tables,
    ids: &[u8],
    vocab: usize,
    m: &[I32Le],
    acc: &mut [i32],
    units: &mut [i16],
    out: &mut [i16],
) {
    // (A window's number is only formed when the table exists: it then fits `combos`.)
    let at = (t0.combos > 0).then(|| t0.combo(ids, vocab) * t0.n_out);
    if let Some(src) = at.and_then(|at| tables.units.get(at..at + out.len())) {
        out.copy_from_slice(src);
        return;
    }
    t0.sums(tables.sums, ids, vocab, acc);
    arch::hidden_many(acc, m, units);
    for (o, &u) in out.iter_mut().zip(units.iter()) {
        *o = u;
    }
}

/// The batch's logits (`[vocab][stride]`) and one name's row (`[vocab]`) at the end of
/// `work`: where the sampler finds them from the batch's width alone, without the rest of
/// the [`BatchPlan`] (the scratch gives every step the same `work`).
fn logits_at_end(work: &mut [u32], stride: usize, vocab: usize) -> (&mut [i32], &mut [i32]) {
    let logits = vocab.saturating_mul(stride);
    let at = work.len().saturating_sub(logits.saturating_add(vocab));
    let (logits, row) = split(work.get_mut(at..).unwrap_or(&mut []), logits);
    (bytemuck::cast_slice_mut(logits), bytemuck::cast_slice_mut(row))
}

/// The batch path's layout of layer `k`'s input for a batch of `n` lanes ("pair-major"): one
/// block per output position `t`, holding the `n_in = n_merge * features` inputs of that
/// position as `[ceil(n_in / 2) pairs][n lanes][2]` i16, an odd last input paired with a
/// value the kernels multiply by 0 (see [`crate::int_kernels::linear_batch`]).
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
        self.slots(p, k)(f)
    }

    /// Where each feature `f` of position `p` of name `k` goes, the division done once.
    #[inline(always)]
    fn slots(&self, p: usize, k: usize) -> impl Fn(usize) -> usize {
        let t = p / self.n_merge.max(1);
        // `p % n_merge` from the quotient: LLVM otherwise redoes the division per feature.
        let j0 = core::hint::black_box(p - t * self.n_merge) * self.features;
        let (base, pair) = (t * self.block + k * 2, self.n * 2);
        move |f| base + (j0 + f) / 2 * pair + (j0 + f) % 2
    }
}

/// Most outputs of a first layer the batch path computes from a table (wider first layers
/// run through the kernels).
const MAX_TABLE_ROWS: usize = 1024;

/// The batch path's table of the first layer: since the layer is linear in its input slots
/// and each slot holds one of `vocab` embeddings, its sums for a position are the sums, over
/// its `n_merge` slots, of precomputed entries `T[j * vocab + id] = W1[:, slot j] . C[id]`
/// (slot 0's entries include the bias). Integer sums do not depend on the order, so this is
/// exactly the kernel's result, for `n_merge` additions instead of `n_merge * n_embd`
/// multiplications per output. Built by [`Network::begin_batch`] with the batched kernel.
#[derive(Debug)]
struct FirstLayerTable {
    n_merge: usize,
    n_out: usize,
    /// `n_merge * vocab`, rounded up to whole tiles.
    lanes: usize,
    /// `vocab^n_merge` when the first layer's units for every window of `n_merge` symbols
    /// fit [`MAX_UNITS`] values, otherwise 0 (no units table).
    combos: usize,
}

/// Most values of the first layer's units table (128 KB of i16): the default model's
/// 27 x 27 symbol pairs of 48 units take 34,992.
const MAX_UNITS: usize = 1 << 16;

/// Most symbols a window of the units table covers.
const MAX_WINDOW: usize = 16;

impl FirstLayerTable {
    /// The table for `h`'s first layer, or an empty one when the first layer is the logits
    /// (a model without hidden layers) or wider than [`MAX_TABLE_ROWS`].
    fn new(h: &Header) -> Self {
        let layers = h.layers.as_slice();
        match layers.first() {
            Some(l) if layers.len() > 1 && l.n_out <= MAX_TABLE_ROWS && h.kind == ModelKind::Mlp => {
                let vocab = h.vocab.len();
                let combos = (0..l.n_merge).try_fold(1usize, |c, _| c.checked_mul(vocab));
                Self {
                    n_merge: l.n_merge,
                    n_out: l.n_out,
                    lanes: batch_stride(l.n_merge.saturating_mul(vocab)),
                    combos: combos
                        .filter(|c| c.saturating_mul(l.n_out) <= MAX_UNITS && l.n_merge <= MAX_WINDOW)
                        .unwrap_or(0),
                }
            }
            _ => Self { n_merge: 0, n_out: 0, lanes: 0, combos: 0 },
        }
    }

    /// i32 words of the table (0: no table).
    fn words(&self) -> usize {
        self.lanes.saturating_mul(self.n_out)
    }

    /// Words of the units table: for every window of `n_merge` symbols (its ids read as a
    /// number in base `vocab`, oldest first), the first layer's `n_out` units (i16).
    fn units_words(&self) -> usize {
        self.combos.saturating_mul(self.n_out).div_ceil(2)
    }

    /// The window `ids`' entry of the units table.
    fn combo(&self, ids: &[u8], vocab: usize) -> usize {
        ids.iter().fold(0, |c, &id| c * vocab + usize::from(id))
    }

    /// The sums of the first layer for the window `ids` from the table, into `acc`.
    fn sums(&self, table: &[i32], ids: &[u8], vocab: usize, acc: &mut [i32]) {
        acc.fill(0);
        for (j, &id) in ids.iter().enumerate() {
            let entry = (j * vocab + usize::from(id)) * self.n_out;
            for (a, &v) in acc.iter_mut().zip(table.get(entry..entry + self.n_out).unwrap_or(&[])) {
                *a = a.wrapping_add(v);
            }
        }
    }
}

/// The first layer's tables in the batch's working memory, as [`Network::begin_batch`] built
/// them: the sums' entries ([`FirstLayerTable`]) and, when it has them, the units of every
/// window.
struct Tables<'w> {
    sums: &'w [i32],
    units: &'w [i16],
}

/// Where the batch path keeps what in its working memory (sizes in words), for `n` names.
#[derive(Debug)]
struct BatchPlan {
    /// Lanes: `n` rounded up to whole tiles.
    stride: usize,
    table: FirstLayerTable,
    /// The inputs of the even layers (and the table's build input).
    even: usize,
    /// The inputs of the odd layers.
    odd: usize,
    /// `[vocab][stride]` logits.
    logits: usize,
    /// One name's logits, for the sampler.
    row: usize,
}

impl BatchPlan {
    fn new(h: &Header, n: usize) -> Self {
        let stride = batch_stride(n);
        let table = FirstLayerTable::new(h);
        let (mut even, mut odd) = (0usize, 0usize);
        for k in 0..h.layers.as_slice().len() {
            let input = PairMajor::new(h, k, stride);
            let size = (h.stage(k + 1).0.saturating_mul(input.block)).div_ceil(2);
            if k % 2 == 0 {
                even = even.max(size);
            } else {
                odd = odd.max(size);
            }
        }
        // The table's build input: one position, `lanes` lanes.
        even = even.max(PairMajor::new(h, 0, table.lanes).block.div_ceil(2));
        let vocab = h.vocab.len();
        Self { stride, table, even, odd, logits: vocab.saturating_mul(stride), row: vocab }
    }

    /// `work`'s parts: the first layer's tables (sums, units), the even and odd layers'
    /// inputs, the logits (at the end of `work`, see [`logits_at_end`]).
    #[allow(clippy::type_complexity)]
    fn split<'w>(&self, work: &'w mut [u32]) -> (Tables<'w>, &'w mut [i16], &'w mut [i16], &'w mut [i32]) {
        let (table, rest) = split(work, self.table.words());
        let (units, rest) = split(rest, self.table.units_words());
        let (even, rest) = split(rest, self.even);
        let (odd, rest) = split(rest, self.odd);
        let (logits, _) = logits_at_end(rest, self.stride, self.row);
        let tables = Tables { sums: bytemuck::cast_slice(table), units: bytemuck::cast_slice(units) };
        (tables, bytemuck::cast_slice_mut(even), bytemuck::cast_slice_mut(odd), logits)
    }

    fn words(&self) -> usize {
        [self.table.words(), self.table.units_words(), self.even, self.odd, self.logits, self.row]
            .iter()
            .fold(0usize, |a, &b| a.saturating_add(b))
    }
}
