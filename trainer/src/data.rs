//! Data: load a line-per-word file, build the vocabulary, split 80/10/10, make context windows.
//!
//! Decisions (documented in the README): lines are trimmed (so CRLF files and stray spaces at
//! the ends are fine), blank lines are skipped, and case is kept (`Emma` and `emma` are
//! different words with different symbols), as in makemore. A line that cannot be a word (it
//! holds the boundary symbol, or is not UTF-8) is an error naming it, unless the caller asks
//! to skip such lines ([`LoadOptions::skip_bad_lines`]); repeated words stay (makemore keeps
//! them) unless [`LoadOptions::dedup`] removes them.

use runtime::{Pcg32, BOUNDARY, MAX_VOCAB};
use std::path::{Path, PathBuf};

/// Why a dataset could not be loaded; each message names the problem and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    // The cause is the error's source: a caller printing the chain (`{:#}`) shows it once.
    #[error("cannot read dataset {path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} line {line}: not valid UTF-8; save the file as UTF-8, or pass --skip-bad-lines to drop such lines"
    )]
    NotUtf8 { path: PathBuf, line: usize },
    #[error("{path} holds no words (every line is blank); pass a file with one word per line")]
    Empty { path: PathBuf },
    #[error("{path} line {line}: {word:?} contains the boundary symbol '{BOUNDARY}', which marks the start and end of words; remove or replace it, or pass --skip-bad-lines to drop such lines")]
    BoundaryInLine { path: PathBuf, line: usize, word: String },
    #[error(
        "{path} has {n} words; the 80/10/10 split needs at least {MIN_WORDS} so that train, dev and test each get one"
    )]
    TooFewWords { path: PathBuf, n: usize },
    #[error("{path} uses {n} distinct symbols, more than the {max} a model supports; restrict the alphabet (e.g. lower-case the words)", max = MAX_VOCAB - 1)]
    TooManySymbols { path: PathBuf, n: usize },
}

/// Fewest words a dataset may have: with 10, the 80/10/10 split gives 8, 1 and 1.
pub const MIN_WORDS: usize = 10;

/// Symbols in id order: id 0 is the boundary token, then the data's symbols sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    symbols: Vec<char>,
}

impl Vocab {
    /// The vocabulary of `words` (which must not contain the boundary symbol).
    pub fn from_words<S: AsRef<str>>(words: &[S]) -> Self {
        let mut symbols: Vec<char> = words.iter().flat_map(|w| w.as_ref().chars()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        symbols.insert(0, BOUNDARY);
        Self { symbols }
    }

    /// `vocab_size`, the boundary token included.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The symbols in id order as one string (the runtime's vocabulary format).
    pub fn as_string(&self) -> String {
        self.symbols.iter().collect()
    }

    /// The ids a word predicts, in order: each symbol's, then the boundary's (0). Every
    /// symbol of a loaded dataset is in its vocabulary; an unknown one would read as 0.
    pub fn targets<'a>(&'a self, word: &'a str) -> impl Iterator<Item = u8> + 'a {
        word.chars().map(|c| self.id(c).unwrap_or(0)).chain(std::iter::once(0))
    }

    pub fn id(&self, c: char) -> Option<u8> {
        self.symbols.iter().position(|&s| s == c).and_then(|i| u8::try_from(i).ok())
    }
}

/// The words of a dataset and their vocabulary.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub words: Vec<String>,
    pub vocab: Vocab,
}

/// How to treat lines that cannot be words, and repeated words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Drop lines that hold the boundary symbol or are not UTF-8 (reported in
    /// [`Cleaning`]) instead of refusing the file.
    pub skip_bad_lines: bool,
    /// Keep only the first occurrence of each word.
    pub dedup: bool,
}

/// What loading with [`LoadOptions`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleaning {
    /// Line numbers (1-based) of the skipped lines.
    pub skipped_lines: Vec<usize>,
    /// Words dropped as repeats of an earlier line.
    pub duplicates: usize,
}

impl Cleaning {
    /// One line for the user, or `None` when nothing was removed.
    pub fn summary(&self, path: &Path) -> Option<String> {
        let mut parts = vec![];
        if !self.skipped_lines.is_empty() {
            let shown: Vec<String> = self.skipped_lines.iter().take(5).map(usize::to_string).collect();
            let more = if self.skipped_lines.len() > 5 { ", ..." } else { "" };
            let s = if self.skipped_lines.len() == 1 { "" } else { "s" };
            parts.push(format!(
                "skipped {} unusable line{s} (line{s} {}{more})",
                self.skipped_lines.len(),
                shown.join(", ")
            ));
        }
        if self.duplicates > 0 {
            parts.push(format!("removed {} repeated words", self.duplicates));
        }
        (!parts.is_empty()).then(|| format!("{}: {}", path.display(), parts.join("; ")))
    }
}

impl Dataset {
    /// Loads and validates a line-per-word UTF-8 file.
    pub fn load(path: &Path) -> Result<Self, DataError> {
        Ok(Self::load_with(path, LoadOptions::default())?.0)
    }

