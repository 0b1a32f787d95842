//! Path patterns: literal segments, segments with `*` (any run of
//! characters but `/`), and `**` (any number of whole segments).

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Literal text, or text around `*` wildcards (split at each `*`).
    Glob(Vec<String>),
    /// `**`: zero or more segments.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern(Vec<Segment>);

impl Pattern {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.len() > super::MAX_PATTERN_BYTES {
            return Err(format!(
                "a pattern is at most {} bytes",
                super::MAX_PATTERN_BYTES
            ));
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("the path `{text}` must start with `/`"));
        };
        if text.contains(['?', '#', '%', '\\']) || text.chars().any(char::is_control) {
            return Err(format!(
                "the path `{text}` holds `?`, `#`, `%`, `\\` or a control character; patterns match decoded, normalised paths"
            ));
        }
        let mut segments = Vec::new();
        if rest.is_empty() {
            return Ok(Self(segments));
        }
        // A trailing slash is insignificant, as in request paths.
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        for seg in rest.split('/') {
            match seg {
                "" => return Err(format!("the path `{text}` has an empty segment (`//`)")),
                "." | ".." => {
                    return Err(format!("the path `{text}` has a `.` or `..` segment"));
                }
                "**" => segments.push(Segment::Any),
                s if s.contains("**") => {
                    return Err(format!(
                        "in `{text}`, `**` must be a whole segment (use `*` within one)"
                    ));
                }
                s => segments.push(Segment::Glob(s.split('*').map(String::from).collect())),
            }
        }
        Ok(Self(segments))
    }

    /// Whether the pattern matches these (normalised) segments.
    pub(crate) fn matches(&self, path: &[String]) -> bool {
        matches_from(&self.0, path)
    }
}

fn matches_from(pattern: &[Segment], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Any, rest)) => {
            // `**` takes 0..=n segments; patterns are short, so trying each
            // split is cheap (at most segments × `**` count).
            (0..=path.len()).any(|skip| matches_from(rest, &path[skip..]))
        }
        Some((Segment::Glob(parts), rest)) => match path.split_first() {
            Some((seg, tail)) => glob_matches(parts, seg) && matches_from(rest, tail),
            None => false,
        },
    }
}

/// `parts` is a segment split at its `*`s: the first must be a prefix,
/// the last a suffix, the middle ones found in order between.
fn glob_matches(parts: &[String], segment: &str) -> bool {
    let [first, middle @ .., last] = parts else {
        // One part: no `*`, a literal.
        return parts.first().is_some_and(|p| p == segment);
    };
    if segment.len() < first.len() + last.len()
        || !segment.starts_with(first.as_str())
        || !segment.ends_with(last.as_str())
    {
        return false;
    }
    let mut inner = &segment[first.len()..segment.len() - last.len()];
    for part in middle {
        match inner.find(part.as_str()) {
            Some(at) => inner = &inner[at + part.len()..],
            None => return false,
        }
    }
    // A lone `*` segment needs something to match: a path segment is
    // never empty after normalisation, so this always holds.
    true
}
