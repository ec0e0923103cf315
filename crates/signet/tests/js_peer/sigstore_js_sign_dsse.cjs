// Signs an in-toto statement keylessly with sigstore-js (@sigstore/sign 5) into a Sigstore
// bundle v0.3 holding a DSSE envelope, with the services a ClientTrustConfig's signing config
// names: node sigstore_js_sign_dsse.cjs TRUST_CONFIG STATEMENT OUT (the identity token in
// $SIGSTORE_ID_TOKEN). Prints OK, or FAILED and why (exit 1).
const fs = require('fs');
const { bundleToJSON } = require('@sigstore/bundle');
const { SigningConfig } = require('@sigstore/protobuf-specs');
const { bundleBuilderFromSigningConfig } = require('@sigstore/sign');
const [trustConfig, statement, out] = process.argv.slice(2);
(async () => {
  const config = JSON.parse(fs.readFileSync(trustConfig, 'utf8'));
  const builder = bundleBuilderFromSigningConfig({
    signingConfig: SigningConfig.fromJSON(config.signingConfig),
    identityProvider: { getToken: async () => process.env.SIGSTORE_ID_TOKEN },
    bundleType: 'dsseEnvelope',
  });
  const bundle = await builder.create({
    data: fs.readFileSync(statement),
    type: 'application/vnd.in-toto+json',
  });
  fs.writeFileSync(out, JSON.stringify(bundleToJSON(bundle)));
  console.log('OK');
})().catch((e) => {
  console.log(`FAILED: ${e.code || ''} ${e.message}${e.cause ? ` (${e.cause.message || e.cause})` : ''}`);
  process.exit(1);
});
