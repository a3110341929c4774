//! Event streams held per bearer token, capped: a client that opens stream
//! after stream holds a slot for each and is refused once it holds the
//! configured number, while other tokens keep theirs.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use fleetgov::ContentHash;
use parking_lot::Mutex;

/// Open streams per token (keyed by the hash of the secret).
#[derive(Debug)]
pub struct StreamSlots {
    per_token: usize,
    held: Mutex<HashMap<ContentHash, usize>>,
}

/// One open stream's slot; dropping it (when the stream ends) frees it.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    token: ContentHash,
}

impl StreamSlots {
    /// At most `per_token` streams per token.
    pub fn new(per_token: usize) -> Arc<Self> {
        Arc::new(StreamSlots { per_token, held: Mutex::new(HashMap::new()) })
    }

    /// A slot for one more stream of `token`, or `None` if it holds `per_token` already.
    ///
    /// ```text
    /// let slots = StreamSlots::new(1);
    /// let first = slots.acquire(token);   // Some
    /// slots.acquire(token);               // None while `first` lives
    /// ```
    pub fn acquire(self: &Arc<Self>, token: ContentHash) -> Option<StreamSlot> {
        let mut held = self.held.lock();
        let count = held.entry(token).or_insert(0);
        if *count >= self.per_token {
            return None;
        }
        *count += 1;
        Some(StreamSlot { slots: self.clone(), token })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Entry::Occupied(mut count) = self.slots.held.lock().entry(self.token) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}
