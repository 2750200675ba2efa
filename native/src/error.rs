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

/// Runs a worker-thread computation (`Task::compute` on the libuv pool), turning a panic into a JS
/// error with code `EAGER_PANIC` instead of aborting the Node process (`catch_unwind` on the
/// exported functions only covers the synchronous calls).
pub fn guard<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(napi::Error::new(
                napi::Status::GenericFailure,
                format!("[EAGER_PANIC] internal error in the native core (please report): {what}"),
            ))
        }
    }
}
