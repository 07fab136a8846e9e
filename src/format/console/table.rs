//! A table that fits the terminal: columns as wide as their widest cell, and when
//! that is wider than the terminal, in this order: compact cells (a growth without
//! its range), long names shortened in the middle to 24 columns, informational
//! columns left out (lowest priority first), names shortened further. A row is never wider than the terminal, so it never
//! wraps; as a last resort (a very narrow terminal) it is cut with `…`.

use crate::text::{display_width, shorten_middle, truncate_end};

/// Names are shortened to this many columns before informational columns give
/// way (most names are shorter)...
const SOFT_NAME: usize = 24;
/// ...and to at most this many after.
const MIN_NAME: usize = 12;
const GAP: usize = 2;

pub struct Column {
    pub header: String,
    /// Each row's cell, and a shorter form to use when the table is too wide.
    pub cells: Vec<(String, String)>,
    /// Left out when the table is too wide, lowest first; `None`: always shown.
    pub drop_priority: Option<u8>,
    /// The column whose cells are shortened in the middle (scenario names).
    pub shrinks: bool,
}

pub struct Fitted {
    pub header: String,
    /// Each row's text without its last cell, and the last cell (painted apart).
    pub rows: Vec<(String, String)>,
    /// Headers of the columns left out.
    pub dropped: Vec<String>,
}

fn widths(cols: &[&Column], compact: bool) -> Vec<usize> {
    cols.iter()
        .map(|c| {
            c.cells
                .iter()
                .map(|(full, short)| display_width(if compact { short } else { full }))
                .chain([display_width(&c.header)])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn total(widths: &[usize]) -> usize {
    widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1)
}

fn pad(text: &str, width: usize) -> String {
    let w = display_width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(w)))
}

