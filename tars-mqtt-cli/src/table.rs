//! Plain-text tables with aligned columns, and the small formatting helpers they use.

use std::fmt::Write;

/// A table: a header row and rows of cells, printed with two spaces between columns.
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, each line ending in a newline; trailing spaces trimmed.
    pub(crate) fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                let _ = write!(line, "{cell:<width$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A duration in seconds as `850ms`, `12s`, `3m04s`, `2h05m` or `3d04h`.
pub(crate) fn age(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".to_owned();
    }
    let s = seconds as u64;
    match s {
        0 => format!("{:.0}ms", seconds * 1e3),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Milliseconds with a precision that suits their size.
pub(crate) fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 1000.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// At most `max` characters of `text`, with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> f64 {
    tars_mqtt::wire::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_and_lines_trimmed() {
        let mut t = Table::new(&["NAME", "N"]);
        t.row(vec!["memory".into(), "1".into()]);
        t.row(vec!["a".into(), "".into()]);
        assert_eq!(t.render(), "NAME    N\nmemory  1\na\n");
    }

    #[test]
    fn ages_and_cuts() {
        assert_eq!(age(0.25), "250ms");
        assert_eq!(age(12.9), "12s");
        assert_eq!(age(184.0), "3m04s");
        assert_eq!(age(7500.0), "2h05m");
        assert_eq!(age(-1.0), "-");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(millis(0.123), "0.12");
    }
}
