//! Connection limits over real loopback sockets: the header read timeout, the
//! idle timeout, the connection cap and the per-token cap on event streams.
//! Each test asserts what the client sees (a closed connection, a truncated
//! response, a JSON refusal); waits are bounded generously so a slow machine
//! cannot fail them, and nothing asserts how long anything took.

mod common;

use std::time::Duration;

use common::{OPERATOR, VIEWER, assert_error, json, start_configured};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Reads until the server closes the connection (end of stream or a reset);
/// the bytes read. Fails if it stays open past the test deadline.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + fleetgov_testkit::deadline();
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await.expect("the server closes the connection")
        {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn host(base: &str) -> &str {
    base.trim_start_matches("http://")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_header_read_timeout() {
    let s = start_configured("", "[limits]\nheader_read_timeout_ms = 500").await;
    let mut slow = TcpStream::connect(host(&s.base)).await.unwrap();
    slow.write_all(b"GET /api/v1/clusters HTTP/1.1\r\nhost: fleet\r\n").await.unwrap(); // never finished
    let answer = read_until_closed(&mut slow).await;
    assert!(!String::from_utf8_lossy(&answer).contains(" 200 "), "a request without its end was served");
    // A connection kept alive after a request is closed the same way while it waits for the next.
    let mut kept = TcpStream::connect(host(&s.base)).await.unwrap();
    kept.write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nhost: fleet\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut kept).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200 "));
    // And the server keeps serving.
    assert_eq!(s.get("/api/v1/clusters", VIEWER).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_idle_timeout() {
    let s = start_configured("", "[limits]\nidle_timeout_ms = 300").await;
    // A response far larger than both sockets' buffers, to a client that stops reading.
    let artifact = vec![7u8; 12 << 20];
    let snapshot = s.engine.publish("eks-prod-us", &artifact, "omar", s.engine.clock().now_ms()).unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut reader = socket.connect(host(&s.base).parse().unwrap()).await.unwrap();
    let request = format!(
        "GET /api/v1/artifacts/{} HTTP/1.1\r\nhost: fleet\r\nauthorization: Bearer {VIEWER}\r\n\r\n",
        snapshot.hash
    );
    reader.write_all(request.as_bytes()).await.unwrap();
    // Stop reading for many idle timeouts; then what is left arrives and the connection ends.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = read_until_closed(&mut reader).await;
    assert!(String::from_utf8_lossy(&got[..12]).starts_with("HTTP/1.1 200"));
    assert!(got.len() < artifact.len(), "a client that stopped reading was kept for {} bytes", got.len());

    // A request body that stops arriving is answered with an error and the connection closed.
    let mut uploader = TcpStream::connect(host(&s.base)).await.unwrap();
    let head = format!(
        "POST /api/v1/clusters/eks-prod-us/snapshots HTTP/1.1\r\nhost: fleet\r\nauthorization: Bearer {OPERATOR}\r\n\
         content-type: application/octet-stream\r\ncontent-length: 100\r\n\r\n0123456789"
    );
    uploader.write_all(head.as_bytes()).await.unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut uploader).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answer.contains("\"error\""), "{answer}");
    assert_eq!(s.engine.cluster("eks-prod-us", s.engine.clock().now_ms()).unwrap().desired_revision, snapshot.revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_cap() {
    let s = start_configured("", "[limits]\nmax_connections = 4\nheader_read_timeout_ms = 60000").await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(host(&s.base)).await.unwrap());
    }
    let refused = json(s.request(Method::GET, "/api/v1/clusters", Some(VIEWER)).send().await.unwrap()).await;
    assert_error(&refused, 503, "OVERLOADED");
    // Closing them frees their places.
    drop(idle);
    let deadline = tokio::time::Instant::now() + fleetgov_testkit::deadline();
    loop {
        let fresh = reqwest::Client::new();
        let r = fresh.get(format!("{}/api/v1/clusters", s.base)).bearer_auth(VIEWER).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "closed connections still count: {}", r.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cap_on_event_streams_per_token() {
    let s = start_configured("", "[limits]\nmax_event_streams_per_token = 2").await;
    let open = |token: &'static str| s.request(Method::GET, "/api/v1/events", Some(token)).send();
    let first = open(VIEWER).await.unwrap();
    let second = open(VIEWER).await.unwrap();
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    // (The status first: a stream that was not refused would never end.)
    let third = open(VIEWER).await.unwrap();
    assert_eq!(third.status(), 429);
    assert_error(&json(third).await, 429, "TOO_MANY_STREAMS");
    let by_query = s.client.get(format!("{}/api/v1/events?access_token={VIEWER}", s.base)).send().await.unwrap();
    assert_eq!(by_query.status(), 429);
    assert_error(&json(by_query).await, 429, "TOO_MANY_STREAMS");
    // Another token keeps its own streams.
    assert_eq!(open(OPERATOR).await.unwrap().status(), 200);
    // A stream whose client went away frees its slot.
    drop(first);
    let deadline = tokio::time::Instant::now() + fleetgov_testkit::deadline();
    loop {
        let r = open(VIEWER).await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "a closed stream still holds its slot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
}
