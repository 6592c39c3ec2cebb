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
//! A Bengio MLP (the first layer merges the whole context) has nothing to reuse: `Plan::of`
//! is `None` and generation runs the full forward pass.

use crate::format::{Header, MAX_LAYERS};

/// One hidden layer's ring of outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Ring {
    /// Where its padding state starts, in values of the state.
    pad: usize,
    /// Where its slots start, in values.
    offset: usize,
    /// Outputs kept (one per symbol: the output ending at symbol `t` lies in slot `t % slots`).
    slots: usize,
    /// Values per output (the layer's `n_out`).
    width: usize,
    /// `n_merge` of the layer that reads the ring.
    merge: usize,
    /// `D` of the layer that reads the ring: its inputs lie this many symbols apart.
    dilation: usize,
}

/// Where a hierarchy's streaming state lies in a name's state words: one word counting the
/// symbols seen, then the padding states and the rings, in values of the net's activations
/// (f32 or i16).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Plan {
    /// One ring per hidden layer (all layers but the last).
    rings: [Ring; MAX_LAYERS],
    n: usize,
    /// Values in all: padding states and rings.
    values: usize,
    /// `n_merge` of the first layer and the context length: its inputs are the newest
    /// `merge0` symbols of the context.
    merge0: usize,
    block_size: usize,
    /// `n_embd`: values per embedded symbol.
    n_embd: usize,
}

/// What the driver needs from a net: one embedding row and one position of a hidden layer.
pub(crate) trait Stack {
    /// The activations' type (f32, or i16 for the integer model).
    type V: bytemuck::Pod + Default;
    /// Symbol `id`'s embedding into `out` (`[n_embd]`).
    fn embed_one(&self, id: u8, out: &mut [Self::V]);
    /// Hidden layer `k` at one position: `out = tanh(W_k x + b_k)`, `x: [n_merge * features]`.
    fn hidden_one(&self, k: usize, x: &[Self::V], out: &mut [Self::V]);
}

impl Plan {
    /// The plan for `h`, or `None` when streaming would reuse nothing (a bigram, or a first
    /// layer that merges the whole context: one output position per layer).
    pub(crate) fn of(h: &Header) -> Option<Self> {
        let layers = h.layers.as_slice();
        if layers.len() < 2 || h.stage(1).0 <= 1 {
            return None;
        }
        let n = layers.len() - 1;
        let mut rings = [Ring::default(); MAX_LAYERS];
        let mut dilation = 1usize;
        let mut pads = 0usize;
        for (k, ring) in rings.iter_mut().enumerate().take(n) {
            let (here, next) = (layers.get(k)?, layers.get(k + 1)?);
            dilation = dilation.checked_mul(here.n_merge)?;
            let slots = next.n_merge.checked_sub(1)?.checked_mul(dilation)?.checked_add(1)?;
            *ring = Ring { pad: pads, offset: 0, slots, width: here.n_out, merge: next.n_merge, dilation };
            pads = pads.checked_add(here.n_out)?;
        }
        let mut offset = pads;
        for ring in rings.iter_mut().take(n) {
            ring.offset = offset;
            offset = offset.checked_add(ring.slots.checked_mul(ring.width)?)?;
        }
        let merge0 = layers.first()?.n_merge;
        Some(Self { rings, n, values: offset, merge0, block_size: h.block_size, n_embd: h.n_embd })
    }

    /// Words of state for activations of type `V`: the symbol count, then the values.
    pub(crate) fn words<V>(&self) -> usize {
        self.values.saturating_mul(core::mem::size_of::<V>()).div_ceil(4).saturating_add(1)
    }

    fn rings(&self) -> &[Ring] {
        self.rings.get(..self.n).unwrap_or(&[])
    }

