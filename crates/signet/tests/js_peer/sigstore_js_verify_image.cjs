// Verifies a Sigstore bundle holding a DSSE envelope over an in-toto statement about a
// container image with sigstore-js (@sigstore/verify 4), as a consumer of cosign 3's image
// signatures would: node sigstore_js_verify_image.cjs TRUSTED_ROOT BUNDLE SAN ISSUER
// IMAGE_DIGEST PREDICATE_TYPE. The envelope's signature, the certificate, the log entry and the
// identity are sigstore-js's checks; the statement must then be an in-toto v1 statement of
// PREDICATE_TYPE whose subject holds IMAGE_DIGEST (sha256:<hex>). Prints OK, or FAILED and why
// (exit 1).
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toTrustMaterial, Verifier, toSignedEntity } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const [trustedRoot, bundlePath, san, issuer, imageDigest, predicateType] = process.argv.slice(2);
try {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(trustedRoot, 'utf8')));
  const verifier = new Verifier(toTrustMaterial(root), { ctlogThreshold: 1, tlogThreshold: 1 });
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  if (!bundle.content.dsseEnvelope) throw new Error('not a DSSE bundle');
  verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: san, extensions: { issuer } });
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== 'application/vnd.in-toto+json') {
    throw new Error(`payload type ${envelope.payloadType}`);
  }
  const statement = JSON.parse(envelope.payload.toString('utf8'));
  if (statement._type !== 'https://in-toto.io/Statement/v1') throw new Error(`statement type ${statement._type}`);
  if (statement.predicateType !== predicateType) throw new Error(`predicate type ${statement.predicateType}`);
  const [algorithm, hex] = imageDigest.split(':');
  if (!statement.subject.some((s) => s.digest && s.digest[algorithm] === hex)) {
    throw new Error(`no subject with ${imageDigest}: ${JSON.stringify(statement.subject)}`);
  }
  console.log('OK');
} catch (e) {
  console.log(`FAILED: ${e.code || ''} ${e.message}`);
  process.exit(1);
}
