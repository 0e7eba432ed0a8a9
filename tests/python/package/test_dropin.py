"""A script written for pymilvus runs with only its import line changed and writes the same
files; pymilvus's public bulk-writer behaviours, ported to our API; Arrow input; errors."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bulkwriter
from bulkwriter import BulkFileType, BulkWriterError, LocalBulkWriter, RemoteBulkWriter
from conftest import MEDIUM_SCHEMA, ROOT, answer_json, cli

# The seed's medium_articles flow, as a pymilvus user writes it.
SCRIPT = '''
import json, sys
from pymilvus import CollectionSchema, DataType, FieldSchema
{import_line}

fields = [
    FieldSchema(name="id", dtype=DataType.INT64, is_primary=True, auto_id=False),
    FieldSchema(name="title", dtype=DataType.VARCHAR, max_length=512),
    FieldSchema(name="vector", dtype=DataType.FLOAT_VECTOR, dim=768),
    FieldSchema(name="link", dtype=DataType.VARCHAR, max_length=512),
    FieldSchema(name="reading_time", dtype=DataType.INT64),
    FieldSchema(name="publication", dtype=DataType.VARCHAR, max_length=512),
    FieldSchema(name="claps", dtype=DataType.INT64),
    FieldSchema(name="responses", dtype=DataType.INT64),
]
schema = CollectionSchema(fields=fields, description="medium articles")
out, file_type, remote = sys.argv[1], sys.argv[2], sys.argv[3:]
if remote:
    endpoint, bucket = remote
    writer = RemoteBulkWriter(
        schema=schema,
        remote_path=out,
        connect_param=RemoteBulkWriter.S3ConnectParam(
            endpoint=endpoint, access_key="test", secret_key="test", bucket_name=bucket, secure=False),
        file_type=getattr(BulkFileType, file_type),
    )
else:
    writer = LocalBulkWriter(schema=schema, local_path=out, file_type=getattr(BulkFileType, file_type))
rows = json.load(open("fixtures/medium_articles.json"))["rows"]
for row in rows:
    writer.append_row(row)
writer.commit()
print(json.dumps({{"batch_files": writer.batch_files, "data_path": str(writer.data_path)}}))
'''

PYMILVUS = "from pymilvus.bulk_writer import LocalBulkWriter, RemoteBulkWriter, BulkFileType"
OURS = "from bulkwriter import LocalBulkWriter, RemoteBulkWriter, BulkFileType"


def run_script(import_line, *args):
    run = subprocess.run([sys.executable, "-c", SCRIPT.format(import_line=import_line), *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def same_file(a: bytes, b: bytes, parquet: bool) -> bool:
    if parquet:
        return pq.read_table(pa.BufferReader(a)).equals(pq.read_table(pa.BufferReader(b)))
    return a == b


@pytest.mark.parametrize("file_type", ["NUMPY", "PARQUET", "JSON"])
def test_a_pymilvus_script_with_its_import_line_changed_writes_the_same_files(file_type, tmp_path):
    theirs = run_script(PYMILVUS, tmp_path / "pymilvus", file_type)
    ours = run_script(OURS, tmp_path / "ours", file_type)
    # pymilvus cuts segments on an estimate, we on the encoded size (README): one segment
    # each at the default chunk size.
    assert len(ours["batch_files"]) == len(theirs["batch_files"]) == 1
    for our_group, their_group in zip(ours["batch_files"], theirs["batch_files"]):
        assert [Path(p).name for p in our_group] == [Path(p).name for p in their_group]
        for a, b in zip(our_group, their_group):
            assert same_file(Path(a).read_bytes(), Path(b).read_bytes(), file_type == "PARQUET"), a


@pytest.fixture
def s3():
    endpoint = os.environ.get("BULKWRITER_TEST_S3_ENDPOINT")
    if not endpoint:
        pytest.skip("no local S3 server (tests/run.sh starts one)")
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    return endpoint, os.environ["BULKWRITER_TEST_S3_BUCKET"], client


def test_a_pymilvus_remote_script_writes_the_same_objects(s3, tmp_path):
    endpoint, bucket, client = s3
    host = endpoint.removeprefix("http://")
    prefix = f"py/dropin-{time.time_ns()}"
    theirs = run_script(PYMILVUS, f"{prefix}/pymilvus", "PARQUET", host, bucket)
    ours = run_script(OURS, f"{prefix}/ours", "PARQUET", host, bucket)
    assert not ours["data_path"].startswith("/"), "bucket keys, as Milvus's import takes them"
    assert len(ours["batch_files"]) == len(theirs["batch_files"]) == 1
    a = client.get_object(Bucket=bucket, Key=ours["batch_files"][0][0])["Body"].read()
    b = client.get_object(Bucket=bucket, Key=theirs["batch_files"][0][0].lstrip("/"))["Body"].read()
    assert same_file(a, b, parquet=True)


def test_a_pymilvus_schema_object_and_milvus_client_schema_are_taken(tmp_path):
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("score", DataType.DOUBLE, default_value=0.5)
    schema.add_field("when", DataType.TIMESTAMPTZ, nullable=True)
    with LocalBulkWriter(schema, str(tmp_path), file_type=BulkFileType.JSONL) as writer:
        writer.append_row({"id": 1, "vector": np.arange(4, dtype=np.float32), "extra": "x"})
        writer.commit()
        rows = [json.loads(l) for l in open(writer.batch_files[0][0])]
    assert rows == [{"id": 1, "vector": [0.0, 1.0, 2.0, 3.0], "score": 0.5, "when": None, "$meta": {"extra": "x"}}]


def test_text_fields_refuse_non_strings_naming_the_row_and_field(tmp_path):
    schema = {"fields": [{"name": "id", "type": "INT64", "is_primary": True},
                         {"name": "body", "type": "TEXT"},
                         {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}}]}
    writer = LocalBulkWriter(schema, str(tmp_path))
    writer.append_row({"id": 1, "body": "ok", "v": [1, 2]})
    with pytest.raises(BulkWriterError) as error:
        writer.append_row({"id": 2, "body": 12, "v": [1, 2]})
    assert str(error.value).startswith("row 2, field 'body': ")
    from pymilvus.exceptions import MilvusException

    assert isinstance(error.value, MilvusException), "pymilvus code catches it unchanged"
    with pytest.raises(BulkWriterError, match=r"row 3, field 'v': .*got 3, dim is 2"):
        writer.append_row({"id": 3, "body": "x", "v": [1, 2, 3]})
    assert writer.buffer_row_count == 1, "bad rows leave nothing behind"


def test_segment_size_overrides_chunk_size_and_commit_calls_back(tmp_path, medium_rows):
    writer = LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path), chunk_size=1 << 30,
                             file_type=BulkFileType.NUMPY, segment_size=64 * 1024)
    for row in medium_rows:
        writer.append_row(row)
    seen = []
    writer.commit(call_back=seen.append, _async=True)
    groups = writer.batch_files
    assert len(groups) > 1, "segment_size cut segments"
    assert seen == [groups[-1]]
    assert all([Path(p).name for p in g] == [
        "id.npy", "title.npy", "vector.npy", "link.npy", "reading_time.npy",
        "publication.npy", "claps.npy", "responses.npy"] for g in groups), "one group per segment"
    assert writer.total_row_count == 60 and writer.buffer_row_count == 0
    assert Path(writer.data_path).parent == tmp_path and writer.uuid in writer.data_path


def test_an_unused_writer_leaves_no_folder_and_half_vectors_take_every_form(tmp_path):
    import ml_dtypes

    with LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path)) as writer:
        folder = Path(writer.data_path)
    assert not folder.exists(), "an empty run folder is removed, as pymilvus removes it"
    schema = {"fields": [{"name": "id", "type": "INT64", "is_primary": True},
                         {"name": "h", "type": "FLOAT16_VECTOR", "params": {"dim": 2}},
                         {"name": "b", "type": "BFLOAT16_VECTOR", "params": {"dim": 2}},
                         {"name": "bits", "type": "BINARY_VECTOR", "params": {"dim": 16}},
                         {"name": "sp", "type": "SPARSE_FLOAT_VECTOR"}]}
    writer = LocalBulkWriter(schema, str(tmp_path), file_type=BulkFileType.PARQUET)
    forms = [
        {"h": np.array([0.5, 1.5], dtype=np.float16), "b": np.array([0.5, 1.5], dtype=ml_dtypes.bfloat16),
         "bits": b"\x01\x02", "sp": {3: 0.5, 7: np.float32(0.25)}},
        {"h": [0.5, 1.5], "b": (0.5, 1.5), "bits": [1, 2], "sp": {"3": 0.5, "7": 0.25}},
    ]
    for i, values in enumerate(forms):
        writer.append_row({"id": i, **values})
    writer.commit()
    table = pq.read_table(writer.batch_files[0][0]).to_pylist()
    for column in ["h", "b", "bits", "sp"]:
        assert table[0][column] == table[1][column], column


def test_append_batch_takes_arrow_and_pandas_and_writes_what_append_row_writes(tmp_path, medium_rows):
    expected = LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path / "rows"), file_type=BulkFileType.NUMPY)
    for row in medium_rows:
        expected.append_row(row)
    expected.commit()
    table = pa.Table.from_pylist(medium_rows)
    for name, data in [("table", table), ("batch", table.to_batches()[0]),
                       ("pandas", table.to_pandas()), ("reader", table.to_reader())]:
        writer = LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path / name), file_type=BulkFileType.NUMPY)
        assert writer.append_batch(data) == 60
        writer.commit()
        for a, b in zip(writer.batch_files[0], expected.batch_files[0]):
            assert Path(a).read_bytes() == Path(b).read_bytes(), (name, a)
    bad = table.set_column(2, "vector", pa.array([[0.0] * 3] * 60, pa.list_(pa.float32())))
    with pytest.raises(BulkWriterError, match=r"row 1, field 'vector': .*got 3, dim is 768"):
        LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path / "bad")).append_batch(bad)


def medium_schema():
    from pymilvus import CollectionSchema, DataType, FieldSchema

    varchar = dict(dtype=DataType.VARCHAR, max_length=512)
    return CollectionSchema(fields=[
        FieldSchema(name="id", dtype=DataType.INT64, is_primary=True, auto_id=False),
        FieldSchema(name="title", **varchar),
        FieldSchema(name="vector", dtype=DataType.FLOAT_VECTOR, dim=768),
        FieldSchema(name="link", **varchar),
        FieldSchema(name="reading_time", dtype=DataType.INT64),
        FieldSchema(name="publication", **varchar),
        FieldSchema(name="claps", dtype=DataType.INT64),
        FieldSchema(name="responses", dtype=DataType.INT64),
    ])


@pytest.mark.parametrize("file_type", ["JSON", "JSONL", "CSV"])
def test_row_files_from_arrow_float32_vectors_are_what_pymilvus_writes_from_numpy_rows(file_type, tmp_path, medium_rows):
    """Row files print an Arrow float32 vector straight from its values; pymilvus, given the
    same vectors as numpy float32 arrays, prints the doubles they widen to. Values that take
    every notation (1e-05, 1e+16, subnormals, -0.0, float32's largest) are mixed in."""
    from pymilvus.bulk_writer import BulkFileType as TheirFileType
    from pymilvus.bulk_writer import LocalBulkWriter as TheirWriter

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(medium_rows), 768)).astype(np.float32)
    vectors[0, :8] = [1e-5, 1e16, 1.5e-42, -0.0, 3.4028235e38, 0.1, 123456.79, 1e-4]
    vectors[1] *= np.float32(1e-7)
    rows = [dict(row, vector=vector) for row, vector in zip(medium_rows, vectors)]
    theirs = TheirWriter(schema=medium_schema(), local_path=str(tmp_path / "pymilvus"),
                         file_type=getattr(TheirFileType, file_type))
    for row in rows:
        theirs.append_row(row)
    theirs.commit()
    columns = {name: [row[name] for row in medium_rows] for name in medium_rows[0] if name != "vector"}
    for layout in ["fixed_size_list", "list"]:
        flat = pa.array(vectors.reshape(-1))
        vector = (pa.FixedSizeListArray.from_arrays(flat, 768) if layout == "fixed_size_list" else
                  pa.ListArray.from_arrays(pa.array(np.arange(0, vectors.size + 1, 768, dtype=np.int32)), flat))
        ours = LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path / layout), file_type=getattr(BulkFileType, file_type))
        ours.append_batch(pa.table(dict(columns, vector=vector)).select(list(medium_rows[0])))
        ours.commit()
        assert len(ours.batch_files) == len(theirs.batch_files) == 1
        a, b = ours.batch_files[0][0], theirs.batch_files[0][0]
        assert Path(a).read_bytes() == Path(b).read_bytes(), (layout, a, b)


