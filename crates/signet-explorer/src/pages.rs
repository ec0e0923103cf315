//! The explorer's route handlers: parse the request (term.rs), ask the source on the blocking
//! pool, render with html.rs. A client's mistake is a 400 (a page, or JSON on `/api/`), an
//! unknown log or entry a 404, a source failure a 500 that names nothing internal (the detail
//! goes to the server log).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use signet_formats::common::Timestamp;
use signet_monitor::entry::{read_ct_entry, read_entry, read_v1_entry, EntryFacts, Signer, Wanted};
use signet_x509::oid::FulcioField;

use crate::html::{entry_href, esc, facts_table, link, log_href, page, query_link};
use crate::source::{EntryFormat, Hit, ProvenEntry, SourceError, Term};
use crate::term::{parse_page_query, PageQuery};
use crate::{valid_log_name, Explorer};

/// Newest entries an overview lists.
const RECENT: usize = 20;

type Shared = State<Arc<Explorer>>;

/// Why a request got no page of results.
enum Failure {
    BadRequest(String),
    NotFound(String),
    Internal(String),
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Failure::Internal(e.0)
    }
}

impl Failure {
    fn status_and_message(self) -> (StatusCode, String) {
        match self {
            Failure::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Failure::NotFound(m) => (StatusCode::NOT_FOUND, m),
            Failure::Internal(m) => {
                tracing::error!(message = %m, "explorer request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log".into(),
                )
            }
        }
    }

    /// As an HTML page.
    fn page(self) -> Response {
        let (status, message) = self.status_and_message();
        let title = if status == StatusCode::BAD_REQUEST {
            "Bad request"
        } else if status == StatusCode::NOT_FOUND {
            "Not found"
        } else {
            "Error"
        };
        let body = format!("<h1>{title}</h1><p class=\"error\">{}</p>", esc(&message));
        (status, Html(page(title, &body))).into_response()
    }

