#!/usr/bin/env python3
"""The SLSA v1 provenance predicate of a release build on GitHub Actions, for
`signet attest-blob --type slsaprovenance1` (.github/workflows/release.yml). It has the shape
GitHub's own attest-build-provenance action gives a workflow build
(https://actions.github.io/buildtypes/workflow/v1), made from the variables every Actions job
has; the keyless certificate that signs it binds the same workflow, repository and commit, so a
verifier can check both agree.

    deploy/release/provenance.py > provenance.json
"""

import json
import os
import sys


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"provenance.py: ${name} is not set (run it in a GitHub Actions job)")
    return value


def main():
    server = env("GITHUB_SERVER_URL")
    repository = env("GITHUB_REPOSITORY")
    ref = env("GITHUB_REF")
    workflow_ref = env("GITHUB_WORKFLOW_REF")  # owner/repo/.github/workflows/x.yml@refs/...
    path = workflow_ref.split("@", 1)[0].split("/", 2)[2]
    predicate = {
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {
                "workflow": {"ref": ref, "repository": f"{server}/{repository}", "path": path}
            },
            "internalParameters": {
                "github": {
                    "event_name": env("GITHUB_EVENT_NAME"),
                    "repository_id": env("GITHUB_REPOSITORY_ID"),
                    "repository_owner_id": env("GITHUB_REPOSITORY_OWNER_ID"),
                    "runner_environment": os.environ.get("RUNNER_ENVIRONMENT", "github-hosted"),
                }
            },
            "resolvedDependencies": [
                {
                    "uri": f"git+{server}/{repository}@{ref}",
                    "digest": {"gitCommit": env("GITHUB_SHA")},
                }
            ],
        },
        "runDetails": {
            "builder": {"id": f"{server}/{workflow_ref}"},
            "metadata": {
                "invocationId": f"{server}/{repository}/actions/runs/{env('GITHUB_RUN_ID')}"
                f"/attempts/{env('GITHUB_RUN_ATTEMPT')}"
            },
        },
    }
    json.dump(predicate, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
