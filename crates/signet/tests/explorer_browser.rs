//! The web explorer (issue 17) in a real browser: Debian's headless Chromium loads pages of a
//! real `signet server --dev-oidc` after blobs were signed keylessly through it. The search
//! page lists the signer's entry; the entry page shows the identity and the digest and its
//! script verifies the entry in the browser ("verified"); through a proxy that flips a byte of
//! the proof, or of the checkpoint's signature, the page names the failed check instead; an
//! identity full of markup is shown as text and runs no script. A screenshot of the entry page
//! goes to `target/explorer-screenshots/`.
//!
//! Chromium is `/usr/bin/chromium` (`apt-get install chromium`); without it the browser tests
//! print one skip line, unless `SIGNET_REQUIRE_BROWSER=1` (CI), which makes them fail. The bad
//! input test needs no browser.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{dev_token, get, post, sign_blob, Server};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or `None` (after one skip line) when it is missing and not required.
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if std::env::var("SIGNET_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("{CHROMIUM} is missing and SIGNET_REQUIRE_BROWSER=1 (apt-get install chromium)");
    }
    eprintln!("skipping: {CHROMIUM} not found (apt-get install chromium)");
    None
}

/// Headless Chromium with a profile of its own (so tests can run side by side). As root it
/// needs `--no-sandbox`; it is harmless otherwise.
fn headless(browser: &str, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    cmd
}

/// The DOM of `url` after its scripts ran: `--virtual-time-budget` lets the page's fetches
/// and WebCrypto finish before `--dump-dom` serialises it.
fn dom(browser: &str, profile: &Path, url: &str) -> String {
    let out = headless(browser, profile)
        .args(["--virtual-time-budget=15000", "--dump-dom", url])
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("DOM is UTF-8")
}

/// A PNG of `url` at 1200x1100, into `path`.
fn screenshot(browser: &str, profile: &Path, url: &str, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = headless(browser, profile)
        .args(["--virtual-time-budget=15000", "--window-size=1200,1100"])
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(path).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
}

/// The value of attribute `name` of the element with `id="ID"` in a serialised DOM.
fn attr(dom: &str, id: &str, name: &str) -> Option<String> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..start].rfind('<')?;
    let tag_end = start + dom[start..].find('>')?;
    let tag = &dom[tag_start..tag_end];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// The text content of the element with `id="ID"` (up to its first child tag).
fn text(dom: &str, id: &str) -> Option<String> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let open_end = start + dom[start..].find('>')? + 1;
    Some(dom[open_end..open_end + dom[open_end..].find('<')?].to_string())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A server with a few throwaway entries first (so the entries under test have an audit path
/// of several hashes), its trust config, and a directory for blobs.
struct Fixture {
    server: Server,
    tmp: tempfile::TempDir,
    trust: PathBuf,
    blobs: u32,
}

impl Fixture {
    fn start() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let server = Server::start_with(&data, &["--dev-oidc"]);
        common::log_throwaway_entries(&server, 5);
        Fixture {
            trust: data.join("trust_config.json"),
            server,
            tmp,
            blobs: 0,
        }
    }

    /// Signs a new blob holding `content` with `token`; returns its log index once the
    /// explorer can find it by `identity`.
    fn sign(&mut self, token: &str, content: &str, identity: &str) -> u64 {
        self.blobs += 1;
        let blob = self.tmp.path().join(format!("blob{}", self.blobs));
        std::fs::write(&blob, content).unwrap();
        let index = sign_blob(&blob, token, &self.trust);
        // The index follows the log from a thread of its own: wait until it has the entry.
        let start = Instant::now();
        let url = format!("{}/explorer/?q={}", self.server.url, enc(identity));
        while !String::from_utf8_lossy(&get(&url).body).contains(&format!("data-index=\"{index}\"")) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "entry {index} never searchable"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        index
    }

    fn profile(&self, name: &str) -> PathBuf {
        self.tmp.path().join(format!("chromium-{name}"))
    }
}

fn sha256_name(content: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(signet_crypto::sha256(content.as_bytes()))
    )
}