    /// As JSON `{"error": "..."}`.
    fn json(self) -> Response {
        let (status, message) = self.status_and_message();
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// Runs `f` on the blocking pool (sources block).
async fn blocking<T: Send + 'static>(
    explorer: &Arc<Explorer>,
    f: impl FnOnce(&Explorer) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let explorer = explorer.clone();
    tokio::task::spawn_blocking(move || f(&explorer))
        .await
        .map_err(|e| Failure::Internal(format!("explorer task failed: {e}")))?
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

// ---- search ----

/// One section of results: what was searched and what was found.
struct Section {
    heading: String,
    hits: Vec<Hit>,
    /// The link to the next page of this section.
    next: Option<String>,
}

pub(crate) async fn search(State(explorer): Shared, RawQuery(raw): RawQuery) -> Response {
    let query = match parse_page_query(raw.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return Failure::BadRequest(e.to_string()).page(),
    };
    let Some(q) = query.q.clone() else {
        let logs = explorer.source.logs();
        return Html(page("Search", &home(&logs))).into_response();
    };
    match blocking(&explorer, move |ex| run_search(ex, &query)).await {
        Ok(sections) => Html(page(&format!("Search: {q}"), &results(&q, &sections))).into_response(),
        Err(f) => f.page(),
    }
}

fn home(logs: &[String]) -> String {
    let mut out = String::from(
        "<h1>Search the transparency logs</h1>\
         <p>Search by signer identity (an email address or a URI such as a workflow ref), OIDC issuer, \
         artifact digest (<code>sha256:…</code> or bare hex), key or certificate fingerprint, log index, \
         or entry UUID; or by a Fulcio certificate extension as <code>NAME:VALUE</code>, e.g. \
         <code>github_workflow_repository:owner/name</code>, <code>github_workflow_ref:refs/tags/v1</code>, \
         <code>source_repository_uri:https://github.com/owner/name</code>, <code>build_signer_uri:…</code> \
         (exact values). Every entry page is verified in your browser against the log's signed checkpoint.</p>\
         <h2>Logs</h2><ul>",
    );
    for log in logs {
        let _ = write!(out, "<li>{}</li>", link(&log_href(log), log));
    }
    out.push_str("</ul>");
    out
}

fn run_search(ex: &Explorer, query: &PageQuery) -> Result<Vec<Section>, Failure> {
    let mut sections = Vec::new();
    let q = query.q.as_deref().unwrap_or("");
    if let Some(index) = query.lookup.log_index {
        let mut hits = Vec::new();
        for log in ex.source.logs() {
            if let Some(e) = ex.source.entry(&log, index)? {
                hits.push(e.hit);
            }
        }
        sections.push(Section {
            heading: format!("Log index {index}"),
            hits,
            next: None,
        });
    }
    if let Some(leaf) = &query.lookup.leaf_hash {
        sections.push(Section {
            heading: "Entry UUID (leaf hash)".into(),
            hits: ex.source.find_leaf(leaf)?,
            next: None,
        });
    }
    for term in &query.lookup.terms {
        let page = ex.source.search(term, query.cursor.as_deref(), query.limit)?;
        let limit = query.limit.to_string();
        let next = page.next.map(|cursor| {
            query_link(&[
                ("q", q),
                ("as", term.kind()),
                ("cursor", &cursor),
                ("limit", &limit),
            ])
        });
        sections.push(Section {
            heading: format!("As {}", term_label(term)),
            hits: page.hits,
            next,
        });
    }
    Ok(sections)
}

fn term_label(term: &Term) -> &'static str {
    match term {
        Term::Identity(_) => "signer identity",
        Term::Issuer(_) => "OIDC issuer",
        Term::Digest(_) => "artifact digest",
        Term::KeyFingerprint(_) => "public key fingerprint",
        Term::CertFingerprint(_) => "certificate fingerprint",
        Term::Extension { arc, .. } => fulcio_extension_name(*arc).unwrap_or("Fulcio extension"),
    }
}

fn results(q: &str, sections: &[Section]) -> String {
    let total: usize = sections.iter().map(|s| s.hits.len()).sum();
    let mut out = format!(
        "<h1>Results for <q class=\"term\">{}</q></h1><p id=\"result-count\" data-count=\"{total}\">{total} {}</p>",
        esc(q),
        if total == 1 { "entry" } else { "entries" }
    );
    for s in sections {
        if s.hits.is_empty() && s.next.is_none() {
            let _ = write!(
                out,
                "<h2>{}</h2><p class=\"note\">No entries.</p>",
                esc(&s.heading)
            );
            continue;
        }
        let _ = write!(out, "<h2>{}</h2>", esc(&s.heading));
        out.push_str(&hits_table(&s.hits));
        if let Some(next) = &s.next {
            let _ = write!(out, "<p class=\"more\">{}</p>", link(next, "Next page →"));
        }
    }
    out
}

/// The summary of an entry a results table row shows.
struct Summary {
    kind: String,
    digest: String,
    identity: Option<String>,
    issuer: Option<String>,
    /// The certificate's notBefore, the nearest thing to a signing time a Rekor v2 entry has.
    issued: Option<String>,
    key: Option<String>,
}

fn facts_of(hit: &Hit) -> Result<EntryFacts, String> {
    let wanted = Wanted::everything();
    match hit.format {
        EntryFormat::RekorV2 => read_entry(&hit.leaf, &wanted).map_err(|e| e.to_string()),
        EntryFormat::RekorV1 => read_v1_entry(&hit.leaf, &wanted)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "an entry kind the explorer does not read".to_string()),
        EntryFormat::Ct => read_ct_entry(&hit.leaf, &wanted).map_err(|e| e.to_string()),
    }
}

fn summary(hit: &Hit) -> Summary {
    match facts_of(hit) {
        Ok(f) => {
            let first = f.signers.first();
            let cert = first.and_then(|s| match s {
                Signer::Certificate(c) => Some(c),
                Signer::PublicKey { .. } => None,
            });
            Summary {
                kind: f.kind.to_string(),
                digest: f.digest.clone(),
                identity: cert.and_then(|c| c.san.clone()),
                issuer: cert.and_then(|c| c.issuer.clone()),
                issued: cert.map(|c| c.not_before_rfc3339()),
                key: first.and_then(|s| match s {
                    Signer::PublicKey { key_fingerprint } => Some(key_fingerprint.clone()),
                    Signer::Certificate(_) => None,
                }),
            }
        }
        Err(e) => Summary {
            kind: format!("unreadable ({e})"),
            digest: String::new(),
            identity: None,
            issuer: None,
            issued: None,
            key: None,
        },
    }
}

