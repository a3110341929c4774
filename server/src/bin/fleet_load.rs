//! Load test (placeholder until the binary record format lands).
fn main() {}
