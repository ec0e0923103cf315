//! The CI workflow of issue 13, as a test: what `examples/github/build-sign-sbom.yml` does on
//! GitHub, here with real tools and no docker.
//!
//! Build job: Debian's umoci builds an OCI image layout (a filesystem layer holding a small
//! Python application and its `requirements.txt`, an entrypoint, labels); Debian's skopeo
//! pushes it to a real registry (Debian's docker-registry); CycloneDX's own generator,
//! `cyclonedx-py`, makes the SBOM from the application's requirements; `signet sign` signs the
//! image keylessly with a GitHub-Actions-shaped identity from `signet server --dev-oidc` (what
//! `id-token: write` gives a workflow), and `signet attest --type cyclonedx` attaches the SBOM
//! as a signed attestation.
//!
//! Deploy job: `signet verify` with the workflow's identity and the
//! `--certificate-github-workflow-*` claims, as an admission step pins them, and
//! `signet verify-attestation --type cyclonedx`, whose statement must carry the SBOM's
//! components; another branch or another repository is refused.
//!
//! Each step is one method of [`Workflow`], so steps can be added (a Rego policy over the
//! attestation, `attach sbom`) without touching the others.
//!
//! Needs `/usr/bin/umoci`, `/usr/bin/skopeo`, docker-registry and cyclonedx-py
//! (`$SIGNET_CYCLONEDX_PY`, else `target/sbom-venv`); `.ci/run` installs them. Without one the
//! test prints one skip line, and fails under `SIGNET_REQUIRE_INTEROP=1`.

mod common;
mod image_tools;

use std::path::{Path, PathBuf};
use std::process::Output;

use image_tools::{assert_ok, s, text, Need, Stack};
use serde_json::{json, Value};
use signet_oci::Digest;

/// The repository, workflow and commit the image is built from.
const REPOSITORY: &str = "acme/shop";
const WORKFLOW: &str = ".github/workflows/build-sign-sbom.yml";
const WORKFLOW_NAME: &str = "build-sign-sbom";
const GIT_REF: &str = "refs/heads/main";
const SHA: &str = "0c5b2e5d1c7f3a9e8b6d4f2a0c1e3b5d7f9a2c4e";
const EVENT: &str = "push";

/// The application's pinned requirements: what the SBOM must list.
const REQUIREMENTS: &[(&str, &str)] = &[("flask", "3.0.3"), ("requests", "2.32.3")];

/// The tools of the workflow and the stack it runs against.
struct Workflow {
    stack: Stack,
    umoci: PathBuf,
    skopeo: PathBuf,
    cyclonedx_py: PathBuf,
    /// `HOST/acme/shop`: where the build pushes.
    repository: String,
    /// The image's digest, once built.
    digest: Option<Digest>,
}

impl Workflow {
    /// The stack, or `None` (after one skip line) without the tools.
    fn start() -> Option<Workflow> {
        let mut need = Need::new("the image CI workflow (umoci, skopeo, cyclonedx-py)");
        need.tool(image_tools::docker_registry());
        let umoci = need.tool(image_tools::umoci());
        let skopeo = need.tool(image_tools::skopeo());
        let cyclonedx_py = need.tool(image_tools::cyclonedx_py());
        if !need.met() {
            return None;
        }
        let stack = Stack::start();
        Some(Workflow {
            repository: format!("{}/{REPOSITORY}", stack.host()),
            stack,
            umoci: umoci?,
            skopeo: skopeo?,
            cyclonedx_py: cyclonedx_py?,
            digest: None,
        })
    }

    fn digest(&self) -> &Digest {
        self.digest.as_ref().expect("the image is built and pushed first")
    }

    /// The image by tag, as the build pushed it.
    fn tagged(&self) -> String {
        format!("{}:1.0", self.repository)
    }

    /// The image pinned to its digest, as a deployment names it.
    fn pinned(&self) -> String {
        format!("{}@{}", self.repository, self.digest())
    }

    fn umoci(&self, args: &[&str]) {
        let out = image_tools::clean(&self.umoci, &self.stack.work)
            .args(args)
            .output()
            .expect("run umoci");
        assert_ok(&out, &format!("umoci {}", args[0]));
    }

