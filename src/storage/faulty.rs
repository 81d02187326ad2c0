//! A wrapper over any [`StateObjects`] or [`LockItems`] that injects faults
//! a test plans: fail the Nth call of an operation (before it reaches the
//! store), apply a write and then lose its response (the caller sees an
//! error, the store holds the write), or pause at a named point (before or
//! after the call is applied) until the test resumes it, or forever, which,
//! with the caller's future dropped, is a crash at that point.
//!
//! Pauses are [`tokio::sync::Notify`] handshakes the test controls: never
//! a sleep. This replaces the environment-variable hooks production code
//! used to read (`STATEWARD_FAULT_INJECT`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use super::traits::{Call, LockItems, StateObjects};
use crate::aws::object::{Fetched, ObjectVersion, Versioning};
use crate::aws::{AwsError, AwsErrorKind};

/// The operations a fault can be planned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListVersions,
    Get,
    GetTail,
    Put,
    Delete,
    DeleteVersion,
    CopyVersion,
    Versioning,
    ListKeys,
    ItemGet,
    ItemPutIfAbsent,
    ItemPut,
    ItemDeleteIf,
    ItemDelete,
}

/// When the fault acts: before the call reaches the store, or after the
/// store applied it (its response not yet handed back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

/// What happens at a planned call.
#[derive(Debug, Clone)]
pub enum Action {
    /// Fail with an error of this kind: before the call, nothing is
    /// applied; after it, the write is applied and its response lost.
    Fail(AwsErrorKind),
    /// Wait at the point until the test resumes it.
    Pause(Arc<Pause>),
}

/// A named point where a call waits for the test.
#[derive(Debug, Default)]
pub struct Pause {
    pub name: String,
    reached: Notify,
    resume: Notify,
}

impl Pause {
    /// Resolves once a call has arrived at this point (also when it
    /// arrived before this was awaited).
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the waiting call (or the next one to arrive) go on.
    pub fn resume(&self) {
        self.resume.notify_one();
    }

    async fn wait(&self) {
        tracing::debug!(point = %self.name, "paused by the fault plan");
        self.reached.notify_one();
        self.resume.notified().await;
    }
}

#[derive(Debug)]
struct Rule {
    op: Op,
    /// Only calls about this key or item (`None`: any).
    key: Option<String>,
    /// The call (1-based, among the calls this rule matches) it acts on.
    nth: usize,
    when: When,
    action: Action,
    seen: usize,
}

/// The faults planned for one test, shared by every wrapper built on it.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    calls: Mutex<Vec<(Op, String)>>,
}

impl Faults {
    pub fn new() -> Arc<Faults> {
        Arc::new(Faults::default())
    }

    /// Plans `action` on the `nth` call of `op` about `key` (any key when
    /// `None`), `when`. Calls made before the plan do not count.
    pub fn plan(&self, op: Op, key: Option<&str>, nth: usize, when: When, action: Action) {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Rule {
                op,
                key: key.map(str::to_owned),
                nth: nth.max(1),
                when,
                action,
                seen: 0,
            });
    }

    /// Fails the `nth` call of `op` about `key` before it is applied.
    pub fn fail(&self, op: Op, key: Option<&str>, nth: usize, kind: AwsErrorKind) {
        self.plan(op, key, nth, When::Before, Action::Fail(kind));
    }

    /// Applies the `nth` call of `op` about `key`, then fails it with
    /// `kind` (a response lost, or an SDK retry whose condition then fails).
    pub fn lose_response(&self, op: Op, key: Option<&str>, nth: usize, kind: AwsErrorKind) {
        self.plan(op, key, nth, When::After, Action::Fail(kind));
    }

    /// A pause named `name` at the `nth` call of `op` about `key`, `when`.
    pub fn pause(
        &self,
        name: &str,
        op: Op,
        key: Option<&str>,
        nth: usize,
        when: When,
    ) -> Arc<Pause> {
        let p = Arc::new(Pause {
            name: name.to_owned(),
            ..Pause::default()
        });
        self.plan(op, key, nth, when, Action::Pause(p.clone()));
        p
    }

    /// Every call made through the wrappers, in order: operation and key.
    pub fn calls(&self) -> Vec<(Op, String)> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts the call against the rules; what acts on it, if anything.
    fn on_call(&self, op: Op, key: &str) -> Option<(When, Action)> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((op, key.to_owned()));
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let mut hit = None;
        for r in rules.iter_mut() {
            if r.op != op || r.key.as_deref().is_some_and(|k| k != key) {
                continue;
            }
            r.seen += 1;
            if r.seen == r.nth && hit.is_none() {
                hit = Some((r.when, r.action.clone()));
            }
        }
        hit
    }

    /// Runs `call` (not yet started) as the plan says.
    async fn run<T>(
        &self,
        op: Op,
        key: &str,
        call: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        let injected = |kind: AwsErrorKind| {
            AwsError::new(
                "FaultInjected",
                format!("{op:?} {key}"),
                kind,
                Some("FaultInjected".into()),
                Some("injected by the test's fault plan".into()),
            )
        };
        match self.on_call(op, key) {
            None => call.await,
            Some((When::Before, Action::Fail(kind))) => Err(injected(kind)),
            Some((When::Before, Action::Pause(p))) => {
                p.wait().await;
                call.await
            }
            Some((When::After, Action::Fail(kind))) => {
                let _applied = call.await;
                Err(injected(kind))
            }
            Some((When::After, Action::Pause(p))) => {
                let r = call.await;
                p.wait().await;
                r
            }
        }
    }
}

/// A store whose calls go through a fault plan.
#[derive(Debug)]
pub struct Faulty<T> {
    inner: T,
    faults: Arc<Faults>,
}

