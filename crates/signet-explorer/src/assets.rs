//! The explorer's two static files, compiled into the binary. Each is served under a name
//! that carries the first 12 hex digits of its SHA-256 (`explorer-<hash>.js`), so it can be
//! cached for a year: a new build with a changed file is a new URL.

use std::sync::OnceLock;

/// The stylesheet.
pub const CSS: &str = include_str!("../assets/explorer.css");
/// The in-browser verifier (see the file's header for what it checks).
pub const JS: &str = include_str!("../assets/explorer.js");

fn versioned(stem: &str, ext: &str, body: &str) -> String {
    let digest = signet_crypto::sha256(body.as_bytes());
    format!("{stem}-{}.{ext}", &hex::encode(digest)[..12])
}

/// The stylesheet's file name under `/explorer/static/`.
pub fn css_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| versioned("explorer", "css", CSS))
}

/// The script's file name under `/explorer/static/`.
pub fn js_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| versioned("explorer", "js", JS))
}

/// The static file called `name`, with its content type.
pub fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    if name == css_name() {
        Some((CSS, "text/css; charset=utf-8"))
    } else if name == js_name() {
        Some((JS, "text/javascript; charset=utf-8"))
    } else {
        None
    }
}
