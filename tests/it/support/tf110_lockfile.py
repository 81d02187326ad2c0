"""Terraform 1.10's S3 lock-file protocol, written from the reference
(../shared/reference/terraform-s3-backend.md, section 9), for tests/lockfile.rs.

    tf110_lockfile.py lock   BUCKET KEY ID     -> exit 0 (locked) or 3 (held; holder JSON on stdout)
    tf110_lockfile.py unlock BUCKET KEY ID     -> exit 0, or 1 with Terraform's mismatch message
    tf110_lockfile.py read   BUCKET KEY        -> the lock body on stdout (exit 1 when absent)
    tf110_lockfile.py check  BUCKET KEY        -> exit 0 when the body is byte for byte Go's
                                                  json.Marshal of the LockInfo it holds

Endpoint, region and credentials come from the environment (ENDPOINT, AWS_*).
"""

import base64
import hashlib
import json
import os
import sys
from datetime import datetime, timezone

import boto3
from botocore.exceptions import ClientError

FIELDS = ["ID", "Operation", "Info", "Who", "Version", "Created", "Path"]


def go_marshal(info):
    """Go's json.Marshal of statemgr.LockInfo: field order, compact, HTML-safe escapes."""
    out = json.dumps({k: info[k] for k in FIELDS}, separators=(",", ":"), ensure_ascii=False)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        out = out.replace(raw, esc)
    return out.encode()


def go_now():
    """time.Now().UTC() in RFC 3339 with nanoseconds, trailing zeros trimmed."""
    t = datetime.now(timezone.utc)
    frac = f"{t.microsecond:06d}000".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def client():
    return boto3.client("s3", endpoint_url=os.environ["ENDPOINT"],
                        region_name=os.environ.get("AWS_REGION", "eu-west-1"))


def get_lock(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key + ".tflock")["Body"].read()


def lock(bucket, key, lock_id):
    s3 = client()
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Info": "",
            "Who": "ci@runner-7", "Version": "1.10.5", "Created": go_now(),
            "Path": f"{bucket}/{key}"}
    body = go_marshal(info)
    try:
        s3.put_object(Bucket=bucket, Key=key + ".tflock", Body=body,
                      ContentType="application/json", IfNoneMatch="*",
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode())
    except ClientError as e:
        if e.response["Error"]["Code"] in ("PreconditionFailed", "412") or \
                e.response["ResponseMetadata"]["HTTPStatusCode"] == 412:
            sys.stdout.write(get_lock(s3, bucket, key).decode())
            return 3
        raise
    return 0


def unlock(bucket, key, lock_id):
    s3 = client()
    held = json.loads(get_lock(s3, bucket, key))
    if held["ID"] != lock_id:
        sys.stderr.write(f"lock ID '{lock_id}' does not match the existing lock ID '{held['ID']}'\n")
        return 1
    s3.delete_object(Bucket=bucket, Key=key + ".tflock")
    return 0


def read(bucket, key):
    try:
        sys.stdout.write(get_lock(client(), bucket, key).decode())
        return 0
    except ClientError:
        return 1


def check(bucket, key):
    body = get_lock(client(), bucket, key)
    info = json.loads(body)
    if list(info) != FIELDS:
        sys.stderr.write(f"field order {list(info)}\n")
        return 1
    if info["Path"] != f"{bucket}/{key}":
        sys.stderr.write(f"Path {info['Path']!r}\n")
        return 1
    if go_marshal(info) != body:
        sys.stderr.write(f"not Go's bytes:\n{body!r}\n{go_marshal(info)!r}\n")
        return 1
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"lock": lock, "unlock": unlock, "read": read, "check": check}[cmd](*args))
