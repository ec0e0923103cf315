//! `signet search`: asks a Rekor v2 log's search API (`GET <log>/api/v2/search`, served by
//! `signet server`) for the entries of an identity, issuer, artifact digest or Fulcio
//! workflow/build extension (`--certificate-github-workflow-repository`, ...), and trusts none
//! of the answer: every result's inclusion proof and signed checkpoint are verified against the
//! trust material's log keys, and its body must say what was asked for. A result that fails is
//! an error, not a row. (That nothing was left out cannot be checked from the answer; the
//! monitor, which reads every entry, is the tool for that.)
//!
//! `--all-logs` asks the server's search over all its logs instead (`GET <server>/api/v1/search`:
//! the Rekor v2, Rekor v1 and CT logs). Each result carries the bytes its log's tree hashes;
//! the proof is checked against a checkpoint signed by a log of the trust material (a Rekor
//! note for the Rekor logs, a static-ct-api `RFC6962NoteSignature` for the CT log), and the
//! entry is read (signet-verify's `entry_facts`, as the server's index reads it) to check it
//! says what was asked.

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use signet_formats::rekor_v2::TransparencyLogEntry;
use signet_verify::entry_facts::{read_ct_entry, read_entry, read_v1_entry, EntryFacts, Signer, Wanted};
use signet_verify::tlog::{
    check_witnesses, find_log, verify_inclusion_proof, verify_log_checkpoint, verify_static_ct_checkpoint,
};
use signet_verify::{PreparedTrust, TransparencyLog};
use signet_x509::oid::{FulcioField, FULCIO_FIELDS};

use crate::http::Http;
use crate::trust::{TrustArgs, TrustEnv};

/// Most pages `--all` follows (at the server's largest page, 100 000 entries).
const MAX_PAGES: usize = 1000;

/// `signet search`'s flags.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Entries signed by this certificate identity (the SAN: an email, or a URI such as a
    /// GitHub workflow's).
    #[arg(long)]
    pub identity: Option<String>,
    /// Entries whose certificate names this OIDC issuer.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Entries for this artifact digest (`sha256:<hex>`, or bare hex for SHA-256).
    #[arg(long)]
    pub digest: Option<String>,
    /// Entries whose certificate carries a Fulcio workflow/build extension with exactly this
    /// value (`--certificate-github-workflow-repository owner/name`,
    /// `--certificate-source-repository-ref refs/tags/v1`, ...), ANDed with the rest.
    #[command(flatten)]
    pub extensions: ExtensionArgs,
    /// Results per page (1 to 100).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Follow `next` until every result is read (else one page, and the cursor to go on).
    #[arg(long)]
    pub all: bool,
    /// Start at this cursor (a `next` from an earlier answer).
    #[arg(long)]
    pub cursor: Option<String>,
    /// The log to ask (default: the signing config's Rekor v2 log).
    #[arg(long, value_name = "URL", conflicts_with = "all_logs")]
    pub log_url: Option<String>,
    /// Search every log of a signet server (`GET <server>/api/v1/search`): its Rekor v2,
    /// Rekor v1 and CT logs, each result verified against its log's key.
    #[arg(long)]
    pub all_logs: bool,
    /// With `--all-logs`: the server's base URL (default: the signing config's Rekor v2 log
    /// URL without its `/rekor` path).
    #[arg(long, value_name = "URL", requires = "all_logs")]
    pub server_url: Option<String>,
    /// `table` (default) or `json`.
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    /// Where the log keys come from.
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// One flag per Fulcio workflow/build extension (`signet_x509::oid::FULCIO_FIELDS`): cosign's
/// `verify` flag where cosign has one (`--certificate-github-workflow-trigger`, `-sha`,
/// `-name`, `-repository`, `-ref`), else `--certificate-` and the field's name
/// (`--certificate-source-repository-uri`, `--certificate-build-signer-uri`, ...). Built from
/// the table rather than written out, so the flags, the search parameters and the index
/// cannot drift apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionArgs(pub Vec<(&'static FulcioField, String)>);

