//! The vocabulary: the model's symbols in id order, borrowed from the model bytes.

use crate::DecodeError;

/// The boundary token: symbol id 0, padding the context before a word and ending it.
pub const BOUNDARY: char = '.';

/// Most symbols a vocabulary may hold: ids are stored in a `u8`.
pub const MAX_VOCAB: usize = 256;

/// Symbols in id order, as one UTF-8 string with one `char` per symbol (id 0 is [`BOUNDARY`]).
///
/// Lookups walk the string: vocabularies are small (27 for names) and this keeps the
/// vocabulary in flash with no table in RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vocab<'a> {
    symbols: &'a str,
    len: usize,
}

impl<'a> Vocab<'a> {
    /// Checks that `symbols` starts with the boundary token, has no repeated symbol and at
    /// most [`MAX_VOCAB`] symbols.
    pub fn new(symbols: &'a str) -> Result<Self, DecodeError> {
        let mut len = 0usize;
        for (i, (byte_idx, symbol)) in symbols.char_indices().enumerate() {
            if i == 0 && symbol != BOUNDARY {
                return Err(DecodeError::VocabBoundary { found: symbol });
            }
            if i >= MAX_VOCAB {
                return Err(DecodeError::VocabSize { len: symbols.chars().count() });
            }
            // Quadratic, but bounded by MAX_VOCAB and done once at load.
            if symbols.get(..byte_idx).is_some_and(|before| before.contains(symbol)) {
                return Err(DecodeError::VocabDuplicate { symbol });
            }
            len = i + 1;
        }
        if len == 0 {
            return Err(DecodeError::VocabSize { len: 0 });
        }
        Ok(Self { symbols, len })
    }

    /// Number of symbols, the boundary token included (`vocab_size`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a valid vocabulary holds at least the boundary token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The symbols in id order, as stored.
    pub fn as_str(&self) -> &'a str {
        self.symbols
    }

    /// The symbol with id `id`, if there is one.
    pub fn symbol(&self, id: u8) -> Option<char> {
        self.symbols.chars().nth(usize::from(id))
    }

    /// The id of `symbol`, if it is in the vocabulary.
    pub fn id(&self, symbol: char) -> Option<u8> {
        self.symbols.chars().position(|s| s == symbol).and_then(|i| u8::try_from(i).ok())
    }
}
