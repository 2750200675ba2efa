//! BERT WordPiece tokenizer, read from a Hugging Face `tokenizer.json` (or a `vocab.txt`).
//!
//! Reproduces HF `tokenizers` for the BERT pipeline used by all-MiniLM-L6-v2:
//! `BertNormalizer` (clean text, CJK padding, accent stripping by NFD, lowercase) ->
//! `BertPreTokenizer` (split on whitespace, isolate punctuation) -> `WordPiece` (greedy
//! longest-match-first with `##` continuation, `[UNK]` for a word that fails or is longer than
//! `max_input_chars_per_word`) -> `[CLS] ... [SEP]` template, truncated to a maximum length.
use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

use crate::error::{EagerError, Result};

/// Normalisation switches of the BERT normalizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BertNormalization {
    /// Drop control characters and map every whitespace to a plain space.
    pub clean_text: bool,
    /// Put spaces around CJK ideographs so each becomes its own word.
    pub handle_chinese_chars: bool,
    /// Remove combining marks after NFD decomposition.
    pub strip_accents: bool,
    /// Lowercase everything.
    pub lowercase: bool,
}

impl Default for BertNormalization {
    fn default() -> Self {
        BertNormalization { clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true }
    }
}

/// A tokenized batch: row-major `[n, max_len]` ids and attention mask (1 = real token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// Token ids, `[n, max_len]`, right-padded with the pad id.
    pub ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding, `[n, max_len]`.
    pub mask: Vec<u32>,
    /// Number of rows.
    pub n: usize,
    /// Padded length of every row.
    pub max_len: usize,
}

/// BERT WordPiece tokenizer.
#[derive(Debug, Clone)]
pub struct WordPieceTokenizer {
    vocab: HashMap<String, u32>,
    normalization: BertNormalization,
    continuing_prefix: String,
    max_input_chars_per_word: usize,
    unk_id: u32,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
}

fn special_id(vocab: &HashMap<String, u32>, tok: &str, path: &str) -> Result<u32> {
    vocab.get(tok).copied().ok_or_else(|| EagerError::BadFile {
        path: path.to_string(),
        msg: format!("vocabulary has no special token {tok}"),
    })
}

impl WordPieceTokenizer {
    /// Builds a tokenizer from a vocabulary (token -> id) and normalisation switches.
    /// The vocabulary must hold `[UNK]`, `[CLS]`, `[SEP]` and `[PAD]`.
    pub fn new(vocab: HashMap<String, u32>, normalization: BertNormalization) -> Result<Self> {
        let unk_id = special_id(&vocab, "[UNK]", "<vocab>")?;
        let cls_id = special_id(&vocab, "[CLS]", "<vocab>")?;
        let sep_id = special_id(&vocab, "[SEP]", "<vocab>")?;
        let pad_id = special_id(&vocab, "[PAD]", "<vocab>")?;
        Ok(WordPieceTokenizer {
            vocab,
            normalization,
            continuing_prefix: "##".to_string(),
            max_input_chars_per_word: 100,
            unk_id,
            cls_id,
            sep_id,
            pad_id,
        })
    }

