//! A blocking client for OCI registries (the distribution spec's API), as image signing needs
//! it: resolve a reference to a digest, read manifests and blobs (bounded, and checked against
//! their digests before anything uses them), push blobs and manifests, list referrers. Auth is
//! the docker CLI's: credentials from `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`
//! (`auths`, `credHelpers`, `credsStore`), sent as Basic, or exchanged for a Bearer token when
//! the registry's 401 challenge asks for one.
//!
//! Written on the client's blocking `ureq` rather than with the `oci-client` crate: that crate is
//! async (tokio and reqwest), and the client library stays free of an async runtime
//! (`crates/signet/tests/layering.rs`), which is also what keeps `signet verify` a few
//! milliseconds. The formats are signet-oci's.
//!
//! Plain HTTP is used only for a registry on this machine (as go-containerregistry does for
//! `localhost` and loopback addresses) or when the caller allows it explicitly.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use signet_oci::manifest::{
    MAX_MANIFEST_BYTES, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_IMAGE_INDEX,
    MEDIA_TYPE_IMAGE_MANIFEST,
};
use signet_oci::{Descriptor, Digest, ImageIndex, Manifest};

use crate::http::{server_message, Exchange, Http};

/// What `Accept` asks a registry for when reading a manifest.
const MANIFEST_ACCEPT: &str = concat!(
    "application/vnd.oci.image.manifest.v1+json, ",
    "application/vnd.oci.image.index.v1+json, ",
    "application/vnd.docker.distribution.manifest.v2+json, ",
    "application/vnd.docker.distribution.manifest.list.v2+json"
);

/// The largest token answer read from an authorization server.
const MAX_TOKEN_BYTES: u64 = 64 << 10;
/// The largest error body read from a registry.
const MAX_ERROR_BYTES: u64 = 64 << 10;

/// Registry credentials for one host.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or personal access token).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <password>)"),
        }
    }
}

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Allow plain HTTP to a registry that is not on this machine (`--allow-http-registry`).
    pub allow_http: bool,
    /// Credentials to use instead of the docker configuration's.
    pub credential: Option<Credential>,
    /// CA certificates (PEM files) trusted for the registry's TLS beside the system's roots
    /// (`--registry-cacert`). Given one, a registry on this machine is reached over https too.
    pub ca_certs: Vec<PathBuf>,
    /// Where signatures and attestations are kept, if not beside the image: `host/repo`
    /// (`--signature-repository`, or cosign's `COSIGN_REPOSITORY`).
    pub signature_repository: Option<String>,
}

impl RegistryOptions {
    /// The HTTP client these options call for (the extra CA certificates trusted).
    pub fn http(&self) -> anyhow::Result<Http> {
        Http::with_extra_roots(&self.ca_certs)
    }
}

/// A manifest as the registry holds it.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// Its digest (checked against its bytes).
    pub digest: Digest,
    /// Its media type, as the registry labelled it or the document states.
    pub media_type: String,
    /// The bytes, exactly as served.
    pub bytes: Vec<u8>,
    /// The parsed document.
    pub manifest: Manifest,
}

impl FetchedManifest {
    /// Its descriptor, for a `subject` or an index.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            digest: self.digest.clone(),
            ..Descriptor::of(self.media_type.clone(), &self.bytes)
        }
    }
}

/// One registry host.
pub struct Registry<'h> {
    http: &'h Http,
    host: String,
    base: String,
    credential: Option<Credential>,
    /// Plain HTTP allowed beyond this machine (for the Bearer realm as for the registry).
    allow_http: bool,
    /// The Bearer token from the last challenge answered, and the scope it was asked for.
    token: Mutex<Option<(String, String)>>,
    requests: AtomicU32,
}

