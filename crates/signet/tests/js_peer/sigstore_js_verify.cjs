// Verifies a Sigstore bundle with sigstore-js (@sigstore/verify 4): node sigstore_js_verify.cjs TRUSTED_ROOT BUNDLE ARTIFACT|- SAN ISSUER
// ("-": a DSSE bundle, verified without the artifact). Prints OK, or FAILED and why (exit 1).
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toTrustMaterial, Verifier, toSignedEntity } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const [trustedRoot, bundlePath, artifact, san, issuer] = process.argv.slice(2);
try {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(trustedRoot, 'utf8')));
  const verifier = new Verifier(toTrustMaterial(root), { ctlogThreshold: 1, tlogThreshold: 1 });
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const data = artifact === '-' ? undefined : fs.readFileSync(artifact);
  verifier.verify(toSignedEntity(bundle, data), { subjectAlternativeName: san, extensions: { issuer } });
  console.log('OK');
} catch (e) {
  console.log(`FAILED: ${e.code || ''} ${e.message}`);
  process.exit(1);
}
