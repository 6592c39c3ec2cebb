//! Streaming generation for the WaveNet-style hierarchy: one new output per layer per symbol.
//!
//! The hierarchy is a stack of dilated causal convolutions: layer `k` merges `n_merge`
//! outputs of the layer below that lie `D_k` symbols apart (`D_0 = 1`, `D_{k+1} = D_k *
//! n_merge_k`), and each output depends only on the symbols it covers. When a name grows by
//! one symbol, the window slides by one, and every output the new window needs was computed
//! at an earlier step except the newest one of each layer (the fast WaveNet generation
//! algorithm, Paine et al. 2016). So per name a ring of each hidden layer's recent outputs is
//! kept, `(n_merge_{k+1} - 1) * D_{k+1} + 1` of them for layer `k` (the next layer reaches back
//! that far), and a step computes one output per layer from the rings, then the last layer.
//!
//! Before a name's first symbol the window holds only the boundary id, so every ring starts
//! full of that context's outputs: a constant of the model per layer (the *padding states*),
//! computed once when the scratch is made. The same kernels run on the same inputs as in the
//! full forward pass, so the logits are the same bits (tests compare them at every step).
//!
//! A Bengio MLP (the first layer merges the whole context) has nothing to reuse: it has no
//! streaming state and generation runs the full forward pass.

use crate::format::Header;

/// One hidden layer's ring of outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Ring {
    /// Where its padding state starts, in values of the state.
    pad: usize,
    /// Where its slots start, in values.
    offset: usize,
    /// Outputs kept (one per symbol: the output ending at symbol `t` lies in slot `-t mod
    /// slots`, the newest output before the older ones, see [`Ring::contiguous`]).
    slots: usize,
    /// Values per output (the layer's `n_out`).
    width: usize,
    /// `n_merge` of the layer that reads the ring.
    merge: usize,
    /// `D` of the layer that reads the ring: its inputs lie this many symbols apart.
    dilation: usize,
}

impl Ring {
    /// Where (in values) the output ending at symbol `t` lies.
    fn slot(&self, t: usize) -> usize {
        self.at(t % self.slots.max(1))
    }

    /// Where the output ending at a symbol `t` with `t mod slots = r` lies (the slots count
    /// down).
    fn at(&self, r: usize) -> usize {
        self.offset + (if r == 0 { 0 } else { self.slots - r }) * self.width
    }

    /// Where the reader's input `j` (0 the oldest) for its output ending at a symbol `t`
    /// with `t mod slots = i` lies: the output `(merge - 1 - j) * dilation` symbols before
    /// `t`. (`i` computed once per ring and step: the Cortex-M0 divides in software.) `lag <
    /// slots`, so `i - lag` wraps at most once.
    fn input_at(&self, i: usize, j: usize) -> usize {
        let lag = (self.merge - 1 - j) * self.dilation;
        self.at(if i >= lag { i - lag } else { i + self.slots - lag })
    }

    /// The reader's whole input for its output ending at symbol `t` when it lies in one piece
    /// (oldest first), so the layer reads it in place. With merges of two, the ring keeps
    /// `D + 1` outputs and the one `D` symbols back lies in the slot before the newest (the
    /// slots count down), so it does except when the newest is in the first slot: one step
    /// in `D + 1` copies its input.
    fn contiguous(&self, t: usize) -> Option<core::ops::Range<usize>> {
        let i = t % self.slots.max(1);
        let start = self.input_at(i, 0);
        (1..self.merge)
            .all(|j| self.input_at(i, j) == start + j * self.width)
            .then(|| start..start + self.merge * self.width)
    }
}

/// Words of a name's state before its rings' geometry: the symbols seen, then `n | merge0
/// << 16`, `block_size | n_embd << 16` and the number of values.
const HEAD: usize = 4;
/// Words per ring's geometry: `pad | offset << 16`, `slots | width << 16`, `merge | dilation
/// << 16`.
const RING: usize = 3;

/// What the driver needs from a net: one embedding row and one position of a hidden layer.
pub(crate) trait Stack {
    /// The activations' type (f32, or i16 for the integer model).
    type V: bytemuck::Pod + Default;
    /// Symbol `id`'s embedding into `out` (`[n_embd]`).
    fn embed_one(&self, id: u8, out: &mut [Self::V]);
    /// Hidden layer `k` at one position: `out = tanh(W_k x + b_k)`, `x: [n_merge * features]`.
    fn hidden_one(&self, k: usize, x: &[Self::V], out: &mut [Self::V]);
}

