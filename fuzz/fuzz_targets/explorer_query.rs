//! The explorer's search box (`/explorer/?q=TERM&as=…&cursor=…&limit=…`):
//! `parse_page_query` on arbitrary text. An accepted query is bounded (term length, page
//! size, cursor alphabet); the link the explorer writes for its next page reads back as the
//! same query; and HTML-escaping whatever was typed leaves no character that could open or
//! close markup or an attribute.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_explorer::html::{esc, query_link};
use signet_explorer::term::{parse_page_query, MAX_LIMIT, MAX_TERM_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    assert!(!esc(text).contains(['<', '>', '"', '\'']));
    let Ok(q) = parse_page_query(text) else { return };
    assert!((1..=MAX_LIMIT).contains(&q.limit));
    assert!(q.lookup.terms.len() <= 3);
    let Some(term) = &q.q else { return };
    assert!(!term.is_empty() && term.len() <= MAX_TERM_LEN);
    assert!(q.lookup.terms.iter().all(|t| !t.value().is_empty() && t.value().len() <= MAX_TERM_LEN));
    let limit = q.limit.to_string();
    let mut pairs = vec![("q", term.as_str()), ("limit", limit.as_str())];
    if let Some(only) = &q.only {
        pairs.push(("as", only));
    }
    if let Some(cursor) = &q.cursor {
        pairs.push(("cursor", cursor));
    }
    let link = query_link(&pairs);
    let again = parse_page_query(link.split_once('?').unwrap().1).unwrap();
    assert_eq!(again, q);
});
