//! RFC 6962 signed certificate timestamps (in progress).
