//! The request path as rules see it, normalised once, before matching:
//!
//! 1. The query (`?…`) and fragment (`#…`) are dropped.
//! 2. Percent-escapes are decoded. An escape that decodes to `/`, `\`,
//!    `.`, `%`, a control character or NUL is refused rather than
//!    guessed at: `/a%2Fb` and `/%2e%2e/admin` never reach a rule. So are
//!    invalid escapes, a raw `\`, and text that is not UTF-8 once decoded.
//! 3. Empty segments (`//`) are dropped, `.` segments removed, and `..`
//!    removes the segment before it (RFC 3986 §5.2.4); a `..` above the
//!    root is refused.
//! 4. A trailing slash is insignificant: `/a/` is `/a`.
//!
//! The path the upstream receives is untouched; only matching uses this.

use std::fmt;

/// Longest path judged, in bytes.
pub const MAX_PATH_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath {
    segments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("a path must start with `/`")]
    NotAbsolute,
    #[error("the path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    #[error("the path holds an invalid percent-escape")]
    BadEscape,
    #[error("the path encodes `/`, `\\`, `.`, `%` or a control character, which is refused")]
    EncodedSeparator,
    #[error("the path holds a backslash or a control character")]
    BadCharacter,
    #[error("the path is not UTF-8 once decoded")]
    NotUtf8,
    #[error("the path climbs above the root with `..`")]
    AboveRoot,
}

impl RequestPath {
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        let path = raw.split(['?', '#']).next().unwrap_or("");
        if !path.starts_with('/') {
            return Err(PathError::NotAbsolute);
        }
        let mut segments: Vec<String> = Vec::new();
        for raw_segment in path.split('/') {
            let segment = decode(raw_segment)?;
            match segment.as_str() {
                "" | "." => {}
                ".." => {
                    if segments.pop().is_none() {
                        return Err(PathError::AboveRoot);
                    }
                }
                _ => segments.push(segment),
            }
        }
        Ok(Self { segments })
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

impl fmt::Display for RequestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for s in &self.segments {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

fn decode(segment: &str) -> Result<String, PathError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEscape)?;
            let text = std::str::from_utf8(hex).map_err(|_| PathError::BadEscape)?;
            let decoded = u8::from_str_radix(text, 16).map_err(|_| PathError::BadEscape)?;
            if matches!(decoded, b'/' | b'\\' | b'.' | b'%') || decoded.is_ascii_control() {
                return Err(PathError::EncodedSeparator);
            }
            out.push(decoded);
            i += 3;
        } else {
            if b == b'\\' || b.is_ascii_control() {
                return Err(PathError::BadCharacter);
            }
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}
