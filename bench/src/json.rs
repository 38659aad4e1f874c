//! The one-line messages workers print for the orchestrator: flat JSON objects whose values
//! are numbers or plain strings (`{"endpoint":"tcp://127.0.0.1:4242"}`, `{"msgs_per_sec":1.5e6}`).
//! Hand-written because that is all the suite needs; it is not a general JSON parser.

use anyhow::{bail, Context as _, Result};

/// One flat object, fields in the order written.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Line {
    fields: Vec<(String, Value)>,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Number(f64),
    Text(String),
}

impl Line {
    pub(crate) fn new() -> Line {
        Line::default()
    }

    pub(crate) fn number(mut self, key: &str, value: f64) -> Line {
        self.fields.push((key.to_owned(), Value::Number(value)));
        self
    }

    pub(crate) fn text(mut self, key: &str, value: &str) -> Line {
        self.fields
            .push((key.to_owned(), Value::Text(value.to_owned())));
        self
    }

    pub(crate) fn get_number(&self, key: &str) -> Option<f64> {
        self.fields.iter().find_map(|(k, v)| match v {
            Value::Number(n) if k == key => Some(*n),
            _ => None,
        })
    }

    pub(crate) fn get_text(&self, key: &str) -> Option<&str> {
        self.fields.iter().find_map(|(k, v)| match v {
            Value::Text(t) if k == key => Some(t.as_str()),
            _ => None,
        })
    }

    /// Parses one line as written by [`Line`]'s `Display`.
    pub(crate) fn parse(line: &str) -> Result<Line> {
        let inner = line
            .trim()
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .with_context(|| format!("not a JSON object: {line:?}"))?;
        let mut fields = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (key, after) = string(rest).with_context(|| format!("bad key in {line:?}"))?;
            let after = after
                .trim_start()
                .strip_prefix(':')
                .with_context(|| format!("no ':' after {key:?} in {line:?}"))?
                .trim_start();
            let (value, after) = if after.starts_with('"') {
                let (text, after) = string(after)?;
                (Value::Text(text), after)
            } else {
                let end = after.find(',').unwrap_or(after.len());
                let number = after[..end].trim();
                let n: f64 = number
                    .parse()
                    .with_context(|| format!("{key} = {number:?} in {line:?}"))?;
                (Value::Number(n), &after[end..])
            };
            fields.push((key, value));
            rest = after.trim_start();
            rest = match rest.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if rest.is_empty() => rest,
                None => bail!("expected ',' at {rest:?} in {line:?}"),
            };
        }
        Ok(Line { fields })
    }
}

/// A quoted string at the start of `s` (escapes: `\"` and `\\`), and what follows it.
fn string(s: &str) -> Result<(String, &str)> {
    let body = s.strip_prefix('"').context("expected '\"'")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                other => bail!("unsupported escape {other:?}"),
            },
            c => out.push(c),
        }
    }
    bail!("unterminated string")
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "\"{}\":", escape(k))?;
            match v {
                // `{}` of an f64 is the shortest text that reads back as the same number.
                Value::Number(n) if n.is_finite() => write!(f, "{n}")?,
                Value::Number(_) => f.write_str("null")?,
                Value::Text(t) => write!(f, "\"{}\"", escape(t))?,
            }
        }
        f.write_str("}")
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let line = Line::new()
            .text("endpoint", "ipc:///tmp/a \"b\"\\c")
            .number("msgs_per_sec", 1_234_567.5)
            .number("n", 3.0);
        let text = line.to_string();
        assert_eq!(
            text,
            r#"{"endpoint":"ipc:///tmp/a \"b\"\\c","msgs_per_sec":1234567.5,"n":3}"#
        );
        let back = Line::parse(&text).unwrap();
        assert_eq!(back, line);
        assert_eq!(back.get_number("n"), Some(3.0));
        assert_eq!(back.get_text("endpoint"), Some("ipc:///tmp/a \"b\"\\c"));
        assert_eq!(back.get_number("endpoint"), None);
    }

    #[test]
    fn parses_what_others_write() {
        let line = Line::parse(r#" { "a" : 1e3 , "b":"x" } "#).unwrap();
        assert_eq!(line.get_number("a"), Some(1000.0));
        assert_eq!(Line::parse("{}").unwrap(), Line::new());
        assert!(Line::parse("msgs 5").is_err());
        assert!(Line::parse(r#"{"a":}"#).is_err());
        assert!(Line::parse(r#"{"a":1 "b":2}"#).is_err());
    }
}
