//! The one error type of the core crate.
use thiserror::Error;

/// Every fallible core operation returns this. `code()` is stable and becomes the JS error `code`.
#[derive(Debug, Error)]
pub enum EagerError {
    /// A caller passed a value that breaks a documented precondition (shape, range, config).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A file could not be read or written.
    #[error("io error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what it must be.
    #[error("bad file {path}: {msg}")]
    BadFile { path: String, msg: String },
    /// Tensor arithmetic failed (candle).
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// JSON (de)serialisation failed.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// A numeric failure such as a non-finite loss.
    #[error("numeric error: {0}")]
    Numeric(String),
}

impl EagerError {
    /// Stable machine-readable code, e.g. `EAGER_INVALID_ARGUMENT`.
    pub fn code(&self) -> &'static str {
        match self {
            EagerError::InvalidArgument(_) => "EAGER_INVALID_ARGUMENT",
            EagerError::Io { .. } => "EAGER_IO",
            EagerError::BadFile { .. } => "EAGER_BAD_FILE",
            EagerError::Tensor(_) => "EAGER_TENSOR",
            EagerError::Json(_) => "EAGER_JSON",
            EagerError::Numeric(_) => "EAGER_NUMERIC",
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        EagerError::InvalidArgument(msg.into())
    }

    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        EagerError::Io { path: path.into(), source }
    }
}

pub type Result<T> = std::result::Result<T, EagerError>;
