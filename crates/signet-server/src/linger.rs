//! Lingering close for request bodies a handler refused unread.
//!
//! A service refuses an oversized body (413) from its `Content-Length` alone, without reading
//! it. If the server then closes the connection while the client is still sending, or with
//! unread bytes in its receive buffer, the kernel answers with a TCP reset, and a reset makes
//! the client's kernel drop the 413 it had already received: the client sees "connection
//! reset" instead of the JSON error it was sent (RFC 9112 §9.6 describes this and the cure).
//! So the answer waits until the rest of the body has been read and thrown away, up to
//! [`DRAIN_LIMIT`] bytes within [`DRAIN_TIME`]; a client sending more than that, or too
//! slowly, still gets the reset.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::sync::oneshot;

/// The most a refused body is read for, after the answer is ready.
pub const DRAIN_LIMIT: usize = 8 << 20;
/// How long a refused body is read for, at most.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Middleware: runs the request; if the handler dropped the body before its end, reads the
/// rest (bounded) before the answer goes out.
pub async fn drain_unread_body(request: Request, next: Next) -> Response {
    let (unread_tx, mut unread_rx) = oneshot::channel();
    let (parts, body) = request.into_parts();
    let body = Body::new(Tracked {
        inner: Some(body),
        finished: false,
        unread: Some(unread_tx),
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    // The handler has returned and dropped the request, so the body has reported by now; a
    // body still held elsewhere (none is) leaves the channel empty and is not waited for.
    if let Ok(mut rest) = unread_rx.try_recv() {
        let drain = async {
            let mut read = 0usize;
            while let Some(Ok(frame)) = rest.frame().await {
                read += frame.data_ref().map_or(0, Bytes::len);
                if read > DRAIN_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    }
    response
}

/// A request body that, dropped before its end, hands what is left to the middleware.
struct Tracked {
    inner: Option<Body>,
    finished: bool,
    unread: Option<oneshot::Sender<Body>>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        // At the end, or broken (a reset or a malformed chunk): nothing left to drain.
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.finished = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let (Some(body), Some(unread)) = (self.inner.take(), self.unread.take()) else {
            return;
        };
        // Dropping the sender unsent (the body was read to its end) closes the channel, so
        // the middleware never waits on it.
        if !self.finished && !http_body::Body::is_end_stream(&body) {
            let _ = unread.send(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tower::ServiceExt as _;

    async fn refuse(_: Request) -> StatusCode {
        StatusCode::PAYLOAD_TOO_LARGE
    }

    async fn read_all(request: Request) -> String {
        let bytes = request.into_body().collect().await.unwrap().to_bytes();
        bytes.len().to_string()
    }

    /// A body of `left` 1 KiB chunks that counts how many were read.
    struct Chunks {
        left: usize,
        read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            self.left -= 1;
            self.read.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 1024])))))
        }
    }

    fn streamed(chunks: usize, read: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Body {
        Body::new(Chunks { left: chunks, read })
    }

    #[tokio::test]
    async fn an_unread_body_is_drained_before_the_answer_and_a_read_one_is_untouched() {
        let app = axum::Router::new()
            .route("/refuse", post(refuse))
            .route("/read", post(read_all))
            .layer(axum::middleware::from_fn(drain_unread_body));
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let request = Request::post("/refuse").body(streamed(64, read.clone())).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            read.load(std::sync::atomic::Ordering::SeqCst),
            64,
            "drained to the end"
        );

        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let request = Request::post("/read").body(streamed(3, read.clone())).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "3072");

        // A body larger than the limit is read only up to it.
        let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let chunks = DRAIN_LIMIT / 1024 * 4;
        let request = Request::post("/refuse")
            .body(streamed(chunks, read.clone()))
            .unwrap();
        app.oneshot(request).await.unwrap();
        let n = read.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            n > DRAIN_LIMIT / 1024 && n < chunks,
            "{n} of {chunks} chunks read"
        );
    }
}
