// Verifies a Sigstore bundle with @freedomofpress/sigstore-browser:
// node fpf_verify.mjs TRUSTED_ROOT BUNDLE ARTIFACT|- SAN ISSUER ("-": a DSSE bundle). Prints OK, or FAILED and why.
import fs from 'node:fs';
import { SigstoreVerifier, Identity } from '@freedomofpress/sigstore-browser';
const [trustedRoot, bundlePath, artifact, san, issuer] = process.argv.slice(2);
try {
  const verifier = new SigstoreVerifier();
  await verifier.loadSigstoreRoot(JSON.parse(fs.readFileSync(trustedRoot, 'utf8')));
  const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
  if (artifact === '-') {
    await verifier.verifyDsse(bundle, new Identity({ identity: san, issuer }));
  } else {
    await verifier.verifyArtifact(san, issuer, bundle, new Uint8Array(fs.readFileSync(artifact)));
  }
  console.log('OK');
} catch (e) {
  console.log(`FAILED: ${e.name}: ${e.message}`);
  process.exit(1);
}