impl<'h> Registry<'h> {
    /// A client for the registry at `host` (`registry.example`, `127.0.0.1:5000`).
    pub fn new(http: &'h Http, host: &str, options: &RegistryOptions) -> anyhow::Result<Registry<'h>> {
        // A registry on this machine speaks plain HTTP (as go-containerregistry assumes), unless
        // the user gave a CA for its TLS.
        let scheme = if (is_local(host) && options.ca_certs.is_empty()) || options.allow_http {
            "http"
        } else {
            "https"
        };
        let credential = match &options.credential {
            Some(c) => Some(c.clone()),
            None => docker_credential(host)?,
        };
        Ok(Registry {
            http,
            host: host.to_string(),
            base: format!("{scheme}://{host}"),
            credential,
            allow_http: options.allow_http,
            token: Mutex::new(None),
            requests: AtomicU32::new(0),
        })
    }

    /// How many HTTP requests this client has sent (token requests included).
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The registry's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The credential this client answers a challenge with, if any.
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// Reads the manifest `reference` (a tag or a digest) of `repository`. By digest, the
    /// bytes must have that digest; by tag, their digest is computed and must equal the one
    /// the registry states, if it states one.
    pub fn manifest(&self, repository: &str, reference: &str) -> anyhow::Result<FetchedManifest> {
        self.find_manifest(repository, reference)?.ok_or_else(|| {
            anyhow!(
                "{}/{repository}:{reference}: no such manifest (HTTP 404)",
                self.host
            )
        })
    }

    /// [`Registry::manifest`], with `None` where the registry has no such manifest (a tag that
    /// may not exist yet: a fallback index, a legacy `.sig`).
    pub fn find_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> anyhow::Result<Option<FetchedManifest>> {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let answer = self.send(
            "GET",
            &path,
            repository,
            Access::Pull,
            &[("Accept", MANIFEST_ACCEPT)],
            None,
            MAX_MANIFEST_BYTES as u64,
        )?;
        let what = format!("{}/{repository}:{reference}", self.host);
        if answer.status == 404 {
            return Ok(None);
        }
        expect_status(&answer, 200, &what, "")?;
        let computed = Digest::sha256(&answer.body);
        if let Ok(asked) = reference.parse::<Digest>() {
            if !asked.matches(&answer.body) {
                bail!("{what}: the registry served a manifest whose digest is {computed}, not the {asked} asked for");
            }
        } else if let Some(stated) = answer.docker_content_digest.as_deref() {
            let stated: Digest = stated
                .parse()
                .map_err(|e| anyhow!("{what}: the registry's Docker-Content-Digest: {e}"))?;
            if !stated.matches(&answer.body) {
                bail!("{what}: the registry says the manifest is {stated}, but its bytes are {computed}");
            }
        }
        let content_type = answer.content_type.as_deref();
        let manifest = Manifest::parse(content_type, &answer.body).with_context(|| what.clone())?;
        let media_type = stated_media_type(&manifest)
            .or(content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()))
            .unwrap_or_else(|| MEDIA_TYPE_IMAGE_MANIFEST.to_string());
        Ok(Some(FetchedManifest {
            digest: computed,
            media_type,
            bytes: answer.body,
            manifest,
        }))
    }

    /// Reads the blob `descriptor` names (at most `max_len` bytes; its size and digest are
    /// checked).
    pub fn blob(&self, repository: &str, descriptor: &Descriptor, max_len: u64) -> anyhow::Result<Vec<u8>> {
        let what = format!("{}/{repository}@{}", self.host, descriptor.digest);
        if descriptor.size > max_len {
            bail!(
                "{what}: the blob is {} bytes, more than the {max_len} signet reads",
                descriptor.size
            );
        }
        let path = format!("/v2/{repository}/blobs/{}", descriptor.digest);
        let answer = self.send("GET", &path, repository, Access::Pull, &[], None, max_len)?;
        if answer.status == 404 {
            bail!("{what}: no such blob (HTTP 404)");
        }
        expect_status(&answer, 200, &what, "")?;
        if !descriptor.describes(&answer.body) {
            bail!(
                "{what}: the registry served {} bytes with digest {}, not the blob asked for",
                answer.body.len(),
                Digest::sha256(&answer.body)
            );
        }
        Ok(answer.body)
    }

