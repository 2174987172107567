//! The process's exit codes, documented in the README.

/// Served and drained, or the health probe answered healthy.
pub const OK: u8 = 0;
/// The server could not start or stopped on an error (the port is taken,
/// the runtime cannot start), or the health probe got no healthy answer.
pub const FAILURE: u8 = 1;
/// The configuration is unusable: a bad environment variable, an unreadable
/// or invalid `APP_CONFIG` file, or a bad command line. The message names
/// the variable, or the file and the field.
pub const CONFIG: u8 = 2;
