//! HTML output. Every value that did not come from this crate's source code (identities,
//! issuers, annotations, anything read from an entry, the query itself) is attacker-chosen: it
//! goes through [`esc`] (element text and quoted attribute values alike) and, inside a link,
//! through [`query_link`] first. Pages carry no inline script or style, so the
//! Content-Security-Policy (`lib.rs`) can forbid both.

use std::fmt::Write as _;

/// Escapes `text` for an HTML element's content or a quoted attribute value (the one escaping
/// function signet's pages share, `signet_formats::html::escape`).
pub use signet_formats::html::escape as esc;

/// `/explorer/?name=value&...` with every value form-urlencoded (and the result still to be
/// passed through [`esc`] when written into an attribute: `&` must be `&amp;` there).
pub fn query_link(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    format!("{}/?{}", crate::BASE, s.finish())
}

/// `<a href="HREF">TEXT</a>`, both escaped.
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", esc(href), esc(text))
}

/// The link to entry `index` of `log` (log names are from the source, checked by
/// [`crate::valid_log_name`]; escaped all the same).
pub fn entry_href(log: &str, index: u64) -> String {
    format!("{}/entry/{}/{index}", crate::BASE, esc(log))
}

/// The link to a log's overview.
pub fn log_href(log: &str) -> String {
    format!("{}/log/{}", crate::BASE, esc(log))
}

/// A whole page: `title` (escaped here) and `body` (HTML built with the helpers above).
pub fn page(title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · signet explorer</title>\
         <link rel=\"stylesheet\" href=\"{base}/static/{css}\">\
         <script src=\"{base}/static/{js}\" defer></script></head>\n<body>\
         <header><a class=\"home\" href=\"{base}/\">signet explorer</a>\
         <form method=\"get\" action=\"{base}/\" role=\"search\">\
         <input type=\"search\" name=\"q\" placeholder=\"email, identity URI, issuer, sha256:…, log index, entry UUID\" \
         aria-label=\"search\" maxlength=\"{max}\">\
         <button type=\"submit\">Search</button></form></header>\n<main>\n{body}\n</main></body></html>\n",
        title = esc(title),
        base = crate::BASE,
        css = crate::assets::css_name(),
        js = crate::assets::js_name(),
        max = crate::term::MAX_TERM_LEN,
    );
    out
}

/// A two-column table of (label, HTML value) rows; labels are escaped, values are HTML.
pub fn facts_table(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<table class=\"facts\">");
    for (label, value) in rows {
        let _ = write!(out, "<tr><th>{}</th><td>{value}</td></tr>", esc(label));
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile strings an identity or annotation may hold.
    const HOSTILE: &[&str] = &[
        "<script>document.title='pwned'</script>",
        "\"><img src=x onerror=document.title='pwned'>",
        "'><svg onload=alert(1)>",
        "javascript:alert(1)",
        "a&b<c>d\"e'f",
        "</textarea></pre><script>x</script>",
        "&lt;already escaped&gt;",
        "\u{202e}rtl override",
    ];

    #[test]
    fn escaped_text_has_no_markup_left() {
        for s in HOSTILE {
            let e = esc(s);
            for bad in ['<', '>', '"', '\''] {
                assert!(!e.contains(bad), "{s:?} -> {e:?}");
            }
            // Every & starts a reference we wrote.
            for (i, _) in e.match_indices('&') {
                let rest = &e[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|r| rest.starts_with(r)),
                    "{e:?}"
                );
            }
        }
        assert_eq!(esc("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(esc("&lt;"), "&amp;lt;");
    }

    #[test]
    fn links_encode_then_escape() {
        for s in HOSTILE {
            let href = query_link(&[("q", s)]);
            // The query value is form-urlencoded: no quote, angle bracket, space or & from
            // the value survives into the URL.
            let query = href.split_once("?q=").unwrap().1;
            assert!(!query.contains(['<', '>', '"', '\'', ' ', '&']), "{href}");
            let a = link(&href, s);
            assert!(a.starts_with("<a href=\""));
            assert_eq!(a.matches('"').count(), 2, "{a}");
            assert!(!a[1..].contains('<') || a.ends_with("</a>"));
            assert_eq!(a.matches('<').count(), 2, "{a}");
        }
        let href = query_link(&[("q", "a b&c=d"), ("as", "identity")]);
        assert_eq!(href, "/explorer/?q=a+b%26c%3Dd&as=identity");
        assert_eq!(esc(&href), "/explorer/?q=a+b%26c%3Dd&amp;as=identity");
    }

    #[test]
    fn page_escapes_title_and_has_no_inline_script_or_style() {
        let p = page(HOSTILE[0], "<p>x</p>");
        assert!(!p.contains("<script>"));
        assert!(!p.contains("<style") && !p.contains(" style="));
        assert!(p.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
        // The only script element is the external file, loaded from this server.
        assert_eq!(p.matches("<script").count(), 1);
        assert!(p.contains("<script src=\"/explorer/static/explorer-"));
    }
}
