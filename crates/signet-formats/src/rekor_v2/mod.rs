//! The Rekor v2 write API: `CreateEntryRequest`, validation into a stored `Entry` (kinds
//! hashedrekord 0.0.2 and dsse 0.0.2), and the `TransparencyLogEntry` response.

mod entry;
mod error;
mod request;
mod response;

pub use entry::{
    entry_from_request, DsseLogEntryV002, Entry, HashedRekordLogEntryV002, LogEntry, Spec, API_VERSION_V002,
    DSSE, HASHEDREKORD,
};
pub use error::EntryError;
pub use request::{
    CreateEntryRequest, DsseRequestV002, HashedRekordRequestV002, Signature, Verifier, VerifierKey,
    MAX_SIGNATURES, MAX_VERIFIERS,
};
pub use response::{
    Checkpoint, InclusionPromise, InclusionProof, InclusionProofRef, KindVersion, KindVersionRef,
    TransparencyLogEntry, TransparencyLogEntryRef,
};