    /// Copies the blob `descriptor` names into `sink` as it arrives (an image layer may be too
    /// large to hold in memory), checking its size against the descriptor (at most `max_len`)
    /// and its digest at the end. On error the sink holds a partial or wrong blob: the caller
    /// must discard it.
    pub fn blob_into(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        sink: &mut dyn std::io::Write,
        max_len: u64,
    ) -> anyhow::Result<()> {
        let what = format!("{}/{repository}@{}", self.host, descriptor.digest);
        if descriptor.size > max_len {
            bail!(
                "{what}: the blob is {} bytes, more than the {max_len} signet reads",
                descriptor.size
            );
        }
        let mut checking = CheckingWriter {
            inner: sink,
            hasher: signet_crypto::Hasher::new(match descriptor.digest.algorithm() {
                signet_oci::DigestAlgorithm::Sha256 => signet_crypto::HashAlgorithm::Sha2_256,
                signet_oci::DigestAlgorithm::Sha512 => signet_crypto::HashAlgorithm::Sha2_512,
            }),
            written: 0,
        };
        let path = format!("/v2/{repository}/blobs/{}", descriptor.digest);
        let mut reading = Reading::Stream(&mut checking, descriptor.size);
        let answer = self.send_reading("GET", &path, repository, Access::Pull, &[], None, &mut reading)?;
        match answer.status {
            200 => {}
            404 => bail!("{what}: no such blob (HTTP 404)"),
            status => bail!(
                "{what}: the registry answered HTTP {status}{}",
                server_message(&answer.body)
            ),
        }
        let digest = Digest::from_bytes(descriptor.digest.algorithm(), checking.hasher.finish())
            .ok_or_else(|| anyhow!("{what}: computing the digest"))?;
        if checking.written != descriptor.size || descriptor.digest != digest {
            bail!(
                "{what}: the registry served {} bytes with digest {digest}, not the blob asked for",
                checking.written
            );
        }
        Ok(())
    }

    /// Uploads `content` as a blob unless the registry has it already; returns its digest.
    pub fn push_blob(&self, repository: &str, content: &[u8]) -> anyhow::Result<Digest> {
        self.push_blob_checked(repository, content, true)
    }

    /// Uploads `content` as a blob without asking first whether the registry has it: for
    /// content just made (a bundle holds a fresh signature), where asking costs a round trip
    /// and never spares one.
    pub fn push_new_blob(&self, repository: &str, content: &[u8]) -> anyhow::Result<Digest> {
        self.push_blob_checked(repository, content, false)
    }

    fn push_blob_checked(&self, repository: &str, content: &[u8], ask_first: bool) -> anyhow::Result<Digest> {
        let digest = Digest::sha256(content);
        let what = format!("{}/{repository}@{digest}", self.host);
        if !ask_first {
            return self.upload_blob(repository, content, digest, &what);
        }
        let head = self.send(
            "HEAD",
            &format!("/v2/{repository}/blobs/{digest}"),
            repository,
            Access::Push,
            &[],
            None,
            0,
        )?;
        if head.status == 200 {
            return Ok(digest);
        }
        self.upload_blob(repository, content, digest, &what)
    }

    /// A monolithic upload: POST for a location, then PUT the content with its digest.
    fn upload_blob(
        &self,
        repository: &str,
        content: &[u8],
        digest: Digest,
        what: &str,
    ) -> anyhow::Result<Digest> {
        let start = self.send(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            repository,
            Access::Push,
            &[],
            Some(b""),
            MAX_ERROR_BYTES,
        )?;
        expect_status(&start, 202, what, "starting the upload: ")?;
        let location = start.location.ok_or_else(|| {
            anyhow!("{what}: the registry started an upload without saying where (no Location)")
        })?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let put_path = format!("{location}{separator}digest={digest}");
        let put = self.send(
            "PUT",
            &put_path,
            repository,
            Access::Push,
            &[("Content-Type", "application/octet-stream")],
            Some(content),
            MAX_ERROR_BYTES,
        )?;
        expect_status(&put, 201, what, "uploading: ")?;
        Ok(digest)
    }

