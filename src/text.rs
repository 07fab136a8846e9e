//! Text that is safe to show (control characters removed, long output capped, markup
//! escaped; every output format uses these on anything a scenario produced), and
//! text split into arguments as a shell would.

/// Removes control characters (keeping newlines and tabs) so text is safe in XML
/// 1.0 and in terminals: ANSI escapes, NUL bytes and the like.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            // Drop a whole CSI sequence (colours, cursor moves).
            chars.next();
            while let Some(&n) = chars.peek() {
                chars.next();
                if ('@'..='~').contains(&n) {
                    break;
                }
            }
        } else if c == '\n'
            || c == '\t'
            || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' || is_bidi_control(c))
        {
            out.push(c);
        }
    }
    out
}

/// Unicode's explicit direction controls: they reorder how a terminal or browser
/// shows the text around them ("Trojan Source", CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// At most about `max` bytes of `text`: its first and last halves, cut at character
/// boundaries, with a marker where the middle was left out (the end of a scenario's
/// output is usually where its error is).
pub fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut head = max / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - max / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes left out ...]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

/// One line of printable text: [`printable`], with newlines and tabs as spaces (a
/// table row or a message attribute must not break).
pub fn one_line(text: &str) -> String {
    printable(text).replace(['\n', '\t'], " ")
}

/// Text for XML 1.0 element content: [`printable`] (XML cannot carry most control
/// characters even escaped), then `&`, `<`, `>` escaped; `]]>` needs nothing more
/// outside CDATA.
pub fn xml_text(s: &str) -> String {
    html_escape(&printable(s))
}

/// Text for an XML attribute value in double quotes: like [`xml_text`], and `"`,
/// newlines and tabs as character references so a parser reads them back as they
/// were (attribute value normalisation turns raw ones into spaces).
pub fn xml_attr(s: &str) -> String {
    xml_text(s)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\t', "&#9;")
}

/// Columns `text` takes in a terminal: East Asian wide characters and most emoji
/// take two, combining marks none, everything else one (a small table that covers
/// what scenario names hold; text is [`printable`] first).
pub fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c as u32 {
            0x300..=0x36f | 0x200b..=0x200d | 0xfe00..=0xfe0f => 0,
            0x1100..=0x115f
            | 0x2e80..=0x303e
            | 0x3041..=0x33ff
            | 0x3400..=0x4dbf
            | 0x4e00..=0x9fff
            | 0xa000..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xfe30..=0xfe4f
            | 0xff00..=0xff60
            | 0xffe0..=0xffe6
            | 0x1f300..=0x1f64f
            | 0x1f900..=0x1f9ff
            | 0x20000..=0x3fffd => 2,
            _ => 1,
        })
        .sum()
}

