//! PKCS#10 requests (`POST /api/v2/signingCert`): `verify_csr` on arbitrary bytes, PEM or DER.
//! A request that verifies in one form verifies in the other, to the same key.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_x509::verify_csr;

fuzz_target!(|data: &[u8]| {
    let Ok(key) = verify_csr(data) else {
        return;
    };
    let other_form = match std::str::from_utf8(data).ok().and_then(|t| pem::parse(t).ok()) {
        // PEM in: the DER inside must verify alone.
        Some(block) => block.into_contents(),
        // DER in: wrapped in PEM it must verify too.
        None => pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", data.to_vec())).into_bytes(),
    };
    let again = verify_csr(&other_form).expect("the same CSR in the other encoding must verify");
    assert_eq!(again, key);
});
