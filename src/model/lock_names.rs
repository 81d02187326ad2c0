//! The names of a state's lock records, as Terraform's S3 backend gives
//! them: one place, so the lock, the digest and the lock file of a state
//! are always found where Terraform looks.

/// The DynamoDB `LockID` of the lock on `key` in `bucket`, which is also
/// the `Path` of its lock Info: `<bucket>/<key>`.
pub fn lock_id(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// The DynamoDB `LockID` of the MD5 digest item of the lock `lock_id`:
/// `<bucket>/<key>-md5`.
pub fn digest_id(lock_id: &str) -> String {
    format!("{lock_id}-md5")
}

/// The S3 lock file of the state object `key` (`use_lockfile`, Terraform
/// 1.10+): `<key>.tflock`, in the state's bucket.
pub fn lock_file_key(key: &str) -> String {
    format!("{key}.tflock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_terraforms() {
        let id = lock_id("b", "env:/blue/app.tfstate");
        assert_eq!(id, "b/env:/blue/app.tfstate");
        assert_eq!(digest_id(&id), "b/env:/blue/app.tfstate-md5");
        assert_eq!(
            lock_file_key("env:/blue/app.tfstate"),
            "env:/blue/app.tfstate.tflock"
        );
    }
}