/// Where screenshots go: `target/explorer-screenshots/` (beside the test's own scratch dir).
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("explorer-screenshots")
}

/// A proxy to `upstream` that flips one base64 character, `offset` characters after the first
/// `marker`, in the explorer's proof API answers (and passes everything else through).
fn tampering_proxy(upstream: String, marker: Vec<u8>, offset: usize) -> String {
    common::tampering_proxy(upstream, move |path, body| {
        if !path.starts_with("/explorer/api/entry/") {
            return;
        }
        let i = body
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap_or_else(|| panic!("no {marker:?} in {}", String::from_utf8_lossy(body)));
        let b = &mut body[i + marker.len() + offset];
        *b = if *b == b'A' { b'B' } else { b'A' };
    })
}

#[test]
fn explorer_finds_shows_and_verifies_a_keyless_entry_in_the_browser() {
    let Some(browser) = chromium() else { return };
    let mut f = Fixture::start();
    let email = "alice@example.com";
    let token = dev_token(&f.server.url, email);
    let content = "explorer artifact";
    let index = f.sign(&token, content, email);
    let digest = sha256_name(content);
    let base = format!("{}/explorer", f.server.url);

    // The search page lists the entry, linking to it.
    let results = dom(
        browser,
        &f.profile("search"),
        &format!("{base}/?q={}", enc(email)),
    );
    assert_eq!(
        attr(&results, "result-count", "data-count").as_deref(),
        Some("1"),
        "{results}"
    );
    assert!(results.contains(&format!("<a href=\"/explorer/entry/rekor/{index}\">{index}</a>")));
    assert!(results.contains(&digest));

    // The entry page: identity, digest, and the browser's own verification.
    let entry_url = format!("{base}/entry/rekor/{index}");
    let page = dom(browser, &f.profile("entry"), &entry_url);
    assert_eq!(text(&page, "identity").as_deref(), Some(email));
    assert_eq!(text(&page, "digest").as_deref(), Some(digest.as_str()));
    assert_eq!(
        attr(&page, "verify", "data-verify").as_deref(),
        Some("ok"),
        "reason: {:?}",
        attr(&page, "verify", "data-reason")
    );
    assert!(page.contains("Verified in your browser"));
    assert!(
        page.contains("1.3.6.1.4.1.57264.1.8"),
        "the Fulcio issuer extension is shown"
    );
    let shot = screenshot_dir().join("entry.png");
    screenshot(browser, &f.profile("shot"), &entry_url, &shot);
    println!("screenshot of the entry page: {}", shot.display());

    // The log overview: size, checkpoint, the entry among the newest, the growth plot.
    let overview = dom(browser, &f.profile("log"), &format!("{base}/log/rekor"));
    assert_eq!(text(&overview, "log-size"), Some((index + 1).to_string()));
    assert!(overview.contains(&format!("href=\"/explorer/entry/rekor/{index}\"")));
    assert!(overview.contains("<svg class=\"growth\""));
    let shot = screenshot_dir().join("log.png");
    screenshot(browser, &f.profile("shot"), &format!("{base}/log/rekor"), &shot);
    println!("screenshot of the log overview: {}", shot.display());

    // A byte of the audit path changed on the way: the inclusion check fails.
    let proxy = tampering_proxy(f.server.url.clone(), b"\"hashes\":[\"".to_vec(), 0);
    let page = dom(
        browser,
        &f.profile("tamper-proof"),
        &format!("{proxy}/explorer/entry/rekor/{index}"),
    );
    assert_eq!(
        attr(&page, "verify", "data-verify").as_deref(),
        Some("failed"),
        "{page}"
    );
    assert_eq!(
        attr(&page, "verify", "data-check").as_deref(),
        Some("inclusion proof")
    );
    assert!(page.contains("Verification failed: inclusion proof"));
    assert!(!page.contains("Verified in your browser"));
    let shot = screenshot_dir().join("entry-tampered.png");
    screenshot(
        browser,
        &f.profile("shot"),
        &format!("{proxy}/explorer/entry/rekor/{index}"),
        &shot,
    );
    println!("screenshot of the tampered entry page: {}", shot.display());
}

