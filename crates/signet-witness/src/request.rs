//! The `add-checkpoint` request body (c2sp.org/tlog-witness, "add-checkpoint"). The parser and
//! writer live in the pure core (`signet_tlog::add_checkpoint`), because the log that submits
//! checkpoints writes the same body the witness reads; this module names them for the witness.

pub use signet_tlog::add_checkpoint::{AddCheckpointRequest, RequestError, MAX_PROOF_LINES};