    /// Pushes a manifest under `reference` (a tag, or its digest) in one PUT; returns its digest.
    pub fn push_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> anyhow::Result<Digest> {
        let digest = Digest::sha256(bytes);
        let path = format!("/v2/{repository}/manifests/{reference}");
        let answer = self.send(
            "PUT",
            &path,
            repository,
            Access::Push,
            &[("Content-Type", media_type)],
            Some(bytes),
            MAX_ERROR_BYTES,
        )?;
        expect_status(
            &answer,
            201,
            &format!("{}/{repository}:{reference}", self.host),
            "pushing the manifest: ",
        )?;
        Ok(digest)
    }

    /// The referrers of the manifest `digest` through the registry's referrers API, or `None`
    /// when the registry has no such API (then the `sha256-<hex>` fallback tag is where they
    /// are listed: [`signet_oci::referrers::fallback_tag`]).
    pub fn referrers(&self, repository: &str, digest: &Digest) -> anyhow::Result<Option<ImageIndex>> {
        let path = format!("/v2/{repository}/referrers/{digest}");
        let answer = self.send(
            "GET",
            &path,
            repository,
            Access::Pull,
            &[("Accept", MEDIA_TYPE_IMAGE_INDEX)],
            None,
            MAX_MANIFEST_BYTES as u64,
        )?;
        let is_index = answer
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with(MEDIA_TYPE_IMAGE_INDEX));
        match answer.status {
            200 if is_index => match Manifest::parse(Some(MEDIA_TYPE_IMAGE_INDEX), &answer.body)
                .with_context(|| format!("{}/{repository}: the referrers of {digest}", self.host))?
            {
                Manifest::Index(index) => Ok(Some(*index)),
                Manifest::Image(_) => bail!(
                    "{}/{repository}: the referrers of {digest} are not an index",
                    self.host
                ),
            },
            // distribution 2.8 answers 404 text/plain; others 404 or 405 with a JSON error.
            200 | 404 | 405 => Ok(None),
            status => bail!(
                "{}/{repository}: listing the referrers of {digest}: the registry answered HTTP {status}{}",
                self.host,
                server_message(&answer.body)
            ),
        }
    }

    /// One request, answering a 401 challenge once: Basic with the credential, or a Bearer
    /// token fetched from the challenge's realm for this repository and access. The answer's
    /// body is kept, at most `max_len` bytes of it.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        method: &str,
        path: &str,
        repository: &str,
        access: Access,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        max_len: u64,
    ) -> anyhow::Result<Exchange> {
        let mut reading = Reading::Keep(max_len);
        self.send_reading(method, path, repository, access, headers, body, &mut reading)
    }

    /// [`Registry::send`], the body read as `reading` says. A GET or HEAD follows up to
    /// [`MAX_REDIRECTS`] redirects (registries send blob reads to a CDN), over https (plain
    /// http only where the registry itself may use it); credentials go to the registry's own
    /// origin only. 401 (after the challenge is answered), 403 and 429 are errors here.
    #[allow(clippy::too_many_arguments)]
    fn send_reading(
        &self,
        method: &str,
        path: &str,
        repository: &str,
        access: Access,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        reading: &mut Reading,
    ) -> anyhow::Result<Exchange> {
        let mut url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        // No repository (the login ping): a token for the registry alone, with no scope.
        let scope = if repository.is_empty() {
            String::new()
        } else {
            format!("repository:{repository}:{}", access.actions())
        };
        let mut authorization = self.authorization(&scope);
        let mut challenged = false;
        let mut redirects = 0;
        loop {
            let answer = self.once(method, &url, headers, body, reading, authorization.as_deref())?;
            if answer.status == 401 && !challenged && same_origin(&self.base, &url) {
                challenged = true;
                let challenge = answer.www_authenticate.clone().unwrap_or_default();
                authorization = Some(self.answer_challenge(&challenge, &scope)?);
                continue;
            }
            let follows =
                matches!(method, "GET" | "HEAD") && matches!(answer.status, 301 | 302 | 303 | 307 | 308);
            if follows {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    bail!("{}: more than {MAX_REDIRECTS} redirects from {url}", self.host);
                }
                url = self.redirect_target(&url, answer.location.as_deref())?;
                continue;
            }
            return self.refusal(answer);
        }
    }

    /// Where a redirect from `from` leads: `location` resolved against it, which must be
    /// https (or plain http where this registry may use it: loopback, or allowed).
    fn redirect_target(&self, from: &str, location: Option<&str>) -> anyhow::Result<String> {
        let location =
            location.ok_or_else(|| anyhow!("{}: a redirect from {from} names no Location", self.host))?;
        let target = url::Url::parse(from)
            .and_then(|base| base.join(location))
            .map_err(|e| anyhow!("{}: the redirect to {location:?}: {e}", self.host))?;
        let allowed = match target.scheme() {
            "https" => true,
            "http" => self.allow_http || crate::http::is_loopback(&target),
            _ => false,
        };
        if !allowed {
            bail!(
                "{}: refusing to follow a redirect to {target}: it is not https",
                self.host
            );
        }
        Ok(target.to_string())
    }

    /// The answer, unless it is a refusal: credentials refused (401), access denied (403), or
    /// rate-limited (429), each as one line.
    fn refusal(&self, answer: Exchange) -> anyhow::Result<Exchange> {
        match answer.status {
            401 => bail!(
                "{}: the registry refused the credentials (HTTP 401){}",
                self.host,
                server_message(&answer.body)
            ),
            403 => bail!(
                "{}: access denied (HTTP 403){}",
                self.host,
                server_message(&answer.body)
            ),
            429 => bail!(
                "{}: the registry is rate-limiting requests (HTTP 429); try again later",
                self.host
            ),
            _ => Ok(answer),
        }
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        reading: &mut Reading,
        authorization: Option<&str>,
    ) -> anyhow::Result<Exchange> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        // Credentials go to the registry itself only: an upload `Location` or a redirect to
        // another host (a registry may hand either out) gets none.
        if let Some(a) = authorization.filter(|_| same_origin(&self.base, url)) {
            all.push(("Authorization", a));
        }
        // Errors bodies are read too, bounded, so a JSON error message can be shown.
        match reading {
            Reading::Keep(max_len) => {
                self.http
                    .exchange(method, url, &all, body, (*max_len).max(MAX_ERROR_BYTES))
            }
            Reading::Stream(sink, max_len) => self.http.get_into(url, &all, *sink, *max_len, MAX_ERROR_BYTES),
        }
    }

    /// What to send before any challenge: the token already obtained for this scope (or for
    /// push and pull where pull is asked), if any.
    fn authorization(&self, scope: &str) -> Option<String> {
        let push_too = scope
            .strip_suffix(":pull")
            .map(|repo| format!("{repo}:{}", Access::Push.actions()));
        self.token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|(s, _)| s == scope || Some(s) == push_too.as_ref())
            .map(|(_, token)| format!("Bearer {token}"))
    }

    fn answer_challenge(&self, challenge: &str, scope: &str) -> anyhow::Result<String> {
        let (scheme, params) = signet_oci::auth::parse_challenge(challenge);
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => match &self.credential {
                Some(Credential::Basic { username, password }) => {
                    Ok(format!("Basic {}", B64.encode(format!("{username}:{password}"))))
                }
                None => bail!("{}: the registry wants credentials; run `docker login {}` (or give them in $DOCKER_CONFIG)", self.host, self.host),
            },
            "bearer" => {
                let realm = params
                    .get("realm")
                    .ok_or_else(|| anyhow!("{}: the registry's Bearer challenge names no realm", self.host))?;
                let mut url = url::Url::parse(realm).with_context(|| format!("{}: the Bearer realm {realm:?}", self.host))?;
                // The credential goes to the realm: never in the clear beyond this machine.
                if !realm_allowed(&url, self.allow_http) {
                    bail!(
                        "{}: refusing to send credentials to the Bearer realm {realm}: it is not https (use --allow-http-registry to allow it)",
                        self.host
                    );
                }
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = params.get("service") {
                        query.append_pair("service", service);
                    }
                    if !scope.is_empty() {
                        query.append_pair("scope", scope);
                    }
                }
                let mut headers = Vec::new();
                let basic;
                if let Some(Credential::Basic { username, password }) = &self.credential {
                    basic = format!("Basic {}", B64.encode(format!("{username}:{password}")));
                    headers.push(("Authorization", basic.as_str()));
                }
                self.requests.fetch_add(1, Ordering::Relaxed);
                let answer = self.http.exchange("GET", url.as_str(), &headers, None, MAX_TOKEN_BYTES)?;
                if answer.status != 200 {
                    bail!(
                        "{}: the authorization server {} answered HTTP {}{}",
                        self.host,
                        url.origin().ascii_serialization(),
                        answer.status,
                        server_message(&answer.body)
                    );
                }
                #[derive(Deserialize)]
                struct TokenAnswer {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let parsed: TokenAnswer = serde_json::from_slice(&answer.body)
                    .with_context(|| format!("{}: the authorization server's answer is not a token", self.host))?;
                let token = parsed
                    .token
                    .or(parsed.access_token)
                    .ok_or_else(|| anyhow!("{}: the authorization server's answer has no token", self.host))?;
                *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some((scope.to_string(), token.clone()));
                Ok(format!("Bearer {token}"))
            }
            _ => bail!("{}: the registry asks for authentication signet does not speak ({challenge:?})", self.host),
        }
    }
}