#[test]
fn a_checkpoint_signature_that_does_not_verify_is_named() {
    let Some(browser) = chromium() else { return };
    let mut f = Fixture::start();
    let email = "sig@example.com";
    let index = f.sign(&dev_token(&f.server.url, email), "signature tamper", email);
    // The note's signature line is `— <origin> <base64(key ID || signature)>`: flip a
    // character 12 base64 digits into it (byte 9: inside the signature, past the key ID).
    let origin = get(&format!("{}/checkpoint", f.server.log_url()));
    let origin = String::from_utf8(origin.body).unwrap();
    let origin = origin.lines().next().unwrap().to_string();
    let proxy = tampering_proxy(
        f.server.url.clone(),
        format!("\u{2014} {origin} ").into_bytes(),
        12,
    );
    let page = dom(
        browser,
        &f.profile("sig"),
        &format!("{proxy}/explorer/entry/rekor/{index}"),
    );
    assert_eq!(
        attr(&page, "verify", "data-verify").as_deref(),
        Some("failed"),
        "{page}"
    );
    assert_eq!(
        attr(&page, "verify", "data-check").as_deref(),
        Some("checkpoint signature")
    );
    assert!(
        attr(&page, "verify", "data-reason").is_some_and(|r| r.contains("does not verify")),
        "{:?}",
        attr(&page, "verify", "data-reason")
    );
}

