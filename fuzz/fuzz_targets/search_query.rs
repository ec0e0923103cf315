//! The search API's query string (`GET <log>/api/v2/search?...`): `SearchQuery::parse` on
//! arbitrary text. An accepted query is bounded (a term or more, each within the length limit,
//! a page size the server allows) and reads back the same when written out again; a cursor
//! reads back as the index it was made from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_index::query::{decode_cursor, encode_cursor, SearchQuery, MAX_LIMIT, MAX_VALUE_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(q) = SearchQuery::parse(text) else { return };
    // Each field at most once: the five fixed ones and the Fulcio extensions.
    assert!(!q.terms.is_empty() && q.terms.len() <= 5 + signet_x509::oid::FULCIO_FIELDS.len());
    assert!((1..=MAX_LIMIT).contains(&q.limit));
    assert!(q.terms.iter().all(|(_, v)| !v.is_empty() && v.len() <= MAX_VALUE_LEN));
    assert_eq!(decode_cursor(&encode_cursor(q.start)), Ok(q.start));
    let mut pairs: Vec<(String, String)> = q.terms.iter().map(|(f, v)| (f.param().to_string(), v.clone())).collect();
    pairs.push(("limit".into(), q.limit.to_string()));
    pairs.push(("cursor".into(), encode_cursor(q.start)));
    let again = SearchQuery::parse(&serde_urlencoded::to_string(&pairs).unwrap()).unwrap();
    assert_eq!(again, q);
});
