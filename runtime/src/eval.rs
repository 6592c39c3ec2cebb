//! Evaluation: mean negative log-likelihood of words under a model, the figure the trainer
//! reports as its loss, so the two can be compared example by example. For an integer model
//! it is the NLL of the distribution its sampler draws from (at temperature 1).

use crate::generation::symbol_id;
use crate::network::{push_ctx, Network, Scratch};
use crate::Error;

/// Summed negative log-likelihood (natural log) over `count` predicted symbols.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Nll {
    /// Sum in f64 so that 200k examples add up without f32 rounding drift.
    pub sum: f64,
    /// Symbols predicted (each word's symbols and its end).
    pub count: usize,
}

impl Nll {
    /// Mean NLL per predicted symbol (NaN when nothing was counted).
    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// NLL of every word: each word predicts its symbols and then the boundary token, from a
/// context that starts as boundary tokens (the lectures' dataset construction). A word with
/// `n` symbols contributes `n + 1` examples.
pub fn nll<'w, N: Network + ?Sized>(
    net: &N,
    scratch: &mut Scratch,
    words: impl IntoIterator<Item = &'w str>,
) -> Result<Nll, Error> {
    scratch.check(net)?;
    let mut total = Nll::default();
    for word in words {
        scratch.ctx.fill(0);
        let targets = word.chars().map(Some).chain(core::iter::once(None));
        for symbol in targets {
            let target = match symbol {
                Some(s) => symbol_id(net, s)?,
                None => 0,
            };
            total.sum -= net.log_prob(scratch.ctx, scratch.work, target);
            total.count += 1;
            push_ctx(scratch.ctx, target);
        }
    }
    Ok(total)
}
