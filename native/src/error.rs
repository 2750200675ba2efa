//! The one place where core errors become JS errors with a stable `code`.
use eager_core::EagerError;

pub fn to_napi(e: EagerError) -> napi::Error {
    // The status string becomes `err.code` on the JS side.
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": caused by: {s}"));
        src = s.source();
    }
    napi::Error::new(napi::Status::GenericFailure, format!("[{}] {}", e.code(), msg))
}

pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for eager_core::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}