/// Walks `h`'s rings in order (a hierarchy's streaming geometry), giving each one's to
/// `ring`; returns how many rings and values there are, or `None` when streaming would reuse
/// nothing (a bigram, or a first layer that merges the whole context: one output position per
/// layer) or a number does not fit the state's 16-bit fields. Computed on the way, without a
/// table of rings: the firmware's stack has room for little.
fn geometry(h: &Header, mut ring: impl FnMut(usize, Ring)) -> Option<(usize, usize)> {
    let layers = h.layers.as_slice();
    let first = layers.first()?;
    if layers.len() < 2 || h.stage(1).0 <= 1 {
        return None;
    }
    let n = layers.len() - 1;
    let fits = |v: usize| v <= usize::from(u16::MAX);
    if !(fits(first.n_merge) && fits(h.block_size) && fits(h.n_embd)) {
        return None;
    }
    let mut pad = 0usize;
    let mut offset = layers.iter().take(n).try_fold(0usize, |sum, l| sum.checked_add(l.n_out))?;
    let mut dilation = 1usize;
    for (k, (here, next)) in layers.iter().zip(layers.iter().skip(1)).enumerate() {
        dilation = dilation.checked_mul(here.n_merge)?;
        let slots = next.n_merge.checked_sub(1)?.checked_mul(dilation)?.checked_add(1)?;
        let r = Ring { pad, offset, slots, width: here.n_out, merge: next.n_merge, dilation };
        if ![r.pad, r.offset, r.slots, r.width, r.merge, r.dilation].into_iter().all(fits) {
            return None;
        }
        ring(k, r);
        pad = pad.checked_add(here.n_out)?;
        offset = offset.checked_add(slots.checked_mul(here.n_out)?)?;
    }
    Some((n, offset))
}

/// Words of streaming state for `h` with activations of type `V` (the geometry, then the
/// values); 0 when it does not stream.
#[inline(never)] // its locals in a frame of their own, not in every caller's
pub(crate) fn words<V>(h: &Header) -> usize {
    geometry(h, |_, _| {}).map_or(0, |(n, values)| {
        values.saturating_mul(core::mem::size_of::<V>()).div_ceil(4).saturating_add(HEAD + RING * n)
    })
}

/// Writes `h`'s geometry into `state` (`[words]`) and computes the padding states: layer 0 on
/// `merge0` boundary embeddings, each layer above on copies of the padding state below. `x`
/// is working memory of at least the widest layer input. Nothing for a net that does not
/// stream.
#[inline(never)]
pub(crate) fn init<S: Stack>(h: &Header, net: &S, state: &mut [u32], x: &mut [S::V]) {
    let pair = |lo: usize, hi: usize| (lo as u32) | ((hi as u32) << 16);
    let merge0 = h.layers.as_slice().first().map_or(0, |l| l.n_merge);
    let (head, rings) = match state.split_first_chunk_mut::<HEAD>() {
        Some((head, rings)) => (head, rings),
        None => return,
    };
    let Some((n, values)) = geometry(h, |k, r| {
        let words = [pair(r.pad, r.offset), pair(r.slots, r.width), pair(r.merge, r.dilation)];
        for (word, v) in rings.iter_mut().skip(RING * k).zip(words) {
            *word = v;
        }
    }) else {
        return;
    };
    *head = [0, pair(n, merge0), pair(h.block_size, h.n_embd), values as u32];
    let Some((view, _, values)) = View::of::<S::V>(state) else { return };
    for k in 0..view.n {
        let (ring, lower) = (view.ring(k), k.checked_sub(1).map(|j| view.ring(j)));
        let (below, here) = values.split_at_mut(ring.pad);
        let Some(out) = here.get_mut(..ring.width) else { return };
        let (merge, width) = lower.map_or((view.merge0, view.n_embd), |r| (r.merge, r.width));
        for slot in x.chunks_exact_mut(width.max(1)).take(merge) {
            match lower {
                None => net.embed_one(0, slot),
                Some(r) => copy(slot, below.get(r.pad..r.pad + width).unwrap_or(&[])),
            }
        }
        net.hidden_one(k, x.get(..merge * width).unwrap_or(&[]), out);
    }
}

/// The geometry [`init`] wrote into a name's state, read in place.
struct View<'s> {
    /// `RING` words per ring.
    rings: &'s [u32],
    n: usize,
    merge0: usize,
    block_size: usize,
    n_embd: usize,
}

impl<'s> View<'s> {
    /// The geometry, the symbol count and the values of `state`; `None` if `state` is shorter
    /// than its geometry says.
    fn of<V: bytemuck::Pod>(state: &'s mut [u32]) -> Option<(Self, &'s mut u32, &'s mut [V])> {
        let (head, rest) = state.split_first_chunk_mut::<HEAD>()?;
        let [count, shape, sizes, values] = head;
        let lo = |w: u32| (w & 0xffff) as usize;
        let hi = |w: u32| (w >> 16) as usize;
        let n = lo(*shape);
        let (rings, rest) = rest.split_at_mut_checked(RING * n)?;
        let bytes = (*values as usize).saturating_mul(core::mem::size_of::<V>());
        let values: &mut [V] = bytemuck::try_cast_slice_mut(rest.get_mut(..bytes.div_ceil(4))?).ok()?;
        let view = Self { rings, n, merge0: hi(*shape), block_size: lo(*sizes), n_embd: hi(*sizes) };
        Some((view, count, values))
    }

