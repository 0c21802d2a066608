"""boto3 against the test S3 server, for the lake tests.

    s3.py ENDPOINT create-bucket BUCKET
    s3.py ENDPOINT download BUCKET PREFIX DIR   -> {"objects": N}

Credentials are not checked by the test server; any will do.
"""

import json
import os
import sys

import boto3


def client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def main():
    endpoint, command, *args = sys.argv[1:]
    s3 = client(endpoint)
    if command == "create-bucket":
        s3.create_bucket(Bucket=args[0])
        print(json.dumps({"created": args[0]}))
    elif command == "download":
        bucket, prefix, target = args
        count = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                path = os.path.join(target, key[len(prefix):].lstrip("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                s3.download_file(bucket, key, path)
                count += 1
        print(json.dumps({"objects": count}))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
