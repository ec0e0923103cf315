//! The Fulcio code-signing certificate profile (in progress).
