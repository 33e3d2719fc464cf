//! Knowing at once that the database changed.
//!
//! A store on a local file (and the in-memory store) keeps a [`ChangeFeed`]:
//! whoever waits for something to happen (an idle worker for jobs, a worker
//! for a cancel request, a stream of a job's progress) subscribes and is
//! woken within about a millisecond of any commit, by this process or any
//! other, instead of polling on a timer of its own. One feed serves every
//! waiter of a store; a store on a libSQL server has none (a server pushes
//! nothing), and its waiters poll.
//!
//! A notification says only that something changed: a waiter reads what it
//! cares about, and a missed notification is made up for by the feed's own
//! slow poll.

use std::sync::Arc;

use tokio::sync::watch;

/// The commits of one store, as notifications; clones share them.
#[derive(Clone)]
pub struct ChangeFeed {
    inner: Arc<Feed>,
}

struct Feed {
    sender: watch::Sender<u64>,
    /// Called when someone subscribes (the file's watcher starts watching).
    on_subscribe: Option<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("subscribers", &self.inner.sender.receiver_count())
            .finish()
    }
}

impl ChangeFeed {
    /// A feed; `on_subscribe` runs whenever someone subscribes.
    pub(crate) fn new(on_subscribe: Option<Box<dyn Fn() + Send + Sync>>) -> Self {
        let (sender, _) = watch::channel(0);
        ChangeFeed {
            inner: Arc::new(Feed {
                sender,
                on_subscribe,
            }),
        }
    }

    /// Tells every subscriber that the database changed.
    pub(crate) fn notify(&self) {
        self.inner.sender.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Whether anyone listens.
    pub(crate) fn has_subscribers(&self) -> bool {
        self.inner.sender.receiver_count() > 0
    }

    /// Listens for changes from now on.
    pub fn subscribe(&self) -> Changes {
        let receiver = self.inner.sender.subscribe();
        if let Some(on_subscribe) = &self.inner.on_subscribe {
            on_subscribe();
        }
        Changes { receiver }
    }
}

/// A subscription to a [`ChangeFeed`].
#[derive(Debug)]
pub struct Changes {
    receiver: watch::Receiver<u64>,
}

impl Changes {
    /// Completes when the database changed since the last call (or since
    /// subscribing); changes in between are folded into one. Never
    /// completes once the store is gone.
    pub async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(feature = "http")]
/// Waits until `changes` tells of a commit, or `every` has passed (how a
/// waiter on a store without a feed still notices changes); waits at least
/// `gap` after `since` either way, so a watcher does not read at every
/// commit of a busy database.
pub(crate) async fn changed_or_after(
    changes: &mut Option<Changes>,
    every: std::time::Duration,
    gap: std::time::Duration,
    since: tokio::time::Instant,
) {
    let fallback = tokio::time::sleep(every);
    match changes {
        Some(changes) => {
            tokio::select! {
                _ = changes.changed() => {}
                _ = fallback => {}
            }
        }
        None => fallback.await,
    }
    tokio::time::sleep_until(since + gap).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_sees_changes_after_it_subscribed_folded_into_one() {
        let feed = ChangeFeed::new(None);
        assert!(!feed.has_subscribers());
        feed.notify();
        let mut changes = feed.subscribe();
        assert!(feed.has_subscribers());
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), changes.changed())
                .await
                .is_err(),
            "a change before subscribing is not seen"
        );
        feed.notify();
        feed.notify();
        changes.changed().await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), changes.changed())
                .await
                .is_err(),
            "two changes are one notification"
        );
        drop(changes);
        assert!(!feed.has_subscribers());
    }

    #[test]
    fn subscribing_tells_the_feed() {
        let told = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&told);
        let feed = ChangeFeed::new(Some(Box::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })));
        let _a = feed.subscribe();
        let _b = feed.subscribe();
        assert_eq!(told.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