#[test]
fn a_hostile_identity_is_shown_as_text_and_runs_no_script() {
    let Some(browser) = chromium() else { return };
    let mut f = Fixture::start();
    // The development GitHub issuer takes any ref without whitespace; the CA writes it into
    // the SAN (the workflow ref) and into Source Repository Ref (.1.14).
    let hostile_ref =
        "refs/heads/x\"><img/src=x/onerror=document.title='pwned'><script>document.title='pwned2'</script>";
    let reply = post(
        &format!("{}/oidc/github/dev/token", f.server.url),
        serde_json::json!({ "ref": hostile_ref }).to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let token = reply.json()["id_token"].as_str().unwrap().to_string();
    let san = format!("https://github.com/signet-dev/example/.github/workflows/release.yml@{hostile_ref}");
    let index = f.sign(&token, "hostile", &san);
    let escaped = "x\"&gt;&lt;img/src=x/onerror=document.title='pwned'&gt;&lt;script&gt;document.title='pwned2'&lt;/script&gt;";

    let base = format!("{}/explorer", f.server.url);
    for (name, url) in [
        ("search", format!("{base}/?q={}", enc(&san))),
        ("entry", format!("{base}/entry/rekor/{index}")),
        ("log", format!("{base}/log/rekor")),
    ] {
        let page = dom(browser, &f.profile(name), &url);
        // The markup is text: no element was made of it and no script of it ran (either
        // script would have set the title).
        assert!(page.contains(escaped), "{name}: {page}");
        assert!(!page.contains("<img"), "{name}: an img element was created");
        assert!(
            !page.contains("<script>document"),
            "{name}: a script element was created"
        );
        assert!(!page.contains("<title>pwned"), "{name}: a script ran");
        assert!(page.contains("· signet explorer</title>"), "{name}");
    }
    let page = dom(
        browser,
        &f.profile("entry2"),
        &format!("{base}/entry/rekor/{index}"),
    );
    assert_eq!(attr(&page, "verify", "data-verify").as_deref(), Some("ok"));
    assert!(text(&page, "identity").is_some_and(|t| t.ends_with(escaped)));
}

#[test]
fn bad_input_is_a_400_never_a_5xx_and_every_page_has_the_security_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(&tmp.path().join("data"), &["--dev-oidc"]);
    common::log_throwaway_entries(&server, 2);
    let base = format!("{}/explorer", server.url);
    let long = "a".repeat(1100);
    let cases: Vec<(String, u16)> = vec![
        (format!("{base}/"), 200),
        (base.clone(), 200),
        (format!("{base}/?q=sha256:abc"), 400),
        (format!("{base}/?q=sha512:{}", "z".repeat(128)), 400),
        (format!("{base}/?q={long}"), 400),
        (format!("{base}/?q={}", "q".repeat(5000)), 400),
        (format!("{base}/?q=a&limit=100000"), 400),
        (format!("{base}/?q=a&limit=-1"), 400),
        (format!("{base}/?q=a&q=b"), 400),
        (format!("{base}/?q=a&as=regex"), 400),
        (format!("{base}/?q=a&cursor=%27%3B--"), 400),
        (format!("{base}/?q=a%00b"), 400),
        (format!("{base}/?q=99999999999999999999"), 400),
        (
            format!("{base}/?q={}", enc("' OR 1=1; DROP TABLE postings;--")),
            200,
        ),
        (format!("{base}/?q={}", enc("<script>alert(1)</script>")), 200),
        (format!("{base}/?q={}", enc(".*")), 200),
        (format!("{base}/?q=1"), 200),
        (format!("{base}/?q=a&cursor=i99999999999999999999"), 200),
        (format!("{base}/entry/rekor/abc"), 400),
        (format!("{base}/entry/rekor/99999999999999999999999"), 400),
        (format!("{base}/entry/rekor/18446744073709551615"), 400),
        (format!("{base}/entry/rekor/1000"), 404),
        (format!("{base}/entry/%3Cscript%3E/1"), 404),
        (format!("{base}/log/nope"), 404),
        (format!("{base}/nope"), 404),
        (format!("{base}/static/explorer.js"), 404),
    ];
    for (url, want) in &cases {
        let r = get(url);
        assert_eq!(r.status, *want, "{url}: {}", String::from_utf8_lossy(&r.body));
        let body = String::from_utf8_lossy(&r.body);
        assert!(!body.contains("<script>alert"), "{url} echoes markup");
        assert_eq!(
            r.header("content-security-policy"),
            Some(signet_explorer_csp()),
            "{url}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{url}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{url}");
    }
    // SQL-looking and markup terms are searched for literally and found nowhere.
    let r = get(&format!("{base}/?q={}", enc("' OR 1=1; DROP TABLE postings;--")));
    assert!(String::from_utf8_lossy(&r.body).contains("data-count=\"0\""));
    let r = get(&format!("{base}/?q={}", enc("<script>alert(1)</script>")));
    assert!(String::from_utf8_lossy(&r.body).contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // A log index finds that entry.
    let r = get(&format!("{base}/?q=1"));
    assert!(String::from_utf8_lossy(&r.body).contains("data-index=\"1\""));

    // The proof API answers JSON errors.
    for (path, want) in [
        ("api/entry/rekor/x", 400),
        ("api/entry/rekor/77", 404),
        ("api/entry/ct/1", 404),
    ] {
        let r = get(&format!("{base}/{path}"));
        assert_eq!(r.status, want, "{path}");
        assert!(r.json()["error"].is_string(), "{path}");
    }
    let r = get(&format!("{base}/api/entry/rekor/1"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["index"], "1");

    // The static files the pages name are served with a year's cache; no inline script or
    // style in any page.
    let page = String::from_utf8(get(&format!("{base}/")).body).unwrap();
    let hrefs: Vec<&str> = page
        .match_indices("\"/explorer/static/")
        .map(|(at, _)| {
            let href = &page[at + 1..];
            &href[..href.find('"').unwrap()]
        })
        .collect();
    assert_eq!(hrefs.len(), 2, "{page}");
    for href in hrefs {
        let r = get(&format!("{}{href}", server.url));
        assert_eq!(r.status, 200, "{href}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    assert!(!page.contains("<style") && !page.contains(" style=") && !page.contains("<script>"));
    assert!(!page.contains(" onload=") && !page.contains(" onclick="));
}

/// The Content-Security-Policy the explorer promises (signet-explorer's `CSP`), spelled out
/// here so a change to it is a change to this test too.
fn signet_explorer_csp() -> &'static str {
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}