    /// The application's source tree: what goes into the image's layer.
    fn application(&self) -> PathBuf {
        self.stack.path("src")
    }

    /// Build step: an OCI image layout `layout:1.0` with the application in one layer.
    fn build_image(&mut self) -> PathBuf {
        let app = self.application().join("app");
        std::fs::create_dir_all(&app).unwrap();
        let requirements: String = REQUIREMENTS.iter().map(|(n, v)| format!("{n}=={v}\n")).collect();
        std::fs::write(app.join("requirements.txt"), requirements).unwrap();
        std::fs::write(
            app.join("main.py"),
            "from flask import Flask\napp = Flask(__name__)\n",
        )
        .unwrap();
        let layout = self.stack.path("layout");
        let image = format!("{}:1.0", s(&layout));
        self.umoci(&["init", "--layout", s(&layout)]);
        self.umoci(&["new", "--image", &image]);
        self.umoci(&["insert", "--image", &image, s(&app), "/app"]);
        self.umoci(&[
            "config",
            "--image",
            &image,
            "--config.entrypoint",
            "python3",
            "--config.cmd",
            "/app/main.py",
            "--config.label",
            &format!("org.opencontainers.image.source=https://github.com/{REPOSITORY}"),
            "--config.label",
            &format!("org.opencontainers.image.revision={SHA}"),
        ]);
        layout
    }

