"""Lists and downloads every object under a prefix with the cloud's own SDK (boto3 for S3 and
moto, azure-storage-blob for Azurite), an independent check of what our uploads stored.

Usage: object_store_client.py s3 ENDPOINT BUCKET PREFIX DEST
       object_store_client.py azure ENDPOINT ACCOUNT KEY CONTAINER PREFIX DEST
Prints a JSON list of the keys found; each object is saved as DEST/<key>.
"""
import json
import os
import sys


def save(dest, key, data):
    path = os.path.join(dest, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


kind = sys.argv[1]
keys = []
if kind == "s3":
    import boto3

    endpoint, bucket, prefix, dest = sys.argv[2:6]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            keys.append(item["Key"])
            save(dest, item["Key"], s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
else:
    from azure.storage.blob import BlobServiceClient

    endpoint, account, key, container, prefix, dest = sys.argv[2:8]
    service = BlobServiceClient(
        account_url=endpoint, credential={"account_name": account, "account_key": key}
    )
    client = service.get_container_client(container)
    for blob in client.list_blobs(name_starts_with=prefix):
        keys.append(blob.name)
        save(dest, blob.name, client.download_blob(blob.name).readall())
json.dump(sorted(keys), sys.stdout)
