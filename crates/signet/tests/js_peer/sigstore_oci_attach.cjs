// Attaches a Sigstore bundle to an image as cosign 3 does, with sigstore-js's @sigstore/oci:
// an OCI 1.1 referrer (artifactType and layer media type
// application/vnd.dev.sigstore.bundle.v0.3+json, empty config, the image as subject), and on a
// registry without the referrers API the sha256-<hex> fallback index, which @sigstore/oci
// updates itself. node sigstore_oci_attach.cjs IMAGE_NAME IMAGE_DIGEST BUNDLE PREDICATE_TYPE
// (IMAGE_NAME is registry/repository; plain HTTP for 127.0.0.1). Prints the referrer's digest,
// or FAILED and why (exit 1).
const fs = require('fs');
const { attachArtifactToImage } = require('@sigstore/oci');
const [imageName, imageDigest, bundle, predicateType] = process.argv.slice(2);
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
attachArtifactToImage({
  imageName,
  imageDigest,
  artifact: fs.readFileSync(bundle),
  mediaType: BUNDLE_MEDIA_TYPE,
  annotations: {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicateType,
  },
  credentials: undefined,
})
  .then((descriptor) => console.log(descriptor.digest))
  .catch((e) => {
    console.log(`FAILED: ${e.message}${e.cause ? ` (${e.cause.message || e.cause})` : ''}`);
    process.exit(1);
  });