impl clap::FromArgMatches for ExtensionArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(ExtensionArgs(
            FULCIO_FIELDS
                .iter()
                .filter_map(|f| matches.get_one::<String>(f.name).map(|v| (f, v.clone())))
                .collect(),
        ))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for ExtensionArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for f in FULCIO_FIELDS {
            cmd = cmd.arg(
                clap::Arg::new(f.name)
                    .long(f.flag)
                    .value_name("VALUE")
                    .help(format!(
                        "Entries whose certificate's {} (1.3.6.1.4.1.57264.1.{}) is exactly VALUE",
                        f.title, f.arc
                    )),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One line per entry.
    Table,
    /// `{"results": [...], "next": ..., "verified": true}`, each result with its entry.
    Json,
}

/// One verified result: the entry and what its body says.
#[derive(Debug, Clone)]
pub struct Found {
    /// Which kind of log: `rekor2`, `rekor1` or `ct`.
    pub log: String,
    /// The log's name on the server (`rekor2`, or `rekor2-shard-2` after a rotation, …).
    pub name: String,
    /// Where that log comes in the server's order of logs (results come by log, then index).
    pub order: usize,
    /// The `TransparencyLogEntry` as the log sent it (with `--all-logs`, the result: its leaf,
    /// proof and checkpoint).
    pub entry: Value,
    /// Its index in the log.
    pub log_index: u64,
    /// `hashedrekord`, `dsse` or `intoto`; for CT `x509_entry` or `precert_entry`.
    pub kind: String,
    /// The artifact digest, `sha256:<hex>`.
    pub digest: String,
    /// Each signature's certificate facts; a key signer's are empty.
    pub signers: Vec<FoundSigner>,
}

/// What a result's certificate says about its signer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundSigner {
    /// The SAN ("" for a key or a certificate that is not a Fulcio leaf).
    pub identity: String,
    /// The OIDC issuer ("" when none).
    pub issuer: String,
    /// The Fulcio workflow/build extensions it carries, by arc.
    pub extensions: Vec<(u32, String)>,
}

impl FoundSigner {
    fn of(signer: &Signer) -> FoundSigner {
        match signer {
            Signer::Certificate(c) => FoundSigner {
                identity: c.san.clone().unwrap_or_default(),
                issuer: c.issuer.clone().unwrap_or_default(),
                extensions: c
                    .extensions
                    .iter()
                    .filter_map(|(oid, v)| Some((FulcioField::by_oid(oid)?.arc, v.clone())))
                    .collect(),
            },
            Signer::PublicKey { .. } => FoundSigner::default(),
        }
    }

    fn json(&self) -> Value {
        let extensions: serde_json::Map<String, Value> = self
            .extensions
            .iter()
            .filter_map(|(arc, v)| Some((FulcioField::by_arc(*arc)?.name.to_string(), json!(v))))
            .collect();
        json!({"identity": self.identity, "issuer": self.issuer, "extensions": extensions})
    }
}

/// What to read of a result's entry: its facts, with the Fulcio workflow/build extensions.
fn wanted() -> Wanted {
    Wanted {
        fingerprints: false,
        extensions: Some(FULCIO_FIELDS.iter().map(FulcioField::oid).collect()),
    }
}

/// Runs `signet search` and prints the results.
pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let trust = crate::trust::load(&args.trust, &TrustEnv::from_process())?;
    if args.all_logs {
        let server = match &args.server_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let config = trust.signing_config()?;
                let log = config
                    .rekor_tlog_urls
                    .iter()
                    .find(|s| s.major_api_version == 2)
                    .ok_or_else(|| anyhow!("the signing config lists no Rekor v2 log; give --server-url"))?;
                log.url
                    .trim_end_matches('/')
                    .strip_suffix("/rekor")
                    .ok_or_else(|| {
                        anyhow!(
                            "the Rekor v2 log {} is not a signet server's /rekor; give --server-url",
                            log.url
                        )
                    })?
                    .to_string()
            }
        };
        let prepared = trust.prepared_trust();
        return run_pages(&args, &format!("{server}/api/v1/search"), |answer| {
            verify_all_logs_answer(answer, &args, &prepared)
        });
    }
    let log_url = match &args.log_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let config = trust.signing_config()?;
            config
                .rekor_tlog_urls
                .iter()
                .find(|s| s.major_api_version == 2)
                .map(|s| s.url.trim_end_matches('/').to_string())
                .ok_or_else(|| anyhow!("the signing config lists no Rekor v2 log; give --log-url"))?
        }
    };
    let prepared = trust.prepared_trust();
    run_pages(&args, &format!("{log_url}/api/v2/search"), |answer| {
        verify_answer(
            answer,
            &args,
            &prepared.transparency_logs,
            prepared.witness_policy.as_deref(),
        )
    })
}