/// Where an image and what is attached to it are read from: a registry, or an OCI image
/// layout on disk ([`crate::layout::OciLayout`], for air-gapped verification). Every read is
/// bounded and checked against its digest by the implementation.
pub trait ImageStore: Sync {
    /// The store, for messages: a registry host, or a layout's path.
    fn location(&self) -> String;

    /// The manifest `reference` (a tag or a digest) of `repository`, or `None` if there is none.
    fn find_manifest(&self, repository: &str, reference: &str) -> anyhow::Result<Option<FetchedManifest>>;

    /// The blob `descriptor` names, at most `max_len` bytes.
    fn blob(&self, repository: &str, descriptor: &Descriptor, max_len: u64) -> anyhow::Result<Vec<u8>>;

    /// The referrers of `digest` through a referrers API, or `None` where there is no such API.
    fn referrers(&self, repository: &str, digest: &Digest) -> anyhow::Result<Option<ImageIndex>>;

    /// Requests sent so far (0 for a store on disk).
    fn requests(&self) -> u32;

    /// [`ImageStore::find_manifest`], with a missing manifest an error.
    fn manifest(&self, repository: &str, reference: &str) -> anyhow::Result<FetchedManifest> {
        self.find_manifest(repository, reference)?.ok_or_else(|| {
            let separator = if reference.contains(':') { '@' } else { ':' };
            anyhow!(
                "{}/{repository}{separator}{reference}: no such manifest",
                self.location()
            )
        })
    }
}