impl<T> Faulty<T> {
    pub fn new(inner: T, faults: Arc<Faults>) -> Faulty<T> {
        Faulty { inner, faults }
    }
}

impl<T: StateObjects> StateObjects for Faulty<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn cacheable(&self) -> bool {
        self.inner.cacheable()
    }

    fn list_versions<'a>(&'a self, key: &'a str) -> Call<'a, Vec<ObjectVersion>> {
        let call = self.inner.list_versions(key);
        Box::pin(self.faults.run(Op::ListVersions, key, call))
    }

    fn get_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        max_bytes: Option<u64>,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        let call = self
            .inner
            .get_checked(key, version_id, max_bytes, listed_size);
        Box::pin(self.faults.run(Op::Get, key, call))
    }

    fn get_tail_checked<'a>(
        &'a self,
        key: &'a str,
        version_id: Option<&'a str>,
        n: u64,
        listed_size: Option<u64>,
    ) -> Call<'a, Fetched> {
        let call = self.inner.get_tail_checked(key, version_id, n, listed_size);
        Box::pin(self.faults.run(Op::GetTail, key, call))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        if_none_match: bool,
    ) -> Call<'a, Option<String>> {
        let call = self.inner.put(key, bytes, if_none_match);
        Box::pin(self.faults.run(Op::Put, key, call))
    }

    fn delete<'a>(&'a self, key: &'a str) -> Call<'a, ()> {
        let call = self.inner.delete(key);
        Box::pin(self.faults.run(Op::Delete, key, call))
    }

    fn delete_version<'a>(&'a self, key: &'a str, version_id: &'a str) -> Call<'a, ()> {
        let call = self.inner.delete_version(key, version_id);
        Box::pin(self.faults.run(Op::DeleteVersion, key, call))
    }

    fn copy_version<'a>(
        &'a self,
        src_key: &'a str,
        version_id: &'a str,
        dst_key: &'a str,
    ) -> Call<'a, Option<String>> {
        let call = self.inner.copy_version(src_key, version_id, dst_key);
        Box::pin(self.faults.run(Op::CopyVersion, dst_key, call))
    }

    fn versioning<'a>(&'a self) -> Call<'a, Versioning> {
        let call = self.inner.versioning();
        Box::pin(self.faults.run(Op::Versioning, "", call))
    }

    fn list_keys<'a>(&'a self, prefix: &'a str) -> Call<'a, Vec<String>> {
        let call = self.inner.list_keys(prefix);
        Box::pin(self.faults.run(Op::ListKeys, prefix, call))
    }
    // No `as_s3`: copies through the wrapper are its puts, so faults reach them.
}

impl<T: LockItems> LockItems for Faulty<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn get<'a>(&'a self, lock_id: &'a str) -> Call<'a, Option<BTreeMap<String, String>>> {
        let call = self.inner.get(lock_id);
        Box::pin(self.faults.run(Op::ItemGet, lock_id, call))
    }

    fn put_if_absent<'a>(
        &'a self,
        lock_id: &'a str,
        attr: &'a str,
        value: &'a str,
    ) -> Call<'a, ()> {
        let call = self.inner.put_if_absent(lock_id, attr, value);
        Box::pin(self.faults.run(Op::ItemPutIfAbsent, lock_id, call))
    }

    fn put<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        let call = self.inner.put(lock_id, attr, value);
        Box::pin(self.faults.run(Op::ItemPut, lock_id, call))
    }

    fn delete_if<'a>(&'a self, lock_id: &'a str, attr: &'a str, value: &'a str) -> Call<'a, ()> {
        let call = self.inner.delete_if(lock_id, attr, value);
        Box::pin(self.faults.run(Op::ItemDeleteIf, lock_id, call))
    }

    fn delete<'a>(&'a self, lock_id: &'a str) -> Call<'a, ()> {
        let call = self.inner.delete(lock_id);
        Box::pin(self.faults.run(Op::ItemDelete, lock_id, call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::{MemoryBucket, MemoryTable};

    #[tokio::test]
    async fn the_plan_fails_loses_and_pauses_the_calls_it_names() {
        let faults = Faults::new();
        let b = Faulty::new(MemoryBucket::new("b", Versioning::Enabled), faults.clone());
        // The second put of `k` fails before it is applied.
        faults.fail(Op::Put, Some("k"), 2, AwsErrorKind::Network);
        b.put("k", b"1".to_vec(), false).await.unwrap();
        let e = b.put("k", b"2".to_vec(), false).await.unwrap_err();
        assert_eq!(e.kind, AwsErrorKind::Network);
        assert_eq!(b.inner.current("k").unwrap(), b"1", "not applied");
        // Other keys are not counted.
        b.put("other", b"x".to_vec(), false).await.unwrap();
        // A lost response: applied, then an error (calls before the plan
        // do not count).
        faults.lose_response(Op::Put, Some("k"), 1, AwsErrorKind::Network);
        assert!(b.put("k", b"3".to_vec(), false).await.is_err());
        assert_eq!(b.inner.current("k").unwrap(), b"3", "applied");

        // A pause after the write: applied, the caller waits for the test.
        let t = Arc::new(Faulty::new(MemoryTable::new("t"), faults.clone()));
        let p = faults.pause("after put", Op::ItemPut, None, 1, When::After);
        let t2 = t.clone();
        let call = tokio::spawn(async move { t2.put("id", "Digest", "x").await });
        p.reached().await;
        assert_eq!(t.inner.attr("id", "Digest").as_deref(), Some("x"));
        assert!(!call.is_finished());
        p.resume();
        call.await.unwrap().unwrap();
        assert_eq!(faults.calls().last(), Some(&(Op::ItemPut, "id".to_owned())),);
    }
}
