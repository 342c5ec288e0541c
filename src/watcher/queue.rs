//! Per-container ordering: work for one container runs in order, different containers at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

/// Chains each container's work behind the work queued before it for the same container.
#[derive(Debug, Clone, Default)]
pub struct ContainerQueue {
    /// The last task queued per container id.
    tails: Arc<Mutex<HashMap<String, JoinHandle<()>>>>,
}

impl ContainerQueue {
    /// Queues work for a container; it starts when the container's earlier work has ended.
    pub fn push<F>(&self, container_id: &str, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut tails = self.tails.lock().expect("container queue poisoned");
        tails.retain(|_, task| !task.is_finished());
        let previous = tails.remove(container_id);
        let task = tokio::spawn(async move {
            if let Some(previous) = previous {
                // A panic in earlier work is reported by the runtime; this work still runs.
                let _ = previous.await;
            }
            work.await;
        });
        tails.insert(container_id.to_string(), task);
    }

    /// Returns the number of containers with work queued or running.
    pub fn busy_containers(&self) -> usize {
        let tails = self.tails.lock().expect("container queue poisoned");
        tails.values().filter(|task| !task.is_finished()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn keeps_order_per_container() {
        let queue = ContainerQueue::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        for step in 0..5u64 {
            let log = Arc::clone(&log);
            queue.push("a", async move {
                // Earlier steps sleep longer, so only the queue keeps them in order.
                tokio::time::sleep(Duration::from_millis(10 * (5 - step))).await;
                log.lock().unwrap().push(step);
            });
        }
        while queue.busy_containers() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn runs_containers_concurrently() {
        let queue = ContainerQueue::default();
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        // Container "a" waits for "b": this finishes only if "b" runs while "a" waits.
        queue.push("a", async move {
            receiver.await.unwrap();
        });
        queue.push("b", async move {
            sender.send(()).unwrap();
        });
        tokio::time::timeout(Duration::from_secs(5), async {
            while queue.busy_containers() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("containers did not run concurrently");
    }
}