/// The order results come in: by log (as the all-logs search lists them), then log index.
fn position(f: &Found) -> (usize, u64) {
    (f.order, f.log_index)
}

/// Asks `endpoint` page by page (`--all`), verifying each page with `verify`, and prints.
fn run_pages(
    args: &SearchArgs,
    endpoint: &str,
    verify: impl Fn(&Value) -> anyhow::Result<Vec<Found>>,
) -> anyhow::Result<()> {
    let http = Http::new()?;
    let mut cursor = args.cursor.clone();
    let mut found: Vec<Found> = Vec::new();
    for _ in 0..MAX_PAGES {
        let url = search_url(endpoint, args, cursor.as_deref())?;
        let answer = http.get_json(&url, None).context("search request failed")?;
        let page = verify(&answer)?;
        // Pages go forward: a page that does not move past what was read would loop.
        if let (Some(prev), Some(first)) = (found.last(), page.first()) {
            if position(first) <= position(prev) {
                bail!(
                    "search page starts at {} entry {}, not after {} entry {}",
                    first.name,
                    first.log_index,
                    prev.name,
                    prev.log_index
                );
            }
        }
        found.extend(page);
        cursor = answer["next"].as_str().map(str::to_string);
        if !args.all || cursor.is_none() {
            break;
        }
    }
    match args.output {
        Output::Json => {
            let results: Vec<Value> = found
                .iter()
                .map(|f| {
                    json!({
                        "log": f.log,
                        "logName": f.name,
                        "logIndex": f.log_index,
                        "kind": f.kind,
                        "digest": f.digest,
                        "signers": f.signers.iter().map(FoundSigner::json).collect::<Vec<_>>(),
                        "entry": f.entry,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"results": results, "next": cursor, "verified": true}))?
            );
        }
        Output::Table => {
            println!(
                "{:<7} {:<10} {:<13} {:<20} {:<32} ISSUER",
                "LOG", "LOG INDEX", "KIND", "DIGEST", "IDENTITY"
            );
            for f in &found {
                let first = f.signers.first().cloned().unwrap_or_default();
                let (san, iss) = (first.identity, first.issuer);
                let short: String = f.digest.chars().take(19).collect();
                println!(
                    "{:<7} {:<10} {:<13} {:<20} {:<32} {}",
                    f.name, f.log_index, f.kind, short, san, iss
                );
            }
            eprintln!(
                "{} entries, each inclusion proof and checkpoint verified",
                found.len()
            );
            if let Some(next) = &cursor {
                eprintln!("more: --cursor {next}");
            }
        }
    }
    Ok(())
}

fn search_url(endpoint: &str, args: &SearchArgs, cursor: Option<&str>) -> anyhow::Result<String> {
    let mut url = url::Url::parse(endpoint).context("search URL")?;
    {
        let mut q = url.query_pairs_mut();
        for (name, value) in [
            ("identity", &args.identity),
            ("issuer", &args.issuer),
            ("digest", &args.digest),
        ] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        for (f, v) in &args.extensions.0 {
            q.append_pair(f.name, v);
        }
        q.append_pair("limit", &args.limit.to_string());
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
    }
    if args.identity.is_none()
        && args.issuer.is_none()
        && args.digest.is_none()
        && args.extensions.0.is_empty()
    {
        bail!("give --identity, --issuer, --digest or a --certificate-* extension flag");
    }
    Ok(url.into())
}