/// Lays `columns` out in at most `width` columns of text.
pub fn fit(columns: &[Column], width: usize) -> Fitted {
    let rows = columns.first().map_or(0, |c| c.cells.len());
    let mut shown: Vec<&Column> = columns.iter().collect();
    let mut dropped = Vec::new();
    let mut compact = false;
    let mut w = widths(&shown, compact);
    if total(&w) > width {
        compact = true;
        w = widths(&shown, compact);
    }
    // Names first give up what realistic names do not need, then columns go, then
    // names shrink further; the name column takes back any room left.
    let name_at = |shown: &[&Column]| shown.iter().position(|c| c.shrinks);
    let squeezed = |w: &[usize], i: Option<usize>, floor: usize| -> usize {
        let mut w = w.to_vec();
        if let Some(i) = i {
            w[i] = w[i].min(floor.max(MIN_NAME));
        }
        total(&w)
    };
    let mut priorities: Vec<u8> = columns.iter().filter_map(|c| c.drop_priority).collect();
    priorities.sort_unstable();
    for p in priorities {
        if squeezed(&w, name_at(&shown), SOFT_NAME) <= width {
            break;
        }
        if let Some(i) = shown.iter().position(|c| c.drop_priority == Some(p)) {
            dropped.push(shown[i].header.clone());
            shown.remove(i);
            w = widths(&shown, compact);
        }
    }
    if let Some(i) = name_at(&shown) {
        let over = total(&w).saturating_sub(width);
        w[i] = w[i].saturating_sub(over).max(MIN_NAME.min(w[i]));
    }
    let line = |cells: Vec<String>| -> (String, String) {
        let n = cells.len();
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate().take(n.saturating_sub(1)) {
            let cell = if shown[i].shrinks {
                shorten_middle(cell, w[i])
            } else {
                cell.clone()
            };
            text.push_str(&pad(&cell, w[i]));
            text.push_str(&" ".repeat(GAP));
        }
        let last = cells.last().cloned().unwrap_or_default();
        // Never wider than the terminal: cut the last resort's overflow.
        let room = width.saturating_sub(display_width(&text));
        if room < display_width(&last) {
            let whole = truncate_end(&format!("{text}{last}"), width);
            let split = whole
                .char_indices()
                .nth(text.chars().count().min(whole.chars().count()))
                .map_or(whole.len(), |(i, _)| i);
            return (whole[..split].to_owned(), whole[split..].to_owned());
        }
        (text, last)
    };
    let (h, last) = line(shown.iter().map(|c| c.header.clone()).collect());
    let header = format!("{h}{last}").trim_end().to_owned();
    let rows = (0..rows)
        .map(|r| {
            line(
                shown
                    .iter()
                    .map(|c| {
                        let (full, short) = &c.cells[r];
                        if compact { short } else { full }.clone()
                    })
                    .collect(),
            )
        })
        .collect();
    Fitted {
        header,
        rows,
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(header: &str, cells: &[(&str, &str)], drop: Option<u8>, shrinks: bool) -> Column {
        Column {
            header: header.into(),
            cells: cells
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            drop_priority: drop,
            shrinks,
        }
    }

    fn table() -> Vec<Column> {
        vec![
            col(
                "SCENARIO",
                &[
                    ("unbounded-module-cache", "unbounded-module-cache"),
                    (
                        "a-much-longer-scenario-name-than-usual",
                        "a-much-longer-scenario-name-than-usual",
                    ),
                ],
                None,
                true,
            ),
            col(
                "BLOCKS/IT",
                &[("3 blk (2.00..3.00)", "3 blk"), ("0 blk", "0 blk")],
                None,
                false,
            ),
            col(
                "RSS/IT",
                &[("230.4 B (230.4..231.1 B)", "230.4 B"), ("0 B", "0 B")],
                Some(0),
                false,
            ),
            col(
                "PEAK",
                &[("14.5 MiB", "14.5 MiB"), ("14.0 MiB", "14.0 MiB")],
                Some(2),
                false,
            ),
            col(
                "TIME/IT",
                &[("538 ns", "538 ns"), ("15.3 µs", "15.3 µs")],
                Some(1),
                false,
            ),
            col(
                "RESULT",
                &[
                    ("ok (leak expected)", "ok (leak expected)"),
                    ("LEAK", "LEAK"),
                ],
                None,
                false,
            ),
        ]
    }

    #[test]
    fn a_wide_terminal_shows_everything() {
        let f = fit(&table(), 200);
        assert!(f.dropped.is_empty());
        assert!(f.rows[0].0.contains("230.4 B (230.4..231.1 B)"));
        assert!(f.rows[1]
            .0
            .contains("a-much-longer-scenario-name-than-usual"));
    }

    #[test]
    fn no_row_is_wider_than_the_terminal() {
        for width in [20, 40, 60, 80, 100, 120] {
            let f = fit(&table(), width);
            for (text, last) in &f.rows {
                let w = display_width(&format!("{text}{last}"));
                assert!(w <= width, "{width}: {w} `{text}{last}`");
            }
            assert!(display_width(&f.header) <= width, "{width}: {}", f.header);
        }
        let f = fit(&table(), 80);
        assert!(
            f.rows[0].1 == "ok (leak expected)",
            "results stay whole at 80"
        );
        assert!(
            f.rows[0].0.starts_with("unbounded-module-cache"),
            "{:?}",
            f.rows[0]
        );
    }

    #[test]
    fn columns_go_in_priority_order_and_names_shrink_last() {
        let f = fit(&table(), 80);
        assert_eq!(f.dropped, vec!["RSS/IT"], "{:?}", f.rows);
        assert!(f.rows[1].0.contains('…'), "{:?}", f.rows[1]);
        let f = fit(&table(), 70);
        assert_eq!(f.dropped, vec!["RSS/IT", "TIME/IT"], "{:?}", f.rows);
        let f = fit(&table(), 50);
        assert_eq!(f.dropped, vec!["RSS/IT", "TIME/IT", "PEAK"]);
        assert!(f.rows[0].0.contains('…'), "{:?}", f.rows[0]);
    }
}