    /// Push step: skopeo copies the layout's image to the registry; the digest it has there
    /// must be the digest that was built.
    fn push(&mut self, layout: &Path) {
        let out = self.stack.skopeo(
            &self.skopeo,
            &[
                "copy",
                "--dest-tls-verify=false",
                &format!("oci:{}:1.0", s(layout)),
                &format!("docker://{}", self.tagged()),
            ],
        );
        assert_ok(&out, "skopeo copy to the registry");
        let index: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let built = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "1.0")
            .expect("the layout's 1.0 manifest")["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let out = self.stack.skopeo(
            &self.skopeo,
            &[
                "inspect",
                "--tls-verify=false",
                &format!("docker://{}", self.tagged()),
            ],
        );
        assert_ok(&out, "skopeo inspect");
        let inspected: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(inspected["Digest"], built, "the registry holds what was built");
        assert_eq!(
            inspected["Labels"]["org.opencontainers.image.revision"], SHA,
            "{inspected}"
        );
        self.digest = Some(built.parse().unwrap());
    }

    /// SBOM step: cyclonedx-py over the application's requirements, CycloneDX JSON.
    fn generate_sbom(&self) -> PathBuf {
        let sbom = self.stack.path("sbom.cdx.json");
        let out = image_tools::clean(&self.cyclonedx_py, &self.stack.work)
            .args(["requirements", "--of", "JSON", "--output-reproducible", "-o"])
            .arg(&sbom)
            .arg(self.application().join("app/requirements.txt"))
            .output()
            .expect("run cyclonedx-py");
        assert_ok(&out, "cyclonedx-py requirements");
        let bom: Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
        assert_eq!(bom["bomFormat"], "CycloneDX", "{bom}");
        assert_eq!(component_names(&bom), expected_components());
        sbom
    }

    /// The identity token a run of the workflow gets with `id-token: write`.
    fn workflow_token(&self) -> String {
        self.stack.github_token(&json!({
            "repository": REPOSITORY,
            "workflow": WORKFLOW,
            "workflow_name": WORKFLOW_NAME,
            "ref": GIT_REF,
            "sha": SHA,
            "event_name": EVENT,
        }))
    }

    /// The certificate identity of the workflow: its `job_workflow_ref` as a URL.
    fn workflow_identity() -> String {
        format!("https://github.com/{REPOSITORY}/{WORKFLOW}@{GIT_REF}")
    }

    /// `signet ARGS` with the server's trust configuration.
    fn signet(&self, args: &[&str]) -> Output {
        let trust = self.stack.trust_config();
        let mut all = args.to_vec();
        all.extend(["--trust-config", s(&trust)]);
        self.stack.signet(&all)
    }

    /// Sign step: keyless, by tag (signet resolves it once and signs the digest).
    fn sign(&self) {
        let token = self.workflow_token();
        let out = self.signet(&["sign", &self.tagged(), "--identity-token", &token]);
        assert_ok(&out, "signet sign");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&self.pinned()),
            "the digest built is the digest signed: {}",
            text(&out)
        );
    }

    /// Attest step: the SBOM as a signed CycloneDX attestation about the image.
    fn attest_sbom(&self, sbom: &Path) {
        let token = self.workflow_token();
        let out = self.signet(&[
            "attest",
            &self.tagged(),
            "--predicate",
            s(sbom),
            "--type",
            "cyclonedx",
            "--identity-token",
            &token,
        ]);
        assert_ok(&out, "signet attest --type cyclonedx");
    }

    /// The deploy side's policy: the workflow's identity, its issuer, and its GitHub claims,
    /// with `overrides` replacing some of them.
    fn policy(&self, overrides: &[(&str, &str)]) -> Vec<String> {
        let mut flags = vec![
            ("--certificate-identity", Self::workflow_identity()),
            ("--certificate-oidc-issuer", self.stack.github_issuer()),
            ("--certificate-github-workflow-repository", REPOSITORY.into()),
            ("--certificate-github-workflow-ref", GIT_REF.into()),
            ("--certificate-github-workflow-sha", SHA.into()),
            ("--certificate-github-workflow-trigger", EVENT.into()),
            ("--certificate-github-workflow-name", WORKFLOW_NAME.into()),
        ];
        for (flag, value) in overrides {
            let slot = flags.iter_mut().find(|(f, _)| f == flag).expect("a policy flag");
            slot.1 = value.to_string();
        }
        flags.into_iter().flat_map(|(f, v)| [f.to_string(), v]).collect()
    }

    /// `signet COMMAND IMAGE ARGS POLICY`.
    fn verify_with(&self, command: &str, args: &[&str], overrides: &[(&str, &str)]) -> Output {
        let policy = self.policy(overrides);
        let pinned = self.pinned();
        let mut all = vec![command, pinned.as_str()];
        all.extend(args);
        all.extend(policy.iter().map(String::as_str));
        self.signet(&all)
    }

    /// Deploy step: the signature verifies for the workflow; the claims name the image and the
    /// workflow's identity.
    fn verify_signature(&self) {
        let out = self.verify_with("verify", &[], &[]);
        assert_ok(&out, "signet verify (the workflow's policy)");
        let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
        assert_eq!(
            claims[0]["critical"]["image"]["docker-manifest-digest"],
            self.digest().to_string()
        );
        assert_eq!(claims[0]["optional"]["Subject"], Self::workflow_identity());
        assert_eq!(claims[0]["optional"]["Issuer"], self.stack.github_issuer());
    }

    /// Deploy step: the SBOM attestation verifies for the workflow, and it is the SBOM that
    /// was generated, about this image.
    fn verify_sbom_attestation(&self) {
        let out = self.verify_with("verify-attestation", &["--type", "cyclonedx"], &[]);
        assert_ok(&out, "signet verify-attestation --type cyclonedx");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let envelope: Value = serde_json::from_str(stdout.trim()).unwrap();
        let statement: Value =
            serde_json::from_slice(&common::b64(envelope["payload"].as_str().unwrap())).unwrap();
        assert_eq!(statement["predicateType"], "https://cyclonedx.org/bom");
        assert_eq!(statement["subject"][0]["digest"]["sha256"], self.digest().hex());
        assert_eq!(statement["predicate"]["bomFormat"], "CycloneDX");
        assert_eq!(component_names(&statement["predicate"]), expected_components());
    }

    /// Attach step: the SBOM also as cosign's unsigned `.sbom` attachment, for tools that look
    /// for it there.
    fn attach_sbom(&self, sbom: &Path) {
        let out = self.stack.signet(&[
            "attach",
            "sbom",
            &self.tagged(),
            "--sbom",
            s(sbom),
            "--type",
            "cyclonedx",
        ]);
        assert_ok(&out, "signet attach sbom");
    }

    /// The deployment's Rego policy over the SBOM attestation: it must list flask (and no
    /// component with a known-bad name), as cosign evaluates a policy.
    fn rego_policy(&self, name: &str, required: &str) -> PathBuf {
        let path = self.stack.path(name);
        std::fs::write(
            &path,
            format!(
                "package signature\n\n\
                 default allow = false\n\n\
                 allow {{\n  input.predicateType == \"https://cyclonedx.org/bom\"\n  \
                 input.predicate.components[_].name == \"{required}\"\n  \
                 not banned\n}}\n\n\
                 banned {{ input.predicate.components[_].name == \"left-pad\" }}\n"
            ),
        )
        .unwrap();
        path
    }

    /// Deploy step: the attestation passes the deployment's Rego policy; a policy asking for a
    /// component the SBOM lacks denies it.
    fn verify_sbom_policy(&self) {
        let allow = self.rego_policy("sbom-allow.rego", "flask");
        let out = self.verify_with(
            "verify-attestation",
            &["--type", "cyclonedx", "--policy", s(&allow)],
            &[],
        );
        assert_ok(&out, "signet verify-attestation --policy");
        assert!(text(&out).contains("satisfies the policy"), "{}", text(&out));
        let deny = self.rego_policy("sbom-deny.rego", "django");
        let out = self.verify_with(
            "verify-attestation",
            &["--type", "cyclonedx", "--policy", s(&deny)],
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let message = String::from_utf8_lossy(&out.stderr);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("polic"), "{message}");
    }

    /// Deploy step: the SBOM is attached (`tree` lists it) and is the SBOM that was generated.
    fn check_sbom_attached(&self, sbom: &Path) {
        let out = self.stack.signet(&["tree", &self.pinned()]);
        assert_ok(&out, "signet tree");
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains(".sbom"), "{listing}");
        assert!(listing.contains("application/vnd.cyclonedx+json"), "{listing}");
        let out = self.stack.signet(&["download", "sbom", &self.pinned()]);
        assert_ok(&out, "signet download sbom");
        assert_eq!(
            out.stdout,
            std::fs::read(sbom).unwrap(),
            "the SBOM comes back byte for byte"
        );
    }

    /// Deploy step: a build of another branch, or of another repository, is not admitted.
    fn refuse_other_workflows(&self) {
        for overrides in [
            [("--certificate-github-workflow-ref", "refs/heads/feature")],
            [("--certificate-github-workflow-repository", "acme/other")],
            [(
                "--certificate-identity",
                "https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main",
            )],
        ] {
            for (command, args) in [
                ("verify", &[][..]),
                ("verify-attestation", &["--type", "cyclonedx"][..]),
            ] {
                let out = self.verify_with(command, args, &overrides);
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{command} with {overrides:?}: {}",
                    text(&out)
                );
                let message = String::from_utf8_lossy(&out.stderr);
                assert!(message.contains("found for"), "{message}");
                assert!(message.contains("does not verify"), "{message}");
            }
        }
    }
}

/// The names and versions of an SBOM's components, sorted.
fn component_names(bom: &Value) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = bom["components"]
        .as_array()
        .unwrap_or_else(|| panic!("components: {bom}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    names.sort();
    names
}

fn expected_components() -> Vec<(String, String)> {
    REQUIREMENTS
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn build_push_sign_attest_sbom_then_verify_as_a_deployment() {
    let Some(mut workflow) = Workflow::start() else {
        return;
    };
    // The build job.
    let layout = workflow.build_image();
    workflow.push(&layout);
    let sbom = workflow.generate_sbom();
    workflow.sign();
    workflow.attest_sbom(&sbom);
    workflow.attach_sbom(&sbom);
    // The deploy job.
    workflow.verify_signature();
    workflow.verify_sbom_attestation();
    workflow.verify_sbom_policy();
    workflow.check_sbom_attached(&sbom);
    workflow.refuse_other_workflows();
}