def test_commit_releases_the_gil(tmp_path):
    schema = {"fields": [{"name": "id", "type": "INT64", "is_primary": True},
                         {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 256}}]}
    writer = LocalBulkWriter(schema, str(tmp_path), file_type=BulkFileType.PARQUET)
    n = 40_000
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.random.default_rng(1).random(n * 256, dtype=np.float32)), 256)
    writer.append_batch(pa.table({"id": pa.array(range(n), pa.int64()), "v": vectors}))
    ticks, stop = [0], threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.05)
    before = ticks[0]
    writer.commit()
    during = ticks[0] - before
    stop.set()
    thread.join()
    assert during > 1000, f"another thread ran {during} steps while the segment was encoded"


def test_a_storage_error_is_raised_by_commit_not_lost(s3):
    endpoint, bucket, client = s3
    client.create_bucket(Bucket="py-doomed")
    param = RemoteBulkWriter.S3ConnectParam(endpoint=endpoint.removeprefix("http://"), access_key="test",
                                            secret_key="test", bucket_name="py-doomed")
    writer = RemoteBulkWriter(str(MEDIUM_SCHEMA), "x", param)
    client.delete_bucket(Bucket="py-doomed")
    writer.append_row(json.loads((ROOT / "fixtures" / "medium_articles.json").read_text())["rows"][0])
    with pytest.raises(BulkWriterError, match="py-doomed"):
        writer.commit()


