//! The git signing agent's protocol lines: `Request::parse` (what the agent reads from a
//! client) and `Response::parse` (what a signing program reads from the agent) on arbitrary
//! bytes. What parses round-trips: written back with `to_line` it is one newline-terminated
//! line that parses to the same value and writes back byte for byte; a store request's
//! `Debug` never shows its key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_client::git_agent::protocol::{Request, Response, MAX_REQUEST_BYTES};
use zeroize::Zeroizing;

fn one_line(line: &[u8]) {
    assert_eq!(line.last(), Some(&b'\n'), "a line ends with a newline");
    assert_eq!(
        line.iter().filter(|b| **b == b'\n').count(),
        1,
        "and holds no other"
    );
}

fuzz_target!(|data: &[u8]| {
    match Request::parse(data) {
        Ok(request) => {
            assert!(data.len() <= MAX_REQUEST_BYTES);
            let line = request.to_line();
            one_line(&line);
            let again = Request::parse(&line).expect("a written request parses");
            assert_eq!(again, request, "request round trip");
            assert_eq!(again.to_line(), line, "request encoding is stable");
            // Debug depends on everything but the key: the same request with another key
            // prints the same.
            if let Request::Store { scope, key, chain } = &request {
                let other = Request::Store {
                    scope: scope.clone(),
                    key: Zeroizing::new(key.iter().map(|b| !b).chain([0]).collect()),
                    chain: chain.clone(),
                };
                assert_eq!(
                    format!("{request:?}"),
                    format!("{other:?}"),
                    "Debug shows the key"
                );
            }
        }
        Err(e) => {
            // Every refusal says something.
            assert!(!e.to_string().is_empty());
        }
    }
    if let Ok(response) = Response::parse(data) {
        let line = response.to_line();
        one_line(&line);
        let again = Response::parse(&line).expect("a written response parses");
        assert_eq!(again, response, "response round trip");
        assert_eq!(again.to_line(), line, "response encoding is stable");
    }
});