/// Verifies one page of a search answer: every entry's inclusion proof and checkpoint against
/// `logs` (and the witness policy, if any), and that its body matches what `args` asked for.
pub fn verify_answer(
    answer: &Value,
    args: &SearchArgs,
    logs: &[TransparencyLog],
    witnesses: Option<&signet_tlog::WitnessPolicy>,
) -> anyhow::Result<Vec<Found>> {
    let entries = answer["entries"]
        .as_array()
        .ok_or_else(|| anyhow!("search answer has no \"entries\" list"))?;
    let mut out: Vec<Found> = Vec::with_capacity(entries.len());
    for value in entries {
        let entry: TransparencyLogEntry =
            serde_json::from_value(value.clone()).context("search result is not a TransparencyLogEntry")?;
        let i = entry.log_index;
        let log = find_log(&entry, logs).with_context(|| format!("search result {i}"))?;
        verify_inclusion_proof(&entry, log, Some("a search result is only as good as its proof"))
            .with_context(|| format!("search result {i} does not verify"))?;
        if let Some(policy) = witnesses {
            check_witnesses(&entry, log, policy).with_context(|| format!("search result {i}: witnesses"))?;
        }
        if out.last().is_some_and(|prev| prev.log_index >= i) {
            bail!("search results are not in increasing log index order at {i}");
        }
        let found = read_found(value.clone(), &entry)?;
        check_matches(&found, args)?;
        out.push(found);
    }
    Ok(out)
}

fn read_found(value: Value, entry: &TransparencyLogEntry) -> anyhow::Result<Found> {
    let i = entry.log_index;
    let facts = read_entry(&entry.canonicalized_body, &wanted())
        .with_context(|| format!("search result {i}: body is not a Rekor v2 entry"))?;
    Ok(Found {
        log: "rekor2".into(),
        name: "rekor2".into(),
        order: 0,
        entry: value,
        log_index: i,
        kind: facts.kind.to_string(),
        digest: facts.digest,
        signers: facts.signers.iter().map(FoundSigner::of).collect(),
    })
}

/// The result's body must say what was asked: the index is not trusted to match.
fn check_matches(found: &Found, args: &SearchArgs) -> anyhow::Result<()> {
    let i = found.log_index;
    if let Some(want) = &args.digest {
        let want = want.to_ascii_lowercase();
        let want = if want.contains(':') {
            want
        } else {
            format!("sha256:{want}")
        };
        if found.digest != want {
            bail!("search result {i} is for digest {}, not {want}", found.digest);
        }
    }
    if args.identity.is_some() || args.issuer.is_some() || !args.extensions.0.is_empty() {
        // One signer must have all of it: the index ANDs the terms of one entry, but an entry
        // with two signatures could match them across both; such a result is refused too.
        let ok = found.signers.iter().any(|s| {
            args.identity.as_ref().is_none_or(|w| *w == s.identity)
                && args.issuer.as_ref().is_none_or(|w| *w == s.issuer)
                && args
                    .extensions
                    .0
                    .iter()
                    .all(|(f, w)| s.extensions.iter().any(|(arc, v)| *arc == f.arc && v == w))
        });
        if !ok {
            bail!("search result {i} has no signer with the identity, issuer and extensions asked for");
        }
    }
    Ok(())
}

