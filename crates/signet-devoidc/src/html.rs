//! The few HTML pages of the login flow. Every value from a request goes through
//! [`escape`]; the pages load nothing and run no script.

use crate::authorization::{AuthorizationParams, IdentityForm, OAuthError};
use crate::provider::Issuer;

const BANNER: &str = "signet development OpenID provider — development only, never use in production";

/// Escapes text for an HTML element body or a quoted attribute value (the one escaping
/// function signet's pages share).
pub(crate) use signet_formats::html::escape;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}\
         .banner{{background:#b00020;color:#fff;padding:.8em;font-weight:bold}}\
         .error{{color:#b00020}} code{{word-break:break-all}}</style></head>\n\
         <body><p class=\"banner\">{banner}</p>\n{body}\n</body></html>\n",
        title = escape(title),
        banner = escape(BANNER),
    )
}

/// The login form. The authorization request's parameters ride along as hidden fields and
/// are checked again when the form comes back.
pub(crate) fn login_page(
    issuer: Issuer,
    issuer_url: &str,
    params: &AuthorizationParams,
    error: Option<&str>,
) -> String {
    let hidden: String = [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("scope", &params.scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value.as_ref().map(|v| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape(v)
            )
        })
    })
    .collect();
    let identity = identity_fields(issuer, &params.identity);
    let error = error_line(error);
    let body = format!(
        "<h1>Sign in</h1>\n<p>Issuer <code>{issuer}</code>. Client <code>{client}</code> \
         will receive a token for the identity you type; nothing is checked.</p>\n\
         <p>Redirect: <code>{redirect}</code></p>\n{error}\
         <form method=\"post\" action=\"authorize\">\n{hidden}{identity}\
         <p><button type=\"submit\">Sign in</button></p>\n</form>",
        issuer = escape(issuer_url),
        client = escape(params.client_id.as_deref().unwrap_or("")),
        redirect = escape(params.redirect_uri.as_deref().unwrap_or("")),
    );
    page("signet development sign-in", &body)
}

/// One labelled text input.
fn field(label: &str, name: &str, value: Option<&str>, placeholder: &str, kind: &str) -> String {
    format!(
        "<p><label>{label}<br><input type=\"{kind}\" name=\"{name}\" value=\"{}\" \
         placeholder=\"{placeholder}\" size=\"50\"></label></p>\n",
        escape(value.unwrap_or(""))
    )
}

/// The inputs of [`IdentityForm`] for `issuer`, shared by the login form and the device
/// verification page.
fn identity_fields(issuer: Issuer, identity: &IdentityForm) -> String {
    match issuer {
        Issuer::Email => field(
            "Email address",
            "email",
            identity.email.as_deref(),
            "alice@example.com",
            "email",
        ),
        Issuer::GithubWorkflow => [
            field(
                "Repository",
                "repository",
                identity.repository.as_deref(),
                "signet-dev/example",
                "text",
            ),
            field("Ref", "ref", identity.ref_.as_deref(), "refs/heads/main", "text"),
            field(
                "Workflow file",
                "workflow",
                identity.workflow.as_deref(),
                ".github/workflows/release.yml",
                "text",
            ),
        ]
        .concat(),
    }
}

fn error_line(error: Option<&str>) -> String {
    error
        .map(|e| format!("<p class=\"error\">{}</p>\n", escape(e)))
        .unwrap_or_default()
}

/// The device verification page (RFC 8628 §3.3): the user code (prefilled from
/// `verification_uri_complete`), the identity to approve the device as, and approve or deny.
/// The buttons post `action=approve` or `action=deny`.
pub(crate) fn device_page(
    issuer: Issuer,
    issuer_url: &str,
    user_code: Option<&str>,
    identity: &IdentityForm,
    error: Option<&str>,
) -> String {
    let body = format!(
        "<h1>Sign in a device</h1>\n<p>Issuer <code>{issuer_url}</code>. Check that the code \
         below is the one your device shows: the device will receive a token for the identity \
         you type; nothing is checked.</p>\n{error}\
         <form method=\"post\" action=\"device\">\n{code}{identity}\
         <p><button type=\"submit\" name=\"action\" value=\"approve\">Approve</button> \
         <button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></p>\n</form>",
        issuer_url = escape(issuer_url),
        error = error_line(error),
        code = field("Code", "user_code", user_code, "XXXX-XXXX", "text"),
        identity = identity_fields(issuer, identity),
    );
    page("signet development sign-in: device", &body)
}

/// What the device verification page says once the user decided.
pub(crate) fn device_done_page(approved: bool) -> String {
    let text = if approved {
        "<h1>Device approved</h1>\n<p>Return to your device: it is signed in.</p>"
    } else {
        "<h1>Device denied</h1>\n<p>The device will not be signed in.</p>"
    };
    page("signet development sign-in: device", text)
}

/// The code shown for an out-of-band redirect, for the user to paste into the client.
pub(crate) fn code_page(code: &str, state: Option<&str>) -> String {
    let state = state
        .map(|s| format!("<p>State: <code>{}</code></p>", escape(s)))
        .unwrap_or_default();
    page(
        "signet development sign-in: code",
        &format!(
            "<h1>Authorization code</h1>\n<p>Paste this code into the client:</p>\n\
             <p><code id=\"code\">{}</code></p>\n{state}",
            escape(code)
        ),
    )
}

/// An authorization error shown to the user (no redirect).
pub(crate) fn error_page(error: &OAuthError) -> String {
    page(
        "signet development sign-in: error",
        &format!(
            "<h1>Authorization error</h1>\n<p class=\"error\"><code>{}</code>: {}</p>",
            escape(error.error.as_str()),
            escape(&error.error_description)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_page_escapes_request_values() {
        let params = AuthorizationParams {
            state: Some("\"><script>alert(1)</script>".into()),
            client_id: Some("<b>".into()),
            ..Default::default()
        };
        let html = login_page(Issuer::Email, "http://x/oidc", &params, Some("<i>"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<i>"));
        assert!(html.contains("development only, never use in production"));
    }

    #[test]
    fn device_page_escapes_and_has_the_identity_fields() {
        let identity = IdentityForm {
            email: Some("\"><script>".into()),
            ..Default::default()
        };
        let html = device_page(
            Issuer::Email,
            "http://x/oidc",
            Some("<b>"),
            &identity,
            Some("<i>"),
        );
        assert!(!html.contains("<script>") && !html.contains("<b>") && !html.contains("<i>"));
        assert!(html.contains("name=\"user_code\"") && html.contains("name=\"email\""));
        assert!(html.contains("value=\"deny\"") && html.contains("action=\"device\""));
        let html = device_page(
            Issuer::GithubWorkflow,
            "http://x/oidc/github",
            None,
            &IdentityForm::default(),
            None,
        );
        assert!(html.contains("name=\"repository\"") && !html.contains("name=\"email\""));
    }
}