/// `text` in at most `max` columns: whole when it fits, else its start and end with
/// `…` in the middle (the end of a name often tells it from its neighbours).
pub fn shorten_middle(text: &str, max: usize) -> String {
    if display_width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let budget = max - 1;
    let (mut head, mut tail) = (String::new(), Vec::new());
    let (mut i, mut j) = (0, chars.len());
    let mut used = 0;
    let w = |c: char| display_width(c.encode_utf8(&mut [0; 4]));
    // Alternate from both ends; the head gets the odd column.
    loop {
        let take_head = display_width(&head) <= tail.iter().map(|&c| w(c)).sum::<usize>();
        if take_head && i < j && used + w(chars[i]) <= budget {
            used += w(chars[i]);
            head.push(chars[i]);
            i += 1;
        } else if !take_head && i < j && used + w(chars[j - 1]) <= budget {
            used += w(chars[j - 1]);
            tail.push(chars[j - 1]);
            j -= 1;
        } else {
            break;
        }
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

/// `text` cut at the end to at most `max` columns, with `…` when something was cut.
pub fn truncate_end(text: &str, max: usize) -> String {
    if display_width(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let cw = display_width(c.encode_utf8(&mut [0; 4]));
        if used + cw + 1 > max {
            break;
        }
        used += cw;
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `line` broken at spaces into lines of at most `width` columns; continuation
/// lines keep the line's indentation plus two spaces. A word longer than a line is
/// cut (a path, a long token), so no line is ever wider than `width`.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if display_width(line) <= width || width < 8 {
        return vec![line.to_owned()];
    }
    let indent = line.len() - line.trim_start().len();
    let cont = " ".repeat((indent + 2).min(width / 2));
    let mut lines = Vec::new();
    let mut cur = line[..indent].to_owned();
    let mut fresh = true;
    for word in line[indent..].split(' ') {
        let sep = if fresh { "" } else { " " };
        if !fresh && display_width(&cur) + 1 + display_width(word) > width {
            lines.push(std::mem::replace(&mut cur, cont.clone()));
            fresh = true;
        }
        let sep = if fresh { "" } else { sep };
        let mut word = word.to_owned();
        // A word that cannot fit on a line of its own: cut it.
        while display_width(&cur) + display_width(&word) > width {
            let room = width.saturating_sub(display_width(&cur)).max(1);
            let cut: String = word.chars().take(room).collect();
            word = word.chars().skip(cut.chars().count()).collect();
            cur.push_str(&cut);
            lines.push(std::mem::replace(&mut cur, cont.clone()));
        }
        cur.push_str(sep);
        cur.push_str(&word);
        fresh = false;
    }
    lines.push(cur);
    lines.into_iter().map(|l| l.trim_end().to_owned()).collect()
}

/// `&`, `<` and `>` escaped, for HTML text.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Splits text into arguments (a `pytest:` key's) as a POSIX shell would: white space
/// separates, single quotes keep everything, double quotes keep everything but
/// `\"` and `\\`, a backslash outside quotes escapes the next character.
pub fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                args.extend(current.take());
            }
            '\'' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed ' in `{text}`")),
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed \" in `{text}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed \" in `{text}`")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => current.get_or_insert_with(String::new).push(c),
                None => return Err(format!("`{text}` ends with a lone backslash")),
            },
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    args.extend(current);
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_strips_escapes_and_nul() {
        assert_eq!(
            printable("\u{1b}[31mred\u{1b}[0m\0 ok\n\tx\u{7}"),
            "red ok\n\tx"
        );
        assert_eq!(printable("]]> <tag> &"), "]]> <tag> &");
        assert_eq!(printable("a\u{202e}b\u{2066}c\u{85}d"), "abcd");
        assert_eq!(one_line("a\nb\tc\u{1b}[1m"), "a b c");
    }

    #[test]
    fn xml_escapes_read_back_with_a_strict_parser() {
        let nasty = "a \"q\" <b> & ]]> \u{0} \u{1b}[31mred\nline\ttab";
        let doc = format!("<r a=\"{}\">{}</r>", xml_attr(nasty), xml_text(nasty));
        let parsed = roxmltree::Document::parse(&doc).unwrap();
        let r = parsed.root_element();
        assert_eq!(r.attribute("a"), Some("a \"q\" <b> & ]]>  red\nline\ttab"));
        assert_eq!(r.text(), Some("a \"q\" <b> & ]]>  red\nline\ttab"));
    }

    #[test]
    fn long_text_is_shortened_to_its_columns() {
        assert_eq!(shorten_middle("short", 10), "short");
        assert_eq!(
            shorten_middle("a-very-long-scenario-name", 11),
            "a-ver…-name"
        );
        assert_eq!(
            display_width(&shorten_middle("a-very-long-scenario-name", 11)),
            11
        );
        assert_eq!(display_width("名前"), 4);
        assert!(display_width(&shorten_middle("名前名前名前名前", 7)) <= 7);
        assert_eq!(truncate_end("abcdef", 4), "abc…");
        assert_eq!(truncate_end("abc", 4), "abc");
    }

    #[test]
    fn wrapped_lines_fit_and_keep_their_indent() {
        let l =
            "  leak: native heap grows 8.4 B/iteration (5/5 processes agree, sign test p=0.031)";
        let w = wrap(l, 40);
        assert!(w.iter().all(|x| display_width(x) <= 40), "{w:?}");
        assert!(
            w[0].starts_with("  leak:") && w[1].starts_with("    "),
            "{w:?}"
        );
        assert_eq!(
            w.join(" ").split_whitespace().collect::<Vec<_>>(),
            l.split_whitespace().collect::<Vec<_>>()
        );
        let long = format!("path {}", "x".repeat(100));
        assert!(wrap(&long, 30).iter().all(|x| display_width(x) <= 30));
        assert_eq!(wrap("short", 80), vec!["short"]);
    }

    #[test]
    fn capped_cuts_on_char_boundaries() {
        assert_eq!(capped("abc", 10), "abc");
        let c = capped("éééé", 4);
        assert!(
            c.starts_with('é') && c.ends_with('é') && c.contains("4 bytes left out"),
            "{c}"
        );
    }

    #[test]
    fn arguments_split_like_a_shell() {
        let cases: [(&str, &[&str]); 5] = [
            (
                "tests/test_x.py::test_a[json]",
                &["tests/test_x.py::test_a[json]"],
            ),
            ("tests/  -m memleak", &["tests/", "-m", "memleak"]),
            (
                "tests -m 'memleak and not slow' -k \"a \\\"b\\\"\"",
                &["tests", "-m", "memleak and not slow", "-k", "a \"b\""],
            ),
            ("a\\ b ''", &["a b", ""]),
            ("-p no:randomly", &["-p", "no:randomly"]),
        ];
        for (text, want) in cases {
            assert_eq!(split_args(text).unwrap(), want, "{text}");
        }
        for bad in ["'open", "\"open", "x\\"] {
            assert!(split_args(bad).is_err(), "{bad}");
        }
    }
}