def test_convert_runs_the_command_lines_conversion(tmp_path):
    summary = bulkwriter.convert(str(MEDIUM_SCHEMA), ["fixtures/medium_articles.json"], str(tmp_path / "py"),
                                 BulkFileType.NUMPY, chunk_size=64 * 1024, progress=False)
    run = cli("convert", "--quiet", "--schema", MEDIUM_SCHEMA, "--input", "fixtures/medium_articles.json",
              "--format", "numpy", "--chunk-size", "64KiB", "--output", tmp_path / "cli")
    expected = json.loads(run.stdout)
    assert summary["rows"] == expected["rows"] == 60
    assert len(summary["batch_files"]) == len(expected["batch_files"]) > 1
    for a, b in zip(sum(summary["batch_files"], []), sum(expected["batch_files"], [])):
        assert Path(a).read_bytes() == Path(b).read_bytes()
    seen = []
    bulkwriter.convert(str(MEDIUM_SCHEMA), "fixtures/medium_articles.json", str(tmp_path / "cb"),
                       "parquet", progress=lambda *args: seen.append(args))
    with pytest.raises(BulkWriterError, match="no file matches"):
        bulkwriter.convert(str(MEDIUM_SCHEMA), "nothing/*.jsonl", str(tmp_path / "x"), "parquet")


