//! RFC 3161 `TimeStampReq` (the TSA's input): `TimestampRequest::from_der` on arbitrary DER.
//! A request that parses has a digest of its algorithm's length and survives `to_der`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_x509::TimestampRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = TimestampRequest::from_der(data) else {
        return;
    };
    assert_eq!(request.hashed_message.len(), request.hash_algorithm.output_len());
    if let Some(nonce) = &request.nonce {
        // The nonce's unsigned big-endian bytes: no redundant leading zero.
        assert!(
            nonce.len() <= 1 || nonce[0] != 0,
            "nonce {nonce:?} is not minimal"
        );
    }
    let der = request.to_der().expect("a parsed request encodes");
    let again = TimestampRequest::from_der(&der).expect("a request signet wrote must parse");
    assert_eq!(again, request, "request changed in a round trip");
    assert_eq!(again.to_der().expect("encodes"), der, "to_der is not stable");
});