impl ImageStore for Registry<'_> {
    fn location(&self) -> String {
        self.host.clone()
    }
    fn find_manifest(&self, repository: &str, reference: &str) -> anyhow::Result<Option<FetchedManifest>> {
        Registry::find_manifest(self, repository, reference)
    }
    fn blob(&self, repository: &str, descriptor: &Descriptor, max_len: u64) -> anyhow::Result<Vec<u8>> {
        Registry::blob(self, repository, descriptor, max_len)
    }
    fn referrers(&self, repository: &str, digest: &Digest) -> anyhow::Result<Option<ImageIndex>> {
        Registry::referrers(self, repository, digest)
    }
    fn requests(&self) -> u32 {
        Registry::requests(self)
    }
}

/// Fails with the registry's message unless `answer` has status `expected`.
fn expect_status(answer: &Exchange, expected: u16, what: &str, doing: &str) -> anyhow::Result<()> {
    if answer.status != expected {
        bail!(
            "{what}: {doing}the registry answered HTTP {}{}",
            answer.status,
            server_message(&answer.body)
        );
    }
    Ok(())
}

/// Whether `url` is on the registry at `base` (scheme, host and port).
fn same_origin(base: &str, url: &str) -> bool {
    match (url::Url::parse(base), url::Url::parse(url)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// A Bearer realm credentials may be sent to: https, or plain http on this machine or when
/// the caller allowed plain HTTP.
fn realm_allowed(realm: &url::Url, allow_http: bool) -> bool {
    match realm.scheme() {
        "https" => true,
        "http" => allow_http || crate::http::is_loopback(realm),
        _ => false,
    }
}

/// How an answer's body is read.
enum Reading<'s> {
    /// Kept in memory, at most this many bytes.
    Keep(u64),
    /// Copied into the writer as it arrives (on 200 only), at most this many bytes.
    Stream(&'s mut dyn std::io::Write, u64),
}

/// How many redirects a read follows (a registry's blob read goes to a CDN: one).
const MAX_REDIRECTS: u32 = 5;

/// A writer that hashes and counts what passes through it.
struct CheckingWriter<'a> {
    inner: &'a mut dyn std::io::Write,
    hasher: signet_crypto::Hasher,
    written: u64,
}

impl std::io::Write for CheckingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What a request needs of the registry, for a Bearer token's scope.
#[derive(Debug, Clone, Copy)]
enum Access {
    Pull,
    Push,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

fn stated_media_type(manifest: &Manifest) -> Option<String> {
    match manifest {
        Manifest::Image(m) => m.media_type.clone(),
        Manifest::Index(i) => i.media_type.clone(),
    }
    .filter(|m| {
        [
            MEDIA_TYPE_IMAGE_MANIFEST,
            MEDIA_TYPE_IMAGE_INDEX,
            MEDIA_TYPE_DOCKER_MANIFEST,
            MEDIA_TYPE_DOCKER_MANIFEST_LIST,
        ]
        .contains(&m.as_str())
    })
}

/// A registry on this machine: `localhost`, a loopback address, with or without a port (the
/// client's one loopback rule, [`crate::http::is_loopback`]).
fn is_local(host: &str) -> bool {
    url::Url::parse(&format!("http://{host}")).is_ok_and(|u| crate::http::is_loopback(&u))
}

/// `signet login`: checks the credential against the registry (`GET /v2/`, answering its
/// challenge), then stores it in the docker configuration as `docker login` does (an `auths`
/// entry, base64 of `user:password`), keeping everything else in the file. The file is written
/// atomically with mode 0600, as it holds a secret.
pub fn login(http: &Http, host: &str, credential: Credential, allow_http: bool) -> anyhow::Result<PathBuf> {
    let registry = Registry::new(
        http,
        host,
        &RegistryOptions {
            allow_http,
            credential: Some(credential.clone()),
            ..RegistryOptions::default()
        },
    )?;
    // The ping has no repository; a Bearer challenge is answered for the registry alone.
    let answer = registry.send("GET", "/v2/", "", Access::Pull, &[], None, MAX_ERROR_BYTES)?;
    if answer.status != 200 {
        bail!(
            "{host}: the registry answered HTTP {} to the login check{}",
            answer.status,
            server_message(&answer.body)
        );
    }
    let path = docker_config_path()
        .ok_or_else(|| anyhow!("no $DOCKER_CONFIG or $HOME to keep the credential in"))?;
    let mut config: serde_json::Value = match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a docker configuration", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(anyhow!("reading {}: {e}", path.display())),
    };
    let Credential::Basic { username, password } = &credential;
    let object = config
        .as_object_mut()
        .ok_or_else(|| anyhow!("{} is not a JSON object", path.display()))?;
    let auths = object
        .entry("auths")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or_else(|| anyhow!("{}: auths is not an object", path.display()))?;
    auths.insert(
        host.to_string(),
        serde_json::json!({ "auth": B64.encode(format!("{username}:{password}")) }),
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_vec_pretty(&config).expect("a JSON value serialises");
    crate::files::write_file_atomic(&path, &text, 0o600, crate::files::Existing::Replace)?;
    Ok(path)
}

/// The docker CLI's configuration file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The credential the docker configuration holds for `host`: a credential helper for it
/// (`credHelpers`), else the inline `auths` entry, else the default store (`credsStore`).
fn docker_credential(host: &str) -> anyhow::Result<Option<Credential>> {
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("reading {}: {e}", path.display())),
    };
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct DockerConfig {
        #[serde(default)]
        auths: BTreeMap<String, AuthEntry>,
        #[serde(default)]
        cred_helpers: BTreeMap<String, String>,
        creds_store: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct AuthEntry {
        auth: Option<String>,
        username: Option<String>,
        password: Option<String>,
    }
    let config: DockerConfig = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a docker configuration", path.display()))?;
    // Docker Hub is stored under its legacy index URL.
    let keys: Vec<String> = if host == signet_oci::reference::DOCKER_HUB {
        vec![
            "https://index.docker.io/v1/".into(),
            "docker.io".into(),
            "index.docker.io".into(),
        ]
    } else {
        vec![
            host.to_string(),
            format!("https://{host}"),
            format!("http://{host}"),
        ]
    };
    if let Some(helper) = keys.iter().find_map(|k| config.cred_helpers.get(k)) {
        return credential_helper(helper, &keys[0]);
    }
    if let Some(entry) = keys.iter().find_map(|k| config.auths.get(k)) {
        if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            return Ok(Some(Credential::Basic {
                username: username.clone(),
                password: password.clone(),
            }));
        }
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = B64
                .decode(auth)
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| {
                    anyhow!(
                        "{}: the auth for {host} is not base64 of user:password",
                        path.display()
                    )
                })?;
            let (username, password) = decoded.split_once(':').ok_or_else(|| {
                anyhow!(
                    "{}: the auth for {host} is not base64 of user:password",
                    path.display()
                )
            })?;
            return Ok(Some(Credential::Basic {
                username: username.to_string(),
                password: password.to_string(),
            }));
        }
    }
    match &config.creds_store {
        Some(store) if !store.is_empty() => credential_helper(store, &keys[0]),
        _ => Ok(None),
    }
}

