//! Import files: JSON lines (`.jsonl`, one object per line) and CSV
//! (`.csv`, a header row naming the columns). Both carry the fields of
//! [`UserFields`](super::UserFields).

use std::io::{BufRead, BufReader, Read};

use super::{Record, UserFields};

pub fn read_jsonl(input: impl Read) -> Vec<Record> {
    let mut records = Vec::new();
    for (index, line) in BufReader::new(input).lines().enumerate() {
        let line_no = index + 1;
        let user = match line {
            Err(e) => Err(format!("the line cannot be read: {e}")),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => serde_json::from_str::<UserFields>(&text)
                .map(Into::into)
                .map_err(|e| json_problem(&e)),
        };
        records.push(Record {
            line: line_no,
            user,
        });
    }
    records
}

pub fn read_csv(input: impl Read) -> Vec<Record> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Fields)
        .from_reader(input);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return vec![Record {
                line: 1,
                user: Err(format!(
                    "the header row cannot be read: {}",
                    csv_problem(&e)
                )),
            }];
        }
    };
    let mut records = Vec::new();
    let mut row = csv::StringRecord::new();
    loop {
        // The line the next record starts on (quoted fields may span lines).
        let line = reader.position().line() as usize;
        let user = match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => row
                .deserialize::<UserFields>(Some(&headers))
                .map(Into::into)
                .map_err(|e| csv_problem(&e)),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                // Reading cannot go on; say where it stopped.
                records.push(Record {
                    line,
                    user: Err(format!("reading stopped here: {e}")),
                });
                break;
            }
            Err(e) => Err(csv_problem(&e)),
        };
        records.push(Record { line, user });
    }
    records
}

/// serde_json's message without the echo of the value (a hash is a secret
/// of sorts) and without its own "at line 1 column N".
fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let text = e.to_string();
            let text = text.split(" at line ").next().unwrap_or(&text).to_string();
            match text.rsplit_once(", expected ") {
                Some((_, expected)) => format!("a field has the wrong type: expected {expected}"),
                None => text,
            }
        }
        _ => "the line is not a JSON object".to_string(),
    }
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!("column {}: {}", i + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields where the header has {expected_len}"),
        _ => "the row cannot be read as CSV".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_numbers_lines_and_skips_blanks() {
        let input = "{\"username\":\"a\",\"password_hash\":\"x\",\"id\":7}\n\n{oops\n{\"password_hash\":\"x\"}\n";
        let records = read_jsonl(input.as_bytes());
        let lines: Vec<usize> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 3, 4]);
        assert_eq!(records[0].user.as_ref().unwrap().id.as_deref(), Some("7"));
        assert_eq!(
            records[1].user.as_ref().unwrap_err(),
            "the line is not a JSON object"
        );
        assert!(records[2].user.as_ref().unwrap_err().contains("username"));
    }

    #[test]
    fn csv_quotes_roles_and_line_numbers() {
        let input = "username,password_hash,last_name,roles\n\
                     a,h1,\"O\"\"Brien, Jr.\",admin ops\n\
                     b,h2\n";
        let records = read_csv(input.as_bytes());
        let a = records[0].user.as_ref().unwrap();
        assert_eq!(records[0].line, 2);
        assert_eq!(a.last_name.as_deref(), Some("O\"Brien, Jr."));
        assert_eq!(a.roles, ["admin", "ops"]);
        assert_eq!(records[1].line, 3);
        assert!(records[1].user.is_err());
    }
}