fn hits_table(hits: &[Hit]) -> String {
    let mut out = String::from(
        "<table class=\"hits\"><thead><tr><th>log</th><th>index</th><th>kind</th><th>signer</th>\
         <th>issuer</th><th>artifact digest</th><th>certificate issued</th></tr></thead><tbody>",
    );
    for hit in hits {
        let s = summary(hit);
        let signer = match (&s.identity, &s.key) {
            (Some(id), _) => link(&query_link(&[("q", id)]), id),
            (None, Some(key)) => format!("key {}", esc(short(key))),
            (None, None) => String::new(),
        };
        let _ = write!(
            out,
            "<tr class=\"hit\" data-log=\"{log}\" data-index=\"{index}\"><td>{loglink}</td><td>{entry}</td>\
             <td>{kind}</td><td class=\"identity\">{signer}</td><td>{issuer}</td><td class=\"digest\">{digest}</td><td>{issued}</td></tr>",
            log = esc(&hit.log),
            index = hit.index,
            loglink = link(&log_href(&hit.log), &hit.log),
            entry = link(&entry_href(&hit.log, hit.index), &hit.index.to_string()),
            kind = esc(&s.kind),
            issuer = esc(s.issuer.as_deref().unwrap_or("")),
            digest = esc(&s.digest),
            issued = esc(s.issued.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

// ---- entry ----

/// A 404 unless `log` is one of the source's logs.
fn known_log(ex: &Explorer, log: &str) -> Result<(), Failure> {
    if valid_log_name(log) && ex.source.logs().iter().any(|l| l == log) {
        return Ok(());
    }
    Err(Failure::NotFound(format!(
        "no log named {:?}",
        log.chars().take(40).collect::<String>()
    )))
}

/// `<log>/<index>` from the path, checked: a known log and a decimal index.
fn entry_location(ex: &Explorer, log: &str, index: &str) -> Result<u64, Failure> {
    known_log(ex, log)?;
    if index.is_empty() || index.len() > 19 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::BadRequest(format!(
            "{:?} is not a log index",
            index.chars().take(40).collect::<String>()
        )));
    }
    index
        .parse::<u64>()
        .map_err(|_| Failure::BadRequest("the log index is too large".into()))
}

async fn load_entry(explorer: &Arc<Explorer>, log: String, index: String) -> Result<ProvenEntry, Failure> {
    blocking(explorer, move |ex| {
        let i = entry_location(ex, &log, &index)?;
        ex.source
            .entry(&log, i)?
            .ok_or_else(|| Failure::NotFound(format!("log {log} has no entry {i} (yet)")))
    })
    .await
}

pub(crate) async fn entry(State(explorer): Shared, Path((log, index)): Path<(String, String)>) -> Response {
    match load_entry(&explorer, log, index).await {
        Ok(e) => {
            let title = format!("Entry {} of {}", e.hit.index, e.hit.log);
            Html(page(&title, &entry_body(&e))).into_response()
        }
        Err(f) => f.page(),
    }
}

/// Fulcio's name for 1.3.6.1.4.1.57264.1.`arc` (docs/oid-info.md).
fn fulcio_extension_name(arc: u32) -> Option<&'static str> {
    match arc {
        1 => Some("Issuer (deprecated)"),
        8 => Some("Issuer"),
        _ => FulcioField::by_arc(arc).map(|f| f.title),
    }
}

const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";

fn entry_body(e: &ProvenEntry) -> String {
    let hit = &e.hit;
    let mut out = format!(
        "<h1>Entry {index} of {loglink}</h1>\
         <div id=\"verify\" class=\"verify pending\" data-verify=\"pending\" data-log=\"{log}\" data-index=\"{index}\" data-format=\"{format}\" \
         data-leaf=\"{leaf}\" data-api=\"{api}\" data-trust=\"{trust}\">\
         <span class=\"verify-text\">Verifying in your browser…</span>\
         <noscript>Reading needs no JavaScript; verifying in your browser does. The proof is at \
         <a href=\"{api}\">{api}</a>.</noscript></div>",
        index = hit.index,
        loglink = link(&log_href(&hit.log), &hit.log),
        log = esc(&hit.log),
        format = format_name(hit.format),
        leaf = B64.encode(&hit.leaf),
        api = esc(&format!("{}/api/entry/{}/{}", crate::BASE, hit.log, hit.index)),
        trust = esc(&format!("{}/api/trusted_root.json", crate::BASE)),
    );
    let time = match e.integrated_time {
        Some(t) => esc(Timestamp::from_unix(t).as_str()),
        None => "none: Rekor v2 entries carry no time. The signing time is proven by the RFC 3161 \
                 timestamp (TSA time) in the signer's bundle, which the log does not hold."
            .into(),
    };
    match facts_of(hit) {
        Err(reason) => {
            let _ = write!(
                out,
                "<p class=\"error\">The entry does not read: {}</p>",
                esc(&reason)
            );
        }
        Ok(f) => {
            let mut rows = vec![
                ("Kind", esc(f.kind)),
                (
                    "Artifact digest",
                    format!(
                        "<span id=\"digest\">{}</span> · {}",
                        esc(&f.digest),
                        link(&query_link(&[("q", &f.digest)]), "entries for this artifact")
                    ),
                ),
                ("Log integrated time", time),
            ];
            if f.kind == "dsse" && hit.format == EntryFormat::RekorV2 {
                rows.push((
                    "Attestation",
                    "The log keeps the SHA-256 of the DSSE payload and the signatures, not the payload: \
                     its predicate type and subjects are in the signer's bundle."
                        .into(),
                ));
            }
            out.push_str(&facts_table(&rows));
            for (i, signer) in f.signers.iter().enumerate() {
                let _ = write!(out, "<h2>Signature {}</h2>", i + 1);
                out.push_str(&signer_table(signer));
            }
        }
    }
    let hashes: String = e
        .hashes
        .iter()
        .map(|h| format!("<li><code>{}</code></li>", hex::encode(h)))
        .collect();
    let _ = write!(
        out,
        "<h2>Inclusion proof</h2>{}<ol class=\"hashes\">{hashes}</ol><h3>Signed checkpoint</h3><pre class=\"note\">{}</pre>",
        facts_table(&[
            ("Log ID", format!("<code>{}</code>", hex::encode(&e.log_id))),
            ("Tree size", e.tree_size.to_string()),
            ("Root hash", format!("<code>{}</code>", hex::encode(&e.root_hash))),
            ("Leaf hash", format!("<code>{}</code>", hex::encode(leaf_hash(&hit.leaf)))),
        ]),
        esc(&e.checkpoint),
    );
    let raw = serde_json::from_slice::<serde_json::Value>(&hit.leaf)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| B64.encode(&hit.leaf));
    let _ = write!(out, "<h2>Raw entry</h2><pre class=\"raw\">{}</pre>", esc(&raw));
    out
}