    /// Reads a HF `tokenizer.json` whose model is `WordPiece` (BERT family).
    pub fn from_tokenizer_json(path: &Path) -> Result<Self> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| EagerError::io(&p, e))?;
        let root: Value = serde_json::from_str(&text)
            .map_err(|e| EagerError::BadFile { path: p.clone(), msg: format!("not JSON: {e}") })?;
        let bad = |msg: String| EagerError::BadFile { path: p.clone(), msg };
        let model = root.get("model").ok_or_else(|| bad("missing field `model`".into()))?;
        let kind = model.get("type").and_then(Value::as_str).unwrap_or("WordPiece");
        if kind != "WordPiece" {
            return Err(bad(format!("field `model.type` is {kind:?}, only \"WordPiece\" is supported")));
        }
        let vocab_obj = model
            .get("vocab")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("missing object field `model.vocab`".into()))?;
        let mut vocab = HashMap::with_capacity(vocab_obj.len());
        for (tok, id) in vocab_obj {
            let id = id
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| bad(format!("field `model.vocab[{tok:?}]` is not a token id")))?;
            vocab.insert(tok.clone(), id);
        }
        let mut norm = BertNormalization::default();
        if let Some(n) = root.get("normalizer").filter(|n| !n.is_null()) {
            let ntype = n.get("type").and_then(Value::as_str).unwrap_or("");
            if ntype != "BertNormalizer" {
                return Err(bad(format!("field `normalizer.type` is {ntype:?}, only \"BertNormalizer\" is supported")));
            }
            let flag = |k: &str, d: bool| n.get(k).and_then(Value::as_bool).unwrap_or(d);
            norm.clean_text = flag("clean_text", true);
            norm.handle_chinese_chars = flag("handle_chinese_chars", true);
            norm.lowercase = flag("lowercase", true);
            // HF: `strip_accents: null` means "follow lowercase".
            norm.strip_accents = n.get("strip_accents").and_then(Value::as_bool).unwrap_or(norm.lowercase);
        }
        let mut tok = WordPieceTokenizer::new(vocab, norm).map_err(|e| match e {
            EagerError::BadFile { msg, .. } => bad(msg),
            other => other,
        })?;
        if let Some(prefix) = model.get("continuing_subword_prefix").and_then(Value::as_str) {
            tok.continuing_prefix = prefix.to_string();
        }
        if let Some(m) = model.get("max_input_chars_per_word").and_then(Value::as_u64) {
            tok.max_input_chars_per_word = m as usize;
        }
        if let Some(unk) = model.get("unk_token").and_then(Value::as_str) {
            tok.unk_id = special_id(&tok.vocab, unk, &p)?;
        }
        Ok(tok)
    }

    /// Reads a BERT `vocab.txt` (one token per line, id = line number) with default
    /// uncased normalisation.
    pub fn from_vocab_txt(path: &Path) -> Result<Self> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| EagerError::io(&p, e))?;
        let vocab = text.lines().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
        WordPieceTokenizer::new(vocab, BertNormalization::default()).map_err(|e| match e {
            EagerError::BadFile { msg, .. } => EagerError::BadFile { path: p, msg },
            other => other,
        })
    }

    /// Vocabulary size (largest id + 1).
    pub fn vocab_size(&self) -> usize {
        self.vocab.values().copied().max().map_or(0, |m| m as usize + 1)
    }

    /// Id of the padding token.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The BERT normalizer: the text the pre-tokenizer sees.
    pub fn normalize(&self, text: &str) -> String {
        let n = &self.normalization;
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if n.clean_text {
                if c == '\0' || c == '\u{fffd}' || is_control(c) {
                    continue;
                }
                if is_whitespace(c) {
                    out.push(' ');
                    continue;
                }
            }
            if n.handle_chinese_chars && is_chinese_char(c) {
                out.push(' ');
                out.push(c);
                out.push(' ');
            } else {
                out.push(c);
            }
        }
        if n.strip_accents {
            out = out.nfd().filter(|c| !c.is_mark_nonspacing()).collect();
        }
        if n.lowercase {
            // Per char, as HF does (no context-dependent final-sigma rule of `str::to_lowercase`).
            out = out.chars().flat_map(char::to_lowercase).collect();
        }
        out
    }

    /// Word ids of one text without special tokens and without truncation.
    pub fn tokenize_ids(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalize(text);
        let mut ids = Vec::new();
        for word in pre_tokenize(&normalized) {
            self.word_piece(word, &mut ids);
        }
        ids
    }

    /// `[CLS] tokens [SEP]`, truncated so the whole sequence has at most `max_len` (>= 2) ids.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut body = self.tokenize_ids(text);
        body.truncate(max_len.saturating_sub(2));
        let mut ids = Vec::with_capacity(body.len() + 2);
        ids.push(self.cls_id);
        ids.extend(body);
        ids.push(self.sep_id);
        ids
    }

    /// Encodes several texts and right-pads them to the longest one.
    pub fn encode_batch(&self, texts: &[&str], max_len: usize) -> EncodedBatch {
        let seqs: Vec<Vec<u32>> = texts.iter().map(|t| self.encode(t, max_len)).collect();
        self.pad(&seqs)
    }

    /// Right-pads id sequences to the longest one.
    pub fn pad(&self, seqs: &[Vec<u32>]) -> EncodedBatch {
        let max_len = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = vec![self.pad_id; seqs.len() * max_len];
        let mut mask = vec![0u32; seqs.len() * max_len];
        for (r, s) in seqs.iter().enumerate() {
            ids[r * max_len..r * max_len + s.len()].copy_from_slice(s);
            mask[r * max_len..r * max_len + s.len()].fill(1);
        }
        EncodedBatch { ids, mask, n: seqs.len(), max_len }
    }

    fn word_piece(&self, word: &str, out: &mut Vec<u32>) {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > self.max_input_chars_per_word {
            out.push(self.unk_id);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0usize; // index into `chars`
        let mut candidate = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let lo = chars[start].0;
                let hi = if end < chars.len() { chars[end].0 } else { word.len() };
                candidate.clear();
                if start > 0 {
                    candidate.push_str(&self.continuing_prefix);
                }
                candidate.push_str(&word[lo..hi]);
                if let Some(&id) = self.vocab.get(candidate.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => {
                    out.push(self.unk_id);
                    return;
                }
            }
            start = end;
        }
        out.extend(pieces);
    }
}

/// `BertPreTokenizer`: split on whitespace, and every punctuation char is a word of its own.
fn pre_tokenize(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
        } else if is_bert_punctuation(c) {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
            words.push(&text[i..i + c.len_utf8()]);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    // Tab, newline and carriage return count as whitespace, not control (as in HF).
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

fn is_bert_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

fn is_chinese_char(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> WordPieceTokenizer {
        let toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", "!", "cafe", ",", "中"];
        let vocab = toks.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
        WordPieceTokenizer::new(vocab, BertNormalization::default()).unwrap()
    }

    #[test]
    fn normalizes_like_bert() {
        let t = toy();
        assert_eq!(t.normalize("Café\tHÉLLO\u{0}x"), "cafe hellox");
        assert_eq!(t.normalize("a中b"), "a 中 b");
    }

    #[test]
    fn greedy_longest_match_and_unk() {
        let t = toy();
        // unaffable -> un ##aff ##able; "xyz" fails -> [UNK]; punctuation isolated.
        assert_eq!(t.tokenize_ids("Unaffable, xyz Hello!"), vec![4, 5, 6, 10, 1, 7, 8]);
        assert_eq!(t.encode("café 中", 16), vec![2, 9, 11, 3]);
        // Truncation keeps [CLS] and [SEP].
        assert_eq!(t.encode("hello hello hello", 4), vec![2, 7, 7, 3]);
        let long = "a".repeat(101);
        assert_eq!(t.tokenize_ids(&long), vec![1]);
    }

    #[test]
    fn pads_batches() {
        let t = toy();
        let b = t.encode_batch(&["hello", "hello hello"], 8);
        assert_eq!(b.max_len, 4);
        assert_eq!(b.ids, vec![2, 7, 3, 0, 2, 7, 7, 3]);
        assert_eq!(b.mask, vec![1, 1, 1, 0, 1, 1, 1, 1]);
    }
}