/// Runs `docker-credential-<helper> get` as the docker CLI does: the server on stdin, JSON
/// `{"Username","Secret"}` on stdout; "credentials not found" means none.
fn credential_helper(helper: &str, server: &str) -> anyhow::Result<Option<Credential>> {
    use std::io::Write as _;
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running the docker credential helper {program}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .with_context(|| format!("writing to {program}"))?;
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        let said =
            String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        bail!("{program} get failed: {}", said.trim());
    }
    #[derive(Deserialize)]
    struct HelperAnswer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{program} answered something that is not its JSON"))?;
    Ok(Some(Credential::Basic {
        username: answer.username,
        password: answer.secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_with_the_registry_and_off_plain_http() {
        assert!(same_origin(
            "http://127.0.0.1:5000",
            "http://127.0.0.1:5000/v2/a/blobs/uploads/1?x=y"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:5000",
            "http://127.0.0.1:5001/upload"
        ));
        assert!(!same_origin(
            "https://registry.example",
            "https://storage.example/upload"
        ));
        assert!(!same_origin(
            "https://registry.example",
            "http://registry.example/upload"
        ));
        let realm = |u: &str| url::Url::parse(u).unwrap();
        assert!(realm_allowed(&realm("https://auth.example/token"), false));
        assert!(realm_allowed(&realm("http://127.0.0.1:8080/token"), false));
        assert!(realm_allowed(&realm("http://[::1]:8080/token"), false));
        assert!(!realm_allowed(&realm("http://auth.example/token"), false));
        assert!(realm_allowed(&realm("http://auth.example/token"), true));
        assert!(!realm_allowed(&realm("ftp://auth.example/token"), true));
    }

    #[test]
    fn only_this_machine_is_local() {
        for local in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5055",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_local(local), "{local}");
        }
        for remote in [
            "registry.example",
            "10.0.0.1:5000",
            "ghcr.io",
            "[2001:db8::1]:5000",
            "localhost.example.com",
        ] {
            assert!(!is_local(remote), "{remote}");
        }
    }
}
