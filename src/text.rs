//! Text that is safe to show: control characters removed, long output capped, markup
//! escaped. Every output format uses these on anything a scenario produced.

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
        } else if c == '\n' || c == '\t' || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
        {
            out.push(c);
        }
    }
    out
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

/// `&`, `<` and `>` escaped, for HTML text.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
}
