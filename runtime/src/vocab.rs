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
    ///
    /// A `const fn`, so that a vocabulary known at build time (a firmware's embedded model,
    /// see [`crate::format::ModelMap`]) is checked by the compiler and costs no code.
    pub const fn new(symbols: &'a str) -> Result<Self, DecodeError> {
        let (mut rest, mut len, mut widest) = (symbols.as_bytes(), 0usize, 0usize);
        while let Some((symbol, width, after)) = next_char(rest) {
            if len == 0 && symbol != BOUNDARY {
                return Err(DecodeError::VocabBoundary { found: symbol });
            }
            if len == MAX_VOCAB {
                return Err(DecodeError::VocabSize { len: count_chars(symbols) });
            }
            // Quadratic, but bounded by MAX_VOCAB and done once at load (or at build time).
            let mut seen = symbols.as_bytes();
            let mut k = 0;
            while k < len {
                let Some((s, _, after_s)) = next_char(seen) else { break };
                if s == symbol {
                    return Err(DecodeError::VocabDuplicate { symbol });
                }
                (seen, k) = (after_s, k + 1);
            }
            if width > widest {
                widest = width;
            }
            (rest, len) = (after, len + 1);
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
        // A plain walk: `chars().nth` skips with a 256-byte table of UTF-8 widths (flash).
        let mut chars = self.symbols.chars();
        for _ in 0..id {
            chars.next()?;
        }
        chars.next()
    }

    /// The id of `symbol`, if it is in the vocabulary.
    pub fn id(&self, symbol: char) -> Option<u8> {
        self.symbols.chars().position(|s| s == symbol).and_then(|i| u8::try_from(i).ok())
    }
}

/// The number of `char`s of `text`: a plain walk, where `chars().count()` is a vectorised
/// routine of a few hundred bytes of flash.
pub(crate) const fn count_chars(text: &str) -> usize {
    let (mut bytes, mut n) = (text.as_bytes(), 0);
    while let [b, rest @ ..] = bytes {
        if *b & 0xc0 != 0x80 {
            n += 1;
        }
        bytes = rest;
    }
    n
}

/// The first `char` of `bytes` (the bytes of a `str`, so valid UTF-8), its width in bytes
/// and the bytes after it; `None` when `bytes` is empty. A `const fn` (`str::chars` is not).
const fn next_char(bytes: &[u8]) -> Option<(char, usize, &[u8])> {
    let [lead, rest @ ..] = bytes else { return None };
    let (width, mut code) = match *lead {
        0x00..=0x7f => (1, *lead as u32),
        0xc0..=0xdf => (2, (*lead & 0x1f) as u32),
        0xe0..=0xef => (3, (*lead & 0x0f) as u32),
        _ => (4, (*lead & 0x07) as u32),
    };
    let mut rest = rest;
    let mut k = 1;
    while k < width {
        let [b, after @ ..] = rest else { return None };
        code = (code << 6) | (*b & 0x3f) as u32;
        (rest, k) = (after, k + 1);
    }
    match char::from_u32(code) {
        Some(c) => Some((c, width, rest)),
        None => None,
    }
}