/// The entry format's name in the page and the proof API (`data-format`, `"format"`): which
/// checkpoint signature the script checks (a Rekor note; a static-ct-api RFC 6962 one).
fn format_name(format: EntryFormat) -> &'static str {
    match format {
        EntryFormat::RekorV2 => "rekor_v2",
        EntryFormat::RekorV1 => "rekor_v1",
        EntryFormat::Ct => "ct",
    }
}

fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut input = Vec::with_capacity(leaf.len() + 1);
    input.push(0);
    input.extend_from_slice(leaf);
    signet_crypto::sha256(&input)
}

fn signer_table(signer: &Signer) -> String {
    match signer {
        Signer::PublicKey { key_fingerprint } => facts_table(&[(
            "Public key (SHA-256 of SPKI)",
            link(&query_link(&[("q", key_fingerprint)]), key_fingerprint),
        )]),
        Signer::Certificate(c) => {
            let mut rows = Vec::new();
            match &c.san {
                Some(san) => rows.push((
                    "Signer identity (SAN)",
                    format!(
                        "<span id=\"identity\" class=\"identity\">{}</span> · {}",
                        esc(san),
                        link(&query_link(&[("q", san)]), "other entries by this identity")
                    ),
                )),
                None => rows.push((
                    "Signer identity",
                    format!(
                        "not a Fulcio certificate: {}",
                        esc(c.identity_error.as_deref().unwrap_or("no SAN"))
                    ),
                )),
            }
            if let Some(issuer) = &c.issuer {
                rows.push(("OIDC issuer", link(&query_link(&[("q", issuer)]), issuer)));
            }
            rows.push(("Certificate issued (notBefore)", esc(&c.not_before_rfc3339())));
            if !c.cert_fingerprint.is_empty() {
                rows.push((
                    "Certificate SHA-256",
                    format!("<code>{}</code>", esc(&c.cert_fingerprint)),
                ));
            }
            rows.push((
                "Public key SHA-256",
                format!("<code>{}</code>", esc(&c.key_fingerprint)),
            ));
            let mut table = facts_table(&rows);
            let mut ext = String::new();
            for (oid, value) in &c.extensions {
                let oid = oid.to_string();
                let Some(arc) = oid.strip_prefix(FULCIO_ARC).and_then(|a| a.parse::<u32>().ok()) else {
                    continue;
                };
                // A searchable field's value links to the other entries with that value.
                let shown = match FulcioField::by_arc(arc) {
                    Some(f) => link(&query_link(&[("q", &format!("{}:{value}", f.name))]), value),
                    None => esc(value),
                };
                let _ = write!(
                    ext,
                    "<tr><td><code>{}</code></td><td>{}</td><td class=\"extension\" data-arc=\"{arc}\">{shown}</td></tr>",
                    esc(&oid),
                    esc(fulcio_extension_name(arc).unwrap_or("(unknown to signet)")),
                );
            }
            if !ext.is_empty() {
                let _ = write!(
                    table,
                    "<h3>Fulcio extensions</h3><table class=\"extensions\"><thead><tr><th>OID</th><th>name</th>\
                     <th>value</th></tr></thead><tbody>{ext}</tbody></table>"
                );
            }
            table
        }
    }
}

