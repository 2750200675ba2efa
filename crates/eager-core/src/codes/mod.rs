//! Item codes: the [`CodeTable`] (item id ↔ code) and the [`CodeTrie`] of valid codes used by
//! constrained decoding. Codes are built by [`crate::kmeans::build_codes`].
pub mod code_table;
pub mod trie;

pub use code_table::CodeTable;
pub use trie::CodeTrie;