    /// Values of type `V` the geometry words take at the start of the state (what indices
    /// into the state read as values skip).
    fn head<V>(&self) -> usize {
        (HEAD + RING * self.n) * 4 / core::mem::size_of::<V>().max(1)
    }

    /// Ring `k`'s geometry.
    fn ring(&self, k: usize) -> Ring {
        let w = |i: usize| self.rings.get(RING * k + i).copied().unwrap_or(0);
        let (lo, hi) = (|v: u32| (v & 0xffff) as usize, |v: u32| (v >> 16) as usize);
        Ring { pad: lo(w(0)), offset: hi(w(0)), slots: lo(w(1)), width: hi(w(1)), merge: lo(w(2)), dilation: hi(w(2)) }
    }
}

/// Whether `state` holds a geometry [`init`] wrote (at least one ring).
pub(crate) fn is_set(state: &[u32]) -> bool {
    state.get(1).is_some_and(|shape| shape & 0xffff > 0)
}

/// Starts a name in `state` (written by [`init`]): no symbol seen, every slot of every
/// ring its layer's padding state.
#[inline(never)] // its locals in a frame of their own, not in every caller's
pub(crate) fn begin<V: bytemuck::Pod>(state: &mut [u32]) {
    let Some((view, count, values)) = View::of::<V>(state) else { return };
    *count = 0;
    for k in 0..view.n {
        let ring = view.ring(k);
        let (pads, slots) = values.split_at_mut(ring.offset);
        let Some(pad) = pads.get(ring.pad..ring.pad + ring.width) else { return };
        for slot in slots.chunks_exact_mut(ring.width.max(1)).take(ring.slots) {
            copy(slot, pad);
        }
    }
}

/// The context has grown by its newest symbol (`ctx`'s last): each hidden layer's output
/// ending there, into its ring. `x` as for [`init`].
#[inline(never)] // its locals in a frame of their own, not in every caller's
pub(crate) fn push<S: Stack>(net: &S, ctx: &[u8], state: &mut [u32], x: &mut [S::V]) {
    let Some((view, count, values)) = View::of::<S::V>(state) else { return };
    *count = count.wrapping_add(1);
    let t = *count as usize;
    let newest = ctx.get(view.block_size.saturating_sub(view.merge0)..).unwrap_or(&[]);
    for k in 0..view.n {
        let ring = view.ring(k);
        let (below, here) = values.split_at_mut(ring.offset);
        let input = match k.checked_sub(1) {
            None => {
                for (slot, &id) in x.chunks_exact_mut(view.n_embd.max(1)).zip(newest) {
                    net.embed_one(id, slot);
                }
                x.get(..view.merge0 * view.n_embd).unwrap_or(&[])
            }
            Some(j) => input(&view.ring(j), below, t, x),
        };
        let at = ring.slot(t) - ring.offset;
        let Some(out) = here.get_mut(at..at + ring.width) else { return };
        net.hidden_one(k, input, out);
    }
}

/// The last layer's input for the newest symbol (see [`input`]).
#[inline(never)] // its locals in a frame of their own, not in every caller's
pub(crate) fn top<'s, V: bytemuck::Pod>(state: &'s mut [u32], x: &'s mut [V]) -> &'s [V] {
    let Some((view, count, values)) = View::of::<V>(state) else { return &[] };
    let Some(ring) = view.n.checked_sub(1).map(|top| view.ring(top)) else { return &[] };
    input(&ring, values, *count as usize, x)
}

/// The input of the layer reading `ring` for its output ending at symbol `t`: read in place
/// where it lies in one piece on a word boundary ([`Ring::contiguous`]; the kernels read
/// words), else gathered into `x`.
fn input<'a, V: bytemuck::Pod>(ring: &Ring, values: &'a [V], t: usize, x: &'a mut [V]) -> &'a [V] {
    let piece = ring.contiguous(t).and_then(|r| values.get(r));
    if let Some(piece) = piece.filter(|p| bytemuck::try_cast_slice::<V, u32>(p).is_ok()) {
        return piece;
    }
    let n = gather(ring, values, t, x);
    x.get(..n).unwrap_or(&[])
}

/// Counts the newest symbol of a name's context as seen, before its layers are computed
/// with [`Inputs`] and [`output_index`].
pub(crate) fn advance(state: &mut [u32]) {
    if let Some((_, count, _)) = View::of::<u8>(state) {
        *count = count.wrapping_add(1);
    }
}