def test_bulk_import_calls_send_pymilvus_bodies_and_return_responses():
    import http.server

    sent = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            sent.append((self.path, body, self.headers.get("Authorization"), self.headers.get("DB-Name")))
            answer = {"code": 0, "data": {"jobId": "42"}} if "create" in self.path else {
                "code": 0, "data": {"jobId": "42", "state": "Completed", "progress": 100}}
            answer_json(self, answer)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        response = bulkwriter.bulk_import(url=url, collection_name="articles", files=[["a/1.parquet"]],
                                          api_key="root:Milvus", db_name="db1", options={"timeout": "300s"})
        assert response.status_code == 200 and response.json()["data"]["jobId"] == "42"
        progress = bulkwriter.get_import_progress(url=url, job_id="42", api_key="root:Milvus")
        assert progress.json()["data"]["state"] == "Completed"
        bulkwriter.list_import_jobs(url=url, collection_name="articles")
    finally:
        server.shutdown()
    path, body, auth, db = sent[0]
    assert path == "/v2/vectordb/jobs/import/create" and auth == "Bearer root:Milvus" and db == "db1"
    assert body == {"collectionName": "articles", "dbName": "db1", "partitionName": "", "files": [["a/1.parquet"]],
                    "objectUrl": "", "objectUrls": None, "clusterId": "", "projectId": "", "regionId": "",
                    "accessKey": "", "secretKey": "", "token": "", "volumeName": "", "dataPaths": None,
                    "options": {"timeout": "300s"}}
    assert sent[1][1] == {"jobId": "42", "clusterId": "", "projectId": "", "regionId": ""}
    assert sent[2][0] == "/v2/vectordb/jobs/import/list" and sent[2][1]["pageSize"] == 10


