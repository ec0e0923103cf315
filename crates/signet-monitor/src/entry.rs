//! What a log entry says about who signed what: the one reading of entries lives in
//! `signet_verify::entry_facts` (shared with the search index); this module adds what only the
//! monitor needs, the facts its watch rules read.

pub use signet_verify::entry_facts::*;

/// What `rules` read: fingerprints only if a rule names one, and only the extensions the
/// rules match on.
pub fn wanted_for_rules(rules: &crate::Rules) -> Wanted {
    let mut oids: Vec<der::asn1::ObjectIdentifier> = rules.oid_matchers.iter().map(|r| r.oid).collect();
    oids.sort();
    oids.dedup();
    Wanted {
        fingerprints: !rules.fingerprints.is_empty(),
        extensions: Some(oids),
    }
}
