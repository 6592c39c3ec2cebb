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
    /// Bytes of the widest symbol in UTF-8 (1 for ASCII, up to 4).
    widest: usize,
}

impl<'a> Vocab<'a> {
    /// Checks that `symbols` starts with the boundary token, has no repeated symbol and at
    /// most [`MAX_VOCAB`] symbols.
    pub fn new(symbols: &'a str) -> Result<Self, DecodeError> {
        let mut len = 0usize;
        let mut widest = 0;
        for symbol in symbols.chars() {
            if len == 0 && symbol != BOUNDARY {
                return Err(DecodeError::VocabBoundary { found: symbol });
            }
            if len == MAX_VOCAB {
                return Err(DecodeError::VocabSize { len: count_chars(symbols) });
            }
            // Quadratic, but bounded by MAX_VOCAB and done once at load. (A plain walk: the
            // substring search of `str::contains` is a kilobyte of flash.)
            if symbols.chars().take(len).any(|s| s == symbol) {
                return Err(DecodeError::VocabDuplicate { symbol });
            }
            widest = widest.max(symbol.len_utf8());
            len += 1;
        }
        if len == 0 {
            return Err(DecodeError::VocabSize { len });
        }
        Ok(Self { symbols, len, widest })
    }

    /// Number of symbols, the boundary token included (`vocab_size`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a valid vocabulary holds at least the boundary token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the widest symbol in UTF-8: a name of `n` symbols needs at most `n` times this.
    pub fn widest_symbol(&self) -> usize {
        self.widest
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

/// The number of `char`s of `text`: a plain walk, where `chars().count()` is a vectorised
/// routine of a few hundred bytes of flash.
pub(crate) fn count_chars(text: &str) -> usize {
    text.bytes().filter(|&b| b & 0xc0 != 0x80).fold(0, |n, _| n + 1)
}