    /// The symbol count and the values of `state` (`[words::<V>()]`).
    fn split<'s, V: bytemuck::Pod>(&self, state: &'s mut [u32]) -> Option<(&'s mut u32, &'s mut [V])> {
        let (count, rest) = state.split_first_mut()?;
        let values: &mut [V] = bytemuck::try_cast_slice_mut(rest.get_mut(..self.words::<V>() - 1)?).ok()?;
        Some((count, values))
    }

    /// Computes the padding states into `state`: layer 0 on `merge0` boundary embeddings,
    /// each layer above on copies of the padding state below. `x` is working memory of at
    /// least the widest layer input.
    pub(crate) fn init<S: Stack>(&self, net: &S, state: &mut [u32], x: &mut [S::V]) {
        let Some((_, values)) = self.split::<S::V>(state) else { return };
        for (k, ring) in self.rings().iter().enumerate() {
            let (below, here) = values.split_at_mut(ring.pad);
            let Some(out) = here.get_mut(..ring.width) else { return };
            let merge = if k == 0 { self.merge0 } else { self.rings.get(k - 1).map_or(0, |r| r.merge) };
            let width = if k == 0 { self.n_embd } else { self.rings.get(k - 1).map_or(0, |r| r.width) };
            for slot in x.chunks_exact_mut(width.max(1)).take(merge) {
                if k == 0 {
                    net.embed_one(0, slot);
                } else {
                    let pad = self.rings.get(k - 1).map_or(0, |r| r.pad);
                    copy(slot, below.get(pad..pad + width).unwrap_or(&[]));
                }
            }
            net.hidden_one(k, x.get(..merge * width).unwrap_or(&[]), out);
        }
    }

    /// Starts a name: no symbol seen, every slot of every ring its layer's padding state.
    pub(crate) fn begin<V: bytemuck::Pod>(&self, state: &mut [u32]) {
        let Some((count, values)) = self.split::<V>(state) else { return };
        *count = 0;
        for ring in self.rings() {
            let (pads, slots) = values.split_at_mut(ring.offset);
            let Some(pad) = pads.get(ring.pad..ring.pad + ring.width) else { return };
            for slot in slots.chunks_exact_mut(ring.width.max(1)).take(ring.slots) {
                copy(slot, pad);
            }
        }
    }

    /// The context has grown by its newest symbol (`ctx`'s last): each hidden layer's output
    /// ending there, into its ring. `x` as for [`Plan::init`].
    pub(crate) fn push<S: Stack>(&self, net: &S, ctx: &[u8], state: &mut [u32], x: &mut [S::V]) {
        let Some((count, values)) = self.split::<S::V>(state) else { return };
        *count = count.wrapping_add(1);
        let t = *count as usize;
        let newest = ctx.get(self.block_size.saturating_sub(self.merge0)..).unwrap_or(&[]);
        for (k, ring) in self.rings().iter().enumerate() {
            let (below, here) = values.split_at_mut(ring.offset);
            let n_in = if k == 0 {
                for (slot, &id) in x.chunks_exact_mut(self.n_embd.max(1)).zip(newest) {
                    net.embed_one(id, slot);
                }
                self.merge0 * self.n_embd
            } else {
                let Some(lower) = self.rings.get(k - 1) else { return };
                gather(lower, below, t, x)
            };
            let at = t % ring.slots.max(1) * ring.width;
            let Some(out) = here.get_mut(at..at + ring.width) else { return };
            net.hidden_one(k, x.get(..n_in).unwrap_or(&[]), out);
        }
    }

    /// The last layer's input for the newest symbol, gathered from the top ring into `x`;
    /// returns its length.
    pub(crate) fn top_input<V: bytemuck::Pod>(&self, state: &mut [u32], x: &mut [V]) -> usize {
        let Some((count, values)) = self.split::<V>(state) else { return 0 };
        let t = *count as usize;
        match self.rings().last() {
            Some(top) => gather(top, values, t, x),
            None => 0,
        }
    }
}

/// The inputs of the layer reading `ring` for the output ending at symbol `t`: its `merge`
/// outputs `dilation` symbols apart, oldest first, into `x`; returns how many values.
fn gather<V: bytemuck::Pod>(ring: &Ring, values: &[V], t: usize, x: &mut [V]) -> usize {
    let slots = ring.slots.max(1);
    for (j, dst) in x.chunks_exact_mut(ring.width.max(1)).take(ring.merge).enumerate() {
        // `lag < slots`, so adding `slots` keeps the index from going below 0.
        let lag = (ring.merge - 1 - j) * ring.dilation;
        let at = ring.offset + (t + slots - lag % slots) % slots * ring.width;
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
