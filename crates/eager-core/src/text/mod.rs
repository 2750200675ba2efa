//! Item text -> semantic embeddings: a BERT-family sentence encoder (all-MiniLM-L6-v2 layout),
//! the no-download `tfidf-svd` fallback, and precomputed embedding files.
pub mod bert;
pub mod embedding_file;
pub mod sentence_encoder;
pub mod tfidf;
pub mod wordpiece;

pub use embedding_file::load_embedding_matrix;
pub use sentence_encoder::{SentenceEncoder, SentenceEncoderOptions};
pub use tfidf::{tfidf_svd, TfidfSvdOptions};
pub use wordpiece::WordPieceTokenizer;
