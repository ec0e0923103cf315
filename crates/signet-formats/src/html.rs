//! Escaping text for the HTML pages signet serves (the web explorer, the development OpenID
//! provider's login pages): one function, so that every page escapes alike and a fix reaches
//! all of them. A format like the others here: bytes in, bytes out, no I/O.

/// Escapes `text` for an HTML element's content or a double- or single-quoted attribute value:
/// `& < > " '` become character references, so no value can close a tag or an attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
    }
}