/// `GET /api/entry/<log>/<index>`: what the page's script verifies.
///
/// ```json
/// {"log": "rekor", "format": "rekor_v2" | "rekor_v1" | "ct", "index": "7", "logId": b64, "leaf": b64, "treeSize": "9", "rootHash": b64,
///  "hashes": [b64, ...], "checkpoint": "note text", "integratedTime": null | "unix seconds"}
/// ```
pub(crate) async fn entry_json(
    State(explorer): Shared,
    Path((log, index)): Path<(String, String)>,
) -> Response {
    match load_entry(&explorer, log, index).await {
        Ok(e) => {
            let body = serde_json::json!({
                "log": e.hit.log,
                "format": format_name(e.hit.format),
                "index": e.hit.index.to_string(),
                "logId": B64.encode(&e.log_id),
                "leaf": B64.encode(&e.hit.leaf),
                "treeSize": e.tree_size.to_string(),
                "rootHash": B64.encode(&e.root_hash),
                "hashes": e.hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": e.checkpoint,
                "integratedTime": e.integrated_time.map(|t| t.to_string()),
            });
            ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
        }
        Err(f) => f.json(),
    }
}

pub(crate) async fn trusted_root(State(explorer): Shared) -> Response {
    match blocking(&explorer, |ex| Ok(ex.source.trusted_root()?)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(f) => f.json(),
    }
}

// ---- log overview ----

