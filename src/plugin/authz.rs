//! The authorization plugin protocol: the request dockerd sends and the reply it expects.
//!
//! Field names follow moby's `pkg/authorization/api.go`, which differ from its documentation
//! (`RequestUri`, `RequestHeaders`, `ResponseHeaders`). dockerd omits empty fields.

use std::collections::HashMap;

use hyper::StatusCode;
use serde::Deserialize;

/// The body of `/AuthZPlugin.AuthZReq` and `/AuthZPlugin.AuthZRes`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthzRequest {
    #[serde(rename = "User")]
    pub user: String,
    #[serde(rename = "UserAuthNMethod")]
    pub user_authn_method: String,
    #[serde(rename = "RequestMethod")]
    pub request_method: String,
    #[serde(rename = "RequestUri", alias = "RequestURI")]
    pub request_uri: String,
    #[serde(rename = "RequestHeaders", alias = "RequestHeader")]
    pub request_headers: HashMap<String, String>,
    #[serde(rename = "ResponseStatusCode")]
    pub response_status_code: i64,
    #[serde(rename = "ResponseHeaders", alias = "ResponseHeader")]
    pub response_headers: HashMap<String, String>,
}

/// Returns the reply to an authorization hook: allow every well-formed request.
///
/// dockerd ignores `Err` in a 200 reply, so a malformed request gets a 400 with `Err` set.
pub fn decide(path: &str, body: &[u8]) -> (StatusCode, serde_json::Value) {
    match serde_json::from_slice::<AuthzRequest>(body) {
        Ok(request) => {
            tracing::trace!(
                hook = path,
                method = %request.request_method,
                uri = %request.request_uri,
                "authorization request allowed"
            );
            let reply = serde_json::json!({ "Allow": true, "Msg": "", "Err": "" });
            (StatusCode::OK, reply)
        }
        Err(error) => {
            let message = format!("invalid authorization request: {error}");
            (StatusCode::BAD_REQUEST, error_body(&message))
        }
    }
}

/// Returns a plugin API error body.
pub fn error_body(message: &str) -> serde_json::Value {
    serde_json::json!({ "Allow": false, "Msg": "", "Err": message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_request_with_moby_field_names() {
        let body = br#"{"User":"","RequestMethod":"POST","RequestUri":"/v1.41/containers/x/start","RequestHeaders":{"Content-Type":"application/json"}}"#;
        let (status, reply) = decide("/AuthZPlugin.AuthZReq", body);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply["Allow"], true);
    }

    #[test]
    fn allows_request_with_documented_field_names() {
        let body = br#"{"RequestMethod":"GET","RequestURI":"/_ping","ResponseStatusCode":200}"#;
        let (status, reply) = decide("/AuthZPlugin.AuthZRes", body);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply["Allow"], true);
    }

    #[test]
    fn allows_empty_object() {
        let (status, _) = decide("/AuthZPlugin.AuthZReq", b"{}");
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn rejects_malformed_body_with_err() {
        let (status, reply) = decide("/AuthZPlugin.AuthZReq", b"not json");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            reply["Err"]
                .as_str()
                .unwrap()
                .starts_with("invalid authorization request")
        );
    }
}