    /// [`Dataset::load`] with `options`; also says what was removed.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<(Self, Cleaning), DataError> {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.into(), source })?;
        Self::parse_with(&bytes, path, options)
    }

    /// Parses the bytes of a dataset file; `path` is used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, DataError> {
        Ok(Self::parse_with(bytes, path, LoadOptions::default())?.0)
    }

    /// [`Dataset::parse`] with `options`.
    pub fn parse_with(bytes: &[u8], path: &Path, options: LoadOptions) -> Result<(Self, Cleaning), DataError> {
        let mut words = Vec::new();
        let mut cleaning = Cleaning::default();
        let mut seen = std::collections::HashSet::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let line_no = i + 1;
            let Ok(line) = std::str::from_utf8(line) else {
                if options.skip_bad_lines {
                    cleaning.skipped_lines.push(line_no);
                    continue;
                }
                return Err(DataError::NotUtf8 { path: path.into(), line: line_no });
            };
            let word = line.trim();
            if word.is_empty() {
                continue;
            }
            if word.contains(BOUNDARY) {
                if options.skip_bad_lines {
                    cleaning.skipped_lines.push(line_no);
                    continue;
                }
                return Err(DataError::BoundaryInLine { path: path.into(), line: line_no, word: word.into() });
            }
            if options.dedup && !seen.insert(word.to_string()) {
                cleaning.duplicates += 1;
                continue;
            }
            words.push(word.to_string());
        }
        if words.is_empty() {
            return Err(DataError::Empty { path: path.into() });
        }
        if words.len() < MIN_WORDS {
            return Err(DataError::TooFewWords { path: path.into(), n: words.len() });
        }
        let vocab = Vocab::from_words(&words);
        if vocab.len() > MAX_VOCAB {
            return Err(DataError::TooManySymbols { path: path.into(), n: vocab.len() - 1 });
        }
        Ok((Self { words, vocab }, cleaning))
    }

    /// Shuffles a copy of the words with `seed` (Fisher-Yates on PCG32) and splits it 80/10/10
    /// at `n * 8 / 10` and `n * 9 / 10`, as the lectures do.
    pub fn split(&self, seed: u64) -> Splits {
        let mut words = self.words.clone();
        let mut rng = Pcg32::from_seed(seed);
        for i in (1..words.len()).rev() {
            let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
            words.swap(i, j);
        }
        let n = words.len();
        let (n1, n2) = (n * 8 / 10, n * 9 / 10);
        let test = words.split_off(n2);
        let dev = words.split_off(n1);
        Splits { train: words, dev, test }
    }
}

/// The three splits of a shuffled dataset.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Vec<String>,
    pub dev: Vec<String>,
    pub test: Vec<String>,
}

/// Context windows and targets: `x` is `[n, block_size]` symbol ids row-major, `y` is `[n]`.
#[derive(Clone, Debug, Default)]
pub struct Examples {
    pub block_size: usize,
    pub x: Vec<u8>,
    pub y: Vec<u8>,
}

impl Examples {
    /// Every (context, next symbol) pair of every word: the context starts as `block_size`
    /// boundary tokens, and each word ends by predicting the boundary token.
    pub fn build<S: AsRef<str>>(words: &[S], vocab: &Vocab, block_size: usize) -> Self {
        let mut ex = Self { block_size, ..Self::default() };
        let mut ctx = vec![0u8; block_size];
        for w in words {
            ctx.fill(0);
            for id in vocab.targets(w.as_ref()) {
                ex.x.extend_from_slice(&ctx);
                ex.y.push(id);
                if block_size > 0 {
                    ctx.rotate_left(1);
                    ctx[block_size - 1] = id;
                }
            }
        }
        ex
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_match_the_lecture() {
        let words = ["emma"];
        let vocab = Vocab::from_words(&words);
        assert_eq!(vocab.as_string(), ".aem");
        let ex = Examples::build(&words, &vocab, 3);
        // ... -> e, ..e -> m, .em -> m, emm -> a, mma -> .
        assert_eq!(ex.x, [0, 0, 0, 0, 0, 2, 0, 2, 3, 2, 3, 3, 3, 3, 1]);
        assert_eq!(ex.y, [2, 3, 3, 1, 0]);
    }

    #[test]
    fn bad_lines_are_refused_or_skipped_and_repeats_removed_on_request() {
        let text = b"anna\ncf.\nbob\n\xff\nanna\ncarl\nvi.\nx\ny\nz\nw\nq\nr\n";
        let path = Path::new("words.txt");
        let err = Dataset::parse(text, path).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("--skip-bad-lines"), "{err}");
        let skip = LoadOptions { skip_bad_lines: true, dedup: false };
        let (ds, cleaning) = Dataset::parse_with(text, path, skip).unwrap();
        assert_eq!(cleaning.skipped_lines, [2, 4, 7]);
        assert_eq!(ds.words, ["anna", "bob", "anna", "carl", "x", "y", "z", "w", "q", "r"]);
        let summary = cleaning.summary(path).unwrap();
        assert!(summary.contains("skipped 3 unusable lines (lines 2, 4, 7)"), "{summary}");
        let both = LoadOptions { skip_bad_lines: true, dedup: true };
        let text = [&text[..], b"s\n"].concat(); // ten words after removing the repeat
        let (ds, cleaning) = Dataset::parse_with(&text, path, both).unwrap();
        assert_eq!(ds.words, ["anna", "bob", "carl", "x", "y", "z", "w", "q", "r", "s"]);
        assert_eq!(cleaning.duplicates, 1);
        assert!(cleaning.summary(path).unwrap().ends_with("removed 1 repeated words"));
        assert_eq!(Dataset::parse_with(b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", path, both).unwrap().1.summary(path), None);
    }

    #[test]
    fn split_is_80_10_10_and_seeded() {
        let words: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        let ds = Dataset { vocab: Vocab::from_words(&words), words };
        let s = ds.split(42);
        assert_eq!((s.train.len(), s.dev.len(), s.test.len()), (800, 100, 100));
        assert_eq!(s.train, ds.split(42).train);
        assert_ne!(s.train, ds.split(43).train);
        let mut all: Vec<_> = s.train.iter().chain(&s.dev).chain(&s.test).cloned().collect();
        all.sort();
        let mut orig = ds.words.clone();
        orig.sort();
        assert_eq!(all, orig);
    }
}
