//! Logging macros: `defmt` frames on the target (feature `defmt`), plain text on the host
//! (feature `std`), nothing otherwise. Never pass secrets to these macros.

/// Log a debug-level message.
#[macro_export]
macro_rules! msgr_debug {
    ($($t:tt)*) => {{
        #[cfg(feature = "defmt")]
        { defmt::debug!($($t)*); }
        #[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
        { $crate::log::host_log("debug", format_args!($($t)*)); }
    }};
}

/// Log an info-level message.
#[macro_export]
macro_rules! msgr_info {
    ($($t:tt)*) => {{
        #[cfg(feature = "defmt")]
        { defmt::info!($($t)*); }
        #[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
        { $crate::log::host_log("info", format_args!($($t)*)); }
    }};
}

/// Log a warning.
#[macro_export]
macro_rules! msgr_warn {
    ($($t:tt)*) => {{
        #[cfg(feature = "defmt")]
        { defmt::warn!($($t)*); }
        #[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
        { $crate::log::host_log("warn", format_args!($($t)*)); }
    }};
}

/// Write one plain-text log line to standard error when `MSGR_LOG` is set (host builds).
#[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
pub fn host_log(level: &str, args: core::fmt::Arguments<'_>) {
    CAPTURE.with(|c| {
        if let Some(buf) = c.borrow_mut().as_mut() {
            use core::fmt::Write as _;
            let _ = writeln!(buf, "[{level}] {args}");
        }
    });
    if std::env::var_os("MSGR_LOG").is_some() {
        std::eprintln!("[{level}] {args}");
    }
}

#[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
std::thread_local! {
    static CAPTURE: core::cell::RefCell<Option<std::string::String>> = const { core::cell::RefCell::new(None) };
}

/// Start capturing this thread's log lines (host builds; used by tests that scan for secrets).
#[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
pub fn capture_start() {
    CAPTURE.with(|c| *c.borrow_mut() = Some(std::string::String::new()));
}

/// Stop capturing and return the captured lines.
#[cfg(all(not(feature = "defmt"), not(target_os = "none")))]
pub fn capture_take() -> std::string::String {
    CAPTURE.with(|c| c.borrow_mut().take().unwrap_or_default())
}