def test_help_explains():
    import pydoc

    text = pydoc.render_doc(bulkwriter.LocalBulkWriter, renderer=pydoc.plaintext)
    assert "append_batch" in text and "no Python object per value" in text


def test_azure_connect_params_write_what_a_local_writer_writes(tmp_path, medium_rows):
    account = os.environ.get("BULKWRITER_TEST_AZURE_ACCOUNT")
    if not account:
        pytest.skip("no local Azure server (tests/run.sh starts Azurite)")
    from azure.storage.blob import BlobServiceClient

    endpoint, key = os.environ["BULKWRITER_TEST_AZURE_ENDPOINT"], os.environ["BULKWRITER_TEST_AZURE_KEY"]
    container = os.environ["BULKWRITER_TEST_AZURE_CONTAINER"]
    conn_str = (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
                f"BlobEndpoint={endpoint};")
    local = LocalBulkWriter(str(MEDIUM_SCHEMA), str(tmp_path), file_type=BulkFileType.NUMPY)
    params = [
        RemoteBulkWriter.AzureConnectParam(container_name=container, conn_str=conn_str),
        RemoteBulkWriter.AzureConnectParam(container_name=container, conn_str="", account_url=endpoint,
                                           credential=key),
    ]
    writers = [RemoteBulkWriter(str(MEDIUM_SCHEMA), f"py/azure-{time.time_ns()}-{i}", p,
                                file_type=BulkFileType.NUMPY) for i, p in enumerate(params)]
    for row in medium_rows:
        for writer in [local, *writers]:
            writer.append_row(row)
    for writer in [local, *writers]:
        writer.commit()
    blobs = BlobServiceClient.from_connection_string(conn_str).get_container_client(container)
    for writer in writers:
        assert len(writer.batch_files) == len(local.batch_files) == 1
        for key_name, path in zip(writer.batch_files[0], local.batch_files[0]):
            assert blobs.download_blob(key_name).readall() == Path(path).read_bytes(), key_name