pub(crate) async fn overview(State(explorer): Shared, Path(log): Path<String>) -> Response {
    let result = blocking(&explorer, move |ex| {
        known_log(ex, &log)?;
        let o = ex
            .source
            .overview(&log, RECENT)?
            .ok_or_else(|| Failure::NotFound(format!("log {log} has no checkpoint yet")))?;
        let now = unix_now();
        ex.history
            .record(&log, now, o.size)
            .map_err(|e| Failure::Internal(format!("size history: {e}")))?;
        let samples = ex
            .history
            .samples(&log)
            .map_err(|e| Failure::Internal(format!("size history: {e}")))?;
        Ok(overview_body(&log, &o, &samples, now))
    })
    .await;
    match result {
        Ok((title, body)) => Html(page(&title, &body)).into_response(),
        Err(f) => f.page(),
    }
}

/// The signature lines of a signed note: (name, key ID hex), in order.
fn note_signatures(note: &str) -> Vec<(String, String)> {
    let Some((_, sigs)) = note.split_once("\n\n") else {
        return Vec::new();
    };
    sigs.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("— ")?;
            let (name, b64) = rest.rsplit_once(' ')?;
            let bytes = B64.decode(b64).ok()?;
            (bytes.len() > 4).then(|| (name.to_string(), hex::encode(&bytes[..4])))
        })
        .collect()
}

fn overview_body(
    log: &str,
    o: &crate::source::LogOverview,
    samples: &[(i64, u64)],
    now: i64,
) -> (String, String) {
    let origin = o.checkpoint.lines().next().unwrap_or("").to_string();
    let mut out = format!(
        "<h1>Log {}</h1>{}<h2>Latest checkpoint</h2><pre class=\"note\">{}</pre>",
        esc(log),
        facts_table(&[
            ("Origin", esc(&origin)),
            ("Size", format!("<span id=\"log-size\">{}</span> entries", o.size)),
        ]),
        esc(&o.checkpoint)
    );
    out.push_str("<h2>Witness cosignatures</h2>");
    match &o.cosigned_checkpoint {
        None => out.push_str("<p class=\"note\">This log keeps no witness-cosigned checkpoint.</p>"),
        Some(note) => {
            let witnesses: Vec<_> = note_signatures(note)
                .into_iter()
                .filter(|(n, _)| *n != origin)
                .collect();
            let size = note.lines().nth(1).unwrap_or("?");
            let _ = write!(
                out,
                "<p>The latest cosigned checkpoint is for size {}; {} cosignature{} as the log stored them \
                 (the log verified each against its witness policy when it collected it).</p><ul>",
                esc(size),
                witnesses.len(),
                if witnesses.len() == 1 { "" } else { "s" }
            );
            for (name, id) in &witnesses {
                let _ = write!(out, "<li>{} <code>{}</code></li>", esc(name), esc(id));
            }
            let _ = write!(out, "</ul><pre class=\"note\">{}</pre>", esc(note));
        }
    }
    let _ = write!(
        out,
        "<h2>Growth</h2>{}<p class=\"note\">Sizes this server saw over time (its own samples: a Rekor v2 \
         checkpoint carries no time).</p><h2>Newest entries</h2>{}",
        crate::plot::growth_svg(samples, now, o.size),
        hits_table(&o.recent)
    );
    (format!("Log {log}"), out)
}

// ---- static files, 404 ----

pub(crate) async fn static_file(Path(file): Path<String>) -> Response {
    match crate::assets::lookup(&file) {
        Some((body, content_type)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

pub(crate) async fn not_found() -> Response {
    Failure::NotFound("no such page".into()).page()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_signature_lines_are_read() {
        let note = "origin\n5\nAAAA\n\n— origin AQIDBAUGBwg=\n— witness.example CQoLDA0ODxA=\n";
        assert_eq!(
            note_signatures(note),
            vec![
                ("origin".to_string(), "01020304".to_string()),
                ("witness.example".to_string(), "090a0b0c".to_string())
            ]
        );
        assert!(note_signatures("no blank line").is_empty());
    }

    #[test]
    fn every_fulcio_arc_signet_writes_has_a_name() {
        for arc in (1..=6).chain(8..=23) {
            assert!(fulcio_extension_name(arc).is_some(), "{arc}");
        }
        assert!(fulcio_extension_name(7).is_none());
    }
}