/// Where layer `k`'s input for the newest output lies in a name's state (`k >= 1`: ring `k -
/// 1`; `k` = the number of rings: the last layer's input): `n_merge` segments of `width`
/// values, read from the state once. Names that have seen the same number of symbols have
/// their segments at the same places, so a batch reads them from one name's state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inputs {
    ring: Ring,
    t: usize,
    /// Values of type `V` before the values (the geometry words).
    head: usize,
}

impl Inputs {
    /// Layer `k`'s inputs in `state`, read as values of type `V`; `None` for `k = 0` (the
    /// first layer reads the context's embeddings) or past the last layer.
    pub(crate) fn of<V: bytemuck::Pod>(state: &mut [u32], k: usize) -> Option<Self> {
        let (view, count, _) = View::of::<V>(state)?;
        let ring = k.checked_sub(1).filter(|&j| j < view.n).map(|j| view.ring(j))?;
        let head = view.head::<V>();
        Some(Self { ring, t: *count as usize, head })
    }

    /// Values per segment (the lower layer's `n_out`).
    pub(crate) fn width(&self) -> usize {
        self.ring.width
    }

    /// Each segment, oldest first: `(i, at)`, `i` the index of its first value in the
    /// layer's input, `at` where it starts in the state read as values of type `V`
    /// (geometry words included).
    pub(crate) fn segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let i = self.t % self.ring.slots.max(1);
        (0..self.ring.merge).map(move |j| (j * self.ring.width, self.head + self.ring.input_at(i, j)))
    }
}

/// Where hidden layer `k`'s newest output (its ring's slot for the newest symbol) starts in
/// `state` read as values of type `V` (geometry words included): names that have seen the
/// same number of symbols have it at the same place.
pub(crate) fn output_index<V: bytemuck::Pod>(state: &mut [u32], k: usize) -> Option<usize> {
    let (view, count, _) = View::of::<V>(state)?;
    let ring = (k < view.n).then(|| view.ring(k))?;
    let head = view.head::<V>();
    Some(head + ring.slot(*count as usize))
}

/// Symbols `state` has seen since [`begin`].
pub(crate) fn seen(state: &[u32]) -> u32 {
    state.first().copied().unwrap_or(0)
}

/// The inputs of the layer reading `ring` for the output ending at symbol `t`: its `merge`
/// outputs `dilation` symbols apart, oldest first, into `x`; returns how many values.
fn gather<V: bytemuck::Pod>(ring: &Ring, values: &[V], t: usize, x: &mut [V]) -> usize {
    let i = t % ring.slots.max(1);
    for (j, dst) in x.chunks_exact_mut(ring.width.max(1)).take(ring.merge).enumerate() {
        let at = ring.input_at(i, j);
        copy(dst, values.get(at..at + ring.width).unwrap_or(&[]));
    }
    ring.merge * ring.width
}

/// `dst[i] = src[i]` for the shorter of the two (`copy_from_slice` would panic on a mismatch).
fn copy<V: Copy>(dst: &mut [V], src: &[V]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v;
    }
}

/// The streaming methods of [`crate::Network`] for a net of this crate whose activations are
/// `$v` and whose sampler is `$sampler`: the net implements [`Stack`], has a `STREAM` const
/// parameter (without it, none of the streaming code is called, so none is linked), a
/// `header` field, a `stream_forward(ctx, state, work)` giving the logits, and `sample`.
macro_rules! network_methods {
    ($v:ty, $sampler:ty) => {
        fn stream_words(&self) -> usize {
            if STREAM {
                crate::stream::words::<$v>(self.header)
            } else {
                0
            }
        }

        fn stream_init(&self, state: &mut [u32], work: &mut [u32]) {
            if STREAM {
                crate::stream::init(self.header, self, state, bytemuck::cast_slice_mut(work));
            }
        }

        fn stream_begin(&self, state: &mut [u32]) {
            if STREAM {
                crate::stream::begin::<$v>(state);
            }
        }

        fn stream_push(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32]) {
            if STREAM {
                crate::stream::push(self, ctx, state, bytemuck::cast_slice_mut(work));
            }
        }

        fn stream_logits(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32], logits: &mut [u32]) {
            let z: &[u32] = bytemuck::cast_slice(self.stream_forward(ctx, state, work));
            for (dst, &z) in logits.iter_mut().zip(z) {
                *dst = z;
            }
        }

        fn stream_next(&self, ctx: &[u8], state: &mut [u32], work: &mut [u32], s: &$sampler, rng: &mut Pcg32) -> usize {
            sample(self.stream_forward(ctx, state, work), s, rng)
        }
    };
}
pub(crate) use network_methods;