/// Verifies one page of an all-logs answer: each result's checkpoint is signed by a log of the
/// trust material (a Rekor log's key for `rekor2`/`rekor1`, a CT log's for `ct`), its proof
/// leads from the hash of its leaf to that checkpoint's root, and its entry says what `args`
/// asked for.
pub fn verify_all_logs_answer(
    answer: &Value,
    args: &SearchArgs,
    trust: &PreparedTrust,
) -> anyhow::Result<Vec<Found>> {
    let results = answer["results"]
        .as_array()
        .ok_or_else(|| anyhow!("search answer has no \"results\" list"))?;
    // The server's logs in its order, by name (a server from before log names gave only
    // each log's kind, which was then unique).
    let order: Vec<&str> = answer["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str().or(l["log"].as_str()))
        .collect();
    let mut out: Vec<Found> = Vec::with_capacity(results.len());
    for value in results {
        let mut found = verify_all_logs_result(value, trust)?;
        found.name = value["name"].as_str().unwrap_or(&found.log).to_string();
        found.order = order.iter().position(|n| *n == found.name).ok_or_else(|| {
            anyhow!(
                "search result names a log the answer does not list ({:?})",
                found.name
            )
        })?;
        if out.last().is_some_and(|prev| position(prev) >= position(&found)) {
            bail!(
                "search results are not in log and index order at {} entry {}",
                found.name,
                found.log_index
            );
        }
        check_matches(&found, args)?;
        out.push(found);
    }
    Ok(out)
}

fn field<'a>(v: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    v[name]
        .as_str()
        .ok_or_else(|| anyhow!("search result has no string {name:?}"))
}

fn hash32(b64: &str, what: &str) -> anyhow::Result<signet_tlog::Hash> {
    B64.decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("search result's {what} is not a base64 SHA-256 hash"))
}

fn verify_all_logs_result(value: &Value, trust: &PreparedTrust) -> anyhow::Result<Found> {
    let log = field(value, "log")?.to_string();
    let log_index: u64 = field(value, "logIndex")?
        .parse()
        .context("search result's logIndex is not a number")?;
    let what = format!("search result {log} {log_index}");
    let leaf = B64
        .decode(field(value, "leaf")?)
        .with_context(|| format!("{what}: leaf is not base64"))?;
    let proof = &value["inclusionProof"];
    let envelope = field(proof, "checkpoint")?;
    let checkpoint = match log.as_str() {
        "rekor2" | "rekor1" => trust
            .transparency_logs
            .iter()
            .find_map(|l| verify_log_checkpoint(envelope, l).ok())
            .ok_or_else(|| {
                anyhow!("{what}: its checkpoint is signed by no transparency log of the trust material")
            })?,
        "ct" => trust
            .ct_logs
            .iter()
            .find_map(|k| verify_static_ct_checkpoint(envelope, &k.log_id, &k.key).ok())
            .ok_or_else(|| anyhow!("{what}: its checkpoint is signed by no CT log of the trust material"))?,
        other => bail!("search result names an unknown log {other:?}"),
    };
    let size: u64 = field(proof, "treeSize")?
        .parse()
        .with_context(|| format!("{what}: treeSize"))?;
    let root = hash32(field(proof, "rootHash")?, "rootHash")?;
    if (checkpoint.size, checkpoint.root_hash) != (size, root) {
        bail!("{what}: the proof's tree (size {size}) is not its signed checkpoint's");
    }
    let hashes = proof["hashes"]
        .as_array()
        .ok_or_else(|| anyhow!("{what}: the proof has no hashes"))?
        .iter()
        .map(|h| hash32(h.as_str().unwrap_or(""), "proof hash"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    signet_tlog::verify_inclusion(&signet_tlog::leaf_hash(&leaf), log_index, size, &hashes, &root)
        .map_err(|e| anyhow!("{what} does not verify: inclusion proof: {e}"))?;
    let wanted = wanted();
    let facts: EntryFacts = match log.as_str() {
        "rekor2" => read_entry(&leaf, &wanted).map_err(|e| anyhow!("{what}: {e}"))?,
        "rekor1" => read_v1_entry(&leaf, &wanted)
            .map_err(|e| anyhow!("{what}: {e}"))?
            .ok_or_else(|| anyhow!("{what}: an entry kind signet does not read"))?,
        _ => read_ct_entry(&leaf, &wanted).map_err(|e| anyhow!("{what}: {e}"))?,
    };
    Ok(Found {
        log,
        name: String::new(),
        order: 0,
        entry: value.clone(),
        log_index,
        kind: facts.kind.to_string(),
        digest: facts.digest,
        signers: facts.signers.iter().map(FoundSigner::of).collect(),
    })
}
